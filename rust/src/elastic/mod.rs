//! Mesoscopic elasticity of inherent structures (definitions §6): sparse Hessian, athermal shear
//! modulus with the non-affine correction, dipole stiffness κ_ij.
//!
//! - [`hessian`]: block-CSR Hessian from the neighbour CSR; matrix–vector products.
//! - [`cg`]: block-Jacobi preconditioned CG with batched right-hand sides.
//! - [`solve`]: M⁺ on the translation-free subspace, by CG or a reused sparse Cholesky factor.
//! - [`shear`]: Born term, Ξ = ∂²U/∂γ∂x, G for any simple-shear plane.
//! - [`dipole`]: κ_ij for lists of interacting pairs.

pub mod cg;
pub mod dipole;
pub mod hessian;
pub mod shear;
pub mod solve;

use crate::error::Result;
use hessian::Hessian;
use solve::Solver;

/// Shear modulus of one plane: G (non-affine) and the Born (affine) part, both divided by V.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShearModulus {
    pub alpha: usize,
    pub beta: usize,
    pub g: f64,
    pub born: f64,
}

/// G = (1/V)[∂²U/∂γ² − Ξ·M⁺·Ξ] for each simple-shear plane (α, β): x_α → x_α + γ x_β.
pub fn shear_modulus(h: &Hessian, solver: &Solver, planes: &[(usize, usize)]) -> Result<Vec<ShearModulus>> {
    let dim = h.dim();
    let m = planes.len();
    let mut b = vec![0.0; dim * m];
    let mut borns = Vec::with_capacity(m);
    for (c, &(a, be)) in planes.iter().enumerate() {
        if a > 2 || be > 2 || a == be {
            return Err(crate::invalid!("shear plane ({a}, {be}) is not a pair of distinct axes in 0..3"));
        }
        b[c * dim..(c + 1) * dim].copy_from_slice(&shear::xi(h, a, be));
        borns.push(shear::born(h, a, be));
    }
    let xi = b.clone();
    solver.solve(h, &mut b, m)?;
    Ok(planes
        .iter()
        .enumerate()
        .map(|(c, &(alpha, beta))| {
            let na: f64 = xi[c * dim..(c + 1) * dim].iter().zip(&b[c * dim..(c + 1) * dim]).map(|(x, z)| x * z).sum();
            ShearModulus { alpha, beta, g: (borns[c] - na) / h.volume, born: borns[c] / h.volume }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elastic::hessian::{project_translations, sym3_min_eig};
    use crate::elastic::solve::{Method, SolverOptions};
    use crate::models::Model;
    use crate::monitor::Silent;
    use crate::simbox::SimBox;

    /// fcc crystal of KA A particles (a stable minimum), optionally with small displacements.
    fn crystal(ncell: usize, a: f64, jitter: f64) -> (Vec<[f64; 3]>, Vec<u32>, SimBox) {
        let basis = [[0.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.5, 0.0, 0.5], [0.0, 0.5, 0.5]];
        let mut u = crate::testutil::lcg(7);
        let mut rnd = move || u() - 0.5;
        let mut pos = vec![];
        for x in 0..ncell {
            for y in 0..ncell {
                for z in 0..ncell {
                    for b in &basis {
                        pos.push([
                            (x as f64 + b[0]) * a + jitter * rnd(),
                            (y as f64 + b[1]) * a + jitter * rnd(),
                            (z as f64 + b[2]) * a + jitter * rnd(),
                        ]);
                    }
                }
            }
        }
        let n = pos.len();
        let l = ncell as f64 * a;
        (pos, vec![0; n], SimBox::orthorhombic([l, l, l]).unwrap())
    }

    #[test]
    fn translations_are_zero_modes_and_crystal_is_a_minimum() {
        let (pos, t, b) = crystal(4, 1.6, 0.0);
        let h = Hessian::new(&pos, &t, &b, &Model::kob_andersen()).unwrap();
        h.check_minimum(1e-12).unwrap();
        h.check_diagonal().unwrap();
        let mut x = vec![0.0; h.dim()];
        for c in x.chunks_mut(3) {
            c[1] = 1.0;
        }
        let mut y = vec![0.0; h.dim()];
        h.matvec(&x, &mut y);
        assert!(y.iter().all(|v| v.abs() < 1e-11));
    }

    #[test]
    fn cg_and_cholesky_solve_the_same_system() {
        let (pos, t, b) = crystal(4, 1.6, 0.02);
        let h = Hessian::new(&pos, &t, &b, &Model::kob_andersen()).unwrap();
        let mut rhs: Vec<f64> = (0..h.dim() * 2).map(|k| ((k * 7919) % 1000) as f64 / 1000.0 - 0.5).collect();
        for c in rhs.chunks_mut(h.dim()) {
            project_translations(c);
        }
        let mut sols = vec![];
        for m in [Method::Cg, Method::Cholesky] {
            let s = Solver::new(&h, &SolverOptions { method: m, ..Default::default() }).unwrap();
            assert_eq!(s.method(), m);
            let mut z = rhs.clone();
            s.solve(&h, &mut z, 2).unwrap();
            // residual M z − b
            for c in 0..2 {
                let mut mz = vec![0.0; h.dim()];
                h.matvec(&z[c * h.dim()..(c + 1) * h.dim()], &mut mz);
                let r: f64 = mz.iter().zip(&rhs[c * h.dim()..]).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt();
                let bn: f64 = rhs[c * h.dim()..(c + 1) * h.dim()].iter().map(|v| v * v).sum::<f64>().sqrt();
                assert!(r < 1e-10 * bn, "{m:?} residual {r}");
            }
            sols.push(z);
        }
        let diff = sols[0].iter().zip(&sols[1]).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        let scale = sols[1].iter().map(|v| v.abs()).fold(0.0, f64::max);
        assert!(diff < 1e-8 * scale, "{diff} vs {scale}");
        // dipoles agree between the two solvers
        let pairs: Vec<(u32, u32)> = h.pairs.iter().step_by(97).map(|p| (p.i, p.j)).collect();
        let a = dipole::dipole_stiffness(&h, &Solver::new(&h, &SolverOptions { method: Method::Cg, ..Default::default() }).unwrap(), &pairs, 4, &Silent).unwrap();
        let c = dipole::dipole_stiffness(&h, &Solver::new(&h, &SolverOptions { method: Method::Cholesky, ..Default::default() }).unwrap(), &pairs, 4, &Silent).unwrap();
        for (x, y) in a.kappa.iter().zip(&c.kappa) {
            assert!((x - y).abs() < 1e-8 * y.abs());
        }
    }

    #[test]
    fn smallest_eigenvalue_of_3x3() {
        let a = [4.0, 1.0, 0.5, 1.0, 3.0, 0.2, 0.5, 0.2, 1.0];
        // characteristic polynomial check: det(A − λI) = 0
        let l = sym3_min_eig(&a);
        let m = [a[0] - l, a[1], a[2], a[3], a[4] - l, a[5], a[6], a[7], a[8] - l];
        let det = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
        assert!(det.abs() < 1e-12 && l > 0.0 && l < 1.0);
    }

    #[test]
    fn shear_modulus_of_cubic_crystal_is_symmetric() {
        let (pos, t, b) = crystal(4, 1.6, 0.0);
        let h = Hessian::new(&pos, &t, &b, &Model::kob_andersen()).unwrap();
        let s = Solver::new(&h, &SolverOptions::default()).unwrap();
        let g = shear_modulus(&h, &s, &shear::PLANES).unwrap();
        for x in &g {
            assert!((x.g - g[0].g).abs() < 1e-9 * g[0].g.abs(), "{g:?}");
            // a perfect Bravais crystal deforms affinely: G = Born
            assert!((x.g - x.born).abs() < 1e-9 * x.born.abs());
        }
    }
}
