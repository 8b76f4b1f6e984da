//! Solving M z = b on the translation-free subspace: z = M⁺ b for b ⊥ translations.
//!
//! Two solvers:
//! - [`Method::Cg`]: block-Jacobi preconditioned conjugate gradient ([`crate::elastic::cg`]),
//!   batched right-hand sides, no set-up cost; memory O(nnz(M)).
//! - [`Method::Cholesky`]: sparse Cholesky factorisation (faer, AMD ordering, supernodal) of the
//!   *pinned* Hessian, reused for every right-hand side of the structure.
//!
//! The singular directions (3 translations) are handled for the factorisation by pinning the
//! last particle: deleting its 3 rows and columns leaves a positive-definite matrix whenever the
//! only zero modes of M are the translations (a null vector with a zero entry at the pinned
//! particle would have to be a translation, hence zero). Because b sums to zero per component,
//! the pinned particle's own equations are then satisfied too, and the solution differs from
//! M⁺b by a uniform translation, which is projected out. A non-positive pivot means an extra
//! zero or negative mode (a rattler or a saddle) and is reported as such.
//!
//! [`Method::Auto`] factorises when the estimated factor fits a memory budget and CG otherwise.

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt::factor::LltRegularization;
use faer::sparse::linalg::cholesky::{factorize_symbolic_cholesky, LltRef, SymbolicCholesky};
use faer::sparse::{SparseColMatRef, SymbolicSparseColMatRef};
use faer::{Conj, MatMut, Par, Side};

use crate::elastic::cg::{block_jacobi, pcg_batch};
use crate::elastic::hessian::{project_translations, Block, Hessian};
use crate::error::{Error, Result};
use crate::invalid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Auto,
    Cg,
    Cholesky,
}

