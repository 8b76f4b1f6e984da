//! Mesoscopic elasticity of inherent structures (SPEC §6): sparse Hessian, athermal shear
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
