//! Radial and angular structure functions, the per-particle descriptors of the machine-learned
//! softness (Cubuk, Schoenholz et al.; definitions §2.12). Radial:
//!
//! G_X(i; μ) = Σ_{j ≠ i, species(j) = X, r_ij < r_max} exp(−(r_ij − μ)² / (2L²)),
//!
//! for every species X and every μ of a grid (σ); L (σ) is the Gaussian width. Dimensionless
//! counts: G_X(i; μ) is about the number of X neighbours in a shell of width ~2.5 L at μ. The
//! sum is truncated at r_max (choose r_max ≥ max μ + 3L: a neighbour beyond it contributes at
//! most e^{−4.5} ≈ 0.011 to any μ of the grid). Minimum-image distances in 2D and 3D boxes,
//! orthorhombic or triclinic; each particle's sum runs in the stencil order of the shared cell
//! grid, so results do not depend on the thread count.
//!
//! Angular, for every unordered pair of neighbour species {X, Y} and every (ξ, λ, ζ) of a grid:
//!
//! Ψ_XY(i; ξ, λ, ζ) = Σ_{j<k (as listed), {species j, species k} = {X, Y}} exp(−(r_ij² + r_ik² + r_jk²)/ξ²)
//!                    · (1 + λ cos θ_jik)^ζ,
//!
//! over the neighbours j, k of i within r_max (each unordered pair once), θ_jik the angle at i and
//! r_jk = |r_ik − r_ij| from the minimum-image vectors of i's neighbourhood. Dimensionless.

use rayon::prelude::*;

use super::{Cells, FrameData};
use crate::simbox::Vec3;
use crate::error::Result;
use crate::invalid;

/// The checks both kinds share (species indices, the neighbour range) and the cell list of the
/// frame for neighbours closer than `r_max`; `what` names the function in the errors.
fn frame_cells(fr: &FrameData, types: &[u32], n_types: usize, r_max: f64, what: &str) -> Result<Cells> {
    let n = fr.pos.len();
    if types.len() != n {
        return Err(invalid!("{what}: frame has {n} particles but {} species entries", types.len()));
    }
    if n_types == 0 {
        return Err(invalid!("{what}: n_types must be at least 1"));
    }
    if let Some((i, t)) = types.iter().enumerate().find(|(_, &t)| t as usize >= n_types) {
        return Err(invalid!("particle {i} has species index {t}, but n_types = {n_types}"));
    }
    if !(r_max > 0.0 && r_max.is_finite()) {
        return Err(invalid!("{what}: the neighbour range r_max must be positive (σ), got {r_max}"));
    }
    Cells::new(&fr.pos, &fr.sbox, r_max, &format!("{what} neighbour range r_max"))
}

/// G with layout `(i * n_types + X) * M + m` for particle i, species X and grid point μ_m.
pub fn radial_structure_functions(
    fr: &FrameData,
    types: &[u32],
    n_types: usize,
    mus: &[f64],
    width: f64,
    r_max: f64,
    n_threads: Option<usize>,
) -> Result<Vec<f64>> {
    let n = fr.pos.len();
    if mus.is_empty() {
        return Err(invalid!("structure functions: the μ grid is empty"));
    }
    if let Some(m) = mus.iter().find(|m| !m.is_finite()) {
        return Err(invalid!("structure functions: μ grid values must be finite, got {m}"));
    }
    if !(width > 0.0 && width.is_finite()) {
        return Err(invalid!("structure functions: the Gaussian width L must be positive (σ), got {width}"));
    }
    let cells = frame_cells(fr, types, n_types, r_max, "structure functions")?;
    let m = mus.len();
    let row = n_types * m;
    let c = -1.0 / (2.0 * width * width);
    let mut out = vec![0.0; n * row];
    crate::threads::try_install(n_threads, || {
        out.par_chunks_mut(row).with_min_len(16).enumerate().for_each(|(i, g)| {
            cells.for_each(i, false, |j, r| {
                let base = types[j] as usize * m;
                for (k, &mu) in mus.iter().enumerate() {
                    let x = r - mu;
                    g[base + k] += (c * x * x).exp();
                }
            });
        });
        Ok(())
    })?;
    Ok(out)
}

/// Grid of the angular functions: every combination (ξ, λ, ζ), ξ-major then λ then ζ.
#[derive(Debug, Clone)]
pub struct AngularGrid {
    /// Gaussian lengths ξ (σ), > 0.
    pub xis: Vec<f64>,
    /// λ = ±1 (any finite value in [−1, 1] is accepted).
    pub lambdas: Vec<f64>,
    /// Exponents ζ ≥ 1.
    pub zetas: Vec<f64>,
}

