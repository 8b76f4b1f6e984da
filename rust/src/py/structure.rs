//! Bindings for the structure kernels (docs: definitions §2). Heavy work runs with the GIL released.

use numpy::{IntoPyArray, PyArray1, PyArray3, PyReadonlyArray1, PyReadonlyArray2, PyReadonlyArray3};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use super::NThreads;

use super::models::PyModel;
use super::{points, simbox, species, PyMonitor};
use crate::simbox::SimBox;
use crate::structure::local::{Closure, LocalParams, ModelMap};
use crate::structure::{caging, coarse, functions, local, rdf, sq, FrameData};

type Arr<'py> = Bound<'py, PyArray1<f64>>;

fn frames(positions: &PyReadonlyArray3<'_, f64>, boxes: &PyReadonlyArray3<'_, f64>) -> PyResult<Vec<FrameData>> {
    let p = positions.as_array();
    let b = boxes.as_array();
    if p.shape()[2] != 3 {
        return Err(PyValueError::new_err(format!("positions must have shape (F, N, 3), got {:?}", p.shape())));
    }
    if b.shape()[1..] != [3, 3] || b.shape()[0] != p.shape()[0] {
        return Err(PyValueError::new_err(format!(
            "boxes must have shape (F, 3, 3) with F = {} frames, got {:?}",
            p.shape()[0],
            b.shape()
        )));
    }
    (0..p.shape()[0])
        .map(|f| {
            let m: Vec<f64> = b.index_axis(numpy::ndarray::Axis(0), f).iter().copied().collect();
            let sbox = SimBox::from_slice(&m).map_err(|e| PyValueError::new_err(format!("frame {f}: {e}")))?;
            let pf = p.index_axis(numpy::ndarray::Axis(0), f);
            let pos = pf.rows().into_iter().map(|r| [r[0], r[1], r[2]]).collect();
            Ok(FrameData { pos, sbox })
        })
        .collect()
}

/// Frames plus the species of their particles (checked against the particle count).
fn frames_and_species(
    positions: &PyReadonlyArray3<'_, f64>,
    boxes: &PyReadonlyArray3<'_, f64>,
    types: &PyReadonlyArray1<'_, i64>,
) -> PyResult<(Vec<FrameData>, Vec<u32>)> {
    let fr = frames(positions, boxes)?;
    let n = fr.first().map_or(0, |f| f.pos.len());
    let t = species(types, n)?;
    Ok((fr, t))
}

/// rdf_sum(positions (F,N,3), boxes (F,3,3), types, n_species, r_max, n_bins) -> Σ_frames g, flat (ns, ns, n_bins)
#[pyfunction]
#[pyo3(signature = (positions, boxes, types, n_species, r_max, n_bins, n_threads = NThreads(None), progress = None))]
#[allow(clippy::too_many_arguments)]
fn rdf_sum<'py>(
    py: Python<'py>,
    positions: PyReadonlyArray3<'py, f64>,
    boxes: PyReadonlyArray3<'py, f64>,
    types: PyReadonlyArray1<'py, i64>,
    n_species: usize,
    r_max: f64,
    n_bins: usize,
    n_threads: NThreads,
    progress: Option<Py<PyAny>>,
) -> PyResult<Arr<'py>> {
    let (fr, t) = frames_and_species(&positions, &boxes, &types)?;
    let mon = PyMonitor::new(progress);
    let g = py.detach(|| rdf::rdf_sum(&fr, &t, n_species, rdf::RdfBins { r_max, n_bins }, n_threads.0, &mon))?;
    Ok(g.into_pyarray(py))
}

/// sq_shells(positions, boxes, types, n_species, q_max, dq, stride=1, ..., chunk_particles=None)
/// -> (Σ S flat (ns,ns,nb), count, Σ|q|); chunk_particles overrides the memory-bounded default
#[pyfunction]
#[pyo3(signature = (positions, boxes, types, n_species, q_max, dq, stride = 1, n_threads = NThreads(None), progress = None,
                    chunk_particles = None))]
#[allow(clippy::too_many_arguments)]
fn sq_shells<'py>(
    py: Python<'py>,
    positions: PyReadonlyArray3<'py, f64>,
    boxes: PyReadonlyArray3<'py, f64>,
    types: PyReadonlyArray1<'py, i64>,
    n_species: usize,
    q_max: f64,
    dq: f64,
    stride: usize,
    n_threads: NThreads,
    progress: Option<Py<PyAny>>,
    chunk_particles: Option<usize>,
) -> PyResult<(Arr<'py>, Bound<'py, PyArray1<u64>>, Arr<'py>)> {
    let (fr, t) = frames_and_species(&positions, &boxes, &types)?;
    let mon = PyMonitor::new(progress);
    let r = py.detach(|| sq::sq_shells(&fr, &t, n_species, q_max, dq, stride, chunk_particles, n_threads.0, &mon))?;
    Ok((r.sum.into_pyarray(py), r.count.into_pyarray(py), r.sum_q.into_pyarray(py)))
}

