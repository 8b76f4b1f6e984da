use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::models::{Model, Shift};

/// A model: pair potentials, and a three-body term for many-body models (docs: definitions §1). Other bindings take `&PyModel` and use `.inner`.
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
    #[staticmethod]
    fn ka_wca() -> Self {
        PyModel { inner: Model::ka_wca() }
    }
    #[staticmethod]
    fn qp(q: f64, p: f64) -> PyResult<Self> {
        Ok(PyModel { inner: Model::qp(q, p)? })
    }
    #[staticmethod]
    fn wahnstrom() -> Self {
        PyModel { inner: Model::wahnstrom() }
    }
    #[staticmethod]
    fn ipl10() -> Self {
        PyModel { inner: Model::ipl10() }
    }
    #[staticmethod]
    fn sticky_spheres(xc: f64) -> PyResult<Self> {
        Ok(PyModel { inner: Model::sticky_spheres(xc)? })
    }
    #[staticmethod]
    fn stillinger_weber(lam: f64) -> PyResult<Self> {
        Ok(PyModel { inner: Model::stillinger_weber(lam)? })
    }
    /// The three-body term as a dict (lambda, eps, gamma, sigma, a, cos0), or None for a pair model.
    fn three_body_params(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let Some(t) = &self.inner.three_body else { return Ok(None) };
        let d = pyo3::types::PyDict::new(py);
        d.set_item("lambda", t.lambda)?;
        d.set_item("eps", t.eps)?;
        d.set_item("gamma", t.gamma)?;
        d.set_item("sigma", t.sigma)?;
        d.set_item("a", t.a)?;
        d.set_item("cos0", t.cos0)?;
        Ok(Some(d.into_any().unbind()))
    }
    #[getter]
    fn many_body(&self) -> bool {
        self.inner.is_many_body()
    }
    /// Generic LJ mixture; eps, sigma, rc list the upper triangle (0,0), (0,1), …, (1,1), …
    #[staticmethod]
    #[allow(clippy::too_many_arguments)]
    fn lj_mixture(
        name: &str,
        species: Vec<String>,
        masses: Vec<f64>,
        eps: Vec<f64>,
        sigma: Vec<f64>,
        rc: Vec<f64>,
        shift: &str,
        density: f64,
        composition: Vec<f64>,
    ) -> PyResult<Self> {
        let shift = Shift::parse(shift)?;
        Ok(PyModel { inner: Model::lj_mixture(name, species, masses, &eps, &sigma, &rc, shift, density, composition)? })
    }
    /// Tabulated model; `tables` lists (r, U, dU/dr) per pair in upper-triangle order.
    #[staticmethod]
    fn table(
        name: &str,
        species: Vec<String>,
        masses: Vec<f64>,
        tables: Vec<(Vec<f64>, Vec<f64>, Vec<f64>)>,
        density: f64,
        composition: Vec<f64>,
    ) -> PyResult<Self> {
        Ok(PyModel { inner: Model::table(name, species, masses, tables, density, composition)? })
    }
    /// Parameters of the (a, b) pair as a dict (kind plus its numbers), for exporters.
    fn pair_params(&self, py: Python<'_>, a: usize, b: usize) -> PyResult<Py<PyAny>> {
        use crate::models::PairPot;
        let d = pyo3::types::PyDict::new(py);
        match self.inner.pair(self.species_index(a)?, self.species_index(b)?) {
            PairPot::LennardJones { eps, sigma, rc, shift, dshift } => {
                d.set_item("kind", "lj")?;
                d.set_item("eps", eps)?;
                d.set_item("sigma", sigma)?;
                d.set_item("rc", rc)?;
                d.set_item("shift", shift)?;
                d.set_item("dshift", dshift)?;
            }
            PairPot::Nm { eps, rm, q, p, rc, c1, c2 } => {
                d.set_item("kind", "nm")?;
                d.set_item("eps", eps)?;
                d.set_item("rm", rm)?;
                d.set_item("q", q)?;
                d.set_item("p", p)?;
                d.set_item("rc", rc)?;
                d.set_item("c1", c1)?;
                d.set_item("c2", c2)?;
            }
            PairPot::Ipl { eps, lambda, n, rc, c } => {
                d.set_item("kind", "ipl")?;
                d.set_item("eps", eps)?;
                d.set_item("lambda", lambda)?;
                d.set_item("n", n)?;
                d.set_item("rc", rc)?;
                d.set_item("c", c.to_vec())?;
            }
            PairPot::Sticky { eps, sigma, rc, ab, c } => {
                d.set_item("kind", "sticky")?;
                d.set_item("eps", eps)?;
                d.set_item("sigma", sigma)?;
                d.set_item("rc", rc)?;
                d.set_item("a", ab[0])?;
                d.set_item("b", ab[1])?;
                d.set_item("c", c.to_vec())?;
            }
            PairPot::Sw2 { eps, sigma, a, big_a, big_b, p, q } => {
                d.set_item("kind", "sw")?;
                d.set_item("eps", eps)?;
                d.set_item("sigma", sigma)?;
                d.set_item("a", a)?;
                d.set_item("A", big_a)?;
                d.set_item("B", big_b)?;
                d.set_item("p", p)?;
                d.set_item("q", q)?;
                d.set_item("rc", a * sigma)?;
            }
            PairPot::Table { r, .. } => {
                d.set_item("kind", "table")?;
                d.set_item("rc", r[r.len() - 1])?;
                d.set_item("r_min", r[0])?;
                d.set_item("n", r.len())?;
            }
        }
        Ok(d.into_any().unbind())
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
