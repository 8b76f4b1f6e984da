use numpy::{IntoPyArray, PyArray1, PyArray2, PyArray3, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2, PyReadonlyArray3};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use super::NThreads;
use pyo3::types::PyDict;

use super::forces::to_array2;
use super::models::PyModel;
use super::{points, simbox, species, PyMonitor};
use crate::minimize::{fire as fire_core, fire_batch as fire_batch_core, FireParams};
use crate::simbox::{SimBox, Vec3};

/// FIRE parameters from keyword overrides of the defaults (unknown keys are an error).
pub fn fire_params(kw: Option<&Bound<'_, PyDict>>) -> PyResult<FireParams> {
    let mut p = FireParams::default();
    if let Some(kw) = kw {
        for (k, v) in kw.iter() {
            let key: String = k.extract()?;
            match key.as_str() {
                "dt" => p.dt = v.extract()?,
                "dtgrow" => p.dtgrow = v.extract()?,
                "dtshrink" => p.dtshrink = v.extract()?,
                "alpha0" => p.alpha0 = v.extract()?,
                "alphashrink" => p.alphashrink = v.extract()?,
                "delaystep" => p.delaystep = v.extract()?,
                "tmax" => p.tmax = v.extract()?,
                "tmin" => p.tmin = v.extract()?,
                "dmax" => p.dmax = v.extract()?,
                "vdfmax" => p.vdfmax = v.extract()?,
                "halfstepback" => p.halfstepback = v.extract()?,
                "initialdelay" => p.initialdelay = v.extract()?,
                "f_tol" => p.f_tol = v.extract()?,
                "max_iter" => p.max_iter = v.extract()?,
                "skin" => p.skin = v.extract()?,
                other => {
                    return Err(PyValueError::new_err(format!(
                        "unknown FIRE parameter '{other}'; known: dt, dtgrow, dtshrink, alpha0, alphashrink, delaystep, tmax, tmin, dmax, vdfmax, halfstepback, initialdelay, f_tol, max_iter, skin"
                    )))
                }
            }
        }
    }
    p.validate()?;
    Ok(p)
}

type FireOut<'py> = (Bound<'py, PyArray2<f64>>, f64, f64, usize, usize);

/// fire(positions, box, types, model, params=None, n_threads=None, progress=None, require_convergence=True)
///   -> (positions, energy, max_force, iterations, n_evals). With require_convergence=False a
///   run that stops early returns its last positions (iterations = -1 is not used; n_evals 0).
#[pyfunction]
#[pyo3(signature = (positions, box_matrix, types, model, params = None, n_threads = NThreads(None), progress = None, require_convergence = true))]
#[allow(clippy::too_many_arguments)]
fn fire<'py>(
    py: Python<'py>,
    positions: PyReadonlyArray2<'py, f64>,
    box_matrix: PyReadonlyArray2<'py, f64>,
    types: PyReadonlyArray1<'py, i64>,
    model: &PyModel,
    params: Option<&Bound<'py, PyDict>>,
    n_threads: NThreads,
    progress: Option<Py<PyAny>>,
    require_convergence: bool,
) -> PyResult<FireOut<'py>> {
    let mut pos = points(&positions, "positions")?;
    let b = simbox(&box_matrix)?;
    let t = species(&types, pos.len())?;
    let p = fire_params(params)?;
    let mon = PyMonitor::new(progress);
    let m = &model.inner;
    let res = py.detach(|| crate::threads::install(n_threads.0, || fire_core(&mut pos, &t, &b, m, &p, &mon)))?;
    match res {
        Ok(info) => Ok((to_array2(py, &pos), info.energy, info.max_force, info.iterations, info.n_evals)),
        Err(crate::Error::NotConverged(_)) if !require_convergence => {
            let r = py.detach(|| crate::threads::install(n_threads.0, || crate::forces::compute(&pos, &t, &b, m, crate::forces::Want { per_particle: false, virial: false })))??;
            let fmax = r.forces.iter().map(|f| (f[0] * f[0] + f[1] * f[1] + f[2] * f[2]).sqrt()).fold(0.0, f64::max);
            Ok((to_array2(py, &pos), r.energy, fmax, p.max_iter, 0))
        }
        Err(e) => Err(e.into()),
    }
}

