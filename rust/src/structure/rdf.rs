//! Partial radial distribution functions g_uv(r) (definitions §2.1).
//!
//! g_uv(r_b) = V / (N_u N_v′) · n_uv(b) / (4π/3 (r_{b+1}³ − r_b³)), N_v′ = N_v − δ_uv, where
//! n_uv(b) counts ordered pairs (i ∈ u, j ∈ v, j ≠ i) whose minimum-image distance falls in
//! bin b = ⌊r/Δr⌋ (Δr = r_max / n_bins, r < r_max). Each frame is normalised with its own
//! volume and the per-frame g are summed (the caller divides by the number of frames).
//! Pairs are visited once (j > i) through the shared cell list, frames and particles in parallel.

use rayon::prelude::*;

use super::{require_all_species, species_counts, FrameData};
use crate::neighbors::HalfPairs;
use crate::error::Result;
use crate::invalid;
use crate::monitor::Monitor;

/// Bin edges are k·Δr, k = 0..n_bins, Δr = r_max / n_bins.
#[derive(Debug, Clone, Copy)]
pub struct RdfBins {
    pub r_max: f64,
    pub n_bins: usize,
}

impl RdfBins {
    pub fn dr(&self) -> f64 {
        self.r_max / self.n_bins as f64
    }
}

/// Ordered-pair counts per (u, v, bin) for one frame: layout `(u * ns + v) * n_bins + b`.
pub fn pair_counts(fr: &FrameData, types: &[u32], ns: usize, bins: RdfBins) -> Result<Vec<u64>> {
    if fr.pos.len() != types.len() {
        return Err(invalid!("frame has {} particles but {} species entries", fr.pos.len(), types.len()));
    }
    let pairs = HalfPairs::new(&fr.pos, &fr.sbox, bins.r_max, "rdf r_max")?;
    let nb = bins.n_bins;
    let inv_dr = 1.0 / bins.dr();
    let n = fr.pos.len();
    // each unordered pair once (the half traversal), counted in the (min, max) species block;
    // the ordered counts are the block and its transpose
    let counts = (0..n)
        .into_par_iter()
        .with_min_len(32)
        .fold(
            || vec![0u64; ns * ns * nb],
            |mut h, i| {
                let ti = types[i] as usize;
                pairs.for_each(i, |j, r2| {
                    let b = (r2.sqrt() * inv_dr) as usize;
                    if b < nb {
                        let tj = types[j] as usize;
                        let (u, v) = if ti <= tj { (ti, tj) } else { (tj, ti) };
                        h[(u * ns + v) * nb + b] += 1;
                    }
                });
                h
            },
        )
        .reduce(
            || vec![0u64; ns * ns * nb],
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(&b) {
                    *x += *y;
                }
                a
            },
        );
    let mut counts = counts;
    for u in 0..ns {
        for v in u..ns {
            for b in 0..nb {
                let c = counts[(u * ns + v) * nb + b];
                if u == v {
                    counts[(u * ns + u) * nb + b] = 2 * c;
                } else {
                    counts[(v * ns + u) * nb + b] = c;
                }
            }
        }
    }
    Ok(counts)
}

/// Normalise one frame's counts into g_uv (same layout); `volume` is the area in 2D (`dim` = 2)
/// and the shells are annuli.
pub fn normalise(counts: &[u64], n_per: &[usize], volume: f64, dim: usize, bins: RdfBins) -> Vec<f64> {
    let ns = n_per.len();
    let nb = bins.n_bins;
    let dr = bins.dr();
    let shell: Vec<f64> = (0..nb)
        .map(|b| {
            let (r0, r1) = (b as f64 * dr, (b + 1) as f64 * dr);
            if dim == 2 {
                std::f64::consts::PI * (r1 * r1 - r0 * r0)
            } else {
                4.0 / 3.0 * std::f64::consts::PI * (r1 * r1 * r1 - r0 * r0 * r0)
            }
        })
        .collect();
    let mut g = vec![0.0; ns * ns * nb];
    for u in 0..ns {
        for v in 0..ns {
            let nv = n_per[v] - usize::from(u == v);
            let pref = volume / (n_per[u] as f64 * nv as f64);
            for b in 0..nb {
                let k = (u * ns + v) * nb + b;
                g[k] = pref * counts[k] as f64 / shell[b];
            }
        }
    }
    g
}

