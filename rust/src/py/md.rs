use numpy::{IntoPyArray, PyArray1, PyArray3, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use super::NThreads;
use pyo3::types::PyDict;

use super::forces::to_array2;
use super::models::PyModel;
use super::{points, simbox, species, PyMonitor};
use crate::md::{maxwell_boltzmann, Ensemble, Md, MdState, Propulsion, Rng, Thermo};
use crate::simbox::Vec3;

fn ensemble(kind: &str, t_start: f64, t_stop: f64, t_damp: f64, chain: usize) -> PyResult<Ensemble> {
    match kind {
        "nve" => Ok(Ensemble::Nve),
        "nvt" => Ok(Ensemble::Nvt { t_start, t_stop, t_damp, chain }),
        other => Err(PyValueError::new_err(format!("unknown ensemble '{other}': expected 'nve' or 'nvt'"))),
    }
}

fn opt_points(a: Option<PyReadonlyArray2<'_, f64>>, what: &str) -> PyResult<Option<Vec<Vec3>>> {
    a.map(|x| points(&x, what)).transpose()
}

/// A running simulation (state in Rust). Built by glassrs.md; see md.rs for the integrator.
#[pyclass(name = "MdSim", module = "glassrs._core")]
pub struct PyMd {
    inner: Md,
}

#[pymethods]
impl PyMd {
    /// MdSim(model, positions, box, types, velocities, dt, ensemble, t_start, t_stop, t_damp,
    ///       chain=3, skin=0.3, seed=0, state=None, chunks=8, propulsion=None)
    /// `state` (from .state()) restores step, chain variables, RNG and the list build positions.
    /// `propulsion` = (f0, active particle indices, persistence in steps, seed) makes the
    /// system active (md.rs `Propulsion`); its signs and RNG are part of `state`.
    #[new]
    #[pyo3(signature = (model, positions, box_matrix, types, velocities, dt, ensemble_kind, t_start, t_stop, t_damp, chain = 3, skin = 0.3, seed = 0, state = None, chunks = crate::md::DEFAULT_CHUNKS, propulsion = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        model: &PyModel,
        positions: PyReadonlyArray2<'_, f64>,
        box_matrix: PyReadonlyArray2<'_, f64>,
        types: PyReadonlyArray1<'_, i64>,
        velocities: PyReadonlyArray2<'_, f64>,
        dt: f64,
        ensemble_kind: &str,
        t_start: f64,
        t_stop: f64,
        t_damp: f64,
        chain: usize,
        skin: f64,
        seed: u64,
        state: Option<&Bound<'_, PyDict>>,
        chunks: usize,
        propulsion: Option<(f64, Vec<usize>, u64, u64)>,
    ) -> PyResult<Self> {
        let pos = points(&positions, "positions")?;
        let vel = points(&velocities, "velocities")?;
        let b = simbox(&box_matrix)?;
        let t = species(&types, pos.len())?;
        let mut st = MdState::new(pos, vel, seed);
        st.propulsion = propulsion.map(|(f0, particles, every, pseed)| Propulsion::new(f0, particles, every, pseed));
        if let Some(d) = state {
            let get = |k: &str| -> PyResult<Bound<'_, PyAny>> {
                d.get_item(k)?.ok_or_else(|| PyValueError::new_err(format!("MD state is missing '{k}'")))
            };
            st.step = get("step")?.extract()?;
            st.eta = get("eta")?.extract()?;
            st.eta_dot = get("eta_dot")?.extract()?;
            st.eta_dotdot = get("eta_dotdot")?.extract()?;
            let r: Vec<u64> = get("rng")?.extract()?;
            if r.len() != 4 {
                return Err(PyValueError::new_err("MD state 'rng' must have 4 integers"));
            }
            st.rng = Rng { s: [r[0], r[1], r[2], r[3]] };
            let bp: Option<PyReadonlyArray2<'_, f64>> = get("build_pos")?.extract()?;
            st.build_pos = opt_points(bp, "build_pos")?;
            if let Some(p) = st.propulsion.as_mut() {
                let signs: Option<PyReadonlyArray2<'_, f64>> = get("propulsion_signs")?.extract()?;
                let r: Vec<u64> = get("propulsion_rng")?.extract()?;
                if r.len() != 4 {
                    return Err(PyValueError::new_err("MD state 'propulsion_rng' must have 4 integers"));
                }
                p.signs = opt_points(signs, "propulsion_signs")?.unwrap_or_default();
                p.rng = Rng { s: [r[0], r[1], r[2], r[3]] };
            }
        }
        let ens = ensemble(ensemble_kind, t_start, t_stop, t_damp, chain)?;
        let m = &model.inner;
        let mut md = py.detach(|| Md::new(m, b, t, st, dt, ens, skin))?;
        md.set_chunks(chunks);
        Ok(PyMd { inner: md })
    }

    /// Change ensemble/thermostat; `ramp` = (begin, end) absolute steps of a T_start→T_stop ramp.
    #[pyo3(signature = (ensemble_kind, t_start, t_stop, t_damp, chain = 3, ramp = None))]
    fn set_ensemble(&mut self, ensemble_kind: &str, t_start: f64, t_stop: f64, t_damp: f64, chain: usize, ramp: Option<(u64, u64)>) -> PyResult<()> {
        let e = ensemble(ensemble_kind, t_start, t_stop, t_damp, chain)?;
        if let Ensemble::Nvt { .. } = e {
            if !(t_start > 0.0 && t_stop > 0.0 && t_damp > 0.0) {
                return Err(PyValueError::new_err(format!("NVT needs positive temperatures and damping; got {t_start}, {t_stop}, {t_damp}")));
            }
        }
        self.inner.set_ensemble(e);
        self.inner.ramp = ramp;
        Ok(())
    }

    /// Redraw Maxwell–Boltzmann velocities at temperature T (zero momentum, exact T) from the
    /// simulation's RNG.
    fn init_velocities(&mut self, t: f64) -> PyResult<()> {
        if !(t >= 0.0 && t.is_finite()) {
            return Err(PyValueError::new_err(format!("temperature must be non-negative, got {t}")));
        }
        let masses: Vec<f64> = self.inner.types.iter().map(|&k| self.inner_mass(k)).collect();
        let mut rng = self.inner.state.rng.clone();
        self.inner.state.vel = maxwell_boltzmann(&masses, t, self.inner.sbox.dim(), &mut rng);
        self.inner.state.rng = rng;
        Ok(())
    }

    #[getter]
    fn step(&self) -> u64 {
        self.inner.state.step
    }

    #[getter]
    fn temperature(&self) -> f64 {
        self.inner.temperature()
    }

    #[getter]
    fn n_builds(&self) -> usize {
        self.inner.n_builds()
    }

    /// Positions (unwrapped) and velocities now.
    fn positions<'py>(&self, py: Python<'py>) -> Bound<'py, numpy::PyArray2<f64>> {
        to_array2(py, &self.inner.state.pos)
    }
    fn velocities<'py>(&self, py: Python<'py>) -> Bound<'py, numpy::PyArray2<f64>> {
        to_array2(py, &self.inner.state.vel)
    }

    /// The self-propulsion force on every particle now (N, 3), zeros for a passive system (ε/σ).
    fn propulsion_forces<'py>(&self, py: Python<'py>) -> Bound<'py, numpy::PyArray2<f64>> {
        let n = self.inner.types.len();
        match &self.inner.state.propulsion {
            Some(p) => to_array2(py, &p.forces(n)),
            None => to_array2(py, &vec![[0.0; 3]; n]),
        }
    }

    /// Full state as a dict of plain values/arrays (for checkpoints).
    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = &self.inner.state;
        let d = PyDict::new(py);
        d.set_item("positions", to_array2(py, &s.pos))?;
        d.set_item("velocities", to_array2(py, &s.vel))?;
        d.set_item("step", s.step)?;
        d.set_item("eta", s.eta.clone())?;
        d.set_item("eta_dot", s.eta_dot.clone())?;
        d.set_item("eta_dotdot", s.eta_dotdot.clone())?;
        d.set_item("rng", s.rng.s.to_vec())?;
        match &s.build_pos {
            Some(bp) => d.set_item("build_pos", to_array2(py, bp))?,
            None => d.set_item("build_pos", py.None())?,
        }
        if let Some(p) = &s.propulsion {
            d.set_item("propulsion_signs", to_array2(py, &p.signs))?;
            d.set_item("propulsion_rng", p.rng.s.to_vec())?;
        }
        Ok(d)
    }

    /// run(n_steps, output_steps, thermo_every=0, n_threads=None, progress=None, velocities=False)
    ///   -> (steps, positions (F,N,3) unwrapped, velocities (F,N,3) or None, thermo (R, 12) array:
    ///       step, T, U, K, P, conserved, Pxx, Pyy, Pzz, Pxy, Pxz, Pyz)
    #[pyo3(signature = (n_steps, output_steps, thermo_every = 0, n_threads = NThreads(None), progress = None, velocities = false))]
    #[allow(clippy::type_complexity)]
    fn run<'py>(
        &mut self,
        py: Python<'py>,
        n_steps: u64,
        output_steps: Vec<u64>,
        thermo_every: u64,
        n_threads: NThreads,
        progress: Option<Py<PyAny>>,
        velocities: bool,
    ) -> PyResult<(Bound<'py, PyArray1<u64>>, Bound<'py, PyArray3<f64>>, Option<Bound<'py, PyArray3<f64>>>, Bound<'py, numpy::PyArray2<f64>>)> {
        if output_steps.windows(2).any(|w| w[1] < w[0]) {
            return Err(PyValueError::new_err("output_steps must be sorted"));
        }
        let mon = PyMonitor::new(progress);
        let n = self.inner.types.len();
        let mut steps: Vec<u64> = Vec::new();
        let mut frames: Vec<f64> = Vec::new();
        let mut vels: Vec<f64> = Vec::new();
        let mut thermo: Vec<Thermo> = Vec::new();
        let md = &mut self.inner;
        let res = py.detach(|| {
            crate::threads::install(n_threads.0, || {
                md.run(n_steps, &output_steps, thermo_every, &mut thermo, &mut |s: &MdState| {
                    steps.push(s.step);
                    frames.extend(s.pos.iter().flat_map(|x| x.iter().copied()));
                    if velocities {
                        vels.extend(s.vel.iter().flat_map(|x| x.iter().copied()));
                    }
                    Ok(())
                }, &mon)
            })
        });
        res??;
        let nf = steps.len();
        let th: Vec<f64> = thermo
            .iter()
            .flat_map(|t| {
                let mut r = vec![t.step as f64, t.temperature, t.potential, t.kinetic, t.pressure, t.conserved];
                r.extend_from_slice(&t.p_tensor);
                r
            })
            .collect();
        let nt = thermo.len();
        Ok((
            steps.into_pyarray(py),
            frames.into_pyarray(py).reshape([nf, n, 3])?,
            if velocities { Some(vels.into_pyarray(py).reshape([nf, n, 3])?) } else { None },
            th.into_pyarray(py).reshape([nt, 12])?,
        ))
    }
}

