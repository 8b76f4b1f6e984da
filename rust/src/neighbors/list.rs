//! Neighbour lists as tables: every pair closer than `r_max`, full (both directions) or half
//! (j > i), in CSR order sorted by `i` then `j` — deterministic and independent of the number of
//! threads. The same structure serves as the sparsity pattern of the Hessian and is what
//! `gr.neighbors` returns.
//!
//! The search uses the shared cell grid ([`super::grid`]) with cells ≥ r_max/2 thick, a ±2 stencil
//! pruned by distance and periodic images as explicit shift vectors (see [`FineGrid`]).
//! Displacements are minimum-image vectors, exact because `r_max` is at most half the smallest
//! height (checked).

use rayon::prelude::*;

use crate::error::Result;
use crate::invalid;
use super::grid::{counting_sort, grid_shape, linear, slots};
use super::check_positions;
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
    /// Row index of every stored entry (the `i` column of a long table); filled in parallel over
    /// blocks of rows.
    pub fn i_column(&self) -> Vec<u32> {
        let n = self.n_particles();
        let mut out = vec![0u32; self.j.len()];
        let rows: Vec<(usize, usize)> = (0..n).step_by(4096).map(|a| (a, (a + 4096).min(n))).collect();
        let ends: Vec<usize> = rows.iter().map(|&(_, b)| self.offsets[b]).collect();
        split_at_ends(&mut out, &ends).into_par_iter().zip(rows).for_each(|(o, (a, b))| {
            let base = self.offsets[a];
            for i in a..b {
                o[self.offsets[i] - base..self.offsets[i + 1] - base].fill(i as u32);
            }
        });
        out
    }
}

/// Cells per cutoff along each box vector in [`neighbor_list`]: cells are at least
/// `r_max / CELLS_PER_CUTOFF` thick and the stencil reaches ±CELLS_PER_CUTOFF cells.
const CELLS_PER_CUTOFF: usize = 2;
/// Particles per parallel task in [`neighbor_list`].
const ROW_BLOCK: usize = 64;

/// Rows of a run of consecutive particles: `counts[k]` entries each, stored in order.
#[derive(Default)]
struct Block {
    counts: Vec<usize>,
    j: Vec<u32>,
    r: Vec<f64>,
    d: Vec<Vec3>,
}

/// Split `s` into consecutive pieces ending at `ends` (increasing, last = `s.len()`).
fn split_at_ends<'a, T>(mut s: &'a mut [T], ends: &[usize]) -> Vec<&'a mut [T]> {
    let mut out = Vec::with_capacity(ends.len());
    let mut prev = 0;
    for &e in ends {
        let (a, rest) = std::mem::take(&mut s).split_at_mut(e - prev);
        out.push(a);
        s = rest;
        prev = e;
    }
    out
}

/// ⌊x⌋ for finite |x| < 2⁶³ without a libm call (x86-64 baseline has no rounding instruction).
#[inline]
fn floor_i64(x: f64) -> i64 {
    let t = x as i64;
    if (t as f64) > x {
        t - 1
    } else {
        t
    }
}

const M: i64 = CELLS_PER_CUTOFF as i64;

/// Gap (in cells) between a point at in-cell position u and the cell at offset o.
#[inline]
fn gap(o: i64, u: f64) -> f64 {
    if o > 0 {
        o as f64 - u
    } else if o < 0 {
        (-o - 1) as f64 + u
    } else {
        0.0
    }
}

/// Particles sorted into a fractional cell grid (cells ≥ r_max / CELLS_PER_CUTOFF thick).
struct FineGrid {
    nc: [usize; 3],
    thick: [f64; 3],
    /// 2D box: one cell along z and no z offsets in the stencil
    planar: bool,
    ortho: bool,
    vecs: [Vec3; 3],
    r_max: f64,
    r2max: f64,
    /// per particle: cell, position inside the cell (cell units), wrapped Cartesian position
    loc: Vec<([usize; 3], Vec3, Vec3)>,
    /// `start[c]..start[c+1]`: slots of cell c in `ids` / `xs`
    start: Vec<usize>,
    ids: Vec<u32>,
    xs: Vec<Vec3>,
    /// slot of every particle
    slot: Vec<u32>,
    /// per axis: (cell, image shift) of c + o at index c + o + M
    wrap: [Vec<(usize, f64)>; 3],
}

