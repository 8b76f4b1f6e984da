//! Periodic neighbour search with a cell list (orthorhombic and triclinic boxes).
//!
//! Cells are a regular grid in *fractional* coordinates with `n_k = ⌊height_k / r_max⌋`
//! cells along box vector k, so every cell is at least `r_max` thick and a pair closer than
//! `r_max` always sits in the same or an adjacent cell (mod n_k). With fewer than three cells
//! along a direction the adjacent cells coincide; the stencil is de-duplicated so each pair
//! is visited once. Displacements are minimum-image vectors, exact because `r_max` is at
//! most half the smallest height (checked).
//!
//! Output is a CSR list sorted by `i` then `j`: deterministic and independent of the
//! number of threads. The same structure serves as the sparsity pattern of the Hessian.

use rayon::prelude::*;

use crate::error::Result;
use crate::invalid;
use crate::simbox::{SimBox, Vec3};

/// Compressed sparse row neighbour list. Neighbours of particle `i` occupy
/// `offsets[i]..offsets[i+1]` of `j`, `r` and `d` (d = r_j − r_i, minimum image).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NeighborList {
    pub offsets: Vec<usize>,
    pub j: Vec<u32>,
    pub r: Vec<f64>,
    pub d: Vec<Vec3>,
    /// `true` if only pairs with j > i are stored.
    pub half: bool,
}

impl NeighborList {
    pub fn n_particles(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }
    pub fn n_pairs(&self) -> usize {
        self.j.len()
    }
    #[inline]
    pub fn range(&self, i: usize) -> std::ops::Range<usize> {
        self.offsets[i]..self.offsets[i + 1]
    }
    /// Row index of every stored entry (the `i` column of a long table).
    pub fn i_column(&self) -> Vec<u32> {
        let mut out = Vec::with_capacity(self.j.len());
        for i in 0..self.n_particles() {
            out.extend(std::iter::repeat(i as u32).take(self.offsets[i + 1] - self.offsets[i]));
        }
        out
    }
}

/// Check positions are finite; name the first bad particle.
pub fn check_positions(pos: &[Vec3]) -> Result<()> {
    if let Some((i, p)) = pos.iter().enumerate().find(|(_, p)| !p.iter().all(|v| v.is_finite())) {
        return Err(invalid!("particle {i} has a non-finite coordinate {p:?}"));
    }
    Ok(())
}

/// A cell grid over the box in fractional coordinates.
pub struct CellGrid {
    pub n: [usize; 3],
    /// Particles sorted by cell; `start[c]..start[c+1]` are the particles of cell c.
    pub start: Vec<usize>,
    pub particles: Vec<u32>,
    pub cell_of: Vec<u32>,
}

impl CellGrid {
    pub fn new(pos: &[Vec3], sbox: &SimBox, r_max: f64) -> Self {
        let h = sbox.heights();
        // Cap the grid so empty cells do not dominate for tiny cutoffs.
        let cap = ((pos.len() as f64).cbrt().ceil() as usize).max(1) * 2;
        let n = [0, 1, 2].map(|k| ((h[k] / r_max).floor() as usize).clamp(1, cap.max(3)));
        let ncell = n[0] * n[1] * n[2];
        let cell_of: Vec<u32> = pos
            .par_iter()
            .map(|x| {
                let s = sbox.wrapped_fractional(x);
                let c = [0, 1, 2].map(|k| ((s[k] * n[k] as f64) as usize).min(n[k] - 1));
                ((c[0] * n[1] + c[1]) * n[2] + c[2]) as u32
            })
            .collect();
        let mut count = vec![0usize; ncell + 1];
        for &c in &cell_of {
            count[c as usize + 1] += 1;
        }
        for c in 0..ncell {
            count[c + 1] += count[c];
        }
        let start = count.clone();
        let mut fill = count;
        let mut particles = vec![0u32; pos.len()];
        for (i, &c) in cell_of.iter().enumerate() {
            particles[fill[c as usize]] = i as u32;
            fill[c as usize] += 1;
        }
        CellGrid { n, start, particles, cell_of }
    }