impl Method {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(Method::Auto),
            "cg" => Ok(Method::Cg),
            "cholesky" | "factor" => Ok(Method::Cholesky),
            _ => Err(invalid!("unknown solver '{s}': expected 'auto', 'cg' or 'cholesky'")),
        }
    }
    pub fn name(&self) -> &'static str {
        match self {
            Method::Auto => "auto",
            Method::Cg => "cg",
            Method::Cholesky => "cholesky",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct SolverOptions {
    pub method: Method,
    /// CG: relative residual ‖Mz − b‖ ≤ rtol ‖b‖.
    pub rtol: f64,
    /// CG: iteration limit (0 → 10·3N).
    pub max_iter: usize,
    /// Auto: factorise when the factor needs at most this many f64 values.
    pub max_factor_values: usize,
}

impl Default for SolverOptions {
    fn default() -> Self {
        SolverOptions { method: Method::Auto, rtol: 1e-12, max_iter: 0, max_factor_values: 200_000_000 }
    }
}

/// Pinned-Hessian Cholesky factor.
pub struct Factor {
    symbolic: SymbolicCholesky<usize>,
    values: Vec<f64>,
    dim: usize,
}

impl Factor {
    /// Symbolic analysis (AMD ordering) of the pinned Hessian.
    fn analyse(h: &Hessian) -> Result<(SymbolicCholesky<usize>, Vec<usize>, Vec<usize>, Vec<f64>)> {
        let (col_ptr, row_idx, vals) = pinned_lower_csc(h);
        let dim = h.dim() - 3;
        let sym = SymbolicSparseColMatRef::new_checked(dim, dim, &col_ptr, None, &row_idx);
        let symbolic = factorize_symbolic_cholesky(sym, Side::Lower, Default::default(), Default::default())
            .map_err(|e| invalid!("sparse Cholesky analysis failed: {e:?}"))?;
        Ok((symbolic, col_ptr, row_idx, vals))
    }

    pub fn new(h: &Hessian) -> Result<Self> {
        let (symbolic, col_ptr, row_idx, vals) = Self::analyse(h)?;
        Self::numeric(h, symbolic, &col_ptr, &row_idx, &vals)
    }

    fn numeric(h: &Hessian, symbolic: SymbolicCholesky<usize>, col_ptr: &[usize], row_idx: &[usize], vals: &[f64]) -> Result<Self> {
        let dim = h.dim() - 3;
        let sym = SymbolicSparseColMatRef::new_checked(dim, dim, col_ptr, None, row_idx);
        let mat = SparseColMatRef::new(sym, vals);
        let mut values = Vec::new();
        values
            .try_reserve_exact(symbolic.len_val())
            .map_err(|_| invalid!("not enough memory for the Cholesky factor ({} values); use solver='cg'", symbolic.len_val()))?;
        values.resize(symbolic.len_val(), 0.0);
        let par = if rayon::current_num_threads() > 1 { Par::rayon(rayon::current_num_threads()) } else { Par::Seq };
        let req = symbolic.factorize_numeric_llt_scratch::<f64>(par, Default::default());
        let mut buf = MemBuffer::try_new(req).map_err(|_| invalid!("not enough memory for the Cholesky workspace"))?;
        let res = symbolic.factorize_numeric_llt::<f64>(
            &mut values,
            mat,
            Side::Lower,
            LltRegularization::default(),
            par,
            MemStack::new(&mut buf),
            Default::default(),
        );
        if let Err(e) = res {
            // the pivot index is in the permuted (AMD) order; map it back to a particle
            let faer::linalg::solvers::LltError::NonPositivePivot { index } = e;
            let idx = symbolic.perm().map(|p| p.arrays().0[index]).unwrap_or(index);
            return Err(invalid!(
                "the Hessian is not positive definite apart from translations (non-positive pivot at particle {}, component {}): \
                 the structure has extra zero modes (rattlers) or unstable directions (not a minimum)",
                idx / 3,
                ["x", "y", "z"][idx % 3]
            ));
        }
        Ok(Factor { symbolic, values, dim })
    }

    /// Number of stored values of the factor L.
    pub fn len(&self) -> usize {
        self.values.len()
    }
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Solve in place for `m` column-major right-hand sides of the full 3N dimension.
    pub fn solve(&self, b: &mut [f64], m: usize) {
        let full = self.dim + 3;
        // compact the pinned rows away: the pinned particle is the last, so each column's
        // first `dim` entries are the reduced system
        let mut red = vec![0.0; self.dim * m];
        for c in 0..m {
            red[c * self.dim..(c + 1) * self.dim].copy_from_slice(&b[c * full..c * full + self.dim]);
        }
        let rhs = MatMut::from_column_major_slice_mut(&mut red, self.dim, m);
        let llt = LltRef::new(&self.symbolic, &self.values);
        let req = self.symbolic.solve_in_place_scratch::<f64>(m, Par::Seq);
        let mut buf = MemBuffer::new(req);
        llt.solve_in_place_with_conj(Conj::No, rhs, Par::Seq, MemStack::new(&mut buf));
        for c in 0..m {
            let col = &mut b[c * full..(c + 1) * full];
            col[..self.dim].copy_from_slice(&red[c * self.dim..(c + 1) * self.dim]);
            col[self.dim..].iter_mut().for_each(|v| *v = 0.0);
            project_translations(col);
        }
    }
}

/// Lower triangle (CSC) of the Hessian without the last particle's rows/columns.
fn pinned_lower_csc(h: &Hessian) -> (Vec<usize>, Vec<usize>, Vec<f64>) {
    let n = h.n_particles();
    let pin = n - 1;
    let dim = 3 * pin;
    let mut col_ptr = Vec::with_capacity(dim + 1);
    col_ptr.push(0);
    let mut row_idx = Vec::new();
    let mut vals = Vec::new();
    for i in 0..pin {
        for p in 0..3 {
            let c = 3 * i + p;
            for k in h.row_ptr[i]..h.row_ptr[i + 1] {
                let j = h.col[k] as usize;
                if j < i || j == pin {
                    continue;
                }
                for q in 0..3 {
                    let r = 3 * j + q;
                    if r >= c {
                        row_idx.push(r);
                        // (r, c) entry of the lower triangle = M[c][r] by symmetry
                        vals.push(h.blocks[k][3 * p + q]);
                    }
                }
            }
            col_ptr.push(row_idx.len());
        }
    }
    (col_ptr, row_idx, vals)
}

/// A ready solver for one structure.
pub enum Solver {
    Cg { pre: Vec<Block>, rtol: f64, max_iter: usize },
    Cholesky(Factor),
}

impl Solver {
    /// Build the solver chosen by `opts` (Auto: factorise if the factor fits `max_factor_values`).
    pub fn new(h: &Hessian, opts: &SolverOptions) -> Result<Self> {
        if !(opts.rtol > 0.0 && opts.rtol < 1.0) {
            return Err(invalid!("rtol must be in (0, 1), got {}", opts.rtol));
        }
        let max_iter = if opts.max_iter == 0 { 10 * h.dim() } else { opts.max_iter };
        match opts.method {
            Method::Cg => Ok(Solver::Cg { pre: block_jacobi(h)?, rtol: opts.rtol, max_iter }),
            Method::Cholesky => Ok(Solver::Cholesky(Factor::new(h)?)),
            Method::Auto => {
                let (symbolic, col_ptr, row_idx, vals) = Factor::analyse(h)?;
                if symbolic.len_val() <= opts.max_factor_values {
                    Ok(Solver::Cholesky(Factor::numeric(h, symbolic, &col_ptr, &row_idx, &vals)?))
                } else {
                    Ok(Solver::Cg { pre: block_jacobi(h)?, rtol: opts.rtol, max_iter })
                }
            }
        }
    }

    pub fn method(&self) -> Method {
        match self {
            Solver::Cg { .. } => Method::Cg,
            Solver::Cholesky(_) => Method::Cholesky,
        }
    }

    /// Stored values of the Cholesky factor (0 for CG).
    pub fn factor_len(&self) -> usize {
        match self {
            Solver::Cg { .. } => 0,
            Solver::Cholesky(f) => f.len(),
        }
    }

    /// Solve M z = b in place for `m` column-major right-hand sides (each of length 3N, each
    /// orthogonal to translations); returns CG iterations per column (0 for the factorisation).
    /// Runs on the calling thread (callers parallelise over batches).
    pub fn solve(&self, h: &Hessian, b: &mut [f64], m: usize) -> Result<Vec<usize>> {
        let dim = h.dim();
        if b.len() != dim * m {
            return Err(invalid!("right-hand side has {} values, expected {}", b.len(), dim * m));
        }
        match self {
            Solver::Cholesky(f) => {
                f.solve(b, m);
                Ok(vec![0; m])
            }
            Solver::Cg { pre, rtol, max_iter } => {
                let mut inter = vec![0.0; dim * m];
                for c in 0..m {
                    for k in 0..dim {
                        inter[k * m + c] = b[c * dim + k];
                    }
                }
                let mut x = vec![0.0; dim * m];
                let stats = pcg_batch(h, pre, &inter, &mut x, m, *rtol, *max_iter)?;
                for c in 0..m {
                    for k in 0..dim {
                        b[c * dim + k] = x[k * m + c];
                    }
                }
                Ok(stats.iterations)
            }
        }
    }
}

/// Check that every column sums to zero per component (orthogonal to translations).
pub fn check_translation_free(b: &[f64], dim: usize, what: &str) -> Result<()> {
    for (c, col) in b.chunks(dim).enumerate() {
        let mut s = [0.0; 3];
        let mut norm = 0.0;
        for v in col.chunks(3) {
            for q in 0..3 {
                s[q] += v[q];
                norm += v[q] * v[q];
            }
        }
        let tot = (s[0] * s[0] + s[1] * s[1] + s[2] * s[2]).sqrt();
        if tot > 1e-9 * norm.sqrt().max(1.0) * (dim as f64).sqrt() {
            return Err(Error::Invalid(format!("{what} column {c} has a net force {tot:.3e}: it is not orthogonal to translations")));
        }
    }
    Ok(())
}
