use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::models::Model;

/// A pair model (SPEC §1). Other bindings take `&PyModel` and use `.inner`.
#[pyclass(name = "Model", module = "glassrs._core", frozen)]
pub struct PyModel {
    pub inner: Model,
}

impl PyModel {
    fn species_index(&self, a: usize) -> PyResult<u32> {
        if a >= self.inner.n_species() {
            return Err(PyValueError::new_err(format!(
                "species index {a} out of range for model '{}' with species {:?}",
                self.inner.name,
                self.inner.species()
            )));
        }
        Ok(a as u32)
    }
}

#[pymethods]
impl PyModel {
    #[staticmethod]
    fn kob_andersen() -> Self {
        PyModel { inner: Model::kob_andersen() }
    }

    #[getter]
    fn name(&self) -> String {
        self.inner.name.clone()
    }
    #[getter]
    fn species(&self) -> Vec<String> {
        self.inner.species().to_vec()
    }
    #[getter]
    fn masses(&self) -> Vec<f64> {
        self.inner.masses().to_vec()
    }
    #[getter]
    fn density(&self) -> f64 {
        self.inner.density
    }
    #[getter]
    fn composition(&self) -> Vec<f64> {
        self.inner.composition.clone()
    }
    fn cutoff(&self, a: usize, b: usize) -> PyResult<f64> {
        Ok(self.inner.cutoff(self.species_index(a)?, self.species_index(b)?))
    }
    fn max_cutoff(&self) -> f64 {
        self.inner.max_cutoff()
    }

    /// eval(a, b, r) -> (U, U', U'') arrays for species indices a, b at distances r.
    #[allow(clippy::type_complexity)]
    fn eval<'py>(
        &self,
        py: Python<'py>,
        a: usize,
        b: usize,
        r: PyReadonlyArray1<'py, f64>,
    ) -> PyResult<(Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<f64>>)> {
        let (a, b) = (self.species_index(a)?, self.species_index(b)?);
        let r = r.as_array();
        let mut u = Vec::with_capacity(r.len());
        let mut du = Vec::with_capacity(r.len());
        let mut d2u = Vec::with_capacity(r.len());
        for &x in r.iter() {
            let [e, f, g] = self.inner.eval(a, b, x);
            u.push(e);
            du.push(f);
            d2u.push(g);
        }
        Ok((u.into_pyarray(py), du.into_pyarray(py), d2u.into_pyarray(py)))
    }

    fn __repr__(&self) -> String {
        format!("Model('{}', species={:?})", self.inner.name, self.inner.species())
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyModel>()?;
    Ok(())
}