    /// The distinct cells adjacent to (and including) cell `c`.
    pub fn stencil(&self, c: usize) -> Vec<usize> {
        let n = self.n;
        let cz = c % n[2];
        let cy = (c / n[2]) % n[1];
        let cx = c / (n[1] * n[2]);
        let mut out = Vec::with_capacity(27);
        for dx in -1i64..=1 {
            for dy in -1i64..=1 {
                for dz in -1i64..=1 {
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

/// All pairs closer than `r_max` (strictly: r < r_max). `half = true` keeps j > i only.
pub fn neighbor_list(pos: &[Vec3], sbox: &SimBox, r_max: f64, half: bool) -> Result<NeighborList> {
    sbox.check_cutoff(r_max, "neighbour cutoff r_max")?;
    check_positions(pos)?;
    let n = pos.len();
    if n > u32::MAX as usize {
        return Err(invalid!("too many particles ({n}) for 32-bit indices"));
    }
    let grid = CellGrid::new(pos, sbox, r_max);
    let ncell = grid.start.len() - 1;
    let stencils: Vec<Vec<usize>> = (0..ncell).into_par_iter().map(|c| grid.stencil(c)).collect();
    let r2max = r_max * r_max;

    let rows: Vec<Vec<(u32, f64, Vec3)>> = (0..n)
        .into_par_iter()
        .with_min_len(64)
        .map(|i| {
            let xi = pos[i];
            let mut row: Vec<(u32, f64, Vec3)> = Vec::with_capacity(96);
            for &c in &stencils[grid.cell_of[i] as usize] {
                for &j in grid.members(c) {
                    let ju = j as usize;
                    if ju == i || (half && ju < i) {
                        continue;
                    }
                    let xj = pos[ju];
                    let d = sbox.min_image(&[xj[0] - xi[0], xj[1] - xi[1], xj[2] - xi[2]]);
                    let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
                    if r2 < r2max {
                        row.push((j, r2.sqrt(), d));
                    }
                }
            }
            row.sort_unstable_by_key(|e| e.0);
            row
        })
        .collect();

    let mut offsets = Vec::with_capacity(n + 1);
    offsets.push(0usize);
    let total: usize = rows.iter().map(|r| r.len()).sum();
    let mut j = Vec::with_capacity(total);
    let mut r = Vec::with_capacity(total);
    let mut d = Vec::with_capacity(total);
    for row in rows {
        for (jj, rr, dd) in row {
            j.push(jj);
            r.push(rr);
            d.push(dd);
        }
        offsets.push(j.len());
    }
    Ok(NeighborList { offsets, j, r, d, half })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: u64) -> impl FnMut() -> f64 {
        let mut s = seed;
        move || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 11) as f64) / ((1u64 << 53) as f64)
        }
    }

    fn brute(pos: &[Vec3], b: &SimBox, rc: f64) -> Vec<(u32, u32, f64)> {
        let mut out = vec![];
        for i in 0..pos.len() {
            for j in 0..pos.len() {
                if i == j {
                    continue;
                }
                let d = b.min_image(&[pos[j][0] - pos[i][0], pos[j][1] - pos[i][1], pos[j][2] - pos[i][2]]);
                let r = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
                if r < rc {
                    out.push((i as u32, j as u32, r));
                }
            }
        }
        out
    }

    fn check(b: SimBox, n: usize, rc: f64, seed: u64) {
        let mut rnd = lcg(seed);
        let pos: Vec<Vec3> = (0..n)
            .map(|_| b.to_cartesian(&[rnd() * 1.3 - 0.15, rnd(), rnd() * 2.0 - 0.5]))
            .collect();
        let nl = neighbor_list(&pos, &b, rc, false).unwrap();
        let ic = nl.i_column();
        let got: Vec<(u32, u32, f64)> = (0..nl.n_pairs()).map(|k| (ic[k], nl.j[k], nl.r[k])).collect();
        let want = brute(&pos, &b, rc);
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert_eq!((g.0, g.1), (w.0, w.1));
            assert!((g.2 - w.2).abs() < 1e-12);
        }
        let half = neighbor_list(&pos, &b, rc, true).unwrap();
        assert_eq!(half.n_pairs() * 2, nl.n_pairs());
    }

    #[test]
    fn orthorhombic_matches_brute_force() {
        check(SimBox::orthorhombic([9.0, 10.0, 11.0]).unwrap(), 1300, 2.5, 1);
    }

    #[test]
    fn triclinic_matches_brute_force() {
        check(SimBox::lammps([9.0, 10.0, 11.0], 3.0, -2.0, 4.0).unwrap(), 1300, 2.5, 2);
    }

    #[test]
    fn small_box_two_cells() {
        // fewer than three cells per direction: stencil must not double count
        check(SimBox::lammps([5.2, 5.5, 6.0], 1.0, 0.5, -1.0).unwrap(), 200, 2.4, 3);
    }

    #[test]
    fn cutoff_too_large_is_an_error() {
        let b = SimBox::orthorhombic([4.0, 4.0, 4.0]).unwrap();
        let e = neighbor_list(&[[0.0; 3]; 2], &b, 2.1, false).unwrap_err();
        assert!(e.to_string().contains("half the smallest box height"));
    }

    #[test]
    fn nan_is_an_error() {
        let b = SimBox::orthorhombic([4.0, 4.0, 4.0]).unwrap();
        let e = neighbor_list(&[[0.0; 3], [f64::NAN, 0.0, 0.0]], &b, 1.0, false).unwrap_err();
        assert!(e.to_string().contains("particle 1"));
    }
}