impl FineGrid {
    fn new(pos: &[Vec3], sbox: &SimBox, r_max: f64) -> Self {
        let n = pos.len();
        let h = sbox.heights();
        let nc = grid_shape(sbox, n, r_max / CELLS_PER_CUTOFF as f64, 3, 2 * CELLS_PER_CUTOFF + 1);
        let ncell = nc[0] * nc[1] * nc[2];
        let loc: Vec<([usize; 3], Vec3, Vec3)> = pos
            .par_iter()
            .with_min_len(1024)
            .map(|x| {
                let s = sbox.wrapped_fractional(x);
                let mut c = [0usize; 3];
                let mut u = [0.0f64; 3];
                for k in 0..3 {
                    let t = s[k] * nc[k] as f64;
                    c[k] = (t as usize).min(nc[k] - 1);
                    u[k] = (t - c[k] as f64).clamp(0.0, 1.0);
                }
                (c, u, sbox.to_cartesian(&s))
            })
            .collect();
        let cell_of: Vec<u32> = loc.iter().map(|(c, _, _)| linear(*c, nc) as u32).collect();
        let (start, ids) = counting_sort(&cell_of, ncell);
        let slot = slots(&ids);
        let xs: Vec<Vec3> = ids.iter().map(|&i| loc[i as usize].2).collect();
        let wrap = [0, 1, 2].map(|k| {
            let nk = nc[k] as i64;
            (-M..nk + M).map(|t| (t.rem_euclid(nk) as usize, t.div_euclid(nk) as f64)).collect()
        });
        FineGrid {
            nc,
            thick: [0, 1, 2].map(|k| h[k] / nc[k] as f64),
            planar: sbox.dim() == 2,
            ortho: sbox.is_orthorhombic(),
            vecs: [sbox.vector(0), sbox.vector(1), sbox.vector(2)],
            r_max,
            r2max: r_max * r_max,
            loc,
            start,
            ids,
            xs,
            slot,
            wrap,
        }
    }

    /// Distance bound from per-axis gaps (lengths): exact box distance when orthorhombic, the
    /// largest perpendicular gap otherwise (|d| ≥ |Δs_k|·height_k).
    #[inline]
    fn excluded(&self, g: [f64; 3]) -> bool {
        if self.ortho {
            g[0] * g[0] + g[1] * g[1] + g[2] * g[2] >= self.r2max
        } else {
            g[0].max(g[1]).max(g[2]) >= self.r_max
        }
    }

