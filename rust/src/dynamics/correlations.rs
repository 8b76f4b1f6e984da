//! Per-pair sums for the self correlations of SPEC §3 (MSD, overlap, χ4, α2, F_s).
//!
//! For every (origin, target) frame pair `p` and every selection `s` (0 = all, 1 + species)
//! the kernel returns four sums over the particles `i` of the chunk in `s`, with
//! Δr = r_i(target) − r_i(origin) (unwrapped):
//!
//! | column | sum |
//! |---|---|
//! | 0 | Σ |Δr|² |
//! | 1 | Σ |Δr|⁴ |
//! | 2 | Σ Θ(a² − |Δr|²)  (inclusive: |Δr| = a counts as overlapping) |
//! | 3 | Σ (1/n_k) Σ_k cos(k·Δr), evaluated as cos(k·r_t)cos(k·r_o) + sin(k·r_t)sin(k·r_o) from a
//! |   | per-frame table (F × n × 2n_k floats, transient: part of the memory bound) |
//!
//! Layout: `out[(p * n_sel + s) * N_COLS + c]`. The sums are additive over particle chunks;
//! the lag averages, χ4 (which needs the per-pair overlap of the whole selection) and α2 are
//! formed from them afterwards. Pairs are processed in parallel; each pair's sums are
//! accumulated over particles in index order, so results do not depend on the thread count.

use rayon::prelude::*;

use super::{check_chunk, check_pairs, n_selections};
use crate::error::Result;
use crate::invalid;
use crate::monitor::Monitor;
use crate::simbox::Vec3;

pub const N_COLS: usize = 4;

/// Dot product with four independent partial sums (breaks the floating-point add latency
/// chain; the order is fixed, so results are deterministic).
#[inline]
fn dot(x: &[f64], y: &[f64]) -> f64 {
    let mut s4 = [0.0f64; 4];
    let (xc, yc) = (x.chunks_exact(4), y.chunks_exact(4));
    let (xr, yr) = (xc.remainder(), yc.remainder());
    for (a, b) in xc.zip(yc) {
        for l in 0..4 {
            s4[l] += a[l] * b[l];
        }
    }
    let mut s = (s4[0] + s4[1]) + (s4[2] + s4[3]);
    for (a, b) in xr.iter().zip(yr) {
        s += a * b;
    }
    s
}

/// Parameters of [`pair_sums`].
#[derive(Debug, Clone)]
pub struct CorrParams {
    /// Overlap cutoff a (length); a pair overlaps when |Δr| ≤ a.
    pub a: f64,
    /// Wave vectors for F_s (length⁻¹); may be empty (column 3 is then 0).
    pub kvecs: Vec<Vec3>,
}

/// Pairs per progress report.
const BLOCK: usize = 512;

