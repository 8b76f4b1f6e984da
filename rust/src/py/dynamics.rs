//! Bindings of the dynamics kernels (`crate::dynamics`). Positions arrive as a C-contiguous
//! (F, n, 3) float64 array (a particle chunk of an unwrapped trajectory) and are used in place.

use numpy::{IntoPyArray, PyArray1, PyArray2, PyArray3, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2, PyReadonlyArray3};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use super::NThreads;

use super::{species as species_u32, PyMonitor};
use crate::dynamics::{correlations, schedule, spectra, vanhove};
use crate::simbox::Vec3;

/// View a contiguous (F, n, 3) array as `&[Vec3]`; returns (points, n).
fn chunk<'a>(a: &'a PyReadonlyArray3<'_, f64>) -> PyResult<(&'a [Vec3], usize)> {
    let shape = a.as_array().shape().to_vec();
    if shape[2] != 3 {
        return Err(PyValueError::new_err(format!("positions must have shape (frames, N, 3), got {shape:?}")));
    }
    let flat = a.as_slice().map_err(|_| PyValueError::new_err("positions must be C-contiguous"))?;
    // [f64; 3] is plain old data with f64 alignment: a zero-copy, checked reinterpretation.
    let pts: &[Vec3] = bytemuck::try_cast_slice(flat)
        .map_err(|e| PyValueError::new_err(format!("positions buffer cannot be viewed as 3-vectors: {e}")))?;
    Ok((pts, shape[1]))
}

/// The common inputs of the pair kernels: positions (points, n), species, frame pairs.
type PairInputs<'a> = (&'a [Vec3], usize, Vec<u32>, Vec<[u32; 2]>);

fn pair_inputs<'a>(
    positions: &'a PyReadonlyArray3<'_, f64>,
    types: &PyReadonlyArray1<'_, i64>,
    pairs: &PyReadonlyArray2<'_, i64>,
) -> PyResult<PairInputs<'a>> {
    let (pos, n) = chunk(positions)?;
    Ok((pos, n, species_u32(types, n)?, pairs_of(pairs)?))
}

fn pairs_of(a: &PyReadonlyArray2<'_, i64>) -> PyResult<Vec<[u32; 2]>> {
    let v = a.as_array();
    if v.ncols() != 2 {
        return Err(PyValueError::new_err(format!("pairs must have shape (P, 2), got {:?}", v.shape())));
    }
    v.rows()
        .into_iter()
        .map(|r| match (u32::try_from(r[0]), u32::try_from(r[1])) {
            (Ok(a), Ok(b)) => Ok([a, b]),
            _ => Err(PyValueError::new_err(format!("invalid frame pair ({}, {})", r[0], r[1]))),
        })
        .collect()
}

/// dynamics_pair_sums(positions, types, n_species, pairs, a, kvecs, callback=None, n_threads=None,
/// moments4=True, overlap=True) -> (P, 1+n_species, 4); columns not asked for are 0
#[pyfunction]
#[pyo3(signature = (positions, types, n_species, pairs, a, kvecs, callback = None, n_threads = NThreads(None),
                    moments4 = true, overlap = true))]
#[allow(clippy::too_many_arguments)]
fn dynamics_pair_sums<'py>(
    py: Python<'py>,
    positions: PyReadonlyArray3<'py, f64>,
    types: PyReadonlyArray1<'py, i64>,
    n_species: usize,
    pairs: PyReadonlyArray2<'py, i64>,
    a: f64,
    kvecs: PyReadonlyArray2<'py, f64>,
    callback: Option<Py<PyAny>>,
    n_threads: NThreads,
    moments4: bool,
    overlap: bool,
) -> PyResult<Bound<'py, PyArray3<f64>>> {
    let (pos, n, sp, pr) = pair_inputs(&positions, &types, &pairs)?;
    let kv = super::points(&kvecs, "kvecs")?;
    let params = correlations::CorrParams { a, kvecs: kv, moments4, overlap };
    let mon = PyMonitor::new(callback);
    let out = super::run_watched(py, n_threads, &mon, |mon| correlations::pair_sums(pos, n, &sp, n_species, &pr, &params, mon))?;
    let np = pr.len();
    Ok(out.into_pyarray(py).reshape([np, 1 + n_species, correlations::N_COLS])?)
}

