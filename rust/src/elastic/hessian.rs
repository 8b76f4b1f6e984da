//! Sparse Hessian of a configuration (definitions §6): pair terms and, for many-body models
//! (Stillinger–Weber), the exact three-body blocks (second derivatives of each triplet's
//! energy, [`crate::manybody::SwThreeBody::triplet_jet`]); the pattern then includes second
//! neighbours that share a centre.
//!
//! For each interacting pair (r < r_c of the pair) with unit vector n = d/r, d = r_j − r_i:
//! K = U″ n nᵀ + (U′/r)(I − n nᵀ); M_ij = −K, M_ii = Σ_j K. The matrix is stored as a block
//! CSR of 3×3 blocks whose pattern is the neighbour CSR plus the diagonal. The half list of
//! interacting pairs (with d, r, U′, U″) is kept for the shear and dipole kernels.
//!
//! Two dimensions: the physical Hessian is 2N × 2N (2 zero modes). It is stored in the same
//! 3×3 blocks with the z row and column of every block zeroed and a unit z diagonal, i.e.
//! M = M_xy ⊕ I_z: the z subspace is decoupled and stiff, so the factorisation, CG and every
//! kernel work unchanged on 3N vectors with zero z components (their solutions keep z = 0).
//! The Python layer exposes the 2N × 2N matrix and 2N vectors.
//!
//! Energy and residual forces come from the shared force kernel ([`crate::forces::compute`]), so
//! callers can refuse a structure that is not a minimum.

use rayon::prelude::*;

use crate::error::Result;
use crate::invalid;
use crate::models::Model;
use crate::neighbors::neighbor_list;
use crate::simbox::{SimBox, Vec3};

/// Row-major 3×3 block.
pub type Block = [f64; 9];

/// One interacting pair i < j: d = r_j − r_i (minimum image), r = |d|, du = U′(r), d2u = U″(r).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pair {
    pub i: u32,
    pub j: u32,
    pub d: Vec3,
    pub r: f64,
    pub du: f64,
    pub d2u: f64,
}

impl Pair {
    /// The pair stiffness block K = U″ n nᵀ + (U′/r)(I − n nᵀ).
    #[inline]
    pub fn k(&self) -> Block {
        pair_block(&self.d, self.r, self.du, self.d2u)
    }
}

#[inline]
pub fn pair_block(d: &Vec3, r: f64, du: f64, d2u: f64) -> Block {
    let n = [d[0] / r, d[1] / r, d[2] / r];
    let t = du / r;
    let a = d2u - t;
    let mut k = [0.0; 9];
    for p in 0..3 {
        for q in 0..3 {
            k[3 * p + q] = a * n[p] * n[q] + if p == q { t } else { 0.0 };
        }
    }
    k
}

#[inline]
pub fn block_mul(b: &Block, x: &[f64]) -> Vec3 {
    [
        b[0] * x[0] + b[1] * x[1] + b[2] * x[2],
        b[3] * x[0] + b[4] * x[1] + b[5] * x[2],
        b[6] * x[0] + b[7] * x[1] + b[8] * x[2],
    ]
}

/// One three-body term (centre i, neighbours j, k; d1 = r_j − r_i, d2 = r_k − r_i): its
/// gradient and Hessian in the six coordinates (d1, d2), for the shear kernels.
#[derive(Debug, Clone, Copy)]
pub struct Triplet {
    pub i: u32,
    pub j: u32,
    pub k: u32,
    pub d1: Vec3,
    pub d2: Vec3,
    pub g: [f64; 6],
    pub h: [[f64; 6]; 6],
}

impl Triplet {
    /// The 3×3 block ∂²φ/∂x_p∂x_q for members p, q ∈ {0: i, 1: j, 2: k}.
    pub fn block(&self, p: usize, q: usize) -> Block {
        // x_j enters through d1, x_k through d2, x_i through −(d1 + d2)
        let coef = |m: usize, s: usize| -> f64 {
            match (m, s) {
                (0, _) => -1.0,
                (1, 0) | (2, 1) => 1.0,
                _ => 0.0,
            }
        };
        let mut out = [0.0; 9];
        for sp in 0..2 {
            for sq in 0..2 {
                let c = coef(p, sp) * coef(q, sq);
                if c == 0.0 {
                    continue;
                }
                for a in 0..3 {
                    for b in 0..3 {
                        out[3 * a + b] += c * self.h[3 * sp + a][3 * sq + b];
                    }
                }
            }
        }
        out
    }
}

