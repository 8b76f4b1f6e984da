//! Bindings of the elastic core: `_core.Hessian` holds the assembled Hessian of one structure
//! and (once built) its solver, so every shear/dipole solve of the structure reuses it.

use std::sync::{Arc, Mutex};

use numpy::{IntoPyArray, PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use super::NThreads;

use super::models::PyModel;
use super::{points, simbox, species, PyMonitor};
use crate::elastic::dipole::{dipole_response, dipole_stiffness};
use crate::elastic::hessian::Hessian;
use crate::elastic::solve::{Method, Solver, SolverOptions};
use crate::elastic::{shear, shear_modulus};

type F64s<'py> = Bound<'py, PyArray1<f64>>;

/// The Hessian of one structure (docs: definitions §6) plus its cached solver.
#[pyclass(name = "Hessian", module = "glassrs._core", frozen)]
pub struct PyHessian {
    h: Arc<Hessian>,
    solvers: Mutex<Solvers>,
    max_factor_values: usize,
}

impl PyHessian {
    fn get_solver(&self, py: Python<'_>, method: &str, rtol: f64, max_iter: usize, n_threads: NThreads) -> PyResult<Arc<Solver>> {
        let m = Method::parse(method)?;
        {
            let g = self.solvers.lock().map_err(|_| PyValueError::new_err("solver lock poisoned"))?;
            let cg = g.cg.as_ref().filter(|(rt, mi, _)| *rt == rtol && *mi == max_iter).map(|e| e.2.clone());
            match m {
                Method::Cholesky | Method::Auto if g.cholesky.is_some() => return Ok(g.cholesky.clone().unwrap()),
                Method::Cg | Method::Auto if cg.is_some() => return Ok(cg.unwrap()),
                _ => {}
            }
        }
        let opts = SolverOptions { method: m, rtol, max_iter, max_factor_values: self.max_factor_values };
        let h = self.h.clone();
        let s = Arc::new(py.detach(|| crate::threads::install(n_threads.0, || Solver::new(&h, &opts)))??);
        let mut g = self.solvers.lock().map_err(|_| PyValueError::new_err("solver lock poisoned"))?;
        match s.method() {
            Method::Cholesky => g.cholesky = Some(s.clone()),
            _ => g.cg = Some((rtol, max_iter, s.clone())),
        }
        Ok(s)
    }
}

#[derive(Default)]
struct Solvers {
    cholesky: Option<Arc<Solver>>,
    cg: Option<(f64, usize, Arc<Solver>)>,
}

#[pymethods]
impl PyHessian {
    /// Hessian(positions, types, box_matrix, model, n_threads=None, max_factor_gb=1.6)
    /// `max_factor_gb`: solver "auto" factorises when the Cholesky factor fits in this memory.
    #[new]
    #[pyo3(signature = (positions, types, box_matrix, model, n_threads = NThreads(None), max_factor_gb = 1.6))]
    fn new(
        py: Python<'_>,
        positions: PyReadonlyArray2<'_, f64>,
        types: PyReadonlyArray1<'_, i64>,
        box_matrix: PyReadonlyArray2<'_, f64>,
        model: &PyModel,
        n_threads: NThreads,
        max_factor_gb: f64,
    ) -> PyResult<Self> {
        if !(max_factor_gb >= 0.0) {
            return Err(PyValueError::new_err(format!("max_factor_gb must be ≥ 0, got {max_factor_gb}")));
        }
        let pos = points(&positions, "positions")?;
        let t = species(&types, pos.len())?;
        let b = simbox(&box_matrix)?;
        let m = model.inner.clone();
        let h = py.detach(|| crate::threads::install(n_threads.0, || Hessian::new(&pos, &t, &b, &m)))??;
        let max_factor_values = (max_factor_gb * 1e9 / 8.0) as usize;
        Ok(PyHessian { h: Arc::new(h), solvers: Mutex::new(Solvers::default()), max_factor_values })
    }

    #[getter]
    fn n_particles(&self) -> usize {
        self.h.n_particles()
    }
    #[getter]
    fn energy(&self) -> f64 {
        self.h.energy
    }
    #[getter]
    fn volume(&self) -> f64 {
        self.h.volume
    }
    #[getter]
    fn n_pairs(&self) -> usize {
        self.h.pairs.len()
    }
    /// Residual forces (N, 3).
    fn forces<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let flat: Vec<f64> = self.h.forces.iter().flatten().copied().collect();
        Ok(flat.into_pyarray(py).reshape([self.h.n_particles(), 3])?)
    }
    /// (particle, |F|) of the largest residual force.
    fn max_force(&self) -> (usize, f64) {
        self.h.max_force()
    }
    /// Raise ValueError unless max|F| ≤ force_tol (the structure is a minimum).
    fn check_minimum(&self, force_tol: f64) -> PyResult<()> {
        Ok(self.h.check_minimum(force_tol)?)
    }
    /// Raise ValueError naming a particle whose diagonal block is not positive definite (rattler).
    fn check_rattlers(&self) -> PyResult<()> {
        Ok(self.h.check_diagonal()?)
    }
    /// Interacting pairs i < j: (i, j, r, U', U'').
    #[allow(clippy::type_complexity)]
    fn pairs<'py>(&self, py: Python<'py>) -> (Bound<'py, PyArray1<u32>>, Bound<'py, PyArray1<u32>>, F64s<'py>, F64s<'py>, F64s<'py>) {
        let p = &self.h.pairs;
        (
            p.iter().map(|e| e.i).collect::<Vec<_>>().into_pyarray(py),
            p.iter().map(|e| e.j).collect::<Vec<_>>().into_pyarray(py),
            p.iter().map(|e| e.r).collect::<Vec<_>>().into_pyarray(py),
            p.iter().map(|e| e.du).collect::<Vec<_>>().into_pyarray(py),
            p.iter().map(|e| e.d2u).collect::<Vec<_>>().into_pyarray(py),
        )
    }
    /// Scalar CSR of the 3N×3N matrix: (indptr int64, indices int32, data).
    #[allow(clippy::type_complexity)]
    fn csr<'py>(&self, py: Python<'py>) -> (Bound<'py, PyArray1<i64>>, Bound<'py, PyArray1<i32>>, F64s<'py>) {
        let (ip, idx, val) = self.h.to_csr();
        (
            ip.into_iter().map(|v| v as i64).collect::<Vec<_>>().into_pyarray(py),
            idx.into_iter().map(|v| v as i32).collect::<Vec<_>>().into_pyarray(py),
            val.into_pyarray(py),
        )
    }
    /// y = M x for x of length 3N.
    fn matvec<'py>(&self, py: Python<'py>, x: PyReadonlyArray1<'py, f64>) -> PyResult<F64s<'py>> {
        let x = x.as_slice()?;
        if x.len() != self.h.dim() {
            return Err(PyValueError::new_err(format!("x has length {}, expected 3N = {}", x.len(), self.h.dim())));
        }
        let mut y = vec![0.0; x.len()];
        py.detach(|| self.h.matvec(x, &mut y));
        Ok(y.into_pyarray(py))
    }
    /// Born term (1/V)∂²U/∂γ², Ξ = ∂²U/∂γ∂x and stress (1/V)∂U/∂γ for shear x_alpha += γ x_beta.
    fn shear_terms<'py>(&self, py: Python<'py>, alpha: usize, beta: usize) -> PyResult<(f64, F64s<'py>, f64)> {
        if alpha > 2 || beta > 2 || alpha == beta {
            return Err(PyValueError::new_err(format!("shear plane ({alpha}, {beta}) must be two distinct axes in 0..3")));
        }
        Ok((shear::born(&self.h, alpha, beta) / self.h.volume, shear::xi(&self.h, alpha, beta).into_pyarray(py), shear::stress(&self.h, alpha, beta)))
    }
    /// Name of the solver method a call with `method` would use ("cg" or "cholesky"); builds it.
    #[pyo3(signature = (method = "auto", rtol = 1e-12, max_iter = 0, n_threads = NThreads(None)))]
    fn prepare(&self, py: Python<'_>, method: &str, rtol: f64, max_iter: usize, n_threads: NThreads) -> PyResult<String> {
        Ok(self.get_solver(py, method, rtol, max_iter, n_threads)?.method().name().to_string())
    }
    /// (method, number of stored factor values) of the current solver, building it if needed.
    #[pyo3(signature = (method = "auto", rtol = 1e-12, max_iter = 0, n_threads = NThreads(None)))]
    fn solver_info(&self, py: Python<'_>, method: &str, rtol: f64, max_iter: usize, n_threads: NThreads) -> PyResult<(String, usize)> {
        let s = self.get_solver(py, method, rtol, max_iter, n_threads)?;
        Ok((s.method().name().to_string(), s.factor_len()))
    }
    /// z = M⁺ b for b (3N,) or (m, 3N) orthogonal to translations; returns the same shape.
    #[pyo3(signature = (b, method = "auto", rtol = 1e-12, max_iter = 0, n_threads = NThreads(None)))]
    fn solve<'py>(
        &self,
        py: Python<'py>,
        b: PyReadonlyArray2<'py, f64>,
        method: &str,
        rtol: f64,
        max_iter: usize,
        n_threads: NThreads,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let s = self.get_solver(py, method, rtol, max_iter, n_threads)?;
        let v = b.as_array();
        let dim = self.h.dim();
        if v.ncols() != dim {
            return Err(PyValueError::new_err(format!("b must have shape (m, 3N = {dim}), got {:?}", v.shape())));
        }
        let m = v.nrows();
        let mut flat: Vec<f64> = v.iter().copied().collect();
        crate::elastic::solve::check_translation_free(&flat, dim, "b")?;
        let h = self.h.clone();
        py.detach(|| s.solve(&h, &mut flat, m))?;
        Ok(flat.into_pyarray(py).reshape([m, dim])?)
    }
    /// Shear moduli of planes [(alpha, beta), …]: (G, Born) arrays (ε/σ³).
    #[pyo3(signature = (planes, method = "auto", rtol = 1e-12, max_iter = 0, n_threads = NThreads(None)))]
    fn shear_modulus<'py>(
        &self,
        py: Python<'py>,
        planes: Vec<(usize, usize)>,
        method: &str,
        rtol: f64,
        max_iter: usize,
        n_threads: NThreads,
    ) -> PyResult<(F64s<'py>, F64s<'py>)> {
        let s = self.get_solver(py, method, rtol, max_iter, n_threads)?;
        let h = self.h.clone();
        let res = py.detach(|| crate::threads::install(n_threads.0, || shear_modulus(&h, &s, &planes)))??;
        Ok((
            res.iter().map(|r| r.g).collect::<Vec<_>>().into_pyarray(py),
            res.iter().map(|r| r.born).collect::<Vec<_>>().into_pyarray(py),
        ))
    }
    /// κ_ij for pairs (i[k], j[k]): (kappa, iterations, method).
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (i, j, method = "auto", rtol = 1e-12, max_iter = 0, batch = 0, n_threads = NThreads(None), progress = None))]
    fn dipole_stiffness<'py>(
        &self,
        py: Python<'py>,
        i: PyReadonlyArray1<'py, i64>,
        j: PyReadonlyArray1<'py, i64>,
        method: &str,
        rtol: f64,
        max_iter: usize,
        batch: usize,
        n_threads: NThreads,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<(F64s<'py>, Bound<'py, PyArray1<u64>>, String)> {
        let pairs = pair_list(&i, &j)?;
        let s = self.get_solver(py, method, rtol, max_iter, n_threads)?;
        let batch = if batch == 0 {
            if s.method() == Method::Cg { 16 } else { 64 }
        } else {
            batch
        };
        let h = self.h.clone();
        let mon = PyMonitor::new(progress);
        let res = super::run_watched(py, n_threads, &mon, |mon| dipole_stiffness(&h, &s, &pairs, batch, mon))?;
        Ok((
            res.kappa.into_pyarray(py),
            res.iterations.into_iter().map(|v| v as u64).collect::<Vec<_>>().into_pyarray(py),
            s.method().name().to_string(),
        ))
    }
    /// Responses z = M⁺ d̂ (m, 3N) for pairs (i[k], j[k]).
    #[pyo3(signature = (i, j, method = "auto", rtol = 1e-12, max_iter = 0))]
    fn dipole_response<'py>(
        &self,
        py: Python<'py>,
        i: PyReadonlyArray1<'py, i64>,
        j: PyReadonlyArray1<'py, i64>,
        method: &str,
        rtol: f64,
        max_iter: usize,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let pairs = pair_list(&i, &j)?;
        let s = self.get_solver(py, method, rtol, max_iter, NThreads(None))?;
        let h = self.h.clone();
        let z = py.detach(|| dipole_response(&h, &s, &pairs))?;
        Ok(z.into_pyarray(py).reshape([pairs.len(), self.h.dim()])?)
    }
}

fn pair_list(i: &PyReadonlyArray1<'_, i64>, j: &PyReadonlyArray1<'_, i64>) -> PyResult<Vec<(u32, u32)>> {
    let (i, j) = (i.as_array(), j.as_array());
    if i.len() != j.len() {
        return Err(PyValueError::new_err(format!("i has {} entries but j has {}", i.len(), j.len())));
    }
    i.iter()
        .zip(j.iter())
        .enumerate()
        .map(|(k, (&a, &b))| match (u32::try_from(a), u32::try_from(b)) {
            (Ok(a), Ok(b)) => Ok((a, b)),
            _ => Err(PyValueError::new_err(format!("pair {k}: invalid particle indices ({a}, {b})"))),
        })
        .collect()
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyHessian>()?;
    Ok(())
}