/// dynamics_lag_sums(positions, types, n_species, n_lags, a, callback=None, n_threads=None,
/// moments4=True, overlap=True, pair_counts=False) -> ((n_lags, 1+n_species, 3) float64,
/// (n_lags, 1+n_species, 2) int64 or None): per lag (in frames) of a linear schedule with every
/// frame an origin, Σ|Δr|², Σ|Δr|⁴, overlap count over particles and origins; with pair_counts
/// Σ C and Σ C² of the per-pair overlap counts C
#[pyfunction]
#[pyo3(signature = (positions, types, n_species, n_lags, a, callback = None, n_threads = NThreads(None),
                    moments4 = true, overlap = true, pair_counts = false))]
#[allow(clippy::too_many_arguments)]
#[allow(clippy::type_complexity)]
fn dynamics_lag_sums<'py>(
    py: Python<'py>,
    positions: PyReadonlyArray3<'py, f64>,
    types: PyReadonlyArray1<'py, i64>,
    n_species: usize,
    n_lags: usize,
    a: f64,
    callback: Option<Py<PyAny>>,
    n_threads: NThreads,
    moments4: bool,
    overlap: bool,
    pair_counts: bool,
) -> PyResult<(Bound<'py, PyArray3<f64>>, Option<Bound<'py, PyArray3<i64>>>)> {
    let (pos, n) = chunk(&positions)?;
    let sp = species_u32(&types, n)?;
    let params = correlations::CorrParams { a, kvecs: Vec::new(), moments4, overlap };
    let mon = PyMonitor::new(callback);
    let out = super::run_watched(py, n_threads, &mon, |mon| {
        correlations::lag_sums(pos, n, &sp, n_species, n_lags, &params, pair_counts, mon)
    })?;
    let sums = out.sums.into_pyarray(py).reshape([n_lags, 1 + n_species, correlations::N_LAG_COLS])?;
    let moments = if pair_counts { Some(out.count_moments.into_pyarray(py).reshape([n_lags, 1 + n_species, 2])?) } else { None };
    Ok((sums, moments))
}

/// dynamics_group_lags(lags, tol) -> (keys, group index of every lag)
#[pyfunction]
fn dynamics_group_lags<'py>(
    py: Python<'py>,
    lags: PyReadonlyArray1<'py, f64>,
    tol: f64,
) -> PyResult<(Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<i64>>)> {
    let l = lags.as_array().to_vec();
    let g = schedule::group_lags(&l, tol)?;
    let gi: Vec<i64> = g.group_of().into_iter().map(|x| x as i64).collect();
    Ok((g.keys.into_pyarray(py), gi.into_pyarray(py)))
}

/// dynamics_max_displacement(positions, types, n_species, pairs) -> (1+n_species,)
#[pyfunction]
fn dynamics_max_displacement<'py>(
    py: Python<'py>,
    positions: PyReadonlyArray3<'py, f64>,
    types: PyReadonlyArray1<'py, i64>,
    n_species: usize,
    pairs: PyReadonlyArray2<'py, i64>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let (pos, n, sp, pr) = pair_inputs(&positions, &types, &pairs)?;
    let out = py.detach(|| vanhove::max_displacement(pos, n, &sp, n_species, &pr))?;
    Ok(out.into_pyarray(py))
}

/// dynamics_displacement_histogram(positions, types, n_species, pairs, edges, log10, callback=None) -> (1+n_species, bins)
#[pyfunction]
#[pyo3(signature = (positions, types, n_species, pairs, edges, log10, callback = None, n_threads = NThreads(None)))]
#[allow(clippy::too_many_arguments)]
fn dynamics_displacement_histogram<'py>(
    py: Python<'py>,
    positions: PyReadonlyArray3<'py, f64>,
    types: PyReadonlyArray1<'py, i64>,
    n_species: usize,
    pairs: PyReadonlyArray2<'py, i64>,
    edges: PyReadonlyArray1<'py, f64>,
    log10: bool,
    callback: Option<Py<PyAny>>,
    n_threads: NThreads,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let (pos, n, sp, pr) = pair_inputs(&positions, &types, &pairs)?;
    let e = edges.as_array().to_vec();
    let mon = PyMonitor::new(callback);
    let out = py.detach(|| crate::threads::try_install(n_threads.0, || vanhove::displacement_histogram(pos, n, &sp, n_species, &pr, &e, log10, &mon)))?;
    let nb = e.len() - 1;
    Ok(out.into_pyarray(py).reshape([1 + n_species, nb])?)
}