    /// Call `visit(s0, s1, base)` for every run of slots `s0..s1` that may hold neighbours of
    /// particle i, with `base` such that d = xs[slot] − base is the displacement to that image.
    /// The stencil (±M cells) is scanned as columns along the third axis: for each (ox, oy)
    /// within reach the admissible oz form a range of consecutive cells, i.e. one contiguous
    /// run (split where the periodic shift changes). `forward` keeps only half of the stencil
    /// — offsets (ox, oy, oz) > 0 lexicographically, and in i's own cell the slots after i —
    /// so that every pair (and image) is visited from exactly one of its two particles.
    #[inline]
    fn runs(&self, i: usize, forward: bool, mut visit: impl FnMut(usize, usize, Vec3)) {
        let (c, u, xi) = self.loc[i];
        let (nc, vecs, thick) = (&self.nc, &self.vecs, &self.thick);
        for ox in if forward { 0 } else { -M }..=M {
            let gx = gap(ox, u[0]) * thick[0];
            if self.excluded([gx, 0.0, 0.0]) {
                continue;
            }
            let (cx, tx) = self.wrap[0][(c[0] as i64 + ox + M) as usize];
            for oy in if forward && ox == 0 { 0 } else { -M }..=M {
                let gy = gap(oy, u[1]) * thick[1];
                if self.excluded([gx, gy, 0.0]) {
                    continue;
                }
                let (cy, ty) = self.wrap[1][(c[1] as i64 + oy + M) as usize];
                // admissible oz: gap(oz, u_z)·thick_z < reach
                let reach = if self.ortho { (self.r2max - gx * gx - gy * gy).sqrt() } else { self.r_max } / thick[2];
                // largest oz with oz − u < reach, smallest with −oz − 1 + u < reach
                let (oz_hi, mut oz) = if self.planar {
                    (0, 0)
                } else {
                    ((-floor_i64(-(u[2] + reach)) - 1).min(M), (floor_i64(u[2] - 1.0 - reach) + 1).max(-M))
                };
                let col = (cx * nc[1] + cy) * nc[2];
                let sxy = [
                    xi[0] - (tx * vecs[0][0] + ty * vecs[1][0]),
                    xi[1] - (tx * vecs[0][1] + ty * vecs[1][1]),
                    xi[2] - (tx * vecs[0][2] + ty * vecs[1][2]),
                ];
                if forward && ox == 0 && oy == 0 {
                    // own cell: the slots after i; then oz ≥ 1
                    let own = col + c[2];
                    visit(self.slot[i] as usize + 1, self.start[own + 1], xi);
                    oz = 1;
                }
                while oz <= oz_hi {
                    let (cz0, tz) = self.wrap[2][(c[2] as i64 + oz + M) as usize];
                    let mut oz_end = oz;
                    while oz_end < oz_hi && self.wrap[2][(c[2] as i64 + oz_end + 1 + M) as usize].1 == tz {
                        oz_end += 1;
                    }
                    let cz1 = cz0 + (oz_end - oz) as usize;
                    oz = oz_end + 1;
                    let (s0, s1) = (self.start[col + cz0], self.start[col + cz1 + 1]);
                    if s0 < s1 {
                        let base = [sxy[0] - tz * vecs[2][0], sxy[1] - tz * vecs[2][1], sxy[2] - tz * vecs[2][2]];
                        visit(s0, s1, base);
                    }
                }
            }
        }
    }
}

/// The half traversal of the table without building it: every pair closer than `r_max` is
/// visited once, from the particle whose forward half-stencil holds the other (not necessarily
/// the smaller index), with its squared minimum-image distance. The same grid, stencil and
/// images as [`neighbor_list`]; for per-pair reductions (g(r) histograms) that need no table.
pub struct HalfPairs {
    g: FineGrid,
}

impl HalfPairs {
    /// Errors as [`neighbor_list`] (cutoff above half the smallest height, bad positions);
    /// `what` names the cutoff in the message.
    pub fn new(pos: &[Vec3], sbox: &SimBox, r_max: f64, what: &str) -> Result<Self> {
        sbox.check_cutoff(r_max, what)?;
        check_positions(pos, sbox)?;
        if pos.len() > u32::MAX as usize {
            return Err(invalid!("too many particles ({}) for 32-bit indices", pos.len()));
        }
        Ok(HalfPairs { g: FineGrid::new(pos, sbox, r_max) })
    }

    /// Call `f(j, r²)` for the pairs (i, j), r < r_max, that particle i owns in the half traversal.
    #[inline]
    pub fn for_each(&self, i: usize, mut f: impl FnMut(usize, f64)) {
        let g = &self.g;
        let r2max = g.r2max;
        let iu = i as u32;
        g.runs(i, true, |s0, s1, base| {
            for (&j, xj) in g.ids[s0..s1].iter().zip(&g.xs[s0..s1]) {
                let d = [xj[0] - base[0], xj[1] - base[1], xj[2] - base[2]];
                let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
                if r2 < r2max && j != iu {
                    f(j as usize, r2);
                }
            }
        });
    }
}

