//! Spatial coarse-graining of a per-particle quantity (definitions §2.9):
//! X̄_i(L) = Σ_j w_ij X_j / Σ_j w_ij, w_ij = exp(−r_ij/L), over all j with a defined X
//! (finite value; j = i included with w = 1) and r_ij < r_cg, optionally only j of selected
//! species (the filter applies to j = i too). L = 0 means no coarse-graining (X̄_i = X_i).
//! All L values are done in one pass over the neighbour pairs. A particle with no defined
//! X in range gets NaN.

use rayon::prelude::*;

use super::{exp_neg, exp_neg4, Cells, FrameData};
use crate::error::Result;
use crate::invalid;

/// (Σ e^{−r/L} x, Σ e^{−r/L}) over the gathered neighbours, four lanes at a time.
#[inline(always)]
fn weighted_sums_body(r: &[f64], x: &[f64], il: f64) -> (f64, f64) {
    let n4 = r.len() - r.len() % 4;
    let mut sn = [0.0f64; 4];
    let mut sd = [0.0f64; 4];
    for (rc, xc) in r[..n4].chunks_exact(4).zip(x[..n4].chunks_exact(4)) {
        let w = exp_neg4([-rc[0] * il, -rc[1] * il, -rc[2] * il, -rc[3] * il]);
        for l in 0..4 {
            sn[l] += w[l] * xc[l];
            sd[l] += w[l];
        }
    }
    let (mut a, mut b) = ((sn[0] + sn[1]) + (sn[2] + sn[3]), (sd[0] + sd[1]) + (sd[2] + sd[3]));
    for (rv, xv) in r[n4..].iter().zip(&x[n4..]) {
        let w = exp_neg(-rv * il);
        a += w * xv;
        b += w;
    }
    (a, b)
}

/// `weighted_sums_body`, also compiled for AVX2 and chosen at run time (via `multiversion`).
#[multiversion::multiversion(targets("x86_64+avx2"))]
fn weighted_sums(r: &[f64], x: &[f64], il: f64) -> (f64, f64) {
    weighted_sums_body(r, x, il)
}

/// Returns X̄ with layout `l * N + i` (one row per L value).
pub fn coarse_grain(
    fr: &FrameData,
    types: &[u32],
    x: &[f64],
    ls: &[f64],
    r_cg: f64,
    species_mask: Option<&[bool]>,
    n_threads: Option<usize>,
) -> Result<Vec<f64>> {
    let n = fr.pos.len();
    if x.len() != n || types.len() != n {
        return Err(invalid!("coarse-graining: frame has {n} particles but {} values and {} species entries", x.len(), types.len()));
    }
    if let Some(l) = ls.iter().find(|l| !(**l >= 0.0 && l.is_finite())) {
        return Err(invalid!("coarse-graining length L must be finite and ≥ 0, got {l}"));
    }
    if let Some(m) = species_mask {
        if let Some((i, t)) = types.iter().enumerate().find(|(_, &t)| t as usize >= m.len()) {
            return Err(invalid!("particle {i} has species index {t} outside the species filter of {} entries", m.len()));
        }
    }
    let cells = Cells::new(&fr.pos, &fr.sbox, r_cg, "coarse-graining radius r_cg")?;
    let allowed = |j: usize| x[j].is_finite() && species_mask.map_or(true, |m| m[types[j] as usize]);
    let inv: Vec<f64> = ls.iter().map(|&l| if l > 0.0 { 1.0 / l } else { 0.0 }).collect();
    let nl = ls.len();
    let rows: Vec<Vec<f64>> = crate::threads::try_install(n_threads, || {
        Ok((0..n)
            .into_par_iter()
            .with_min_len(16)
            .map_init(
                || (Vec::<f64>::new(), Vec::<f64>::new()),
                |(rb, xb), i| {
                    rb.clear();
                    xb.clear();
                    cells.for_each(i, false, |j, r| {
                        if allowed(j) {
                            rb.push(r);
                            xb.push(x[j]);
                        }
                    });
                    let self_ok = allowed(i);
                    (0..nl)
                        .map(|l| {
                            if ls[l] == 0.0 {
                                return if self_ok { x[i] } else { f64::NAN };
                            }
                            let (mut num, mut den) = if self_ok { (x[i], 1.0) } else { (0.0, 0.0) };
                            // vectorisable: exp_neg is straight-line arithmetic
                            let (sn, sd) = weighted_sums(rb, xb, inv[l]);
                            num += sn;
                            den += sd;
                            if den > 0.0 {
                                num / den
                            } else {
                                f64::NAN
                            }
                        })
                        .collect()
                },
            )
            .collect())
    })?;
    let mut out = vec![0.0; nl * n];
    for (i, row) in rows.iter().enumerate() {
        for l in 0..nl {
            out[l * n + i] = row[l];
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simbox::SimBox;

    #[test]
    fn coarse_matches_direct_sum() {
        let b = SimBox::lammps([7.0, 8.0, 9.0], 1.0, 0.0, -0.5).unwrap();
        let mut rnd = crate::testutil::lcg(5);
        let n = 300;
        let pos: Vec<_> = (0..n).map(|_| b.to_cartesian(&[rnd(), rnd(), rnd()])).collect();
        let x: Vec<f64> = (0..n).map(|i| if i == 7 { f64::NAN } else { rnd() }).collect();
        let types = vec![0u32; n];
        let fr = FrameData { pos: pos.clone(), sbox: b.clone() };
        let ls = [0.0, 0.7, 2.0];
        let out = coarse_grain(&fr, &types, &x, &ls, 3.0, None, Some(1)).unwrap();
        for i in 0..n {
            for (l, &lv) in ls.iter().enumerate() {
                let (mut num, mut den) = (0.0, 0.0);
                for j in 0..n {
                    if !x[j].is_finite() {
                        continue;
                    }
                    let d = b.min_image(&[pos[j][0] - pos[i][0], pos[j][1] - pos[i][1], pos[j][2] - pos[i][2]]);
                    let r = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
                    if r < 3.0 && (lv > 0.0 || i == j) {
                        let w = if lv > 0.0 { (-r / lv).exp() } else { 1.0 };
                        num += w * x[j];
                        den += w;
                    }
                }
                let want = if den > 0.0 { num / den } else { f64::NAN };
                let got = out[l * n + i];
                assert!((got - want).abs() <= 1e-12 || (got.is_nan() && want.is_nan()), "{i} {l} {got} {want}");
            }
        }
    }
}
