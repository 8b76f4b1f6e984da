//! Python bindings (`glassrs._core`). One submodule per concept registers its functions;
//! shared glue (error mapping, array conversion, progress/cancellation) lives here.

use numpy::{PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::{PyKeyboardInterrupt, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;

use crate::error::Error;
use crate::monitor::Monitor;
use crate::simbox::{SimBox, Vec3};

mod elastic;
pub mod forces;
mod md;
mod minimize;
mod dynamics;
pub mod models;
mod io;
mod neighbors;
mod structure;

pyo3::create_exception!(_core, FormatError, PyValueError, "A trajectory or input file is malformed; the message names the file, frame and line.");
pyo3::create_exception!(_core, ConvergenceError, PyRuntimeError, "An iterative minimiser or solver did not converge.");

impl From<Error> for PyErr {
    fn from(e: Error) -> PyErr {
        let msg = e.to_string();
        match e {
            Error::Invalid(_) => PyValueError::new_err(msg),
            Error::Format { .. } => FormatError::new_err(msg),
            Error::NotConverged(_) => ConvergenceError::new_err(msg),
            Error::Interrupted => PyKeyboardInterrupt::new_err(msg),
            Error::Io(_) => PyOSError::new_err(msg),
        }
    }
}

/// Progress + Ctrl-C for kernels running with the GIL released. `progress` is called from
/// the thread that called the kernel; it re-attaches briefly to check signals and to call
/// the optional Python callback `callback(done, total)`.
pub struct PyMonitor {
    callback: Option<Py<PyAny>>,
}

impl PyMonitor {
    pub fn new(callback: Option<Py<PyAny>>) -> Self {
        PyMonitor { callback }
    }
}

impl Monitor for PyMonitor {
    fn progress(&self, done: usize, total: usize) -> crate::Result<()> {
        Python::attach(|py| {
            if py.check_signals().is_err() {
                return Err(Error::Interrupted);
            }
            if let Some(cb) = &self.callback {
                if let Err(e) = cb.call1(py, (done, total)) {
                    if e.is_instance_of::<PyKeyboardInterrupt>(py) {
                        return Err(Error::Interrupted);
                    }
                    return Err(Error::Invalid(format!("progress callback failed: {e}")));
                }
            }
            Ok(())
        })
    }
}

/// Copy an (N, 3) float64 array into a vector of points.
pub fn points(a: &PyReadonlyArray2<'_, f64>, what: &str) -> PyResult<Vec<Vec3>> {
    let v = a.as_array();
    if v.ncols() != 3 {
        return Err(PyValueError::new_err(format!("{what} must have shape (N, 3), got {:?}", v.shape())));
    }
    Ok(v.rows().into_iter().map(|r| [r[0], r[1], r[2]]).collect())
}

/// A box from a (3, 3) float64 array whose columns are the box vectors.
pub fn simbox(a: &PyReadonlyArray2<'_, f64>) -> PyResult<SimBox> {
    let v = a.as_array();
    if v.shape() != [3, 3] {
        return Err(PyValueError::new_err(format!("box matrix must have shape (3, 3), got {:?}", v.shape())));
    }
    let m: Vec<f64> = v.iter().copied().collect();
    Ok(SimBox::from_slice(&m)?)
}

/// Species indices as u32 with a length check against `n`.
pub fn species(a: &PyReadonlyArray1<'_, i64>, n: usize) -> PyResult<Vec<u32>> {
    let v = a.as_array();
    if v.len() != n {
        return Err(PyValueError::new_err(format!("types has {} entries but there are {n} particles", v.len())));
    }
    v.iter()
        .enumerate()
        .map(|(i, &t)| {
            u32::try_from(t).map_err(|_| PyValueError::new_err(format!("particle {i} has invalid species index {t}")))
        })
        .collect()
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("FormatError", m.py().get_type::<FormatError>())?;
    m.add("ConvergenceError", m.py().get_type::<ConvergenceError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    elastic::register(m)?;
    forces::register(m)?;
    md::register(m)?;
    minimize::register(m)?;
    dynamics::register(m)?;
    models::register(m)?;
    io::register(m)?;
    neighbors::register(m)?;
    structure::register(m)?;
    Ok(())
}