/// dynamics_fft_sums(positions (F, n, 3), types (n,), n_species, n_lags, msd, kvecs (K, 3) |
/// None, hinv (3, 3) | None, nvecs (K, 3) int | None, callback, n_threads) -> (msd, fs): the FFT
/// sums of a linear schedule, each (1 + n_species, n_lags) or None. F_s for `kvecs` (any wave
/// vectors) or for the reciprocal-lattice vectors 2π H⁻ᵀ n given as `hinv` = H⁻¹ and `nvecs`.
#[pyfunction]
#[pyo3(signature = (positions, types, n_species, n_lags, msd, kvecs = None, hinv = None, nvecs = None,
                    callback = None, n_threads = NThreads(None)))]
#[allow(clippy::too_many_arguments)]
#[allow(clippy::type_complexity)]
fn dynamics_fft_sums<'py>(
    py: Python<'py>,
    positions: PyReadonlyArray3<'py, f64>,
    types: PyReadonlyArray1<'py, i64>,
    n_species: usize,
    n_lags: usize,
    msd: bool,
    kvecs: Option<PyReadonlyArray2<'py, f64>>,
    hinv: Option<PyReadonlyArray2<'py, f64>>,
    nvecs: Option<PyReadonlyArray2<'py, i64>>,
    callback: Option<Py<PyAny>>,
    n_threads: NThreads,
) -> PyResult<(Option<Bound<'py, PyArray2<f64>>>, Option<Bound<'py, PyArray2<f64>>>)> {
    let (pos, n) = chunk(&positions)?;
    let sp = species_u32(&types, n)?;
    let kv = match &kvecs {
        Some(k) => Some(super::points(k, "kvecs")?),
        None => None,
    };
    let lattice = match (&hinv, &nvecs) {
        (Some(h), Some(v)) => {
            let hv = h.as_array();
            if hv.dim() != (3, 3) {
                return Err(PyValueError::new_err(format!("hinv must have shape (3, 3), got {:?}", hv.shape())));
            }
            let nv = v.as_array();
            if nv.ncols() != 3 {
                return Err(PyValueError::new_err(format!("nvecs must have shape (K, 3), got {:?}", nv.shape())));
            }
            let hm: [[f64; 3]; 3] = std::array::from_fn(|i| std::array::from_fn(|j| hv[[i, j]]));
            Some((hm, nv.rows().into_iter().map(|r| [r[0], r[1], r[2]]).collect::<Vec<[i64; 3]>>()))
        }
        (None, None) => None,
        _ => return Err(PyValueError::new_err("hinv and nvecs go together (the reciprocal-lattice wave vectors)")),
    };
    let waves = match (&kv, &lattice) {
        (Some(_), Some(_)) => return Err(PyValueError::new_err("give kvecs or hinv/nvecs, not both")),
        (Some(k), None) => spectra::Waves::Direct(k),
        (None, Some((h, v))) => spectra::Waves::Lattice { hinv: *h, nvecs: v },
        (None, None) => spectra::Waves::None,
    };
    let mon = PyMonitor::new(callback);
    let out = super::run_watched(py, n_threads, &mon, |mon| spectra::fft_sums(pos, n, &sp, n_species, n_lags, msd, waves, mon))?;
    let shape = [1 + n_species, n_lags];
    let m = if out.msd.is_empty() { None } else { Some(out.msd.into_pyarray(py).reshape(shape)?) };
    let f = if out.fs.is_empty() { None } else { Some(out.fs.into_pyarray(py).reshape(shape)?) };
    Ok((m, f))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(dynamics_fft_sums, m)?)?;
    m.add_function(wrap_pyfunction!(dynamics_pair_sums, m)?)?;
    m.add_function(wrap_pyfunction!(dynamics_lag_sums, m)?)?;
    m.add_function(wrap_pyfunction!(dynamics_group_lags, m)?)?;
    m.add_function(wrap_pyfunction!(dynamics_max_displacement, m)?)?;
    m.add_function(wrap_pyfunction!(dynamics_displacement_histogram, m)?)?;
    Ok(())
}
