//! The per-particle stencil walk of the structure kernels (g(r), local g_i, coarse-graining):
//! for particle i, every j with r_ij < r_max, read from i's cell and its de-duplicated stencil
//! on the shared cell grid ([`super::grid`]).

use super::check_positions;
use super::grid::{slots, CellGrid};
use crate::error::Result;
use crate::simbox::{SimBox, Vec3};

/// Cell list plus de-duplicated stencils, built once per frame and shared by the kernels.
///
/// Built on [`CellGrid`] with cells at least r_max/2 thick and a ±2-cell stencil when the box
/// holds ≥ 5 such cells per direction (fewer candidate pairs), else r_max-thick cells and ±1.
/// Positions are wrapped once into the box (Cartesian for orthorhombic boxes, fractional
/// otherwise) and stored in cell order, so the minimum image of a pair is one conditional
/// shift per axis instead of a rounding — identical to `SimBox::min_image` up to the last bit.
pub struct Cells {
    grid: CellGrid,
    stencils: Vec<Vec<usize>>,
    /// wrapped coordinates in cell order (index = position in `grid.particles`), one array per axis
    xs: [Vec<f64>; 3],
    /// slot of particle i in `sorted`
    slot: Vec<u32>,
    /// box matrix (columns = box vectors), for triclinic fractional → Cartesian
    h: [[f64; 3]; 3],
    len: Vec3,
    half_len: Vec3,
    ortho: bool,
    r2max: f64,
}

impl Cells {
    /// Cell list for pairs closer than `r_max` (checked against half the smallest box height).
    pub fn new(pos: &[Vec3], sbox: &SimBox, r_max: f64, what: &str) -> Result<Self> {
        sbox.check_cutoff(r_max, what)?;
        check_positions(pos, sbox)?;
        let h = sbox.heights();
        let fine = h.iter().all(|&x| (x / (0.5 * r_max)).floor() >= 5.0);
        let (grid, reach) = if fine {
            (CellGrid::new(pos, sbox, 0.5 * r_max), 2i64)
        } else {
            (CellGrid::new(pos, sbox, r_max), 1i64)
        };
        let n = grid.n;
        // with the grid capped (tiny r_max) cells may be thinner than r_max / reach: widen the stencil
        let reach_k: [i64; 3] = std::array::from_fn(|k| {
            if k >= sbox.dim() {
                return 0; // 2D: one cell along z
            }
            let cell = h[k] / n[k] as f64;
            ((r_max / cell).ceil() as i64).max(reach).min(n[k] as i64)
        });
        let ncell = grid.start.len() - 1;
        let stencils = (0..ncell).map(|c| grid.stencil_reach(c, reach_k)).collect();
        let ortho = sbox.is_orthorhombic();
        let m = sbox.matrix();
        let (len, half_len) = if ortho {
            ([m[0][0], m[1][1], m[2][2]], [0.5 * m[0][0], 0.5 * m[1][1], 0.5 * m[2][2]])
        } else {
            ([1.0; 3], [0.5; 3])
        };
        let wrap = |x: &Vec3| {
            let s = sbox.wrapped_fractional(x);
            if ortho {
                [s[0] * len[0], s[1] * len[1], s[2] * len[2]]
            } else {
                s
            }
        };
        let sorted: Vec<Vec3> = grid.particles.iter().map(|&j| wrap(&pos[j as usize])).collect();
        let xs = [0, 1, 2].map(|a| sorted.iter().map(|x| x[a]).collect::<Vec<f64>>());
        let slot = slots(&grid.particles);
        let hm = sbox.matrix();
        Ok(Cells { grid, stencils, xs, slot, h: hm, len, half_len, ortho, r2max: r_max * r_max })
    }

    /// Call `f(j, r)` for every j ≠ i with r_ij < r_max (`half`: only j > i).
    ///
    /// Candidates of a cell are processed in blocks: squared distances first (branch-free,
    /// structure-of-arrays, vectorisable), then the filter.
    #[inline]
    pub fn for_each(&self, i: usize, half: bool, mut f: impl FnMut(usize, f64)) {
        const B: usize = 64;
        let si = self.slot[i] as usize;
        let xi = [self.xs[0][si], self.xs[1][si], self.xs[2][si]];
        let (l, hl) = (self.len, self.half_len);
        let mut r2 = [0.0f64; B];
        for &c in &self.stencils[self.grid.cell_of[i] as usize] {
            let (mut a, end) = (self.grid.start[c], self.grid.start[c + 1]);
            while a < end {
                let b = (a + B).min(end);
                let n = b - a;
                let (x0, x1, x2) = (&self.xs[0][a..b], &self.xs[1][a..b], &self.xs[2][a..b]);
                if self.ortho {
                    for t in 0..n {
                        let mut d0 = x0[t] - xi[0];
                        let mut d1 = x1[t] - xi[1];
                        let mut d2 = x2[t] - xi[2];
                        d0 = if d0 > hl[0] { d0 - l[0] } else if d0 < -hl[0] { d0 + l[0] } else { d0 };
                        d1 = if d1 > hl[1] { d1 - l[1] } else if d1 < -hl[1] { d1 + l[1] } else { d1 };
                        d2 = if d2 > hl[2] { d2 - l[2] } else if d2 < -hl[2] { d2 + l[2] } else { d2 };
                        r2[t] = d0 * d0 + d1 * d1 + d2 * d2;
                    }
                } else {
                    let h = &self.h;
                    for t in 0..n {
                        let mut s = [x0[t] - xi[0], x1[t] - xi[1], x2[t] - xi[2]];
                        for v in s.iter_mut() {
                            *v = if *v > 0.5 { *v - 1.0 } else if *v < -0.5 { *v + 1.0 } else { *v };
                        }
                        let d0 = h[0][0] * s[0] + h[0][1] * s[1] + h[0][2] * s[2];
                        let d1 = h[1][0] * s[0] + h[1][1] * s[1] + h[1][2] * s[2];
                        let d2 = h[2][0] * s[0] + h[2][1] * s[1] + h[2][2] * s[2];
                        r2[t] = d0 * d0 + d1 * d1 + d2 * d2;
                    }
                }
                let ids = &self.grid.particles[a..b];
                for t in 0..n {
                    if r2[t] < self.r2max {
                        let j = ids[t] as usize;
                        if j != i && !(half && j < i) {
                            f(j, r2[t].sqrt());
                        }
                    }
                }
                a = b;
            }
        }
    }
}