/// The three-body terms of `model` in the configuration (empty for a pair model), from the
/// full neighbour list `nl` (minimum-image separations).
fn triplets(nl: &crate::neighbors::NeighborList, n: usize, model: &Model) -> Vec<Triplet> {
    let Some(tb) = &model.three_body else { return Vec::new() };
    let rc = tb.cutoff();
    let mut out = Vec::new();
    for i in 0..n {
        let nb: Vec<(u32, Vec3)> = nl.range(i).filter(|&k| nl.r[k] < rc).map(|k| (nl.j[k], nl.d[k])).collect();
        for a in 0..nb.len() {
            for b in a + 1..nb.len() {
                let jet = tb.triplet_jet(&nb[a].1, &nb[b].1);
                if jet.v == 0.0 && jet.g == [0.0; 6] {
                    continue;
                }
                out.push(Triplet { i: i as u32, j: nb[a].0, k: nb[b].0, d1: nb[a].1, d2: nb[b].1, g: jet.g, h: jet.h });
            }
        }
    }
    out
}

/// Block-CSR Hessian of a configuration, with the data the elastic kernels need.
#[derive(Debug, Clone)]
pub struct Hessian {
    n: usize,
    /// Row i occupies `row_ptr[i]..row_ptr[i+1]` of `col` and `blocks`; columns sorted, diagonal included.
    pub row_ptr: Vec<usize>,
    pub col: Vec<u32>,
    pub blocks: Vec<Block>,
    /// Position of the diagonal block of row i in `blocks`.
    pub diag: Vec<usize>,
    /// Interacting pairs with i < j.
    pub pairs: Vec<Pair>,
    /// Three-body terms (many-body models only; empty for pair models).
    pub triplets: Vec<Triplet>,
    /// Potential energy (ε).
    pub energy: f64,
    /// Residual forces −∂U/∂x_i (ε/σ).
    pub forces: Vec<Vec3>,
    /// Volume (area in 2D).
    pub volume: f64,
    /// 2D system (see the module docs).
    pub planar: bool,
}

