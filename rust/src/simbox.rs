//! Periodic simulation box (orthorhombic or triclinic) and the minimum-image convention.
//!
//! The box is the matrix `H = [a b c]` whose *columns* are the three edge vectors. glassrs
//! follows LAMMPS: `a = (lx,0,0)`, `b = (xy,ly,0)`, `c = (xz,yz,lz)`, but any right-handed
//! `H` with positive determinant is accepted. Fractional coordinates are `s = H⁻¹ x`.
//!
//! Two dimensions: a box whose third column is zero is a 2D box with edge vectors `a`, `b` in
//! the xy plane. Internally its third vector is the unit z vector (so `H` stays invertible and
//! every formula below works unchanged on positions with z = 0); [`SimBox::dim`] is 2,
//! [`SimBox::volume`] is the area |a × b|, and the z height is infinite (no periodic image in z).
//! Positions of a 2D system must have z = 0 ([`SimBox::check_planar`]).
//!
//! Minimum image: `s -= round(s)`. Whenever the true minimum-image distance of a pair is
//! below half the smallest box *height* (perpendicular width), its fractional components
//! lie in (−½, ½) and rounding returns it exactly, whatever the tilt. Kernels therefore
//! require cutoffs ≤ half the smallest height and error otherwise.

use crate::error::Result;
use crate::invalid;

pub type Vec3 = [f64; 3];

#[derive(Debug, Clone, PartialEq)]
pub struct SimBox {
    /// Row-major 3×3 matrix whose columns are the box vectors.
    h: [[f64; 3]; 3],
    hinv: [[f64; 3]; 3],
    orthorhombic: bool,
    volume: f64,
    dim: usize,
}

