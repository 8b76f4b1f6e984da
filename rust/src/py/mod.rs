//! Python bindings (`glassrs._core`). One submodule per concept registers its functions;
//! shared glue (error mapping, array conversion, progress/cancellation) lives here.

use numpy::{PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::{PyKeyboardInterrupt, PyOSError, PyValueError};
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

// The exception classes are defined in Python (`glassrs.errors`) so that they pickle with their
// message and location (Dask workers, process pools); the core raises those very classes.
pyo3::import_exception!(glassrs.errors, FormatError);
pyo3::import_exception!(glassrs.errors, ConvergenceError);

impl From<Error> for PyErr {
    fn from(e: Error) -> PyErr {
        let msg = e.to_string();
        match e {
            Error::Invalid(_) => PyValueError::new_err(msg),
            Error::Format { file, frame, line, .. } => FormatError::new_err((msg, file, frame, line)),
            Error::NotConverged(_) => ConvergenceError::new_err(msg),
            Error::Interrupted => PyKeyboardInterrupt::new_err(msg),
            Error::Io(_) => PyOSError::new_err(msg),
            Error::File { path, errno: Some(errno), msg: m } => PyOSError::new_err((errno, m, path)),
            Error::File { .. } => PyOSError::new_err(msg),
        }
    }
}

/// The `n_threads` argument of every binding, converted once (see [`crate::threads`]):
/// `None` = the process default, a positive int = exactly that many threads; anything else
/// (0, negative, too large, not an int) is a `ValueError` saying what is accepted.
#[derive(Clone, Copy, Default)]
pub struct NThreads(pub Option<usize>);

impl<'a, 'py> FromPyObject<'a, 'py> for NThreads {
    type Error = PyErr;

    fn extract(obj: pyo3::Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if obj.is_none() {
            return Ok(NThreads(None));
        }
        let bad = || {
            PyValueError::new_err(format!(
                "n_threads must be None (the process default) or an integer from 1 to {} (8 per core), got {}",
                crate::threads::max_threads(),
                obj.repr().map(|r| r.to_string()).unwrap_or_else(|_| "?".into())
            ))
        };
        if obj.is_instance_of::<pyo3::types::PyBool>() {
            return Err(bad());
        }
        let v: i64 = obj.extract().map_err(|_| bad())?;
        let n = usize::try_from(v).map_err(|_| bad())?;
        crate::threads::check(n).map_err(|_| bad())?;
        Ok(NThreads(Some(n)))
    }
}

/// set_num_threads(n=None): the process default for every kernel (None: all cores).
#[pyfunction]
#[pyo3(signature = (n = NThreads(None)))]
fn set_num_threads(n: NThreads) -> PyResult<()> {
    Ok(crate::threads::set_default(n.0)?)
}

/// get_num_threads() -> int: the threads a kernel called with n_threads=None runs on.
#[pyfunction]
fn get_num_threads() -> PyResult<usize> {
    Ok(crate::threads::effective(None)?)
}

/// The process default as set: None (all cores) or the count given to set_num_threads.
#[pyfunction]
fn num_threads_setting() -> Option<usize> {
    crate::threads::default_setting()
}

/// Progress + Ctrl-C for kernels running with the GIL released. `progress` is called from
/// the kernel's calling thread; it re-attaches briefly to check signals and to call the optional
/// Python callback `callback(done, total)`. Signals are only seen on Python's main thread, so
/// long kernels run through [`run_watched`]: the kernel works on a helper thread while the
/// calling thread waits and checks for Ctrl-C every [`WATCH_MS`] ms, setting the cancel flag that
/// kernels also test inside their loops ([`Monitor::cancelled`]).
pub struct PyMonitor {
    callback: Option<Py<PyAny>>,
    cancel: std::sync::atomic::AtomicBool,
    /// When the Python callback last ran (None: not yet).
    last_call: std::sync::Mutex<Option<std::time::Instant>>,
}

/// How often the waiting thread checks for Ctrl-C.
pub const WATCH_MS: u64 = 20;

/// The Python progress callback runs at most this often (plus the first and the last report):
/// entering Python from a worker thread costs ~10–20 µs, which a kernel reporting every few
/// hundred pieces of work would otherwise pay hundreds of times. Ctrl-C does not depend on it
/// (the waiting thread of [`run_watched`] checks every [`WATCH_MS`] ms and sets the flag that
/// every report reads).
pub const CALLBACK_MS: u64 = 50;

impl PyMonitor {
    pub fn new(callback: Option<Py<PyAny>>) -> Self {
        PyMonitor { callback, cancel: std::sync::atomic::AtomicBool::new(false), last_call: std::sync::Mutex::new(None) }
    }

    /// Whether a report of `done` of `total` should enter Python now (and note it).
    fn due(&self, done: usize, total: usize) -> bool {
        let mut last = self.last_call.lock().unwrap_or_else(|p| p.into_inner());
        let now = std::time::Instant::now();
        let due = done >= total || last.map_or(true, |t| now.duration_since(t).as_millis() as u64 >= CALLBACK_MS);
        if due {
            *last = Some(now);
        }
        due
    }

    fn set_cancelled(&self) {
        self.cancel.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Monitor for PyMonitor {
    fn progress(&self, done: usize, total: usize) -> crate::Result<()> {
        if self.cancelled() {
            return Err(Error::Interrupted);
        }
        if !self.due(done, total) {
            return Ok(());
        }
        Python::attach(|py| {
            if py.check_signals().is_err() {
                self.set_cancelled();
                return Err(Error::Interrupted);
            }
            if let Some(cb) = &self.callback {
                if let Err(e) = cb.call1(py, (done, total)) {
                    if e.is_instance_of::<PyKeyboardInterrupt>(py) {
                        self.set_cancelled();
                        return Err(Error::Interrupted);
                    }
                    return Err(Error::Invalid(format!("progress callback failed: {e}")));
                }
            }
            Ok(())
        })
    }

    fn cancelled(&self) -> bool {
        self.cancel.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Run the kernel `f` with the GIL released on a helper thread (inside the `n_threads` pool)
/// while this thread checks for Ctrl-C every [`WATCH_MS`] ms: a signal sets `mon`'s cancel flag
/// and the kernel stops at its next check with `KeyboardInterrupt`.
pub fn run_watched<T: Send>(
    py: Python<'_>,
    n_threads: NThreads,
    mon: &PyMonitor,
    f: impl FnOnce(&PyMonitor) -> crate::Result<T> + Send,
) -> PyResult<T> {
    let out = py.detach(|| {
        std::thread::scope(|s| {
            let me = std::thread::current();
            let h = s.spawn(move || {
                let r = crate::threads::try_install(n_threads.0, || f(mon));
                me.unpark();
                r
            });
            while !h.is_finished() {
                std::thread::park_timeout(std::time::Duration::from_millis(WATCH_MS));
                if !h.is_finished() && !mon.cancelled() && Python::attach(|py| py.check_signals().is_err()) {
                    mon.set_cancelled();
                }
            }
            h.join()
        })
    });
    match out {
        Ok(r) => Ok(r?),
        Err(panic) => std::panic::resume_unwind(panic),
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
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(set_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(get_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(num_threads_setting, m)?)?;
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
