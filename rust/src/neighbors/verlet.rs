//! The half Verlet list of the force kernel: each pair closer than r_list = max cutoff + skin
//! once, with its periodic image stored as one of 27 box translations, so positions may leave
//! the box between rebuilds (the stored image stays valid while no particle moved more than
//! skin/2; [`crate::forces::Engine`] checks that). Built on the shared cell grid
//! ([`super::grid`]); [`spatial_order`] is the same grid's counting sort used to keep
//! neighbours close in memory (like LAMMPS `atom_modify sort`).

use rayon::prelude::*;

use super::check_positions;
use super::grid::{cell_coords, counting_sort, grid_shape, linear, CellGrid};
use crate::error::Result;
use crate::invalid;
use crate::simbox::{SimBox, Vec3};

/// Half Verlet list with periodic-image codes: each pair appears once, in the row of one
/// of its two particles (not necessarily the smaller index).
#[derive(Debug, Clone, Default)]
pub struct PairList {
    pub offsets: Vec<usize>,
    pub j: Vec<u32>,
    /// Index into `shifts` of the box translation added to x_j − x_i.
    pub image: Vec<u8>,
    /// The 27 translations H·n, n ∈ {−1,0,1}³; code = (n0+1)·9 + (n1+1)·3 + (n2+1).
    pub shifts: Vec<Vec3>,
    pub r_list: f64,
}

impl PairList {
    pub fn n_particles(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }
    pub fn n_pairs(&self) -> usize {
        self.j.len()
    }
}

/// Wrap positions into the box (fractional coordinates in [0, 1)); returns wrapped
/// positions and the integer image counts removed (x = x_wrapped + H·n).
pub fn wrap_positions(pos: &[Vec3], sbox: &SimBox) -> (Vec<Vec3>, Vec<[i64; 3]>) {
    pos.par_iter()
        .map(|x| {
            let s = sbox.to_fractional(x);
            let n = [s[0].floor(), s[1].floor(), s[2].floor()];
            let mut w = [s[0] - n[0], s[1] - n[1], s[2] - n[2]];
            for v in w.iter_mut() {
                if *v >= 1.0 {
                    *v = 0.0;
                }
            }
            (sbox.to_cartesian(&w), [n[0] as i64, n[1] as i64, n[2] as i64])
        })
        .unzip()
}