impl PyMd {
    fn inner_mass(&self, k: u32) -> f64 {
        // masses are validated positive at model construction
        self.inner.masses_of_species()[k as usize]
    }
}

/// maxwell_boltzmann(masses (N,), T, seed, dim=3) -> velocities (N, 3), zero momentum, exact T
/// (N_f = dN − d; v_z = 0 when dim = 2).
#[pyfunction]
#[pyo3(signature = (masses, t, seed, dim=3))]
fn maxwell_boltzmann_velocities<'py>(py: Python<'py>, masses: Vec<f64>, t: f64, seed: u64, dim: usize) -> PyResult<Bound<'py, numpy::PyArray2<f64>>> {
    if dim != 2 && dim != 3 {
        return Err(PyValueError::new_err(format!("dim must be 2 or 3, got {dim}")));
    }
    if masses.iter().any(|m| !(*m > 0.0)) || !(t >= 0.0) {
        return Err(PyValueError::new_err("masses must be positive and T non-negative"));
    }
    let mut rng = Rng::new(seed);
    Ok(to_array2(py, &maxwell_boltzmann(&masses, t, dim, &mut rng)))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyMd>()?;
    m.add_function(wrap_pyfunction!(maxwell_boltzmann_velocities, m)?)?;
    Ok(())
}