/// All pairs closer than `r_max` (strictly: r < r_max). `half = true` keeps j > i only.
///
/// Positions are wrapped into the box; cells are a grid in fractional coordinates, at least
/// `r_max/2` thick, and particles are counting-sorted by cell (see [`FineGrid::runs`] for the
/// stencil, scanned as z-columns and pruned by distance). The periodic image of a neighbouring
/// cell is carried by its shift vector (an integer combination of box vectors), so no per-pair
/// rounding is needed. When the grid has fewer than 5 cells along a direction the same cell is
/// visited with different shifts, i.e. as different images, of which at most one can lie within
/// `r_max` ≤ half the smallest height: displacements equal the minimum image and each pair
/// appears once.
///
/// Full lists: each particle (in index order, rayon over blocks) scans the whole stencil, so
/// rows come out in CSR order and are sorted by j. Half lists: each pair is found once through
/// the forward half of the stencil, stored under its smaller index (d oriented accordingly),
/// then counting-sorted into rows, which are sorted by j.
pub fn neighbor_list(pos: &[Vec3], sbox: &SimBox, r_max: f64, half: bool) -> Result<NeighborList> {
    sbox.check_cutoff(r_max, "neighbour cutoff r_max")?;
    check_positions(pos, sbox)?;
    let n = pos.len();
    if n > u32::MAX as usize {
        return Err(invalid!("too many particles ({n}) for 32-bit indices"));
    }
    if n == 0 {
        return Ok(NeighborList { offsets: vec![0], half, ..Default::default() });
    }
    let g = FineGrid::new(pos, sbox, r_max);
    let ball = if sbox.dim() == 2 { std::f64::consts::PI * r_max * r_max } else { 4.19 * r_max.powi(3) };
    let expect = (n as f64 / sbox.volume() * ball * if half { 0.55 } else { 1.1 }) as usize + 4;
    if half {
        Ok(half_list(&g, n, expect))
    } else {
        Ok(full_list(&g, n, expect))
    }
}