/// local_frame(...) -> (beta_phi, s2, e_loc, r, curves flat (P, ns, K))
#[pyfunction]
#[pyo3(signature = (positions, box_matrix, types, n_species, windows, delta, dr, r_s, closure, temperature = None,
                    model = None, species_map = None, curves = None, n_threads = NThreads(None)))]
#[allow(clippy::too_many_arguments)]
fn local_frame<'py>(
    py: Python<'py>,
    positions: PyReadonlyArray2<'py, f64>,
    box_matrix: PyReadonlyArray2<'py, f64>,
    types: PyReadonlyArray1<'py, i64>,
    n_species: usize,
    windows: PyReadonlyArray2<'py, f64>,
    delta: f64,
    dr: f64,
    r_s: f64,
    closure: &str,
    temperature: Option<f64>,
    model: Option<PyRef<'py, PyModel>>,
    species_map: Option<PyReadonlyArray1<'py, i64>>,
    curves: Option<PyReadonlyArray1<'py, i64>>,
    n_threads: NThreads,
) -> PyResult<(Arr<'py>, Arr<'py>, Arr<'py>, Arr<'py>, Arr<'py>)> {
    let (fr, t) = one_frame(&positions, &box_matrix, &types)?;
    let w = windows.as_array();
    if w.ncols() != 2 {
        return Err(PyValueError::new_err(format!("windows must have shape (n_species², 2), got {:?}", w.shape())));
    }
    let wins: Vec<(f64, f64)> = w.rows().into_iter().map(|r| (r[0], r[1])).collect();
    let closure = match closure {
        "approx" => Closure::Approx,
        "hnc" => match temperature {
            Some(tt) if tt > 0.0 && tt.is_finite() => Closure::Hnc { beta: 1.0 / tt },
            Some(tt) => return Err(PyValueError::new_err(format!("the hnc closure needs a positive temperature T, got {tt}"))),
            None => return Err(PyValueError::new_err("the hnc closure needs the temperature T of the state point (β = 1/T)")),
        },
        other => return Err(PyValueError::new_err(format!("unknown closure '{other}'; expected 'approx' or 'hnc'"))),
    };
    let map: Option<Vec<u32>> = match &species_map {
        Some(m) => Some(species(m, n_species)?),
        None => None,
    };
    let curves: Vec<usize> = match &curves {
        Some(c) => c
            .as_array()
            .iter()
            .map(|&i| usize::try_from(i).map_err(|_| PyValueError::new_err(format!("invalid particle index {i} for curves"))))
            .collect::<PyResult<_>>()?,
        None => Vec::new(),
    };
    let p = LocalParams { delta, dr, r_s, windows: wins, closure };
    let inner = model.as_ref().map(|m| m.inner.clone());
    let res = py.detach(|| {
        let mm = match (&inner, &map) {
            (Some(m), Some(map)) => Some(ModelMap { model: m, map }),
            (Some(_), None) => return Err(crate::invalid!("a model needs species_map (trajectory species → model species)")),
            _ => None,
        };
        local::local_frame(&fr, &t, n_species, mm.as_ref(), &p, &curves, n_threads.0)
    })?;
    Ok((
        res.beta_phi.into_pyarray(py),
        res.s2.into_pyarray(py),
        res.e_loc.into_pyarray(py),
        res.r.into_pyarray(py),
        res.curves.into_pyarray(py),
    ))
}

/// coarse_grain(positions, box, types, x, ls, r_cg, species_mask=None) -> flat (nL, N)
#[pyfunction]
#[pyo3(signature = (positions, box_matrix, types, x, ls, r_cg, species_mask = None, n_threads = NThreads(None)))]
#[allow(clippy::too_many_arguments)]
fn coarse_grain<'py>(
    py: Python<'py>,
    positions: PyReadonlyArray2<'py, f64>,
    box_matrix: PyReadonlyArray2<'py, f64>,
    types: PyReadonlyArray1<'py, i64>,
    x: PyReadonlyArray1<'py, f64>,
    ls: Vec<f64>,
    r_cg: f64,
    species_mask: Option<Vec<bool>>,
    n_threads: NThreads,
) -> PyResult<Arr<'py>> {
    let (fr, t) = one_frame(&positions, &box_matrix, &types)?;
    let x: Vec<f64> = x.as_array().iter().copied().collect();
    let out = py.detach(|| coarse::coarse_grain(&fr, &t, &x, &ls, r_cg, species_mask.as_deref(), n_threads.0))?;
    Ok(out.into_pyarray(py))
}