type BatchOut<'py> = (
    Bound<'py, PyArray3<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<i64>>,
    Vec<Option<String>>,
);

/// fire_batch(positions (F,N,3), boxes (F,3,3), types, model, params=None, n_threads=None, progress=None)
///   -> (positions, energy, max_force, iterations, n_evals, errors) with errors[k] None or a message.
#[pyfunction]
#[pyo3(signature = (positions, boxes, types, model, params = None, n_threads = NThreads(None), progress = None))]
#[allow(clippy::too_many_arguments)]
fn fire_batch<'py>(
    py: Python<'py>,
    positions: PyReadonlyArray3<'py, f64>,
    boxes: PyReadonlyArray3<'py, f64>,
    types: PyReadonlyArray1<'py, i64>,
    model: &PyModel,
    params: Option<&Bound<'py, PyDict>>,
    n_threads: NThreads,
    progress: Option<Py<PyAny>>,
) -> PyResult<BatchOut<'py>> {
    let a = positions.as_array();
    let sh = a.shape().to_vec();
    if sh[2] != 3 {
        return Err(PyValueError::new_err(format!("positions must have shape (F, N, 3), got {sh:?}")));
    }
    let bx = boxes.as_array();
    if bx.shape() != [sh[0], 3, 3] {
        return Err(PyValueError::new_err(format!("boxes must have shape ({}, 3, 3), got {:?}", sh[0], bx.shape())));
    }
    let (nf, n) = (sh[0], sh[1]);
    let mut frames: Vec<Vec<Vec3>> = (0..nf).map(|f| (0..n).map(|i| [a[[f, i, 0]], a[[f, i, 1]], a[[f, i, 2]]]).collect()).collect();
    let sboxes: Vec<SimBox> = (0..nf)
        .map(|f| {
            let m: Vec<f64> = bx.slice(numpy::ndarray::s![f, .., ..]).iter().copied().collect();
            SimBox::from_slice(&m).map_err(|e| PyValueError::new_err(format!("frame {f}: {e}")))
        })
        .collect::<PyResult<_>>()?;
    let t = species(&types, n)?;
    let p = fire_params(params)?;
    let mon = PyMonitor::new(progress);
    let m = &model.inner;
    let fr = &mut frames;
    let res = super::run_watched(py, n_threads, &mon, |mon| fire_batch_core(fr, &t, &sboxes, m, &p, mon))?;
    let mut e = Vec::with_capacity(nf);
    let mut fm = Vec::with_capacity(nf);
    let mut it = Vec::with_capacity(nf);
    let mut ne = Vec::with_capacity(nf);
    let mut errs = Vec::with_capacity(nf);
    for r in res {
        match r {
            Ok(i) => {
                e.push(i.energy);
                fm.push(i.max_force);
                it.push(i.iterations as i64);
                ne.push(i.n_evals as i64);
                errs.push(None);
            }
            Err(err) => {
                e.push(f64::NAN);
                fm.push(f64::NAN);
                it.push(-1);
                ne.push(-1);
                errs.push(Some(err.to_string()));
            }
        }
    }
    let flat: Vec<f64> = frames.iter().flat_map(|f| f.iter().flat_map(|x| x.iter().copied())).collect();
    Ok((flat.into_pyarray(py).reshape([nf, n, 3])?, e.into_pyarray(py), fm.into_pyarray(py), it.into_pyarray(py), ne.into_pyarray(py), errs))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(fire, m)?)?;
    m.add_function(wrap_pyfunction!(fire_batch, m)?)?;
    Ok(())
}