#[inline]
pub fn dot(a: &Vec3, b: &Vec3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

#[inline]
pub fn cross(a: &Vec3, b: &Vec3) -> Vec3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

#[inline]
pub fn norm2(a: &Vec3) -> f64 {
    dot(a, a)
}

impl SimBox {
    /// Build from a row-major 3×3 matrix whose columns are the box vectors.
    /// A zero third column makes a 2D box (see the module docs).
    pub fn from_matrix(mut h: [[f64; 3]; 3]) -> Result<Self> {
        if h.iter().flatten().any(|v| !v.is_finite()) {
            return Err(invalid!("box matrix has a non-finite entry: {h:?}"));
        }
        let planar = h[0][2] == 0.0 && h[1][2] == 0.0 && h[2][2] == 0.0;
        if planar {
            if h[2][0] != 0.0 || h[2][1] != 0.0 {
                return Err(invalid!(
                    "a 2D box (zero third box vector) needs edge vectors in the xy plane; got a={:?}, b={:?}",
                    [h[0][0], h[1][0], h[2][0]],
                    [h[0][1], h[1][1], h[2][1]]
                ));
            }
            h[2][2] = 1.0;
        }
        let a = [h[0][0], h[1][0], h[2][0]];
        let b = [h[0][1], h[1][1], h[2][1]];
        let c = [h[0][2], h[1][2], h[2][2]];
        let volume = dot(&a, &cross(&b, &c));
        if !(volume > 0.0) {
            return Err(invalid!(
                "box must have positive volume (right-handed edge vectors); got volume {volume} for box vectors a={a:?}, b={b:?}, c={c:?}"
            ));
        }
        let inv_det = 1.0 / volume;
        // inverse = adj(H)/det; rows of H⁻¹ are (b×c, c×a, a×b)/V
        let r0 = cross(&b, &c);
        let r1 = cross(&c, &a);
        let r2 = cross(&a, &b);
        let hinv = [
            [r0[0] * inv_det, r0[1] * inv_det, r0[2] * inv_det],
            [r1[0] * inv_det, r1[1] * inv_det, r1[2] * inv_det],
            [r2[0] * inv_det, r2[1] * inv_det, r2[2] * inv_det],
        ];
        let orthorhombic = h[0][1] == 0.0
            && h[0][2] == 0.0
            && h[1][2] == 0.0
            && h[1][0] == 0.0
            && h[2][0] == 0.0
            && h[2][1] == 0.0;
        Ok(SimBox { h, hinv, orthorhombic, volume, dim: if planar { 2 } else { 3 } })
    }

    /// 2D box from two edge vectors in the xy plane.
    pub fn planar(a: [f64; 2], b: [f64; 2]) -> Result<Self> {
        Self::from_matrix([[a[0], b[0], 0.0], [a[1], b[1], 0.0], [0.0, 0.0, 0.0]])
    }

    /// Number of spatial dimensions (2 or 3).
    #[inline]
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Error unless every z coordinate is 0 in a 2D box (names the first offending particle).
    pub fn check_planar(&self, pos: &[Vec3]) -> Result<()> {
        if self.dim == 2 {
            if let Some((i, p)) = pos.iter().enumerate().find(|(_, p)| p[2] != 0.0) {
                return Err(invalid!(
                    "particle {i} has z = {} in a 2D box; positions of a two-dimensional system must have z = 0",
                    p[2]
                ));
            }
        }
        Ok(())
    }

    /// Orthorhombic box with edge lengths `l`.
    pub fn orthorhombic(l: Vec3) -> Result<Self> {
        Self::from_matrix([[l[0], 0.0, 0.0], [0.0, l[1], 0.0], [0.0, 0.0, l[2]]])
    }

    /// LAMMPS parameters: edge lengths and tilts xy, xz, yz.
    pub fn lammps(l: Vec3, xy: f64, xz: f64, yz: f64) -> Result<Self> {
        Self::from_matrix([[l[0], xy, xz], [0.0, l[1], yz], [0.0, 0.0, l[2]]])
    }

    /// From a flat row-major slice of 9 numbers (a zero third column makes a 2D box).
    pub fn from_slice(m: &[f64]) -> Result<Self> {
        if m.len() != 9 {
            return Err(invalid!("box matrix must have 9 entries, got {}", m.len()));
        }
        Self::from_matrix([[m[0], m[1], m[2]], [m[3], m[4], m[5]], [m[6], m[7], m[8]]])
    }

    /// The box matrix (columns = box vectors); for a 2D box the third column is the unit z
    /// vector used internally.
    pub fn matrix(&self) -> [[f64; 3]; 3] {
        self.h
    }

    pub fn is_orthorhombic(&self) -> bool {
        self.orthorhombic
    }

    /// Volume (3D) or area (2D).
    pub fn volume(&self) -> f64 {
        self.volume
    }

    /// Box vector k (0 → a, 1 → b, 2 → c).
    pub fn vector(&self, k: usize) -> Vec3 {
        [self.h[0][k], self.h[1][k], self.h[2][k]]
    }

    /// Perpendicular widths: height_k = V / |a_i × a_j| for the two other vectors. In 2D the
    /// heights of a and b are A/|b|, A/|a| and the z height is infinite.
    pub fn heights(&self) -> Vec3 {
        let (a, b, c) = (self.vector(0), self.vector(1), self.vector(2));
        if self.dim == 2 {
            let (la, lb) = (norm2(&a).sqrt(), norm2(&b).sqrt());
            return [self.volume / lb, self.volume / la, f64::INFINITY];
        }
        [
            self.volume / norm2(&cross(&b, &c)).sqrt(),
            self.volume / norm2(&cross(&c, &a)).sqrt(),
            self.volume / norm2(&cross(&a, &b)).sqrt(),
        ]
    }

    pub fn min_height(&self) -> f64 {
        let h = self.heights();
        h[0].min(h[1]).min(h[2])
    }

    #[inline]
    pub fn to_fractional(&self, x: &Vec3) -> Vec3 {
        let m = &self.hinv;
        [
            m[0][0] * x[0] + m[0][1] * x[1] + m[0][2] * x[2],
            m[1][0] * x[0] + m[1][1] * x[1] + m[1][2] * x[2],
            m[2][0] * x[0] + m[2][1] * x[1] + m[2][2] * x[2],
        ]
    }

    #[inline]
    pub fn to_cartesian(&self, s: &Vec3) -> Vec3 {
        let m = &self.h;
        [
            m[0][0] * s[0] + m[0][1] * s[1] + m[0][2] * s[2],
            m[1][0] * s[0] + m[1][1] * s[1] + m[1][2] * s[2],
            m[2][0] * s[0] + m[2][1] * s[1] + m[2][2] * s[2],
        ]
    }

    /// Minimum-image displacement (see module docs for when it is exact).
    #[inline]
    pub fn min_image(&self, d: &Vec3) -> Vec3 {
        if self.orthorhombic {
            let l = [self.h[0][0], self.h[1][1], self.h[2][2]];
            [
                d[0] - l[0] * (d[0] / l[0]).round(),
                d[1] - l[1] * (d[1] / l[1]).round(),
                d[2] - l[2] * (d[2] / l[2]).round(),
            ]
        } else {
            let mut s = self.to_fractional(d);
            for v in s.iter_mut() {
                *v -= v.round();
            }
            self.to_cartesian(&s)
        }
    }

    /// Fractional coordinates wrapped into [0, 1).
    #[inline]
    pub fn wrapped_fractional(&self, x: &Vec3) -> Vec3 {
        let mut s = self.to_fractional(x);
        for v in s.iter_mut() {
            *v -= v.floor();
            if *v >= 1.0 {
                *v = 0.0; // guards the rounding case floor(-tiny) = -1 → 1.0
            }
        }
        s
    }

    /// Error unless `r` ≤ half the smallest box height (required for a unique minimum image).
    pub fn check_cutoff(&self, r: f64, what: &str) -> Result<()> {
        let half = 0.5 * self.min_height();
        if !(r > 0.0) || !r.is_finite() {
            return Err(invalid!("{what} must be a positive finite distance, got {r}"));
        }
        if r > half * (1.0 + 1e-12) {
            return Err(invalid!(
                "{what} = {r} exceeds half the smallest box height ({half:.6}); the minimum image would not be unique. Use a smaller {what} or a larger box"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_boxes() {
        assert!(SimBox::orthorhombic([1.0, 0.0, 1.0]).is_err());
        assert!(SimBox::orthorhombic([1.0, f64::NAN, 1.0]).is_err());
        assert!(SimBox::orthorhombic([1.0, -2.0, 1.0]).is_err());
    }

    #[test]
    fn two_dimensional_box() {
        let b = SimBox::planar([10.0, 0.0], [3.0, 8.0]).unwrap();
        assert_eq!(b.dim(), 2);
        assert_eq!(b.volume(), 80.0);
        let h = b.heights();
        assert!((h[0] - 80.0 / (9.0f64 + 64.0).sqrt()).abs() < 1e-12 && (h[1] - 8.0).abs() < 1e-12 && h[2].is_infinite());
        // the minimum image never shifts z, and wrapping keeps z = 0
        let d = b.min_image(&[9.5, 7.9, 0.0]);
        assert_eq!(d[2], 0.0);
        assert!((d[0] - (9.5 - 10.0 - 3.0)).abs() < 1e-12 && (d[1] - (7.9 - 8.0)).abs() < 1e-12);
        assert_eq!(b.wrapped_fractional(&[-1.0, 20.0, 0.0])[2], 0.0);
        assert!(b.check_planar(&[[1.0, 2.0, 0.0]]).is_ok());
        assert!(b.check_planar(&[[1.0, 2.0, 0.0], [0.0, 0.0, 1e-9]]).unwrap_err().to_string().contains("particle 1"));
        assert!(b.check_cutoff(0.5 * 8.0, "r").is_ok() && b.check_cutoff(4.9, "r").is_err());
        // a tilted third column is not a 2D box; a 2D box needs in-plane edge vectors
        assert!(SimBox::from_matrix([[10.0, 0.0, 0.0], [0.0, 8.0, 0.0], [0.5, 0.0, 0.0]]).is_err());
        assert_eq!(SimBox::orthorhombic([4.0, 5.0, 6.0]).unwrap().dim(), 3);
    }

    #[test]
    fn inverse_and_heights() {
        let b = SimBox::lammps([4.0, 5.0, 6.0], 1.0, -0.5, 0.7).unwrap();
        let x = [0.3, -1.7, 2.2];
        let s = b.to_fractional(&x);
        let y = b.to_cartesian(&s);
        for k in 0..3 {
            assert!((x[k] - y[k]).abs() < 1e-14);
        }
        // LAMMPS: heights are lz, ly/sqrt(1+(yz/lz)^2)... check z height = lz exactly
        let h = b.heights();
        assert!((h[2] - 6.0).abs() < 1e-12);
        assert!((b.volume() - 120.0).abs() < 1e-12);
    }

    #[test]
    fn min_image_matches_brute_force_triclinic() {
        let b = SimBox::lammps([5.0, 6.0, 7.0], 2.0, -1.5, 1.2).unwrap();
        let half = 0.5 * b.min_height();
        let mut u = crate::testutil::lcg(12345);
        let mut rnd = move || u() * 20.0 - 10.0;
        let mut checked = 0;
        for _ in 0..20000 {
            let d = [rnd(), rnd(), rnd()];
            let m = b.min_image(&d);
            // brute force over images
            let mut best = f64::INFINITY;
            let s = b.to_fractional(&d);
            let base = [s[0].round(), s[1].round(), s[2].round()];
            for i in -3..=3 {
                for j in -3..=3 {
                    for k in -3..=3 {
                        let t = [s[0] - base[0] + i as f64, s[1] - base[1] + j as f64, s[2] - base[2] + k as f64];
                        let c = b.to_cartesian(&t);
                        best = best.min(norm2(&c));
                    }
                }
            }
            if best.sqrt() < half {
                checked += 1;
                assert!((norm2(&m) - best).abs() < 1e-10, "{m:?} {best}");
            }
        }
        assert!(checked > 100);
    }
}
