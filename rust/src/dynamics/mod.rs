//! Dynamics (definitions §3): time correlations of single-particle displacements.
//!
//! All kernels work on a *particle chunk* of an unwrapped trajectory: `pos` holds `F` frames of
//! `n` particles each (frame-major, `pos[f * n + i]`). Every accumulator they produce is a plain
//! sum over the particles of the chunk, so results for a large system are obtained by adding the
//! accumulators of consecutive chunks (this is how the Python layer streams trajectories larger
//! than memory). Selections: index 0 is "all particles", index `1 + s` is species `s`.
//!
//! - [`schedule`]: grouping of (origin, target) frame pairs by their exact lag.
//! - [`correlations`]: per-pair sums of |Δr|², |Δr|⁴, overlap counts and cos(k·Δr), the same
//!   sums per lag on linear schedules, and the FFT paths' phase factors and power spectra.
//! - [`vanhove`]: histograms of |Δr| (linear or log10) for the self van Hove function.

pub mod correlations;
pub mod schedule;
pub mod spectra;
pub mod vanhove;

use crate::error::Result;
use crate::invalid;
use crate::simbox::Vec3;

/// Number of selections (all + one per species).
#[inline]
pub fn n_selections(n_species: usize) -> usize {
    1 + n_species
}

/// Check the shape of a chunk, the species indices and that every coordinate is finite; return
/// the number of frames.
pub(crate) fn check_chunk(pos: &[Vec3], n: usize, species: &[u32], n_species: usize) -> Result<usize> {
    let n_frames = check_chunk_shape(pos, n, species, n_species)?;
    check_finite(pos, n)?;
    Ok(n_frames)
}

/// [`check_chunk`] without the finiteness scan (for kernels that check while they gather).
pub(crate) fn check_chunk_shape(pos: &[Vec3], n: usize, species: &[u32], n_species: usize) -> Result<usize> {
    if n == 0 {
        return Err(invalid!("the particle chunk is empty"));
    }
    if pos.len() % n != 0 {
        return Err(invalid!("positions hold {} points, not a whole number of frames of {n} particles", pos.len()));
    }
    if species.len() != n {
        return Err(invalid!("species has {} entries but the chunk has {n} particles", species.len()));
    }
    if let Some((i, &s)) = species.iter().enumerate().find(|(_, &s)| s as usize >= n_species) {
        return Err(invalid!("particle {i} of the chunk has species index {s}, but there are only {n_species} species"));
    }
    Ok(pos.len() / n)
}

/// An error naming the first non-finite coordinate (frame, particle of the chunk), if any.
pub(crate) fn check_finite(pos: &[Vec3], n: usize) -> Result<()> {
    if let Some(k) = pos.iter().position(|p| !(p[0].is_finite() && p[1].is_finite() && p[2].is_finite())) {
        return Err(invalid!("frame {}, particle {} (of the chunk) has a non-finite coordinate {:?}", k / n, k % n, pos[k]));
    }
    Ok(())
}

/// Check that every pair refers to frames `< n_frames`.
pub(crate) fn check_pairs(pairs: &[[u32; 2]], n_frames: usize) -> Result<()> {
    if let Some(p) = pairs.iter().find(|p| p[0] as usize >= n_frames || p[1] as usize >= n_frames) {
        return Err(invalid!("frame pair {:?} is out of range for {n_frames} frames", p));
    }
    Ok(())
}