/// One frame's positions, box and species from the Python arrays (checked).
fn one_frame(
    positions: &PyReadonlyArray2<'_, f64>,
    box_matrix: &PyReadonlyArray2<'_, f64>,
    types: &PyReadonlyArray1<'_, i64>,
) -> PyResult<(FrameData, Vec<u32>)> {
    let pos = points(positions, "positions")?;
    let sbox = simbox(box_matrix)?;
    let t = species(types, pos.len())?;
    Ok((FrameData { pos, sbox }, t))
}

/// A flat (n, a, b) result as a numpy array.
fn array3<'py>(py: Python<'py>, v: Vec<f64>, shape: (usize, usize, usize), what: &str) -> PyResult<Bound<'py, PyArray3<f64>>> {
    let arr = numpy::ndarray::Array3::from_shape_vec(shape, v).map_err(|e| PyValueError::new_err(format!("{what}: {e}")))?;
    Ok(arr.into_pyarray(py))
}

/// radial_structure_functions(positions (N,3), box (3,3), types, n_types, mus, width, r_max) -> (N, n_types, M)
#[pyfunction]
#[pyo3(signature = (positions, box_matrix, types, n_types, mus, width, r_max, n_threads = NThreads(None)))]
#[allow(clippy::too_many_arguments)]
fn radial_structure_functions<'py>(
    py: Python<'py>,
    positions: PyReadonlyArray2<'py, f64>,
    box_matrix: PyReadonlyArray2<'py, f64>,
    types: PyReadonlyArray1<'py, i64>,
    n_types: usize,
    mus: Vec<f64>,
    width: f64,
    r_max: f64,
    n_threads: NThreads,
) -> PyResult<Bound<'py, PyArray3<f64>>> {
    let (fr, t) = one_frame(&positions, &box_matrix, &types)?;
    let (n, m) = (fr.pos.len(), mus.len());
    let g = py.detach(|| functions::radial_structure_functions(&fr, &t, n_types, &mus, width, r_max, n_threads.0))?;
    array3(py, g, (n, n_types, m), "structure functions")
}

/// angular_structure_functions(positions (N,3), box (3,3), types, n_types, xis, lambdas, zetas, r_max)
///   -> (N, n_types(n_types+1)/2, len(xis)·len(lambdas)·len(zetas))
#[pyfunction]
#[pyo3(signature = (positions, box_matrix, types, n_types, xis, lambdas, zetas, r_max, n_threads = NThreads(None)))]
#[allow(clippy::too_many_arguments)]
fn angular_structure_functions<'py>(
    py: Python<'py>,
    positions: PyReadonlyArray2<'py, f64>,
    box_matrix: PyReadonlyArray2<'py, f64>,
    types: PyReadonlyArray1<'py, i64>,
    n_types: usize,
    xis: Vec<f64>,
    lambdas: Vec<f64>,
    zetas: Vec<f64>,
    r_max: f64,
    n_threads: NThreads,
) -> PyResult<Bound<'py, PyArray3<f64>>> {
    let (fr, t) = one_frame(&positions, &box_matrix, &types)?;
    let n = fr.pos.len();
    let nc = xis.len() * lambdas.len() * zetas.len();
    let grid = functions::AngularGrid { xis, lambdas, zetas };
    let g = py.detach(|| functions::angular_structure_functions(&fr, &t, n_types, &grid, r_max, n_threads.0))?;
    array3(py, g, (n, n_types * (n_types + 1) / 2, nc), "angular structure functions")
}

/// caging_potential(q, s flat (nq, ns, ns), x, rho, dr, paper_units=False) -> βΦ(Δr)
#[pyfunction]
#[pyo3(signature = (q, s, x, rho, dr, paper_units = false))]
fn caging_potential<'py>(
    py: Python<'py>,
    q: Vec<f64>,
    s: Vec<f64>,
    x: Vec<f64>,
    rho: f64,
    dr: Vec<f64>,
    paper_units: bool,
) -> PyResult<Arr<'py>> {
    Ok(caging::caging_potential(&q, &s, &x, rho, &dr, paper_units)?.into_pyarray(py))
}

/// mfpt(dr, beta_phi) -> (τ_mfpt, index of r_max)
#[pyfunction]
fn mfpt(dr: Vec<f64>, beta_phi: Vec<f64>) -> PyResult<(f64, usize)> {
    Ok(caging::mfpt(&dr, &beta_phi)?)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(rdf_sum, m)?)?;
    m.add_function(wrap_pyfunction!(sq_shells, m)?)?;
    m.add_function(wrap_pyfunction!(local_frame, m)?)?;
    m.add_function(wrap_pyfunction!(coarse_grain, m)?)?;
    m.add_function(wrap_pyfunction!(radial_structure_functions, m)?)?;
    m.add_function(wrap_pyfunction!(angular_structure_functions, m)?)?;
    m.add_function(wrap_pyfunction!(caging_potential, m)?)?;
    m.add_function(wrap_pyfunction!(mfpt, m)?)?;
    Ok(())
}
