//! Static structure (SPEC §2): partial g_uv(r) and S_uv(q), the per-particle Gaussian-smoothed
//! g^i_uv(r) with the structural order parameter, two-body entropy and local energy, spatial
//! coarse-graining of per-particle columns, and the q-space caging potential.
//!
//! One file per concept: [`rdf`], [`sq`], [`local`], [`coarse`], [`caging`]. Shared helpers
//! (cell-list iteration over neighbours, thread pools, species counts, trapezoid weights) live here.

pub mod caging;
pub mod coarse;
pub mod local;
pub mod rdf;
pub mod sq;

use crate::error::Result;
use crate::invalid;
use crate::neighbors::{check_positions, CellGrid};
use crate::simbox::{SimBox, Vec3};

/// One configuration: positions and its box (the particle set and species are shared).
pub struct FrameData {
    pub pos: Vec<Vec3>,
    pub sbox: SimBox,
}

/// Run `f` in a rayon pool of `n_threads` threads (None or 0: the global pool, all cores).
pub fn with_threads<T: Send>(n_threads: Option<usize>, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    match n_threads {
        None | Some(0) => f(),
        Some(n) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| invalid!("cannot build a pool of {n} threads: {e}"))?;
            pool.install(f)
        }
    }
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

/// Cell list plus de-duplicated stencils, built once per frame and shared by the kernels.
pub struct Cells<'a> {
    grid: CellGrid,
    stencils: Vec<Vec<usize>>,
    pos: &'a [Vec3],
    sbox: &'a SimBox,
    r2max: f64,
}

impl<'a> Cells<'a> {
    /// Cell list for pairs closer than `r_max` (checked against half the smallest box height).
    pub fn new(pos: &'a [Vec3], sbox: &'a SimBox, r_max: f64, what: &str) -> Result<Self> {
        sbox.check_cutoff(r_max, what)?;
        check_positions(pos)?;
        let grid = CellGrid::new(pos, sbox, r_max);
        let ncell = grid.start.len() - 1;
        let stencils = (0..ncell).map(|c| grid.stencil(c)).collect();
        Ok(Cells { grid, stencils, pos, sbox, r2max: r_max * r_max })
    }

    /// Call `f(j, r)` for every j ≠ i with r_ij < r_max (`half`: only j > i).
    #[inline]
    pub fn for_each(&self, i: usize, half: bool, mut f: impl FnMut(usize, f64)) {
        let xi = self.pos[i];
        for &c in &self.stencils[self.grid.cell_of[i] as usize] {
            for &j in self.grid.members(c) {
                let j = j as usize;
                if j == i || (half && j < i) {
                    continue;
                }
                let xj = self.pos[j];
                let d = self.sbox.min_image(&[xj[0] - xi[0], xj[1] - xi[1], xj[2] - xi[2]]);
                let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
                if r2 < self.r2max {
                    f(j, r2.sqrt());
                }
            }
        }
    }
}

/// Trapezoid weights on the points `r[k]` (uniform spacing `h`) lying inside [lo, hi], endpoints
/// included (SPEC 2.3): returns (first index, weights). No points or one point → zero integral.
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
