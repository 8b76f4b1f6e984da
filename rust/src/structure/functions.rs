//! Radial structure functions, the per-particle descriptors of the machine-learned softness
//! (Cubuk, Schoenholz et al.; definitions §2.12):
//!
//! G_X(i; μ) = Σ_{j ≠ i, species(j) = X, r_ij < r_max} exp(−(r_ij − μ)² / (2L²)),
//!
//! for every species X and every μ of a grid (σ); L (σ) is the Gaussian width. Dimensionless
//! counts: G_X(i; μ) is about the number of X neighbours in a shell of width ~2.5 L at μ. The
//! sum is truncated at r_max (choose r_max ≥ max μ + 3L: a neighbour beyond it contributes at
//! most e^{−4.5} ≈ 0.011 to any μ of the grid). Minimum-image distances in 2D and 3D boxes,
//! orthorhombic or triclinic; each particle's sum runs in the stencil order of the shared cell
//! grid, so results do not depend on the thread count.

use rayon::prelude::*;

use super::{Cells, FrameData};
use crate::error::Result;
use crate::invalid;

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
    if types.len() != n {
        return Err(invalid!("structure functions: frame has {n} particles but {} species entries", types.len()));
    }
    if n_types == 0 {
        return Err(invalid!("structure functions: n_types must be at least 1"));
    }
    if let Some((i, t)) = types.iter().enumerate().find(|(_, &t)| t as usize >= n_types) {
        return Err(invalid!("particle {i} has species index {t}, but n_types = {n_types}"));
    }
    if mus.is_empty() {
        return Err(invalid!("structure functions: the μ grid is empty"));
    }
    if let Some(m) = mus.iter().find(|m| !m.is_finite()) {
        return Err(invalid!("structure functions: μ grid values must be finite, got {m}"));
    }
    if !(width > 0.0 && width.is_finite()) {
        return Err(invalid!("structure functions: the Gaussian width L must be positive (σ), got {width}"));
    }
    if !(r_max > 0.0 && r_max.is_finite()) {
        return Err(invalid!("structure functions: the neighbour range r_max must be positive (σ), got {r_max}"));
    }
    let cells = Cells::new(&fr.pos, &fr.sbox, r_max, "structure-function neighbour range r_max")?;
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
