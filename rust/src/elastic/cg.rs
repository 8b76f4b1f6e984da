//! Block-Jacobi preconditioned conjugate gradient for M z = b with b ⊥ translations.
//!
//! M is positive semi-definite with the three translations as its null space (for a
//! mechanically stable structure). For a right-hand side orthogonal to translations the
//! iterates converge to a solution; its translation component is removed at the end, which
//! gives the pseudo-inverse solution z = M⁺ b. `m` right-hand sides are solved together
//! (independent CG recurrences sharing one pass over the matrix per iteration), which is what
//! makes the sparse product memory-efficient; callers parallelise over batches.

use crate::elastic::hessian::{inv3, project_translations, Block, Hessian};
use crate::error::{Error, Result};
use crate::invalid;

/// Inverse 3×3 diagonal blocks of M. Errors name a particle whose block is singular.
pub fn block_jacobi(h: &Hessian) -> Result<Vec<Block>> {
    h.diag
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            inv3(&h.blocks[p]).ok_or_else(|| invalid!("particle {i} has a singular 3×3 diagonal Hessian block (a rattler?)"))
        })
        .collect()
}

/// Result of a batched solve: iterations used per right-hand side.
pub struct CgStats {
    pub iterations: Vec<usize>,
}

/// Solve M X = B for `m` interleaved right-hand sides (B[dof·m + c]) to relative residual
/// `rtol` (‖r‖ ≤ rtol‖b‖). X is overwritten with the translation-free solutions.
pub fn pcg_batch(h: &Hessian, pre: &[Block], b: &[f64], x: &mut [f64], m: usize, rtol: f64, max_iter: usize) -> Result<CgStats> {
    let dim = h.dim();
    debug_assert_eq!(b.len(), dim * m);
    let n = h.n_particles();
    let mut r = b.to_vec();
    x.iter_mut().for_each(|v| *v = 0.0);
    let mut zv = vec![0.0; dim * m];
    let mut p = vec![0.0; dim * m];
    let mut ap = vec![0.0; dim * m];
    let apply_pre = |r: &[f64], z: &mut [f64]| {
        for i in 0..n {
            let a = &pre[i];
            for c in 0..m {
                let r0 = r[(3 * i) * m + c];
                let r1 = r[(3 * i + 1) * m + c];
                let r2 = r[(3 * i + 2) * m + c];
                z[(3 * i) * m + c] = a[0] * r0 + a[1] * r1 + a[2] * r2;
                z[(3 * i + 1) * m + c] = a[3] * r0 + a[4] * r1 + a[5] * r2;
                z[(3 * i + 2) * m + c] = a[6] * r0 + a[7] * r1 + a[8] * r2;
            }
        }
    };
    let col_dot = |u: &[f64], v: &[f64]| -> Vec<f64> {
        let mut s = vec![0.0; m];
        for (cu, cv) in u.chunks(m).zip(v.chunks(m)) {
            for c in 0..m {
                s[c] += cu[c] * cv[c];
            }
        }
        s
    };
    let bnorm: Vec<f64> = col_dot(b, b).into_iter().map(f64::sqrt).collect();
    let mut done: Vec<bool> = bnorm.iter().map(|&v| v == 0.0).collect();
    let mut iters = vec![0usize; m];
    apply_pre(&r, &mut zv);
    p.copy_from_slice(&zv);
    let mut rz = col_dot(&r, &zv);
    let mut it = 0;
    while done.iter().any(|d| !d) {
        if it >= max_iter {
            let worst = (0..m)
                .filter(|&c| !done[c])
                .map(|c| col_dot(&r, &r)[c].sqrt() / bnorm[c])
                .fold(0.0, f64::max);
            return Err(Error::NotConverged(format!(
                "conjugate gradient did not converge in {max_iter} iterations (relative residual {worst:.2e} > rtol {rtol:.1e}); \
                 the Hessian may have extra soft or zero modes — raise max_iter or use the factorisation solver"
            )));
        }
        h.matmul_serial(&p, &mut ap, m);
        let pap = col_dot(&p, &ap);
        let mut alpha = vec![0.0; m];
        for c in 0..m {
            if done[c] {
                continue;
            }
            if !(pap[c] > 0.0) {
                return Err(invalid!(
                    "conjugate gradient met a direction of non-positive curvature (p·Mp = {:.3e}): the Hessian is not positive \
                     semi-definite — the structure is not a minimum (saddle) or has unstable modes",
                    pap[c]
                ));
            }
            alpha[c] = rz[c] / pap[c];
        }
        for k in 0..dim {
            let o = k * m;
            for c in 0..m {
                x[o + c] += alpha[c] * p[o + c];
                r[o + c] -= alpha[c] * ap[o + c];
            }
        }
        it += 1;
        let rr = col_dot(&r, &r);
        for c in 0..m {
            if !done[c] {
                iters[c] = it;
                if rr[c].sqrt() <= rtol * bnorm[c] {
                    done[c] = true;
                }
            }
        }
        apply_pre(&r, &mut zv);
        let rz_new = col_dot(&r, &zv);
        for c in 0..m {
            let beta = if done[c] { 0.0 } else { rz_new[c] / rz[c] };
            let keep = if done[c] { 0.0 } else { 1.0 };
            for k in 0..dim {
                let o = k * m + c;
                p[o] = keep * (zv[o] + beta * p[o]);
            }
        }
        rz = rz_new;
    }
    // remove translations column by column
    let mut col = vec![0.0; dim];
    for c in 0..m {
        for k in 0..dim {
            col[k] = x[k * m + c];
        }
        project_translations(&mut col);
        for k in 0..dim {
            x[k * m + c] = col[k];
        }
    }
    Ok(CgStats { iterations: iters })
}
