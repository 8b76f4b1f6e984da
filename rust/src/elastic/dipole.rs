//! Dipole stiffness (definitions §6, Kapteijns et al. 2021 App. A).
//!
//! For an interacting pair (i, j) with n = (r_j − r_i)/r_ij: d̂ = (1/√2) ∂r_ij/∂x has +n/√2 on
//! particle j and −n/√2 on particle i (unit length, zero net force); z = M⁺ d̂;
//! κ_ij = (d̂·z)/(z·z).

use rayon::prelude::*;

use crate::elastic::hessian::Hessian;
use crate::elastic::solve::Solver;
use crate::error::Result;
use crate::invalid;
use crate::monitor::Monitor;

/// Result for a list of dipoles.
pub struct Dipoles {
    pub kappa: Vec<f64>,
    /// CG iterations per dipole (0 with the factorisation).
    pub iterations: Vec<usize>,
}

/// Fill column `c` of `b` (column-major, dim rows) with d̂ for pair (i, j).
fn dipole_column(h: &Hessian, d: &[f64; 3], r: f64, i: usize, j: usize, col: &mut [f64]) {
    col.iter_mut().for_each(|v| *v = 0.0);
    let s = 1.0 / (r * std::f64::consts::SQRT_2);
    for q in 0..3 {
        col[3 * j + q] = d[q] * s;
        col[3 * i + q] = -d[q] * s;
    }
    let _ = h;
}

/// The minimum-image separation of an interacting pair, looked up in the Hessian's pair list.
fn find_pair(h: &Hessian, index: &[Vec<(u32, usize)>], i: usize, j: usize) -> Option<([f64; 3], f64)> {
    let (a, b, sign) = if i < j { (i, j, 1.0) } else { (j, i, -1.0) };
    index[a].iter().find(|e| e.0 as usize == b).map(|e| {
        let p = &h.pairs[e.1];
        ([sign * p.d[0], sign * p.d[1], sign * p.d[2]], p.r)
    })
}

/// κ_ij for each (i, j) of `pairs` (each must be an interacting pair of the Hessian).
/// Work is split into batches of `batch` right-hand sides run in parallel; `monitor` is called
/// between rounds.
pub fn dipole_stiffness(h: &Hessian, solver: &Solver, pairs: &[(u32, u32)], batch: usize, monitor: &dyn Monitor) -> Result<Dipoles> {
    let n = h.n_particles();
    let dim = h.dim();
    let batch = batch.max(1);
    let mut index: Vec<Vec<(u32, usize)>> = vec![Vec::new(); n];
    for (k, p) in h.pairs.iter().enumerate() {
        index[p.i as usize].push((p.j, k));
    }
    let mut geo = Vec::with_capacity(pairs.len());
    for (k, &(i, j)) in pairs.iter().enumerate() {
        let (i, j) = (i as usize, j as usize);
        if i >= n || j >= n {
            return Err(invalid!("dipole {k}: pair ({i}, {j}) refers to a particle outside 0..{n}"));
        }
        match find_pair(h, &index, i, j) {
            Some(g) => geo.push(g),
            None => {
                return Err(invalid!("dipole {k}: particles {i} and {j} do not interact (distance ≥ the pair cutoff); κ is defined for interacting pairs"))
            }
        }
    }
    let nthreads = rayon::current_num_threads().max(1);
    let round = batch * nthreads * 2;
    let mut kappa = vec![0.0; pairs.len()];
    let mut iterations = vec![0usize; pairs.len()];
    let total = pairs.len();
    let mut done = 0;
    while done < total {
        let end = (done + round).min(total);
        let chunks: Vec<(usize, usize)> = (done..end).step_by(batch).map(|s| (s, (s + batch).min(end))).collect();
        let results: Vec<Result<(usize, Vec<f64>, Vec<usize>)>> = chunks
            .par_iter()
            .map(|&(s, e)| {
                if monitor.cancelled() {
                    return Err(crate::error::Error::Interrupted);
                }
                let m = e - s;
                let mut b = vec![0.0; dim * m];
                for c in 0..m {
                    let (i, j) = (pairs[s + c].0 as usize, pairs[s + c].1 as usize);
                    let (d, r) = geo[s + c];
                    dipole_column(h, &d, r, i, j, &mut b[c * dim..(c + 1) * dim]);
                }
                let its = solver.solve(h, &mut b, m)?;
                let mut ks = Vec::with_capacity(m);
                for c in 0..m {
                    let z = &b[c * dim..(c + 1) * dim];
                    let (i, j) = (pairs[s + c].0 as usize, pairs[s + c].1 as usize);
                    let (d, r) = geo[s + c];
                    let sc = 1.0 / (r * std::f64::consts::SQRT_2);
                    let mut dz = 0.0;
                    for q in 0..3 {
                        dz += d[q] * sc * (z[3 * j + q] - z[3 * i + q]);
                    }
                    let zz: f64 = z.iter().map(|v| v * v).sum();
                    ks.push(dz / zz);
                }
                Ok((s, ks, its))
            })
            .collect();
        for r in results {
            let (s, ks, its) = r?;
            kappa[s..s + ks.len()].copy_from_slice(&ks);
            iterations[s..s + its.len()].copy_from_slice(&its);
        }
        done = end;
        monitor.progress(done, total)?;
    }
    Ok(Dipoles { kappa, iterations })
}

/// Displacement responses z = M⁺ d̂ for a few dipoles (column-major 3N × m), for checks.
pub fn dipole_response(h: &Hessian, solver: &Solver, pairs: &[(u32, u32)]) -> Result<Vec<f64>> {
    let n = h.n_particles();
    let dim = h.dim();
    let mut index: Vec<Vec<(u32, usize)>> = vec![Vec::new(); n];
    for (k, p) in h.pairs.iter().enumerate() {
        index[p.i as usize].push((p.j, k));
    }
    let m = pairs.len();
    let mut b = vec![0.0; dim * m];
    for (c, &(i, j)) in pairs.iter().enumerate() {
        let (i, j) = (i as usize, j as usize);
        if i >= n || j >= n {
            return Err(invalid!("dipole {c}: pair ({i}, {j}) refers to a particle outside 0..{n}"));
        }
        let (d, r) = find_pair(h, &index, i, j)
            .ok_or_else(|| invalid!("dipole {c}: particles {i} and {j} do not interact"))?;
        dipole_column(h, &d, r, i, j, &mut b[c * dim..(c + 1) * dim]);
    }
    solver.solve(h, &mut b, m)?;
    Ok(b)
}