impl Hessian {
    /// Assemble the Hessian of `pos` (N points) with species `types` in `sbox` for `model`.
    pub fn new(pos: &[Vec3], types: &[u32], sbox: &SimBox, model: &Model) -> Result<Self> {
        let n = pos.len();
        if types.len() != n {
            return Err(invalid!("types has {} entries but there are {n} particles", types.len()));
        }
        if n < 2 {
            return Err(invalid!("the Hessian needs at least 2 particles, got {n}"));
        }
        model.check_types(types)?;
        let nl = neighbor_list(pos, sbox, model.max_cutoff(), false)?;

        // Per row: sorted (col, block), the diagonal sum, force, energy share and the upper pairs.
        struct Row {
            cols: Vec<u32>,
            blocks: Vec<Block>,
            diag_at: usize,
            pairs: Vec<Pair>,
        }
        let rows: Vec<Result<Row>> = (0..n)
            .into_par_iter()
            .with_min_len(32)
            .map(|i| {
                let ti = types[i];
                let range = nl.range(i);
                let mut cols = Vec::with_capacity(range.len() + 1);
                let mut blocks = Vec::with_capacity(range.len() + 1);
                let mut diag = [0.0; 9];
                let mut diag_at = usize::MAX;
                let mut pairs = Vec::new();
                for k in range {
                    let j = nl.j[k];
                    let r = nl.r[k];
                    let tj = types[j as usize];
                    if r >= model.cutoff(ti, tj) {
                        continue;
                    }
                    if r <= 0.0 {
                        return Err(invalid!("particles {i} and {j} coincide (distance {r}); the Hessian is undefined"));
                    }
                    let [u, du, d2u] = model.eval(ti, tj, r);
                    if !(u.is_finite() && du.is_finite() && d2u.is_finite()) {
                        return Err(invalid!("pair ({i}, {j}) at distance {r} gives a non-finite energy or curvature"));
                    }
                    let d = nl.d[k];
                    if diag_at == usize::MAX && j as usize > i {
                        diag_at = cols.len();
                        cols.push(i as u32);
                        blocks.push([0.0; 9]);
                    }
                    let kb = pair_block(&d, r, du, d2u);
                    for q in 0..9 {
                        diag[q] += kb[q];
                    }
                    cols.push(j);
                    blocks.push(kb.map(|v| -v));
                    if (j as usize) > i {
                        pairs.push(Pair { i: i as u32, j, d, r, du, d2u });
                    }
                }
                if diag_at == usize::MAX {
                    diag_at = cols.len();
                    cols.push(i as u32);
                    blocks.push([0.0; 9]);
                }
                blocks[diag_at] = diag;
                Ok(Row { cols, blocks, diag_at, pairs })
            })
            .collect();

        let mut row_ptr = Vec::with_capacity(n + 1);
        row_ptr.push(0);
        let mut col = Vec::new();
        let mut blocks = Vec::new();
        let mut diag = Vec::with_capacity(n);
        let mut pairs = Vec::new();
        for row in rows {
            let row = row?;
            diag.push(col.len() + row.diag_at);
            col.extend_from_slice(&row.cols);
            blocks.extend_from_slice(&row.blocks);
            row_ptr.push(col.len());
            pairs.extend_from_slice(&row.pairs);
        }
        let trip = triplets(&nl, n, model);
        if !trip.is_empty() {
            // merge the three-body blocks; their pattern reaches second neighbours (j, k of a centre i)
            let mut rows: Vec<std::collections::BTreeMap<u32, Block>> = (0..n)
                .map(|i| (row_ptr[i]..row_ptr[i + 1]).map(|k| (col[k], blocks[k])).collect())
                .collect();
            for t in &trip {
                let m = [t.i, t.j, t.k];
                for p in 0..3 {
                    for q in 0..3 {
                        let b = t.block(p, q);
                        let e = rows[m[p] as usize].entry(m[q]).or_insert([0.0; 9]);
                        for x in 0..9 {
                            e[x] += b[x];
                        }
                    }
                }
            }
            row_ptr.clear();
            row_ptr.push(0);
            col.clear();
            blocks.clear();
            diag.clear();
            for (i, row) in rows.into_iter().enumerate() {
                for (c, b) in row {
                    if c as usize == i {
                        diag.push(col.len());
                    }
                    col.push(c);
                    blocks.push(b);
                }
                row_ptr.push(col.len());
            }
        }
        let planar = sbox.dim() == 2;
        if planar {
            // M_xy ⊕ I_z (module docs): z rows/columns of the blocks to 0, unit z diagonal
            for b in blocks.iter_mut() {
                for x in [2, 5, 6, 7, 8] {
                    b[x] = 0.0;
                }
            }
            for &p in &diag {
                blocks[p][8] = 1.0;
            }
        }
        let fr = crate::forces::compute(pos, types, sbox, model, crate::forces::Want { per_particle: false, virial: false })?;
        Ok(Hessian { n, row_ptr, col, blocks, diag, pairs, triplets: trip, energy: fr.energy, forces: fr.forces, volume: sbox.volume(), planar })
    }

    /// Number of particles (the matrix is 3N × 3N).
    pub fn n_particles(&self) -> usize {
        self.n
    }
    pub fn dim(&self) -> usize {
        3 * self.n
    }
    pub fn n_blocks(&self) -> usize {
        self.col.len()
    }

    /// Largest residual force |F_i| and its particle.
    pub fn max_force(&self) -> (usize, f64) {
        self.forces
            .iter()
            .enumerate()
            .map(|(i, f)| (i, (f[0] * f[0] + f[1] * f[1] + f[2] * f[2]).sqrt()))
            .fold((0, 0.0), |a, b| if b.1 > a.1 { b } else { a })
    }

    /// Error unless max|F_i| ≤ `tol`: the formulas of definitions §6 hold at a minimum only.
    pub fn check_minimum(&self, tol: f64) -> Result<()> {
        let (i, f) = self.max_force();
        if !(f <= tol) {
            return Err(invalid!(
                "the structure is not an energy minimum: particle {i} has a residual force |F| = {f:.3e} > force_tol = {tol:.1e}; \
                 minimise it first (gr.minimize.fire) or raise force_tol"
            ));
        }
        Ok(())
    }

