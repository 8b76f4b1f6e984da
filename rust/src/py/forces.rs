use numpy::{IntoPyArray, PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;

use super::NThreads;

use super::models::PyModel;
use super::{points, simbox, species};
use crate::forces::{compute, Want};
use crate::simbox::Vec3;

/// (N, 3) array from points.
pub fn to_array2<'py>(py: Python<'py>, v: &[Vec3]) -> Bound<'py, PyArray2<f64>> {
    let flat: Vec<f64> = v.iter().flat_map(|x| x.iter().copied()).collect();
    flat.into_pyarray(py).reshape([v.len(), 3]).expect("length is 3N")
}

type ForcesOut<'py> = (f64, Bound<'py, PyArray1<f64>>, Bound<'py, PyArray2<f64>>, Bound<'py, PyArray2<f64>>);

/// forces(positions, box, types, model, n_threads=None) -> (energy, per_particle, forces, virial)
#[pyfunction]
#[pyo3(signature = (positions, box_matrix, types, model, n_threads = NThreads(None)))]
fn forces<'py>(
    py: Python<'py>,
    positions: PyReadonlyArray2<'py, f64>,
    box_matrix: PyReadonlyArray2<'py, f64>,
    types: PyReadonlyArray1<'py, i64>,
    model: &PyModel,
    n_threads: NThreads,
) -> PyResult<ForcesOut<'py>> {
    let pos = points(&positions, "positions")?;
    let b = simbox(&box_matrix)?;
    let t = species(&types, pos.len())?;
    let m = &model.inner;
    let res = py.detach(|| crate::threads::install(n_threads.0, || compute(&pos, &t, &b, m, Want { per_particle: true, virial: true })))??;
    let w: Vec<f64> = res.virial.iter().flat_map(|r| r.iter().copied()).collect();
    Ok((
        res.energy,
        res.per_particle.into_pyarray(py),
        to_array2(py, &res.forces),
        w.into_pyarray(py).reshape([3, 3])?,
    ))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(forces, m)?)?;
    Ok(())
}
