use numpy::{IntoPyArray, PyArray1, PyArrayMethods, PyReadonlyArray2};
use pyo3::prelude::*;

use super::NThreads;

use super::{points, simbox};
use crate::neighbors::neighbor_list as nl;

type NeighborColumns<'py> = (
    Bound<'py, PyArray1<u32>>,
    Bound<'py, PyArray1<u32>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
);

/// neighbor_list(positions, box, r_max, half=False) -> (i, j, r, dx, dy, dz)
#[pyfunction]
#[pyo3(signature = (positions, box_matrix, r_max, half = false, n_threads = NThreads(None)))]
fn neighbor_list<'py>(
    py: Python<'py>,
    positions: PyReadonlyArray2<'py, f64>,
    box_matrix: PyReadonlyArray2<'py, f64>,
    r_max: f64,
    half: bool,
    n_threads: NThreads,
) -> PyResult<NeighborColumns<'py>> {
    let pos = points(&positions, "positions")?;
    let b = simbox(&box_matrix)?;
    let (list, i) = py.detach(|| {
        crate::threads::try_install(n_threads.0, || nl(&pos, &b, r_max, half).map(|l| {
            let i = l.i_column();
            (l, i)
        }))
    })?;
    let n = list.d.len();
    // d as one (P, 3) array without copying; dx, dy, dz are its column views
    let d = list.d.into_flattened().into_pyarray(py).reshape([n, 3])?;
    let col = |k: usize| -> PyResult<Bound<'py, PyArray1<f64>>> {
        Ok(d.get_item((pyo3::types::PySlice::full(py), k))?.cast_into::<PyArray1<f64>>()?)
    };
    Ok((i.into_pyarray(py), list.j.into_pyarray(py), list.r.into_pyarray(py), col(0)?, col(1)?, col(2)?))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(neighbor_list, m)?)?;
    Ok(())
}
