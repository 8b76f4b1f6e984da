//! Bindings of the LAMMPS dump reader: `_core.LammpsDump(path)` scans once, then
//! `read(k)` / `read_many([k…])` parse frames on demand (GIL released).

use numpy::{IntoPyArray, PyArray1, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use std::sync::Mutex;

use crate::io::lammps::{self, Compression, DumpFrame, DumpIndex, StreamPos};

/// An indexed LAMMPS text dump (plain, gzip or zstd). Frames are parsed only when read.
#[pyclass(name = "LammpsDump", module = "glassrs._core", frozen)]
pub struct PyLammpsDump {
    index: DumpIndex,
    /// Where the decompressing reader of a compressed dump stands (sequential reads continue).
    cursor: Mutex<Option<StreamPos>>,
}

impl PyLammpsDump {
    fn cursor(&self) -> PyResult<std::sync::MutexGuard<'_, Option<StreamPos>>> {
        self.cursor.lock().map_err(|_| pyo3::exceptions::PyRuntimeError::new_err("LammpsDump reader lock poisoned"))
    }
}

fn vec3<'py, T: numpy::Element>(py: Python<'py>, v: Vec<T>) -> PyResult<Bound<'py, PyAny>> {
    let n = v.len() / 3;
    Ok(v.into_pyarray(py).reshape([n, 3])?.into_any())
}

fn frame_dict<'py>(py: Python<'py>, f: DumpFrame) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("step", f.step)?;
    d.set_item("time", f.time)?;
    let m: Vec<f64> = f.matrix.iter().flatten().copied().collect();
    d.set_item("matrix", m.into_pyarray(py).reshape([3, 3])?)?;
    d.set_item("origin", f.origin.to_vec().into_pyarray(py))?;
    d.set_item("ids", f.ids.map(|v| v.into_pyarray(py)))?;
    d.set_item("types", f.types.map(|v| v.into_pyarray(py)))?;
    d.set_item("positions", vec3(py, f.positions)?)?;
    d.set_item("unwrapped", f.unwrapped.map(|v| vec3(py, v)).transpose()?)?;
    d.set_item("images", f.images.map(|v| vec3(py, v)).transpose()?)?;
    d.set_item("velocities", f.velocities.map(|v| vec3(py, v)).transpose()?)?;
    Ok(d)
}

#[pymethods]
impl PyLammpsDump {
    /// Scan `path` once and index its frames (raises FormatError on a malformed header).
    /// `drop_truncated`: leave out an unfinished last frame instead of raising.
    #[new]
    #[pyo3(signature = (path, drop_truncated = false))]
    fn new(py: Python<'_>, path: String, drop_truncated: bool) -> PyResult<Self> {
        let index = py.detach(|| lammps::scan_opts(&path, drop_truncated))?;
        Ok(PyLammpsDump { index, cursor: Mutex::new(None) })
    }

    /// Unfinished frames left out at the end (0 or 1) and why.
    #[getter]
    fn dropped(&self) -> (usize, Option<String>) {
        (self.index.dropped, self.index.dropped_reason.clone())
    }

    /// "none", "gzip" or "zstd".
    #[getter]
    fn compression(&self) -> &'static str {
        match self.index.compression {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }

    fn __len__(&self) -> usize {
        self.index.frames.len()
    }

    #[getter]
    fn path(&self) -> String {
        self.index.path.clone()
    }

    /// Column names of `ITEM: ATOMS`.
    #[getter]
    fn columns(&self) -> Vec<String> {
        self.index.columns.clone()
    }

    /// Number of atoms (same in every frame).
    #[getter]
    fn n_atoms(&self) -> usize {
        self.index.frames.first().map_or(0, |f| f.n)
    }

    /// Timestep of every frame (int64).
    #[getter]
    fn steps<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        self.index.frames.iter().map(|f| f.step).collect::<Vec<_>>().into_pyarray(py)
    }

    /// `ITEM: TIME` of every frame, or None if the dump has no times.
    #[getter]
    fn times<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray1<f64>>> {
        let t: Option<Vec<f64>> = self.index.frames.iter().map(|f| f.time).collect();
        t.map(|t| t.into_pyarray(py))
    }

    /// Byte offset and 1-based line number of every frame's first line.
    fn offsets(&self) -> (Vec<u64>, Vec<usize>) {
        (self.index.frames.iter().map(|f| f.offset).collect(), self.index.frames.iter().map(|f| f.line).collect())
    }

    /// Box of frame k: (matrix (3, 3) with the box vectors as columns, origin (3,)).
    fn box_of<'py>(&self, py: Python<'py>, k: usize) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyArray1<f64>>)> {
        let f = self.index.frames.get(k).ok_or_else(|| {
            pyo3::exceptions::PyIndexError::new_err(format!("frame {k} out of range ({} frames)", self.index.frames.len()))
        })?;
        let m: Vec<f64> = f.matrix.iter().flatten().copied().collect();
        Ok((m.into_pyarray(py).reshape([3, 3])?.into_any(), f.origin.to_vec().into_pyarray(py)))
    }

    /// Parse frame k → dict(step, time, matrix, origin, ids, types, positions, unwrapped,
    /// images, velocities); absent columns are None.
    fn read<'py>(&self, py: Python<'py>, k: usize) -> PyResult<Bound<'py, PyDict>> {
        if k >= self.index.frames.len() {
            return Err(pyo3::exceptions::PyIndexError::new_err(format!(
                "frame {k} out of range ({} frames)",
                self.index.frames.len()
            )));
        }
        let mut cur = self.cursor()?.take();
        let f = py.detach(|| lammps::read_frame_seq(&self.index, k, &mut cur));
        *self.cursor()? = cur;
        let f = f?;
        frame_dict(py, f)
    }

    /// Parse several frames in parallel → list of dicts as `read`.
    fn read_many<'py>(&self, py: Python<'py>, frames: Vec<usize>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        if let Some(&k) = frames.iter().find(|&&k| k >= self.index.frames.len()) {
            return Err(pyo3::exceptions::PyIndexError::new_err(format!(
                "frame {k} out of range ({} frames)",
                self.index.frames.len()
            )));
        }
        let mut cur = self.cursor()?.take();
        let fs = py.detach(|| lammps::read_frames(&self.index, &frames, &mut cur));
        *self.cursor()? = cur;
        let fs = fs?;
        fs.into_iter().map(|f| frame_dict(py, f)).collect()
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyLammpsDump>()?;
    Ok(())
}
