use numpy::{IntoPyArray, PyArray1, PyReadonlyArray2};
use pyo3::prelude::*;

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
#[pyo3(signature = (positions, box_matrix, r_max, half = false))]
fn neighbor_list<'py>(
    py: Python<'py>,
    positions: PyReadonlyArray2<'py, f64>,
    box_matrix: PyReadonlyArray2<'py, f64>,
    r_max: f64,
    half: bool,
) -> PyResult<NeighborColumns<'py>> {
    let pos = points(&positions, "positions")?;
    let b = simbox(&box_matrix)?;
    let list = py.detach(|| nl(&pos, &b, r_max, half))?;
    let i = list.i_column();
    let (mut dx, mut dy, mut dz) = (Vec::with_capacity(list.d.len()), Vec::with_capacity(list.d.len()), Vec::with_capacity(list.d.len()));
    for d in &list.d {
        dx.push(d[0]);
        dy.push(d[1]);
        dz.push(d[2]);
    }
    Ok((
        i.into_pyarray(py),
        list.j.into_pyarray(py),
        list.r.into_pyarray(py),
        dx.into_pyarray(py),
        dy.into_pyarray(py),
        dz.into_pyarray(py),
    ))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(neighbor_list, m)?)?;
    Ok(())
}
