//! The one cell grid of glassrs: a regular grid in *fractional* coordinates and one stable
//! counting sort of particles by cell. Every neighbour traversal ([`super::list`],
//! [`super::verlet`], [`super::stencil`]) is a view on it.
//!
//! Shape: `n_k = ⌊height_k / cell⌋` cells along box vector k, clamped to `[1, cap]` where
//! `cap = max(⌈N^{1/d}⌉·factor, min_cap)` keeps empty cells from dominating for tiny cutoffs or
//! dilute systems. In a 2D box the grid has one cell along z.

use rayon::prelude::*;

use crate::simbox::{SimBox, Vec3};

/// Cells per axis for cells at least `cell` thick (see the module docs).
pub fn grid_shape(sbox: &SimBox, n_particles: usize, cell: f64, factor: usize, min_cap: usize) -> [usize; 3] {
    let h = sbox.heights();
    let d = sbox.dim();
    let side = if d == 2 { (n_particles as f64).sqrt() } else { (n_particles as f64).cbrt() };
    let cap = ((side.ceil() as usize).max(1) * factor).max(min_cap);
    std::array::from_fn(|k| if k >= d { 1 } else { ((h[k] / cell).floor() as usize).clamp(1, cap) })
}

/// Linear cell index of cell coordinates `c` in a grid of shape `n` (z fastest).
#[inline]
pub fn linear(c: [usize; 3], n: [usize; 3]) -> usize {
    (c[0] * n[1] + c[1]) * n[2] + c[2]
}

/// Cell coordinates of fractional coordinates `s` ∈ [0, 1]³ (the upper edge goes to the last cell).
#[inline]
pub fn cell_coords(s: &Vec3, n: [usize; 3]) -> [usize; 3] {
    std::array::from_fn(|k| ((s[k] * n[k] as f64) as usize).min(n[k] - 1))
}

/// Stable counting sort of particles by cell: `order[start[c]..start[c+1]]` are the particles
/// of cell c in ascending index order.
pub fn counting_sort(cell_of: &[u32], ncell: usize) -> (Vec<usize>, Vec<u32>) {
    let mut start = vec![0usize; ncell + 1];
    for &c in cell_of {
        start[c as usize + 1] += 1;
    }
    for c in 0..ncell {
        start[c + 1] += start[c];
    }
    let mut fill = start.clone();
    let mut order = vec![0u32; cell_of.len()];
    for (i, &c) in cell_of.iter().enumerate() {
        order[fill[c as usize]] = i as u32;
        fill[c as usize] += 1;
    }
    (start, order)
}

/// Inverse permutation: `slot[order[k]] = k`.
pub fn slots(order: &[u32]) -> Vec<u32> {
    let mut slot = vec![0u32; order.len()];
    for (k, &j) in order.iter().enumerate() {
        slot[j as usize] = k as u32;
    }
    slot
}

/// Particles binned into a grid of cells at least `r_max` thick (positions are wrapped into the
/// box first), so a pair closer than `r_max` sits in the same or an adjacent cell (mod n_k).
pub struct CellGrid {
    pub n: [usize; 3],
    /// Particles sorted by cell; `start[c]..start[c+1]` are the particles of cell c.
    pub start: Vec<usize>,
    pub particles: Vec<u32>,
    pub cell_of: Vec<u32>,
}

impl CellGrid {
    pub fn new(pos: &[Vec3], sbox: &SimBox, r_max: f64) -> Self {
        let n = grid_shape(sbox, pos.len(), r_max, 2, 3);
        let cell_of: Vec<u32> =
            pos.par_iter().map(|x| linear(cell_coords(&sbox.wrapped_fractional(x), n), n) as u32).collect();
        let (start, particles) = counting_sort(&cell_of, n[0] * n[1] * n[2]);
        CellGrid { n, start, particles, cell_of }
    }

    /// The distinct cells adjacent to (and including) cell `c`: [`Self::stencil_reach`] with reach 1
    /// (0 along z in a 2D grid, which has one z cell).
    pub fn stencil(&self, c: usize) -> Vec<usize> {
        self.stencil_reach(c, [1, 1, if self.n[2] == 1 { 0 } else { 1 }])
    }

    /// The distinct cells within ±`reach[a]` cells of cell `c` along each axis a (periodic),
    /// sorted; cells that coincide through the periodic wrap are listed once.
    pub fn stencil_reach(&self, c: usize, reach: [i64; 3]) -> Vec<usize> {
        let n = self.n;
        let cz = c % n[2];
        let cy = (c / n[2]) % n[1];
        let cx = c / (n[1] * n[2]);
        let mut out = Vec::with_capacity(((2 * reach[0] + 1) * (2 * reach[1] + 1) * (2 * reach[2] + 1)) as usize);
        for dx in -reach[0]..=reach[0] {
            for dy in -reach[1]..=reach[1] {
                for dz in -reach[2]..=reach[2] {
                    let x = (cx as i64 + dx).rem_euclid(n[0] as i64) as usize;
                    let y = (cy as i64 + dy).rem_euclid(n[1] as i64) as usize;
                    let z = (cz as i64 + dz).rem_euclid(n[2] as i64) as usize;
                    out.push((x * n[1] + y) * n[2] + z);
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    #[inline]
    pub fn members(&self, c: usize) -> &[u32] {
        &self.particles[self.start[c]..self.start[c + 1]]
    }
}
