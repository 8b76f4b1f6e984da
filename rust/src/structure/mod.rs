//! Static structure (definitions §2): partial g_uv(r) and S_uv(q), the per-particle Gaussian-smoothed
//! g^i_uv(r) with the structural order parameter, two-body entropy and local energy, spatial
//! coarse-graining of per-particle columns, and the q-space caging potential.
//!
//! One file per concept: [`rdf`], [`sq`], [`local`], [`coarse`], [`caging`], [`functions`]
//! (the radial structure functions of the machine-learned softness). Shared helpers
//! (cell-list iteration over neighbours, thread pools, species counts, trapezoid weights) live here.

pub mod caging;
pub mod coarse;
pub mod functions;
pub mod local;
pub mod rdf;
pub mod sq;

use crate::error::Result;
use crate::invalid;
pub use crate::neighbors::Cells;
use crate::simbox::{SimBox, Vec3};

/// One configuration: positions and its box (the particle set and species are shared).
#[derive(Clone)]
pub struct FrameData {
    pub pos: Vec<Vec3>,
    pub sbox: SimBox,
}

/// Particles per species; error if a type index is ≥ `ns`.
pub fn species_counts(types: &[u32], ns: usize) -> Result<Vec<usize>> {
    let mut c = vec![0usize; ns];
    for (i, &t) in types.iter().enumerate() {
        if t as usize >= ns {
            return Err(invalid!("particle {i} has species index {t}, but only {ns} species are declared"));
        }
        c[t as usize] += 1;
    }
    Ok(c)
}

/// Error naming the first species without particles.
pub fn require_all_species(counts: &[usize], what: &str) -> Result<()> {
    if let Some(u) = counts.iter().position(|&c| c == 0) {
        return Err(invalid!(
            "species index {u} has no particles; {what} needs every species to be present (counts {counts:?})"
        ));
    }
    Ok(())
}

/// Measure of the sphere of radius r (d/dr of [`ball`]): 2πr (d = 2) or 4πr² (d = 3), the
/// weight of the radial integrals ∫ … ρ g(r) dᵈr.
#[inline]
pub fn sphere(dim: usize, r: f64) -> f64 {
    if dim == 2 {
        2.0 * std::f64::consts::PI * r
    } else {
        4.0 * std::f64::consts::PI * r * r
    }
}

/// exp(x) for x ≤ 709 (named for its main use, x ≤ 0) as straight-line arithmetic that vectorises (Cody–Waite reduction to
/// |f| ≤ ln2/2 and a degree-13 Taylor polynomial evaluated by Estrin's scheme): relative error ≤ 3e-16 on [−708, 0];
/// returns 0 below −708 (where libm gives subnormals or 0).
#[inline(always)]
pub fn exp_neg(x: f64) -> f64 {
    exp_neg4([x; 4])[0]
}

/// [`exp_neg`] on four lanes, written lane-wise so the SLP vectoriser packs it into SIMD.
#[inline(always)]
pub fn exp_neg4(x: [f64; 4]) -> [f64; 4] {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    const SHIFTER: f64 = 6755399441055744.0;
    const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-01;
    const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
    /// 1/n!, n = 0…13
    const C: [f64; 14] = [
        1.0,
        1.0,
        0.5,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5_040.0,
        1.0 / 40_320.0,
        1.0 / 362_880.0,
        1.0 / 3_628_800.0,
        1.0 / 39_916_800.0,
        1.0 / 479_001_600.0,
        1.0 / 6_227_020_800.0,
    ];
    let mut xc = [0.0; 4];
    let mut t = [0.0; 4];
    let mut f = [0.0; 4];
    let mut p = [0.0; 4];
    let mut out = [0.0; 4];
    for l in 0..4 {
        xc[l] = if x[l] < -708.0 { -708.0 } else { x[l] };
    }
    for l in 0..4 {
        t[l] = xc[l] * LOG2E + SHIFTER;
    }
    for l in 0..4 {
        let kf = t[l] - SHIFTER;
        f[l] = (xc[l] - kf * LN2_HI) - kf * LN2_LO;
    }
    // Σ_{n≤13} fⁿ/n! by Estrin's scheme (short dependency chains)
    for l in 0..4 {
        let x = f[l];
        let x2 = x * x;
        let x4 = x2 * x2;
        let x8 = x4 * x4;
        let q0 = C[0] + C[1] * x;
        let q1 = C[2] + C[3] * x;
        let q2 = C[4] + C[5] * x;
        let q3 = C[6] + C[7] * x;
        let q4 = C[8] + C[9] * x;
        let q5 = C[10] + C[11] * x;
        let q6 = C[12] + C[13] * x;
        let r0 = q0 + q1 * x2;
        let r1 = q2 + q3 * x2;
        let r2 = q4 + q5 * x2;
        let s0 = r0 + r1 * x4;
        let s1 = r2 + q6 * x4;
        p[l] = s0 + s1 * x8;
    }
    for l in 0..4 {
        let k = (t[l].to_bits() as i64).wrapping_sub(SHIFTER.to_bits() as i64);
        let two_k = f64::from_bits(((k + 1023) as u64) << 52);
        out[l] = if x[l] < -708.0 { 0.0 } else { p[l] * two_k };
    }
    out
}

/// Trapezoid weights on the points `r[k]` (uniform spacing `h`) lying inside [lo, hi], endpoints
/// included (definitions §2.3): returns (first index, weights). No points or one point → zero integral.
pub fn trapezoid_window(r: &[f64], h: f64, lo: f64, hi: f64) -> (usize, Vec<f64>) {
    let inside: Vec<usize> = (0..r.len()).filter(|&k| r[k] >= lo && r[k] <= hi).collect();
    if inside.len() < 2 {
        return (0, Vec::new());
    }
    let (a, b) = (inside[0], inside[inside.len() - 1]);
    let mut w = vec![h; b - a + 1];
    w[0] = 0.5 * h;
    w[b - a] = 0.5 * h;
    (a, w)
}

#[cfg(test)]
mod tests {
    #[test]
    fn exp_neg_accuracy() {
        let mut worst: f64 = 0.0;
        for i in 0..200_000 {
            let x = -(i as f64) * 0.00354 - 1e-7 * (i % 7) as f64;
            let (a, b) = (super::exp_neg(x), x.exp());
            if b > 0.0 && x >= -708.0 {
                worst = worst.max(((a - b) / b).abs());
            }
        }
        assert!(worst < 5e-16, "{worst}");
        assert_eq!(super::exp_neg(-800.0), 0.0);
        assert_eq!(super::exp_neg(0.0), 1.0);
        let x = [-0.3, -12.7, -800.0, -700.1];
        let y = super::exp_neg4(x);
        for l in 0..4 {
            assert_eq!(y[l], super::exp_neg(x[l]));
        }
    }
}