/// Per-pair sums over the particles of a chunk (see the module docs for the layout).
pub fn pair_sums(
    pos: &[Vec3],
    n: usize,
    species: &[u32],
    n_species: usize,
    pairs: &[[u32; 2]],
    params: &CorrParams,
    monitor: &dyn Monitor,
) -> Result<Vec<f64>> {
    let n_frames = check_chunk(pos, n, species, n_species)?;
    check_pairs(pairs, n_frames)?;
    if !(params.a >= 0.0 && params.a.is_finite()) {
        return Err(invalid!("overlap cutoff a must be finite and ≥ 0, got {}", params.a));
    }
    if let Some(k) = params.kvecs.iter().find(|k| !k.iter().all(|v| v.is_finite())) {
        return Err(invalid!("wave vector {k:?} is not finite"));
    }
    let n_sel = n_selections(n_species);
    let stride = n_sel * N_COLS;
    let mut out = vec![0.0; pairs.len() * stride];
    let a2 = params.a * params.a;
    let kv = &params.kvecs;
    let nk = kv.len();
    let inv_nk = if nk == 0 { 0.0 } else { 1.0 / nk as f64 };
    // cos/sin table: cs[(f * n + i) * 2nk ..] = [cos(k·r) for k, sin(k·r) for k], so that
    // cos(k·Δr) = cos(k·r_t)cos(k·r_o) + sin(k·r_t)sin(k·r_o) is a contiguous dot product.
    let w = 2 * nk;
    let mut cs = vec![0.0; if nk == 0 { 0 } else { pos.len() * w }];
    if nk > 0 {
        cs.par_chunks_mut(w).zip(pos.par_iter()).for_each(|(row, r)| {
            for (j, k) in kv.iter().enumerate() {
                let (s, c) = (k[0] * r[0] + k[1] * r[1] + k[2] * r[2]).sin_cos();
                row[j] = c;
                row[nk + j] = s;
            }
        });
        monitor.progress(0, pairs.len())?;
    }
    // Cache blocking: particles in blocks whose data over all frames fit in ~1 MB, pairs in
    // parallel inside a block. Each pair still sums its particles in index order.
    let per_particle = n_frames * (24 + 8 * w);
    let pblock_n = (1usize << 20).checked_div(per_particle).unwrap_or(n).clamp(8, n.max(8));
    let n_pblocks = n.div_ceil(pblock_n);
    let total = pairs.len() * n_pblocks;
    let mut done = 0;
    for b0 in (0..n).step_by(pblock_n) {
        let b1 = (b0 + pblock_n).min(n);
        for (pblock, oblock) in pairs.chunks(BLOCK).zip(out.chunks_mut(BLOCK * stride)) {
            pblock.par_iter().zip(oblock.par_chunks_mut(stride)).for_each(|(pair, acc)| {
                let o = pair[0] as usize * n;
                let t = pair[1] as usize * n;
                let po = &pos[o + b0..o + b1];
                let pt = &pos[t + b0..t + b1];
                let sp = &species[b0..b1];
                // local accumulators (stack when the selections fit), added to `acc` once per block
                let mut stack = [0.0f64; 64];
                let mut heap;
                let loc: &mut [f64] = if stride <= 64 {
                    &mut stack[..stride]
                } else {
                    heap = vec![0.0; stride];
                    &mut heap
                };
                let mut all = [0.0f64; N_COLS];
                if nk == 0 {
                    for ((a, b), &s) in po.iter().zip(pt).zip(sp) {
                        let d = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
                        let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
                        let ov = if r2 <= a2 { 1.0 } else { 0.0 };
                        let vals = [r2, r2 * r2, ov, 0.0];
                        let l = &mut loc[(1 + s as usize) * N_COLS..(2 + s as usize) * N_COLS];
                        for c in 0..N_COLS {
                            all[c] += vals[c];
                            l[c] += vals[c];
                        }
                    }
                } else {
                    let co = cs[(o + b0) * w..(o + b1) * w].chunks_exact(w);
                    let ct = cs[(t + b0) * w..(t + b1) * w].chunks_exact(w);
                    for ((((a, b), &s), x), y) in po.iter().zip(pt).zip(sp).zip(co).zip(ct) {
                        let d = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
                        let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
                        let ov = if r2 <= a2 { 1.0 } else { 0.0 };
                        let fs = dot(x, y) * inv_nk;
                        let vals = [r2, r2 * r2, ov, fs];
                        let l = &mut loc[(1 + s as usize) * N_COLS..(2 + s as usize) * N_COLS];
                        for c in 0..N_COLS {
                            all[c] += vals[c];
                            l[c] += vals[c];
                        }
                    }
                }
                loc[..N_COLS].copy_from_slice(&all);
                for (x, y) in acc.iter_mut().zip(loc.iter()) {
                    *x += y;
                }
            });
            done += pblock.len();
            monitor.progress(done, total)?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::{Silent, StopAt};

    fn traj() -> (Vec<Vec3>, Vec<u32>) {
        // 3 frames, 2 particles: particle 0 (species 0) moves +0.2 x per frame; particle 1 (species 1) is still.
        let mut p = Vec::new();
        for f in 0..3 {
            p.push([0.2 * f as f64, 0.0, 0.0]);
            p.push([1.0, 1.0, 1.0]);
        }
        (p, vec![0, 1])
    }

    #[test]
    fn sums_match_hand_values() {
        let (p, s) = traj();
        let params = CorrParams { a: 0.3, kvecs: vec![[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]] };
        let out = pair_sums(&p, 2, &s, 2, &[[0, 2], [1, 1]], &params, &Silent).unwrap();
        let stride = 3 * N_COLS;
        assert_eq!(out.len(), 2 * stride);
        let d: f64 = 0.4;
        // pair 0, all: r2 = 0.16 + 0, r4 = 0.0256, overlap: particle 1 only, fs = ((cos 0.4 + 1)/2 + 1)
        assert!((out[0] - d * d).abs() < 1e-15);
        assert!((out[1] - d.powi(4)).abs() < 1e-15);
        assert_eq!(out[2], 1.0);
        assert!((out[3] - ((d.cos() + 1.0) / 2.0 + 1.0)).abs() < 1e-15);
        // pair 0, species 1 (particle 1): zero displacement
        assert_eq!(&out[2 * N_COLS..3 * N_COLS], &[0.0, 0.0, 1.0, 1.0]);
        // pair 1 (lag 0): everything overlaps, fs = 1 per particle
        assert_eq!(&out[stride..stride + N_COLS], &[0.0, 0.0, 2.0, 2.0]);
    }

    #[test]
    fn overlap_is_inclusive() {
        let p = vec![[0.0, 0.0, 0.0], [0.5, 0.0, 0.0]];
        let params = CorrParams { a: 0.5, kvecs: vec![] };
        let out = pair_sums(&p, 1, &[0], 1, &[[0, 1]], &params, &Silent).unwrap();
        assert_eq!(out[2], 1.0);
    }

    #[test]
    fn errors_and_cancel() {
        let (p, s) = traj();
        let params = CorrParams { a: 0.3, kvecs: vec![] };
        assert!(pair_sums(&p, 2, &s, 2, &[[0, 3]], &params, &Silent).is_err());
        assert!(pair_sums(&p, 2, &[0, 2], 2, &[[0, 1]], &params, &Silent).is_err());
        assert!(pair_sums(&p[..5], 2, &s, 2, &[[0, 1]], &params, &Silent).is_err());
        let r = pair_sums(&p, 2, &s, 2, &[[0, 1]], &params, &StopAt(1));
        assert_eq!(r, Err(crate::Error::Interrupted));
    }
}
