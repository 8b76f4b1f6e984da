//! Spatial coarse-graining of a per-particle quantity (SPEC 2.9):
//! X̄_i(L) = Σ_j w_ij X_j / Σ_j w_ij, w_ij = exp(−r_ij/L), over all j with a defined X
//! (finite value; j = i included with w = 1) and r_ij < r_cg, optionally only j of selected
//! species (the filter applies to j = i too). L = 0 means no coarse-graining (X̄_i = X_i).
//! All L values are done in one pass over the neighbour pairs. A particle with no defined
//! X in range gets NaN.

use rayon::prelude::*;

use super::{exp_neg, with_threads, Cells, FrameData};
use crate::error::Result;
use crate::invalid;

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
    let rows: Vec<Vec<f64>> = with_threads(n_threads, || {
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
                            let il = inv[l];
                            let (mut sn, mut sd) = (0.0, 0.0);
                            for (r, xv) in rb.iter().zip(xb.iter()) {
                                let w = exp_neg(-r * il);
                                sn += w * xv;
                                sd += w;
                            }
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