/// Build a half list of all pairs closer than `r_list` from positions *inside the box*
/// (use [`wrap_positions`] first). Errors if `r_list` exceeds half the smallest box height.
///
/// Cells are at least r_list/2 thick (stencil ±2 cells, cells farther than r_list pruned
/// in orthorhombic boxes; ±1 and ±3 measured no faster). The periodic image of every candidate comes from the wrap of its cell offset, so
/// no rounding is needed per pair; boxes with fewer than 5 cells along a direction fall back
/// to a minimum-image search.
pub fn build_pair_list(pos: &[Vec3], sbox: &SimBox, r_list: f64) -> Result<PairList> {
    sbox.check_cutoff(r_list, "neighbour-list range (cutoff + skin)")?;
    check_positions(pos, sbox)?;
    let n = pos.len();
    if n > u32::MAX as usize {
        return Err(invalid!("too many particles ({n}) for 32-bit indices"));
    }
    let mut shifts = Vec::with_capacity(27);
    for a in -1..=1 {
        for b in -1..=1 {
            for c in -1..=1 {
                shifts.push(sbox.to_cartesian(&[a as f64, b as f64, c as f64]));
            }
        }
    }
    const REACH: i64 = 2;
    let h = sbox.heights();
    let planar = sbox.dim() == 2;
    let nc = grid_shape(sbox, n, r_list / REACH as f64, 2, (2 * REACH + 1) as usize);
    if nc.iter().take(sbox.dim()).any(|&m| m < (2 * REACH + 1) as usize) {
        return build_pair_list_small(pos, sbox, r_list, shifts);
    }
    // bin particles
    let cell3: Vec<[usize; 3]> = pos
        .par_iter()
        .map(|x| {
            let s = sbox.to_fractional(x);
            cell_coords(&[s[0].clamp(0.0, 1.0), s[1].clamp(0.0, 1.0), s[2].clamp(0.0, 1.0)], nc)
        })
        .collect();
    let ncell = nc[0] * nc[1] * nc[2];
    let lin = |c: [usize; 3]| linear(c, nc);
    let keys: Vec<u32> = cell3.iter().map(|c| lin(*c) as u32).collect();
    let (start, members) = counting_sort(&keys, ncell);
    // stencil offsets, pruned by the minimum distance between cells (orthorhombic)
    let width = [0, 1, 2].map(|k| h[k] / nc[k] as f64);
    let mut stencil = Vec::new();
    for dx in -REACH..=REACH {
        for dy in -REACH..=REACH {
            for dz in if planar { 0..=0 } else { -REACH..=REACH } {
                if sbox.is_orthorhombic() {
                    let gap = |d: i64, w: f64| ((d.abs() - 1).max(0) as f64) * w;
                    let g2 = gap(dx, width[0]).powi(2) + gap(dy, width[1]).powi(2) + gap(dz, width[2]).powi(2);
                    if g2 >= r_list * r_list {
                        continue;
                    }
                }
                // half stencil: each pair once, from the particle whose cell is "behind"
                if (dx, dy, dz) < (0, 0, 0) {
                    continue;
                }
                stencil.push([dx, dy, dz]);
            }
        }
    }
    let r2 = r_list * r_list;
    // per cell: the stencil cells with their image codes (the same cell first)
    let cell_nb: Vec<Vec<(u32, u8)>> = (0..ncell)
        .into_par_iter()
        .map(|l| {
            let ci = [l / (nc[1] * nc[2]), (l / nc[2]) % nc[1], l % nc[2]];
            stencil
                .iter()
                .map(|off| {
                    let mut c = [0usize; 3];
                    let mut code = 0u8;
                    for k in 0..3 {
                        let raw = ci[k] as i64 + off[k];
                        let m = nc[k] as i64;
                        // a particle in a cell beyond the upper edge is seen through the +1 image
                        let (cc, sh) = if raw < 0 { (raw + m, -1) } else if raw >= m { (raw - m, 1) } else { (raw, 0) };
                        c[k] = cc as usize;
                        code = code * 3 + (sh + 1) as u8;
                    }
                    (lin(c) as u32, code)
                })
                .collect()
        })
        .collect();
    // stencil[0] is (0,0,0): the half stencil starts at the origin offset
    debug_assert!(stencil[0] == [0, 0, 0]);
    const BLOCK: usize = 128;
    let blocks: Vec<(Vec<usize>, Vec<u32>, Vec<u8>)> = (0..n.div_ceil(BLOCK))
        .into_par_iter()
        .map(|bk| {
            let range = bk * BLOCK..((bk + 1) * BLOCK).min(n);
            let mut counts = Vec::with_capacity(range.len());
            // candidates are written unconditionally and kept by advancing `len` (branch-free:
            // about four in five candidates are rejected at random, a branch mispredicts often);
            // the kept entries and their order are those of a filtered push
            let mut js: Vec<u32> = Vec::with_capacity(range.len() * 64);
            let mut im: Vec<u8> = Vec::with_capacity(range.len() * 64);
            let mut len = 0usize;
            for i in range {
                let xi = pos[i];
                let before = len;
                for (t, &(l, code)) in cell_nb[lin(cell3[i])].iter().enumerate() {
                    let s = shifts[code as usize];
                    let (ox, oy, oz) = (s[0] - xi[0], s[1] - xi[1], s[2] - xi[2]);
                    let l = l as usize;
                    let cand = &members[start[l]..start[l + 1]];
                    if js.len() < len + cand.len() {
                        let m = (2 * js.len()).max(len + cand.len());
                        js.resize(m, 0);
                        im.resize(m, 0);
                    }
                    // in i's own cell (t = 0) only the partners j > i: each pair once
                    let own = t == 0;
                    for &j in cand {
                        let xj = pos[j as usize];
                        let d = [xj[0] + ox, xj[1] + oy, xj[2] + oz];
                        let keep = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2] < r2) & (!own | (j as usize > i));
                        js[len] = j;
                        im[len] = code;
                        len += keep as usize;
                    }
                }
                counts.push(len - before);
            }
            js.truncate(len);
            im.truncate(len);
            (counts, js, im)
        })
        .collect();
    let total: usize = blocks.iter().map(|b| b.1.len()).sum();
    let mut offsets = Vec::with_capacity(n + 1);
    offsets.push(0);
    let mut j = Vec::with_capacity(total);
    let mut image = Vec::with_capacity(total);
    for (counts, js, im) in blocks {
        for c in counts {
            offsets.push(offsets[offsets.len() - 1] + c);
        }
        j.extend_from_slice(&js);
        image.extend_from_slice(&im);
    }
    Ok(PairList { offsets, j, image, shifts, r_list })
}

fn assemble(rows: Vec<(Vec<u32>, Vec<u8>)>, shifts: Vec<Vec3>, r_list: f64) -> PairList {
    let mut offsets = Vec::with_capacity(rows.len() + 1);
    offsets.push(0);
    let total: usize = rows.iter().map(|r| r.0.len()).sum();
    let mut j = Vec::with_capacity(total);
    let mut image = Vec::with_capacity(total);
    for (js, im) in rows {
        j.extend_from_slice(&js);
        image.extend_from_slice(&im);
        offsets.push(j.len());
    }
    PairList { offsets, j, image, shifts, r_list }
}