    /// Error naming the first particle whose 3×3 diagonal block is not positive definite:
    /// such a particle is a rattler (no restoring stiffness) or sits on an unstable site.
    pub fn check_diagonal(&self) -> Result<()> {
        // scale: mean trace
        let mean_tr: f64 = self.diag.iter().map(|&p| {
            let b = &self.blocks[p];
            b[0] + b[4] + if self.planar { 0.0 } else { b[8] }
        }).sum::<f64>() / self.n as f64;
        let tol = 1e-10 * mean_tr.abs().max(f64::MIN_POSITIVE);
        for (i, &p) in self.diag.iter().enumerate() {
            let b = &self.blocks[p];
            let lmin = if self.planar {
                // smallest eigenvalue of the symmetric 2×2 xy block
                let (a, c, d) = (b[0], 0.5 * (b[1] + b[3]), b[4]);
                0.5 * (a + d) - (0.25 * (a - d) * (a - d) + c * c).sqrt()
            } else {
                sym3_min_eig(b)
            };
            if !(lmin > tol) {
                return Err(invalid!(
                    "particle {i} is a rattler or mechanically unstable: its diagonal Hessian block has smallest eigenvalue {lmin:.3e} \
                     (mean trace {mean_tr:.3e}); the Hessian has extra zero or negative modes. Remove rattlers before elastic analysis"
                ));
            }
        }
        Ok(())
    }

    /// y = M x (x, y of length 3N).
    pub fn matvec(&self, x: &[f64], y: &mut [f64]) {
        debug_assert_eq!(x.len(), 3 * self.n);
        y.par_chunks_mut(3).enumerate().with_min_len(64).for_each(|(i, yi)| {
            yi.copy_from_slice(&self.row_times(i, x));
        });
    }

    /// Block row i of M times x: Σ_j M_ij x_j (3 numbers).
    #[inline]
    fn row_times(&self, i: usize, x: &[f64]) -> [f64; 3] {
        let mut acc = [0.0; 3];
        for k in self.row_ptr[i]..self.row_ptr[i + 1] {
            let j = self.col[k] as usize;
            let v = block_mul(&self.blocks[k], &x[3 * j..3 * j + 3]);
            acc[0] += v[0];
            acc[1] += v[1];
            acc[2] += v[2];
        }
        acc
    }

    /// Serial y = M x (for use inside parallel loops over right-hand sides).
    pub fn matvec_serial(&self, x: &[f64], y: &mut [f64]) {
        for i in 0..self.n {
            y[3 * i..3 * i + 3].copy_from_slice(&self.row_times(i, x));
        }
    }

    /// Serial Y = M X for `m` right-hand sides stored interleaved: X[dof·m + c].
    pub fn matmul_serial(&self, x: &[f64], y: &mut [f64], m: usize) {
        match m {
            16 => self.matmul_fixed::<16>(x, y),
            8 => self.matmul_fixed::<8>(x, y),
            4 => self.matmul_fixed::<4>(x, y),
            1 => self.matmul_fixed::<1>(x, y),
            _ => self.matmul_any(x, y, m),
        }
    }

    fn matmul_fixed<const M: usize>(&self, x: &[f64], y: &mut [f64]) {
        for (i, out) in y.chunks_exact_mut(3 * M).enumerate() {
            let mut acc = [[0.0f64; M]; 3];
            for k in self.row_ptr[i]..self.row_ptr[i + 1] {
                let j = self.col[k] as usize;
                let b = &self.blocks[k];
                let xj = &x[3 * j * M..3 * (j + 1) * M];
                let (x0, rest) = xj.split_at(M);
                let (x1, x2) = rest.split_at(M);
                for p in 0..3 {
                    let (b0, b1, b2) = (b[3 * p], b[3 * p + 1], b[3 * p + 2]);
                    let a = &mut acc[p];
                    for c in 0..M {
                        a[c] += b0 * x0[c] + b1 * x1[c] + b2 * x2[c];
                    }
                }
            }
            for p in 0..3 {
                out[p * M..(p + 1) * M].copy_from_slice(&acc[p]);
            }
        }
    }

    fn matmul_any(&self, x: &[f64], y: &mut [f64], m: usize) {
        for i in 0..self.n {
            let out = &mut y[3 * i * m..3 * (i + 1) * m];
            out.iter_mut().for_each(|v| *v = 0.0);
            for k in self.row_ptr[i]..self.row_ptr[i + 1] {
                let j = self.col[k] as usize;
                let b = &self.blocks[k];
                let xj = &x[3 * j * m..3 * (j + 1) * m];
                for p in 0..3 {
                    let (b0, b1, b2) = (b[3 * p], b[3 * p + 1], b[3 * p + 2]);
                    let o = &mut out[p * m..(p + 1) * m];
                    for c in 0..m {
                        o[c] += b0 * xj[c] + b1 * xj[m + c] + b2 * xj[2 * m + c];
                    }
                }
            }
        }
    }