/// Index of the unordered species pair {x, y} (x ≤ y) among n types: (0,0), (0,1), …, (1,1), …
#[inline]
pub fn pair_index(x: usize, y: usize, n: usize) -> usize {
    let (a, b) = if x <= y { (x, y) } else { (y, x) };
    a * n - a * (a + 1) / 2 + b
}

/// Ψ with layout `(i * n_pairs + p) * C + c`, n_pairs = n_types(n_types + 1)/2 and c the
/// combination index of [`AngularGrid`].
pub fn angular_structure_functions(
    fr: &FrameData,
    types: &[u32],
    n_types: usize,
    grid: &AngularGrid,
    r_max: f64,
    n_threads: Option<usize>,
) -> Result<Vec<f64>> {
    let n = fr.pos.len();
    if grid.xis.is_empty() || grid.lambdas.is_empty() || grid.zetas.is_empty() {
        return Err(invalid!("angular structure functions: the ξ, λ and ζ grids must all be non-empty"));
    }
    if let Some(x) = grid.xis.iter().find(|x| !(**x > 0.0 && x.is_finite())) {
        return Err(invalid!("angular structure functions: ξ must be positive (σ), got {x}"));
    }
    if let Some(l) = grid.lambdas.iter().find(|l| !(l.abs() <= 1.0)) {
        return Err(invalid!("angular structure functions: λ must lie in [−1, 1] (usually ±1), got {l}"));
    }
    if let Some(z) = grid.zetas.iter().find(|z| !(**z >= 1.0 && z.is_finite())) {
        return Err(invalid!("angular structure functions: ζ must be a finite exponent ≥ 1, got {z}"));
    }
    let cells = frame_cells(fr, types, n_types, r_max, "angular structure functions")?;
    let n_pairs = n_types * (n_types + 1) / 2;
    let (nx, nl, nz) = (grid.xis.len(), grid.lambdas.len(), grid.zetas.len());
    let nc = nx * nl * nz;
    let row = n_pairs * nc;
    let inv_xi2: Vec<f64> = grid.xis.iter().map(|x| 1.0 / (x * x)).collect();
    let mut out = vec![0.0; n * row];
    crate::threads::try_install(n_threads, || {
        out.par_chunks_mut(row).with_min_len(8).enumerate().for_each_init(
            || (Vec::<(u32, Vec3, f64)>::with_capacity(64), vec![0.0; nx], vec![0.0; nl * nz]),
            |(nb, gauss, ang), (i, psi)| {
                nb.clear();
                let pi = fr.pos[i];
                cells.for_each(i, false, |j, r| {
                    let pj = fr.pos[j];
                    let d = fr.sbox.min_image(&[pj[0] - pi[0], pj[1] - pi[1], pj[2] - pi[2]]);
                    nb.push((types[j], d, r));
                });
                for a in 0..nb.len() {
                    let (ta, da, ra) = nb[a];
                    for b in a + 1..nb.len() {
                        let (tb, db, rb) = nb[b];
                        let djk = [db[0] - da[0], db[1] - da[1], db[2] - da[2]];
                        let s2 = ra * ra + rb * rb + (djk[0] * djk[0] + djk[1] * djk[1] + djk[2] * djk[2]);
                        let cos = (da[0] * db[0] + da[1] * db[1] + da[2] * db[2]) / (ra * rb);
                        for (g, ix2) in gauss.iter_mut().zip(&inv_xi2) {
                            *g = (-s2 * ix2).exp();
                        }
                        for (li, &lam) in grid.lambdas.iter().enumerate() {
                            let base = 1.0 + lam * cos;
                            for (zi, &z) in grid.zetas.iter().enumerate() {
                                ang[li * nz + zi] = base.max(0.0).powf(z);
                            }
                        }
                        let off = pair_index(ta as usize, tb as usize, n_types) * nc;
                        for (xi, g) in gauss.iter().enumerate() {
                            for (c, a_) in ang.iter().enumerate() {
                                psi[off + xi * nl * nz + c] += g * a_;
                            }
                        }
                    }
                }
            },
        );
        Ok(())
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simbox::SimBox;

    /// Three particles: each sum is two Gaussians evaluated directly.
    #[test]
    fn three_particles_direct() {
        let b = SimBox::orthorhombic([8.0; 3]).unwrap();
        let pos = vec![[0.5, 0.5, 0.5], [1.6, 0.5, 0.5], [7.9, 0.5, 0.5]];
        let fr = FrameData { pos: pos.clone(), sbox: b.clone() };
        let types = [0u32, 1, 1];
        let mus = [0.8, 1.0, 1.2];
        let g = radial_structure_functions(&fr, &types, 2, &mus, 0.1, 3.0, Some(1)).unwrap();
        for i in 0..3 {
            for x in 0..2 {
                for (k, &mu) in mus.iter().enumerate() {
                    let mut want = 0.0;
                    for j in 0..3 {
                        if j != i && types[j] as usize == x {
                            let d = b.min_image(&[pos[j][0] - pos[i][0], pos[j][1] - pos[i][1], pos[j][2] - pos[i][2]]);
                            let r = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
                            want += (-(r - mu) * (r - mu) / (2.0 * 0.01)).exp();
                        }
                    }
                    let got = g[(i * 2 + x) * 3 + k];
                    assert!((got - want).abs() <= 1e-14, "i={i} X={x} μ={mu}: {got} vs {want}");
                }
            }
        }
    }

    /// Three particles: Ψ of each is the single triplet evaluated directly.
    #[test]
    fn angular_three_particles_direct() {
        let b = SimBox::orthorhombic([8.0; 3]).unwrap();
        let pos = vec![[1.0, 1.0, 1.0], [2.1, 1.0, 1.0], [1.3, 1.9, 1.2]];
        let fr = FrameData { pos: pos.clone(), sbox: b };
        let types = [0u32, 1, 1];
        let grid = AngularGrid { xis: vec![1.0, 2.0], lambdas: vec![-1.0, 1.0], zetas: vec![1.0, 2.0] };
        let g = angular_structure_functions(&fr, &types, 2, &grid, 3.0, Some(1)).unwrap();
        let sub = |a: [f64; 3], c: [f64; 3]| [a[0] - c[0], a[1] - c[1], a[2] - c[2]];
        let norm = |v: [f64; 3]| (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
        for i in 0..3 {
            let (j, k) = match i { 0 => (1, 2), 1 => (0, 2), _ => (0, 1) };
            let (dj, dk) = (sub(pos[j], pos[i]), sub(pos[k], pos[i]));
            let (rj, rk, rjk) = (norm(dj), norm(dk), norm(sub(pos[k], pos[j])));
            let cos = (dj[0] * dk[0] + dj[1] * dk[1] + dj[2] * dk[2]) / (rj * rk);
            let p = pair_index(types[j] as usize, types[k] as usize, 2);
            for (xi_i, xi) in [1.0f64, 2.0].iter().enumerate() {
                for (li, lam) in [-1.0f64, 1.0].iter().enumerate() {
                    for (zi, z) in [1.0f64, 2.0].iter().enumerate() {
                        let want = (-(rj * rj + rk * rk + rjk * rjk) / (xi * xi)).exp() * (1.0 + lam * cos).powf(*z);
                        let c = xi_i * 4 + li * 2 + zi;
                        let got = g[(i * 3 + p) * 8 + c];
                        assert!((got - want).abs() <= 1e-14 * want.abs().max(1.0), "i={i} c={c}: {got} vs {want}");
                        for q in 0..3 {
                            if q != p {
                                assert_eq!(g[(i * 3 + q) * 8 + c], 0.0);
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(pair_index(1, 0, 2), 1);
        assert_eq!(pair_index(1, 1, 2), 2);
        assert!(angular_structure_functions(&fr, &types, 2, &AngularGrid { xis: vec![0.0], lambdas: vec![1.0], zetas: vec![1.0] }, 3.0, None).is_err());
    }

    #[test]
    fn bad_input() {
        let b = SimBox::orthorhombic([8.0; 3]).unwrap();
        let fr = FrameData { pos: vec![[0.5; 3], [1.5; 3]], sbox: b };
        assert!(radial_structure_functions(&fr, &[0, 2], 2, &[1.0], 0.1, 3.0, None).is_err());
        assert!(radial_structure_functions(&fr, &[0, 1], 2, &[1.0], 0.0, 3.0, None).is_err());
        assert!(radial_structure_functions(&fr, &[0, 1], 2, &[], 0.1, 3.0, None).is_err());
        assert!(radial_structure_functions(&fr, &[0, 1], 2, &[1.0], 0.1, 5.0, None).is_err());
    }
}