/// Minimum-image search for small boxes (fewer than 5 cells along some direction).
fn build_pair_list_small(pos: &[Vec3], sbox: &SimBox, r_list: f64, shifts: Vec<Vec3>) -> Result<PairList> {
    let n = pos.len();
    let grid = CellGrid::new(pos, sbox, r_list);
    let ncell = grid.start.len() - 1;
    let stencils: Vec<Vec<usize>> = (0..ncell).into_par_iter().map(|c| grid.stencil(c)).collect();
    let r2 = r_list * r_list;
    let rows: Vec<(Vec<u32>, Vec<u8>)> = (0..n)
        .into_par_iter()
        .with_min_len(64)
        .map(|i| {
            let xi = pos[i];
            let mut js = Vec::with_capacity(64);
            let mut im = Vec::with_capacity(64);
            for &c in &stencils[grid.cell_of[i] as usize] {
                for &j in grid.members(c) {
                    if (j as usize) <= i {
                        continue;
                    }
                    let xj = pos[j as usize];
                    let raw = [xj[0] - xi[0], xj[1] - xi[1], xj[2] - xi[2]];
                    let s = sbox.to_fractional(&raw);
                    let nn = [-s[0].round(), -s[1].round(), -s[2].round()];
                    let d = sbox.to_cartesian(&[s[0] + nn[0], s[1] + nn[1], s[2] + nn[2]]);
                    if d[0] * d[0] + d[1] * d[1] + d[2] * d[2] < r2 {
                        js.push(j);
                        let code = (nn[0] + 1.0) as u8 * 9 + (nn[1] + 1.0) as u8 * 3 + (nn[2] + 1.0) as u8;
                        im.push(code);
                    }
                }
            }
            (js, im)
        })
        .collect();
    Ok(assemble(rows, shifts, r_list))
}

/// Stable counting sort of particles by a cell grid (cells ≈ `cell` wide): returns the
/// order (internal index → particle) that keeps neighbours close in memory.
pub fn spatial_order(w: &[Vec3], sbox: &SimBox, cell: f64) -> Vec<u32> {
    let nc = grid_shape(sbox, w.len(), cell, 2, 1);
    let key: Vec<u32> = w
        .iter()
        .map(|x| {
            let s = sbox.to_fractional(x);
            linear(cell_coords(&[s[0].clamp(0.0, 1.0), s[1].clamp(0.0, 1.0), s[2].clamp(0.0, 1.0)], nc), nc) as u32
        })
        .collect();
    counting_sort(&key, nc[0] * nc[1] * nc[2]).1
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::lcg;

    /// Every pair closer than r_list appears exactly once (in either of its two rows), and its
    /// image code gives the minimum-image displacement (compared with an all-pairs search).
    fn check(b: SimBox, n: usize, r_list: f64, seed: u64) {
        let mut rnd = lcg(seed);
        let raw: Vec<Vec3> = (0..n).map(|_| b.to_cartesian(&[rnd(), rnd(), if b.dim() == 2 { 0.0 } else { rnd() }])).collect();
        let (pos, _) = wrap_positions(&raw, &b);
        let list = build_pair_list(&pos, &b, r_list).unwrap();
        let mut got: Vec<(u32, u32, [f64; 3])> = Vec::new();
        for i in 0..n {
            for k in list.offsets[i]..list.offsets[i + 1] {
                let j = list.j[k] as usize;
                let s = list.shifts[list.image[k] as usize];
                let d = [pos[j][0] - pos[i][0] + s[0], pos[j][1] - pos[i][1] + s[1], pos[j][2] - pos[i][2] + s[2]];
                let (a, c, d) = if i < j { (i, j, d) } else { (j, i, [-d[0], -d[1], -d[2]]) };
                got.push((a as u32, c as u32, d));
            }
        }
        got.sort_by_key(|g| (g.0, g.1));
        let mut want = Vec::new();
        for i in 0..n {
            for j in i + 1..n {
                let d = b.min_image(&[pos[j][0] - pos[i][0], pos[j][1] - pos[i][1], pos[j][2] - pos[i][2]]);
                if d[0] * d[0] + d[1] * d[1] + d[2] * d[2] < r_list * r_list {
                    want.push((i as u32, j as u32, d));
                }
            }
        }
        assert_eq!(got.len(), want.len(), "pair count");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!((g.0, g.1), (w.0, w.1));
            for a in 0..3 {
                assert!((g.2[a] - w.2[a]).abs() < 1e-12, "pair {:?}: d {:?} vs minimum image {:?}", (g.0, g.1), g.2, w.2);
            }
        }
    }

    #[test]
    fn cell_search_matches_all_pairs() {
        // 6 × 7 × 8 cells of ≥ r_list/2: the cell-grid path (not the small-box fallback)
        check(SimBox::orthorhombic([8.5, 10.0, 11.5]).unwrap(), 1200, 2.8, 3);
        check(SimBox::lammps([9.0, 10.0, 11.0], 1.5, -1.0, 2.0).unwrap(), 1200, 2.8, 4);
        check(SimBox::planar([14.0, 0.0], [0.0, 15.0]).unwrap(), 700, 2.8, 5);
    }

    #[test]
    fn small_box_matches_all_pairs() {
        check(SimBox::orthorhombic([6.0, 6.0, 6.0]).unwrap(), 200, 2.8, 6);
    }
}
