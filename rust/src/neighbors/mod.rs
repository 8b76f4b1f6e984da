//! The locality layer: one cell grid and the neighbour traversals every spatial kernel uses
//! (freud's `locality` idea).
//!
//! - [`grid`]: the cell grid in fractional coordinates (orthorhombic and triclinic boxes, d = 2
//!   or 3) and the one counting sort of particles by cell;
//! - [`list`]: full and half CSR neighbour tables (`gr.neighbors`, Hessian sparsity) and the
//!   half traversal without a table ([`HalfPairs`], g(r) histograms);
//! - [`verlet`]: the half Verlet list with a skin and periodic-image codes that forces, MD and
//!   FIRE rebuild when a particle has moved more than skin/2;
//! - [`stencil`]: the per-particle walk over a cell's de-duplicated stencil that the structure
//!   kernels (g(r), local g_i, coarse-graining) use.
//!
//! Every traversal returns minimum-image displacements, exact because the range is at most half
//! the smallest box height (checked). In a 2D box (see [`crate::simbox`]) the grid has one cell
//! along z and positions must have z = 0.

pub mod grid;
pub mod list;
pub mod stencil;
pub mod verlet;

pub use grid::CellGrid;
pub use list::{neighbor_list, HalfPairs, NeighborList};
pub use stencil::Cells;
pub use verlet::{build_pair_list, spatial_order, wrap_positions, PairList};

use crate::error::Result;
use crate::invalid;
use crate::simbox::{SimBox, Vec3};

/// Check positions are finite (and planar in a 2D box); name the first bad particle.
pub fn check_positions(pos: &[Vec3], sbox: &SimBox) -> Result<()> {
    if let Some((i, p)) = pos.iter().enumerate().find(|(_, p)| !p.iter().all(|v| v.is_finite())) {
        return Err(invalid!("particle {i} has a non-finite coordinate {p:?}"));
    }
    sbox.check_planar(pos)
}