fn full_list(g: &FineGrid, n: usize, expect: usize) -> NeighborList {
    let r2max = g.r2max;
    let nblocks = n.div_ceil(ROW_BLOCK);
    let blocks: Vec<Block> = (0..nblocks)
        .into_par_iter()
        .map(|blk| {
            let lo = blk * ROW_BLOCK;
            let hi = (lo + ROW_BLOCK).min(n);
            let mut out = Block {
                counts: Vec::with_capacity(hi - lo),
                j: Vec::with_capacity((hi - lo) * expect),
                r: Vec::with_capacity((hi - lo) * expect),
                d: Vec::with_capacity((hi - lo) * expect),
            };
            // kept candidates, written branch-free (an entry is kept by advancing `len`): the
            // slot in the sorted arrays and the run it came from (whose base holds the shift)
            let mut ks: Vec<u32> = vec![0; 512];
            let mut kr: Vec<u32> = vec![0; 512];
            let mut bases: Vec<Vec3> = Vec::with_capacity(64);
            let mut keys: Vec<u64> = Vec::with_capacity(512);
            for i in lo..hi {
                let mut len = 0usize;
                bases.clear();
                let iu = i as u32;
                g.runs(i, false, |s0, s1, base| {
                    if len + (s1 - s0) > ks.len() {
                        let m = 2 * (len + (s1 - s0));
                        ks.resize(m, 0);
                        kr.resize(m, 0);
                    }
                    let run = bases.len() as u32;
                    bases.push(base);
                    for (slot, (&j, xj)) in (s0..s1).zip(g.ids[s0..s1].iter().zip(&g.xs[s0..s1])) {
                        let d = [xj[0] - base[0], xj[1] - base[1], xj[2] - base[2]];
                        let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
                        ks[len] = slot as u32;
                        kr[len] = run;
                        len += ((r2 < r2max) & (j != iu)) as usize;
                    }
                });
                // sort the row by j through packed (j, slot) keys
                keys.clear();
                keys.extend((0..len).map(|k| ((g.ids[ks[k] as usize] as u64) << 32) | k as u64));
                keys.sort_unstable();
                out.counts.push(len);
                for &key in &keys {
                    let k = (key & 0xffff_ffff) as usize;
                    // recomputed exactly as in the test above
                    let (xj, base) = (g.xs[ks[k] as usize], bases[kr[k] as usize]);
                    let d = [xj[0] - base[0], xj[1] - base[1], xj[2] - base[2]];
                    out.j.push((key >> 32) as u32);
                    out.r.push((d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt());
                    out.d.push(d);
                }
            }
            out
        })
        .collect();

    let mut offsets = Vec::with_capacity(n + 1);
    offsets.push(0usize);
    for b in &blocks {
        for &c in &b.counts {
            let last = offsets[offsets.len() - 1];
            offsets.push(last + c);
        }
    }
    // concatenate the blocks, in parallel (each block owns a disjoint piece of the output)
    let total = offsets[n];
    let mut j = vec![0u32; total];
    let mut r = vec![0.0f64; total];
    let mut d = vec![[0.0f64; 3]; total];
    let ends: Vec<usize> = (0..nblocks).map(|b| offsets[((b + 1) * ROW_BLOCK).min(n)]).collect();
    split_at_ends(&mut j, &ends)
        .into_par_iter()
        .zip(split_at_ends(&mut r, &ends))
        .zip(split_at_ends(&mut d, &ends))
        .zip(&blocks)
        .with_min_len(8)
        .for_each(|(((jc, rc), dc), b)| {
            jc.copy_from_slice(&b.j);
            rc.copy_from_slice(&b.r);
            dc.copy_from_slice(&b.d);
        });
    NeighborList { offsets, j, r, d, half: false }
}

/// Pairs found once each, as (row = smaller index, column = larger, d from row to column).
#[derive(Default)]
struct PairBlock {
    row: Vec<u32>,
    col: Vec<u32>,
    d: Vec<Vec3>,
}

fn half_list(g: &FineGrid, n: usize, expect: usize) -> NeighborList {
    let r2max = g.r2max;
    let nblocks = n.div_ceil(ROW_BLOCK);
    // rows are gathered in ranges (whole row blocks, ≥ 1024 rows, at most ~64 ranges): every
    // search block sorts its pairs into one bucket per range, then each range is assembled on its
    // own, in parallel (one range, as for small systems, is the plain counting sort). The span is
    // a power of two so that a pair's range is a shift, not a division.
    let span = (ROW_BLOCK * nblocks.div_ceil(64)).max(1024).next_power_of_two();
    let span_bits = span.trailing_zeros();
    let n_ranges = n.div_ceil(span);
    let blocks: Vec<Vec<PairBlock>> = (0..nblocks)
        .into_par_iter()
        .map(|blk| {
            let lo = blk * ROW_BLOCK;
            let hi = (lo + ROW_BLOCK).min(n);
            let cap = (hi - lo) * expect;
            let mut out: Vec<PairBlock> = (0..n_ranges).map(|_| PairBlock::default()).collect();
            // most pairs of a block have their row in the block's own range
            let own = lo / span;
            out[own] = PairBlock { row: Vec::with_capacity(cap), col: Vec::with_capacity(cap), d: Vec::with_capacity(cap) };
            let mut ks: Vec<u32> = vec![0; 512];
            let mut kd: Vec<Vec3> = vec![[0.0; 3]; 512];
            for i in lo..hi {
                let mut len = 0usize;
                g.runs(i, true, |s0, s1, base| {
                    if s1 <= s0 {
                        return;
                    }
                    if len + (s1 - s0) > ks.len() {
                        let m = 2 * (len + (s1 - s0));
                        ks.resize(m, 0);
                        kd.resize(m, [0.0; 3]);
                    }
                    for (slot, xj) in (s0..s1).zip(&g.xs[s0..s1]) {
                        let d = [xj[0] - base[0], xj[1] - base[1], xj[2] - base[2]];
                        let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
                        ks[len] = slot as u32;
                        kd[len] = d;
                        len += (r2 < r2max) as usize;
                    }
                });
                let iu = i as u32;
                for k in 0..len {
                    let j = g.ids[ks[k] as usize];
                    let d = kd[k];
                    let (row, col, d) = if j == iu {
                        continue; // a periodic self-image (impossible for r_max ≤ half the height)
                    } else if j > iu {
                        (iu, j, d)
                    } else {
                        (j, iu, [-d[0], -d[1], -d[2]])
                    };
                    let b = &mut out[(row >> span_bits) as usize];
                    b.row.push(row);
                    b.col.push(col);
                    b.d.push(d);
                }
            }
            out
        })
        .collect();

    // per range: rows counted, then (after the offsets of all ranges are known) filled from the
    // blocks in block order and sorted by j — ranges own disjoint parts of the output
    let range_rows = |q: usize| (q * span, ((q + 1) * span).min(n));
    let counts: Vec<Vec<usize>> = (0..n_ranges)
        .into_par_iter()
        .map(|q| {
            let (a, b) = range_rows(q);
            let mut c = vec![0usize; b - a];
            for blk in &blocks {
                for &row in &blk[q].row {
                    c[row as usize - a] += 1;
                }
            }
            c
        })
        .collect();
    let mut offsets = Vec::with_capacity(n + 1);
    offsets.push(0usize);
    for c in &counts {
        for &k in c {
            let last = offsets[offsets.len() - 1];
            offsets.push(last + k);
        }
    }
    let total = offsets[n];
    let mut j = vec![0u32; total];
    let mut d = vec![[0.0f64; 3]; total];
    let mut r = vec![0.0f64; total];
    let ends: Vec<usize> = (0..n_ranges).map(|q| offsets[range_rows(q).1]).collect();
    split_at_ends(&mut j, &ends)
        .into_par_iter()
        .zip(split_at_ends(&mut d, &ends))
        .zip(split_at_ends(&mut r, &ends))
        .enumerate()
        .for_each(|(q, ((jc, dc), rc))| {
            let (a, b) = range_rows(q);
            let base = offsets[a];
            let mut fill: Vec<usize> = (a..b).map(|i| offsets[i] - base).collect();
            for blk in &blocks {
                let pb = &blk[q];
                for ((&row, &col), dd) in pb.row.iter().zip(&pb.col).zip(&pb.d) {
                    let p = &mut fill[row as usize - a];
                    jc[*p] = col;
                    dc[*p] = *dd;
                    *p += 1;
                }
            }
            // sort every row by j, then r = |d|
            let mut keys: Vec<u64> = Vec::with_capacity(128);
            let mut tj: Vec<u32> = Vec::with_capacity(128);
            let mut td: Vec<Vec3> = Vec::with_capacity(128);
            for i in a..b {
                let (s, e) = (offsets[i] - base, offsets[i + 1] - base);
                let (rj, rd) = (&mut jc[s..e], &mut dc[s..e]);
                if !rj.windows(2).all(|w| w[0] < w[1]) {
                    keys.clear();
                    keys.extend(rj.iter().enumerate().map(|(k, &jj)| ((jj as u64) << 32) | k as u64));
                    keys.sort_unstable();
                    tj.clear();
                    td.clear();
                    for &key in &keys {
                        tj.push((key >> 32) as u32);
                        td.push(rd[(key & 0xffff_ffff) as usize]);
                    }
                    rj.copy_from_slice(&tj);
                    rd.copy_from_slice(&td);
                }
                for (rr, dd) in rc[s..e].iter_mut().zip(rd.iter()) {
                    *rr = (dd[0] * dd[0] + dd[1] * dd[1] + dd[2] * dd[2]).sqrt();
                }
            }
        });
    drop(blocks);
    NeighborList { offsets, j, r, d, half: true }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testutil::lcg;

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
            .map(|_| {
                let (s0, s1, s2) = (rnd() * 1.3 - 0.15, rnd(), rnd() * 2.0 - 0.5);
                b.to_cartesian(&[s0, s1, if b.dim() == 2 { 0.0 } else { s2 }])
            })
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
        // the half list is exactly the j > i part of the full list (CSR, order, r and d)
        let mut k_half = 0;
        for i in 0..pos.len() {
            assert_eq!(half.offsets[i], k_half);
            for k in nl.range(i) {
                if (nl.j[k] as usize) > i {
                    assert_eq!(half.j[k_half], nl.j[k]);
                    assert!((half.r[k_half] - nl.r[k]).abs() < 1e-12);
                    for a in 0..3 {
                        assert!((half.d[k_half][a] - nl.d[k][a]).abs() < 1e-12);
                    }
                    k_half += 1;
                }
            }
        }
        assert_eq!(half.offsets[pos.len()], k_half);
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
    fn half_traversal_visits_every_pair_once() {
        for (b, n, rc, seed) in [
            (SimBox::lammps([9.0, 10.0, 11.0], 3.0, -2.0, 4.0).unwrap(), 1300, 2.5, 21),
            (SimBox::orthorhombic([6.0, 6.5, 7.0]).unwrap(), 300, 2.9, 22),
            (SimBox::planar([12.0, 0.0], [4.0, 9.0]).unwrap(), 700, 2.5, 23),
        ] {
            let mut rnd = lcg(seed);
            let pos: Vec<Vec3> = (0..n)
                .map(|_| {
                    let (s0, s1, s2) = (rnd(), rnd(), rnd());
                    b.to_cartesian(&[s0, s1, if b.dim() == 2 { 0.0 } else { s2 }])
                })
                .collect();
            let hp = HalfPairs::new(&pos, &b, rc, "r").unwrap();
            let mut got = vec![];
            for i in 0..n {
                hp.for_each(i, |j, r2| got.push((i.min(j) as u32, i.max(j) as u32, r2.sqrt())));
            }
            got.sort_by(|x, y| (x.0, x.1).cmp(&(y.0, y.1)));
            let want: Vec<_> = brute(&pos, &b, rc).into_iter().filter(|p| p.1 > p.0).collect();
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                assert_eq!((g.0, g.1), (w.0, w.1));
                assert!((g.2 - w.2).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn two_dimensional_boxes_match_brute_force() {
        // orthorhombic, tilted, strongly tilted near the maximal cutoff, and a box with few cells
        check(SimBox::planar([12.0, 0.0], [0.0, 9.0]).unwrap(), 900, 2.5, 11);
        check(SimBox::planar([12.0, 0.0], [4.0, 9.0]).unwrap(), 900, 2.5, 12);
        let b = SimBox::planar([10.0, 0.0], [-6.0, 8.0]).unwrap();
        check(b.clone(), 500, 0.5 * b.min_height(), 13);
        check(SimBox::planar([5.0, 0.0], [1.0, 5.5]).unwrap(), 60, 2.4, 14);
        // pairs in 2D have no z component, and z ≠ 0 is an error naming the particle
        let mut pos = vec![[1.0, 1.0, 0.0], [2.0, 1.5, 0.0]];
        let nl = neighbor_list(&pos, &b, 2.0, false).unwrap();
        assert_eq!(nl.n_pairs(), 2);
        assert_eq!(nl.d[0][2], 0.0);
        pos[1][2] = 0.1;
        let e = neighbor_list(&pos, &b, 2.0, false).unwrap_err().to_string();
        assert!(e.contains("particle 1") && e.contains("2D"), "{e}");
    }

    #[test]
    fn small_box_two_cells() {
        // fewer than three cells per direction: stencil must not double count
        check(SimBox::lammps([5.2, 5.5, 6.0], 1.0, 0.5, -1.0).unwrap(), 200, 2.4, 3);
    }

    #[test]
    fn strongly_tilted_box_near_max_cutoff() {
        // tilts beyond LAMMPS' ±½ limits and a cutoff just below half the smallest height:
        // the stencil must still find every minimum-image pair exactly once
        let b = SimBox::lammps([6.0, 6.5, 7.0], 4.0, -3.5, 5.0).unwrap();
        let rc = 0.499 * b.min_height();
        check(b, 400, rc, 4);
        let o = SimBox::orthorhombic([5.0, 12.0, 30.0]).unwrap();
        check(o, 500, 2.49, 5);
    }

    #[test]
    fn empty_and_single_particle() {
        let b = SimBox::orthorhombic([5.0, 5.0, 5.0]).unwrap();
        let nl = neighbor_list(&[], &b, 2.0, false).unwrap();
        assert_eq!((nl.offsets.clone(), nl.n_pairs()), (vec![0], 0));
        let nl = neighbor_list(&[[1.0, 2.0, 3.0]], &b, 2.5, false).unwrap();
        assert_eq!((nl.offsets.clone(), nl.n_pairs()), (vec![0, 0], 0));
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