/// Sum over frames of the per-frame partial g_uv (layout `(u * ns + v) * n_bins + b`).
/// Frames are processed in chunks (in parallel within a chunk); `mon` is called between chunks.
pub fn rdf_sum(
    frames: &[FrameData],
    types: &[u32],
    ns: usize,
    bins: RdfBins,
    n_threads: Option<usize>,
    mon: &dyn Monitor,
) -> Result<Vec<f64>> {
    if bins.n_bins == 0 {
        return Err(invalid!("rdf needs at least one bin"));
    }
    let n_per = species_counts(types, ns)?;
    require_all_species(&n_per, "the partial g_uv(r)")?;
    if let Some(u) = (0..ns).find(|&u| n_per[u] < 2) {
        return Err(invalid!("species index {u} has a single particle; g_uu(r) needs at least two"));
    }
    let mut total = vec![0.0; ns * ns * bins.n_bins];
    let chunk = (2 * rayon::current_num_threads()).max(2);
    crate::threads::try_install(n_threads, || {
        let chunk = chunk.max(2 * rayon::current_num_threads());
        let mut done = 0;
        for part in frames.chunks(chunk) {
            let gs: Vec<Result<Vec<f64>>> = part
                .par_iter()
                .map(|fr| {
                    let c = pair_counts(fr, types, ns, bins)?;
                    Ok(normalise(&c, &n_per, fr.sbox.volume(), fr.sbox.dim(), bins))
                })
                .collect();
            for (k, g) in gs.into_iter().enumerate() {
                let g = g.map_err(|e| invalid!("frame {}: {e}", done + k))?;
                for (t, x) in total.iter_mut().zip(&g) {
                    *t += *x;
                }
            }
            done += part.len();
            mon.progress(done, frames.len())?;
        }
        Ok(())
    })?;
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::Silent;
    use crate::simbox::SimBox;

    #[test]
    fn counts_match_brute_force() {
        let b = SimBox::lammps([8.0, 9.0, 10.0], 1.0, 0.5, -0.7).unwrap();
        let mut rnd = crate::testutil::lcg(7);
        let n = 400;
        let pos: Vec<_> = (0..n).map(|_| b.to_cartesian(&[rnd(), rnd(), rnd()])).collect();
        let types: Vec<u32> = (0..n).map(|i| (i % 3 == 0) as u32).collect();
        let bins = RdfBins { r_max: 3.5, n_bins: 70 };
        let fr = FrameData { pos: pos.clone(), sbox: b.clone() };
        let c = pair_counts(&fr, &types, 2, bins).unwrap();
        let mut want = vec![0u64; 4 * 70];
        for i in 0..n {
            for j in 0..n {
                if i == j {
                    continue;
                }
                let d = b.min_image(&[pos[j][0] - pos[i][0], pos[j][1] - pos[i][1], pos[j][2] - pos[i][2]]);
                let r = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
                if r < 3.5 {
                    want[((types[i] * 2 + types[j]) as usize) * 70 + (r / bins.dr()) as usize] += 1;
                }
            }
        }
        assert_eq!(c, want);
        let g = rdf_sum(&[fr], &types, 2, bins, Some(1), &Silent).unwrap();
        assert_eq!(g.len(), 280);
    }

    #[test]
    fn errors() {
        let b = SimBox::orthorhombic([6.0; 3]).unwrap();
        let fr = FrameData { pos: vec![[0.0; 3], [1.0; 3], [2.0; 3]], sbox: b };
        let e = rdf_sum(&[fr], &[0, 0, 0], 2, RdfBins { r_max: 2.0, n_bins: 4 }, None, &Silent).unwrap_err();
        assert!(e.to_string().contains("no particles"));
    }
}
