//! Histograms of single-particle displacements for the self van Hove function
//! G_s(r, τ) and the distribution P(log10 δr) (definitions §3).
//!
//! Bins follow `numpy.histogram`: bin `b` holds `edges[b] ≤ x < edges[b+1]`, the last bin also
//! holds `x = edges[last]`; values outside the edges are not counted. In `log10` mode the
//! binned value is log10|Δr| (zero displacements are never counted). Counts are returned per
//! selection (0 = all, 1 + species) as `out[s * n_bins + b]` and are additive over pairs and
//! particle chunks; normalisation happens in Python.

use rayon::prelude::*;

use super::{check_chunk, check_pairs, n_selections};
use crate::error::Result;
use crate::invalid;
use crate::monitor::Monitor;
use crate::simbox::Vec3;

#[inline]
fn disp(pos: &[Vec3], n: usize, pair: &[u32; 2], i: usize) -> f64 {
    let a = &pos[pair[0] as usize * n + i];
    let b = &pos[pair[1] as usize * n + i];
    let d = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
    (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt()
}

/// Bin of `x` (numpy.histogram convention) or None when outside.
#[inline]
pub fn bin_of(edges: &[f64], x: f64) -> Option<usize> {
    let nb = edges.len() - 1;
    if !(x >= edges[0] && x <= edges[nb]) {
        return None;
    }
    // number of edges ≤ x, minus one
    let b = edges.partition_point(|&e| e <= x) - 1;
    Some(b.min(nb - 1))
}

/// Largest |Δr| over the pairs, per selection (0 when a selection is empty).
pub fn max_displacement(pos: &[Vec3], n: usize, species: &[u32], n_species: usize, pairs: &[[u32; 2]]) -> Result<Vec<f64>> {
    check_chunk(pos, n, species, n_species)?;
    check_pairs(pairs, pos.len() / n)?;
    let n_sel = n_selections(n_species);
    let out = pairs
        .par_iter()
        .map(|pair| {
            let mut m = vec![0.0f64; n_sel];
            for i in 0..n {
                let r = disp(pos, n, pair, i);
                let s = 1 + species[i] as usize;
                m[0] = m[0].max(r);
                m[s] = m[s].max(r);
            }
            m
        })
        .reduce(|| vec![0.0; n_sel], |a, b| a.iter().zip(&b).map(|(x, y)| x.max(*y)).collect());
    Ok(out)
}

/// Histogram counts of |Δr| (or log10|Δr|) over all pairs, per selection.
pub fn displacement_histogram(
    pos: &[Vec3],
    n: usize,
    species: &[u32],
    n_species: usize,
    pairs: &[[u32; 2]],
    edges: &[f64],
    log10: bool,
    monitor: &dyn Monitor,
) -> Result<Vec<f64>> {
    check_chunk(pos, n, species, n_species)?;
    check_pairs(pairs, pos.len() / n)?;
    if edges.len() < 2 {
        return Err(invalid!("histogram needs at least 2 bin edges, got {}", edges.len()));
    }
    if edges.iter().any(|e| !e.is_finite()) || edges.windows(2).any(|w| !(w[1] > w[0])) {
        return Err(invalid!("histogram bin edges must be finite and strictly increasing"));
    }
    let n_sel = n_selections(n_species);
    let nb = edges.len() - 1;
    let mut total = vec![0.0; n_sel * nb];
    let mut done = 0;
    for block in pairs.chunks(256) {
        let part: Vec<Vec<f64>> = block
            .par_iter()
            .map(|pair| {
                let mut h = vec![0.0; n_sel * nb];
                for i in 0..n {
                    let r = disp(pos, n, pair, i);
                    let x = if log10 { r.log10() } else { r };
                    if let Some(b) = bin_of(edges, x) {
                        h[b] += 1.0;
                        h[(1 + species[i] as usize) * nb + b] += 1.0;
                    }
                }
                h
            })
            .collect();
        for h in part {
            for (t, v) in total.iter_mut().zip(h) {
                *t += v;
            }
        }
        done += block.len();
        monitor.progress(done, pairs.len())?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::Silent;

    #[test]
    fn numpy_bin_convention() {
        let e = [0.0, 1.0, 2.0];
        assert_eq!(bin_of(&e, 0.0), Some(0));
        assert_eq!(bin_of(&e, 1.0), Some(1));
        assert_eq!(bin_of(&e, 2.0), Some(1));
        assert_eq!(bin_of(&e, 2.5), None);
        assert_eq!(bin_of(&e, -0.1), None);
        assert_eq!(bin_of(&e, f64::NEG_INFINITY), None);
    }

    #[test]
    fn histogram_counts() {
        // 2 frames, 3 particles displaced by 0.5, 1.5, 2.0
        let pos = vec![[0.0; 3], [0.0; 3], [0.0; 3], [0.5, 0.0, 0.0], [0.0, 1.5, 0.0], [0.0, 0.0, 2.0]];
        let h = displacement_histogram(&pos, 3, &[0, 0, 1], 2, &[[0, 1]], &[0.0, 1.0, 2.0], false, &Silent).unwrap();
        assert_eq!(h, vec![1.0, 2.0, 1.0, 1.0, 0.0, 1.0]);
        let m = max_displacement(&pos, 3, &[0, 0, 1], 2, &[[0, 1]]).unwrap();
        assert_eq!(m, vec![2.0, 1.5, 2.0]);
        let hl = displacement_histogram(&pos, 3, &[0, 0, 1], 2, &[[0, 0]], &[-1.0, 1.0], true, &Silent).unwrap();
        assert_eq!(hl, vec![0.0, 0.0, 0.0]);
    }
}
