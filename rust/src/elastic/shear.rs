//! Athermal shear modulus (definitions §6): G = (1/V)[∂²U/∂γ² − Ξ·M⁺·Ξ], Ξ = ∂²U/∂γ∂x.
//!
//! Simple shear in plane (α, β): x_α → x_α + γ x_β, applied affinely to every pair separation
//! d = r_j − r_i, so ∂d/∂γ = d_β e_α. With r = |d|:
//!   ∂r/∂γ = d_α d_β / r,   ∂²r/∂γ² = d_β²/r − d_α² d_β² / r³,
//!   ∂²U/∂γ² = Σ_pairs U″ (∂r/∂γ)² + U′ ∂²r/∂γ²           (the Born term),
//!   Ξ_j = +K_ij (d_β e_α),  Ξ_i = −K_ij (d_β e_α)          (summed over pairs),
//! where K is the pair stiffness block of the Hessian. Ξ sums to zero, so it is orthogonal to
//! the translations and M⁺Ξ is well defined.

use crate::elastic::hessian::{block_mul, Hessian, Triplet};

/// The affine shear velocity of a triplet's coordinates (d1, d2): v = (d1_β e_α, d2_β e_α).
fn triplet_v(t: &Triplet, alpha: usize, beta: usize) -> [f64; 6] {
    let mut v = [0.0; 6];
    v[alpha] = t.d1[beta];
    v[3 + alpha] = t.d2[beta];
    v
}

/// Born term ∂²U/∂γ² (energy, not divided by V) for shear x_alpha += γ x_beta. Three-body
/// terms contribute vᵀ H v (the coordinates are linear in γ).
pub fn born(h: &Hessian, alpha: usize, beta: usize) -> f64 {
    let pairs: f64 = h
        .pairs
        .iter()
        .map(|p| {
            let (da, db, r) = (p.d[alpha], p.d[beta], p.r);
            let dr = da * db / r;
            let d2r = db * db / r - da * da * db * db / (r * r * r);
            p.d2u * dr * dr + p.du * d2r
        })
        .sum();
    let three: f64 = h
        .triplets
        .iter()
        .map(|t| {
            let v = triplet_v(t, alpha, beta);
            (0..6).map(|a| (0..6).map(|b| v[a] * t.h[a][b] * v[b]).sum::<f64>()).sum::<f64>()
        })
        .sum();
    pairs + three
}

/// Ξ = ∂²U/∂γ∂x (length 3N) for shear x_alpha += γ x_beta.
pub fn xi(h: &Hessian, alpha: usize, beta: usize) -> Vec<f64> {
    let mut out = vec![0.0; h.dim()];
    for p in &h.pairs {
        let mut e = [0.0; 3];
        e[alpha] = p.d[beta];
        let v = block_mul(&p.k(), &e);
        let (i, j) = (p.i as usize, p.j as usize);
        for q in 0..3 {
            out[3 * j + q] += v[q];
            out[3 * i + q] -= v[q];
        }
    }
    // three-body: H v in (d1, d2), mapped to j (d1), k (d2) and i (−d1 − d2); as for pairs, the
    // gradient terms g_α δ_cβ are left out: they sum to the residual force, zero at a minimum
    for t in &h.triplets {
        let v = triplet_v(t, alpha, beta);
        let hv: Vec<f64> = (0..6).map(|a| (0..6).map(|b| t.h[a][b] * v[b]).sum()).collect();
        let (i, j, k) = (t.i as usize, t.j as usize, t.k as usize);
        for q in 0..3 {
            out[3 * j + q] += hv[q];
            out[3 * k + q] += hv[3 + q];
            out[3 * i + q] -= hv[q] + hv[3 + q];
        }
    }
    out
}

/// Shear stress σ_αβ-like first derivative (1/V) ∂U/∂γ for x_alpha += γ x_beta.
pub fn stress(h: &Hessian, alpha: usize, beta: usize) -> f64 {
    let pairs: f64 = h.pairs.iter().map(|p| p.du * p.d[alpha] * p.d[beta] / p.r).sum();
    let three: f64 = h.triplets.iter().map(|t| t.g[alpha] * t.d1[beta] + t.g[3 + alpha] * t.d2[beta]).sum();
    (pairs + three) / h.volume
}

/// The ordered shear planes (α, β), α ≠ β, averaged by `all_planes`.
pub const PLANES: [(usize, usize); 6] = [(0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1)];