    /// Dense 3N×3N copy (tests and small systems only).
    pub fn to_dense(&self) -> Vec<f64> {
        let d = self.dim();
        let mut a = vec![0.0; d * d];
        for i in 0..self.n {
            for k in self.row_ptr[i]..self.row_ptr[i + 1] {
                let j = self.col[k] as usize;
                for p in 0..3 {
                    for q in 0..3 {
                        a[(3 * i + p) * d + 3 * j + q] += self.blocks[k][3 * p + q];
                    }
                }
            }
        }
        a
    }

    /// Scalar CSR (row pointers, columns, values) of the full 3N×3N matrix, rows sorted.
    pub fn to_csr(&self) -> (Vec<usize>, Vec<u32>, Vec<f64>) {
        let mut indptr = Vec::with_capacity(3 * self.n + 1);
        let nnz = 9 * self.col.len();
        let mut idx = Vec::with_capacity(nnz);
        let mut val = Vec::with_capacity(nnz);
        indptr.push(0);
        for i in 0..self.n {
            for p in 0..3 {
                for k in self.row_ptr[i]..self.row_ptr[i + 1] {
                    let j = self.col[k];
                    for q in 0..3 {
                        idx.push(3 * j + q as u32);
                        val.push(self.blocks[k][3 * p + q]);
                    }
                }
                indptr.push(idx.len());
            }
        }
        (indptr, idx, val)
    }
}

/// Smallest eigenvalue of a symmetric 3×3 matrix (closed form, Smith 1961).
pub fn sym3_min_eig(a: &Block) -> f64 {
    let (a00, a11, a22) = (a[0], a[4], a[8]);
    let (a01, a02, a12) = (0.5 * (a[1] + a[3]), 0.5 * (a[2] + a[6]), 0.5 * (a[5] + a[7]));
    let p1 = a01 * a01 + a02 * a02 + a12 * a12;
    let q = (a00 + a11 + a22) / 3.0;
    if p1 == 0.0 {
        return a00.min(a11).min(a22);
    }
    let p2 = (a00 - q).powi(2) + (a11 - q).powi(2) + (a22 - q).powi(2) + 2.0 * p1;
    let p = (p2 / 6.0).sqrt();
    let b = [
        (a00 - q) / p, a01 / p, a02 / p,
        a01 / p, (a11 - q) / p, a12 / p,
        a02 / p, a12 / p, (a22 - q) / p,
    ];
    let det = b[0] * (b[4] * b[8] - b[5] * b[7]) - b[1] * (b[3] * b[8] - b[5] * b[6]) + b[2] * (b[3] * b[7] - b[4] * b[6]);
    let r = (det / 2.0).clamp(-1.0, 1.0);
    let phi = r.acos() / 3.0;
    // eigenvalues q + 2p cos(phi + 2πk/3); the smallest is k = 1
    q + 2.0 * p * (phi + 2.0 * std::f64::consts::PI / 3.0).cos()
}

/// Invert a symmetric positive-definite 3×3 block (for the block-Jacobi preconditioner).
pub fn inv3(a: &Block) -> Option<Block> {
    let det = a[0] * (a[4] * a[8] - a[5] * a[7]) - a[1] * (a[3] * a[8] - a[5] * a[6]) + a[2] * (a[3] * a[7] - a[4] * a[6]);
    if !(det.abs() > 0.0) || !det.is_finite() {
        return None;
    }
    let id = 1.0 / det;
    Some([
        (a[4] * a[8] - a[5] * a[7]) * id,
        (a[2] * a[7] - a[1] * a[8]) * id,
        (a[1] * a[5] - a[2] * a[4]) * id,
        (a[5] * a[6] - a[3] * a[8]) * id,
        (a[0] * a[8] - a[2] * a[6]) * id,
        (a[2] * a[3] - a[0] * a[5]) * id,
        (a[3] * a[7] - a[4] * a[6]) * id,
        (a[1] * a[6] - a[0] * a[7]) * id,
        (a[0] * a[4] - a[1] * a[3]) * id,
    ])
}

/// Remove the mean of each Cartesian component (project out the three translations).
pub fn project_translations(x: &mut [f64]) {
    let n = x.len() / 3;
    let mut m = [0.0; 3];
    for c in x.chunks(3) {
        m[0] += c[0];
        m[1] += c[1];
        m[2] += c[2];
    }
    for v in m.iter_mut() {
        *v /= n as f64;
    }
    for c in x.chunks_mut(3) {
        c[0] -= m[0];
        c[1] -= m[1];
        c[2] -= m[2];
    }
}
