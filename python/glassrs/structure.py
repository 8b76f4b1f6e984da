"""Static structure (definitions §2): partial g_uv(r) and S_uv(q), local Gaussian-smoothed g^i_uv(r),
the structural order parameter (SOP), two-body entropy, local energies, coarse-graining and the
q-space caging potential with its softness.

Units: lengths in σ, wavenumbers in σ⁻¹, energies in ε, k_B = 1. Every table records the
parameters that produced it (``glassrs.params(table)``).

>>> rdf = gr.structure.rdf(traj, r_max=4.0)                      # pair, r, g
>>> loc = gr.structure.local(traj, gr.models.kob_andersen(), T=0.6, closure="hnc")
>>> cg = gr.structure.coarse_grain(traj, loc, "sop", L=[0, 1, 2])
"""

from __future__ import annotations

from typing import Callable, Iterable, Mapping, Sequence

import numpy as np
import polars as pl

from glassrs import _core
from glassrs.tables import make_table, params
from glassrs.trajectory import Frame, Trajectory, as_trajectory, frame_indices, particle_ids, species_params

Progress = Callable[[int, int], None] | None

__all__ = [
    "rdf", "sq", "first_peak", "sq_from_rdf", "find_windows", "trajectory_windows", "grid_inside", "local", "local_g", "sop_macro", "coarse_grain",
    "caging_potential", "softness_calibration", "local_softness", "sop_temperature_fit",
]

#: default frame chunk handed to the Rust kernels at once (parallel over frames within a chunk)
_CHUNK = 16


# ---------------------------------------------------------------------------------------------
# helpers


def _check_species(traj: Trajectory, what: str, min_count: int = 1) -> np.ndarray:
    f = traj.first
    counts = np.bincount(f.types, minlength=len(f.species))
    for s, c in zip(f.species, counts):
        if c < min_count:
            raise ValueError(f"species '{s}' has {c} particle(s); {what} needs at least {min_count} of every species "
                             f"(counts: {dict(zip(f.species, counts.tolist()))})")
    return counts


def _pairs(species: Sequence[str]) -> list[tuple[int, int, str]]:
    return [(u, v, f"{species[u]}-{species[v]}") for u in range(len(species)) for v in range(u, len(species))]


def _chunks(traj: Trajectory, idx: np.ndarray, size: int = _CHUNK) -> Iterable[tuple[np.ndarray, np.ndarray, list]]:
    """Frames ``idx`` in chunks: positions (F, N, 3), native box matrices (F, 3, 3) and the box
    volumes (areas in 2D)."""
    for a in range(0, len(idx), size):
        fr = [traj[int(k)] for k in idx[a:a + size]]
        yield (np.ascontiguousarray(np.stack([f.positions for f in fr])),
               np.ascontiguousarray(np.stack([f.box.native for f in fr])), [f.box.volume for f in fr])


# ---------------------------------------------------------------------------------------------
# 2.1 g_uv(r)
# Allocation limits checked before a kernel runs (a Rust allocation failure would abort the process)
MAX_TABLE_ENTRIES = 2e8   # histogram / shell-table entries (float64, several copies per thread)
MAX_WAVE_VECTORS = 2e9    # reciprocal-lattice vectors per frame in sq


def rdf(traj: Trajectory | Frame, r_max: float | None = None, dr: float = 0.01, *, frames=None,
        n_threads: int | None = None, progress: Progress = None) -> pl.DataFrame:
    """Partial radial distribution functions g_uv(r) (definitions §2.1), averaged over frames.

    Histogram with bins [kΔr, (k+1)Δr), k = 0…n_bins−1, n_bins = ⌊r_max/dr⌋ (the effective
    r_max = n_bins·dr is recorded), normalised per frame by exact shell volumes and
    V/(N_u N_v′), N_v′ = N_v − δ_uv. ``r_max`` defaults to half the smallest box height and must
    not exceed it. Returns columns ``pair`` ("A-A", "A-B", …; u ≤ v, g_vu = g_uv), ``r`` (bin
    centre, σ) and ``g``. Parameters record r_max, dr, the number of frames, species counts and
    the mean density.
    """
    traj = as_trajectory(traj)
    idx = frame_indices(traj, frames)
    counts = _check_species(traj, "the partial g_uv(r)", 2)
    half = min(traj[int(k)].box.max_cutoff for k in idx[:1])
    if r_max is None:
        r_max = half
    if not (dr > 0 and np.isfinite(dr)):
        raise ValueError(f"dr must be a positive number, got {dr}")
    if not (r_max > 0 and np.isfinite(r_max)):
        raise ValueError(f"r_max must be a positive number, got {r_max}")
    n_bins_f = np.floor(r_max / dr + 1e-9)
    ns_ = len(traj.species)
    if n_bins_f * ns_ * ns_ > MAX_TABLE_ENTRIES:
        raise MemoryError(f"rdf: r_max = {r_max:g}{' (the default: half the box height)' if r_max == half else ''} "
                          f"with dr = {dr:g} gives {n_bins_f:.3g} bins × {ns_ * ns_} species pairs, more than "
                          f"{MAX_TABLE_ENTRIES:.0e} histogram entries (several per thread); pass a smaller r_max or "
                          "a larger dr")
    n_bins = int(n_bins_f)
    if n_bins < 1:
        raise ValueError(f"r_max = {r_max} is smaller than one bin (dr = {dr})")
    r_eff = n_bins * dr
    species = traj.species
    ns = len(species)
    total = np.zeros(ns * ns * n_bins)
    done = 0
    volumes = []
    for pos, boxes, vols in _chunks(traj, idx):
        cb = None if progress is None else (lambda d, t, off=done: progress(off + d, len(idx)))
        total += _core.rdf_sum(pos, boxes, traj.types, ns, float(r_eff), n_bins, n_threads, cb)
        volumes.extend(vols)
        done += len(pos)
    g = (total / len(idx)).reshape(ns, ns, n_bins)
    r = (np.arange(n_bins) + 0.5) * dr
    parts = [pl.DataFrame({"pair": [name] * n_bins, "r": r, "g": g[u, v]}) for u, v, name in _pairs(species)]
    return make_table(pl.concat(parts), {
        "kind": "rdf", "r_max": r_eff, "dr": dr, "n_frames": len(idx), "species": list(species), "dim": traj.dim,
        "counts": counts.tolist(), "density": float(np.mean(traj.n_particles / np.asarray(volumes))),
        "frames": idx.tolist() if len(idx) <= 1000 else None, **species_params(traj)})


def _rdf_arrays(table: pl.DataFrame) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    out = {}
    r = None
    for name, sub in table.group_by("pair", maintain_order=True):
        key = name[0] if isinstance(name, tuple) else name
        out[key] = sub["g"].to_numpy()
        r = sub["r"].to_numpy()
    return r, out


# ---------------------------------------------------------------------------------------------
# 2.2 S_uv(q)
def sq(traj: Trajectory | Frame, q_max: float = 12.0, dq: float = 0.1, *, frames=None, stride: int = 1,
       n_threads: int | None = None, progress: Progress = None) -> pl.DataFrame:
    """Partial structure factors S_uv(q) = (N_u N_v)^{-1/2} ⟨Σ_{i∈u} Σ_{j∈v} e^{−iq·(r_i−r_j)}⟩ on the
    reciprocal lattice of each frame's box (definitions §2.2), shell-averaged over |q| ∈ [kΔq, (k+1)Δq).

    Columns: ``pair`` (u ≤ v), ``q`` (mean |q| of the vectors in the shell, σ⁻¹), ``s``,
    ``n_vectors`` (lattice vectors × frames in the shell; one of each ±q pair is used since
    S(−q) = S(q)*). Empty shells are dropped. ``stride`` > 1 keeps every stride-th vector of
    each shell (cheaper at large q_max). Cost ∝ N × (q_max L / 2π)³ / 2 per frame.
    """
    traj = as_trajectory(traj)
    idx = frame_indices(traj, frames)
    counts = _check_species(traj, "the partial S_uv(q)")
    if not (q_max > 0 and np.isfinite(q_max) and dq > 0 and np.isfinite(dq)):
        raise ValueError(f"S(q) needs finite q_max > 0 and dq > 0, got q_max={q_max}, dq={dq}")
    species = traj.species
    ns = len(species)
    vol = float(traj[int(idx[0])].box.volume)
    n_vec = 4.0 / 3.0 * np.pi * q_max ** 3 * vol / (2 * np.pi) ** 3 / 2 / max(int(stride), 1)
    if n_vec > MAX_WAVE_VECTORS or q_max / dq * ns * ns > MAX_TABLE_ENTRIES:
        raise MemoryError(f"sq: q_max = {q_max:g} in a box of volume {vol:.4g} means ~{n_vec:.3g} wave vectors per frame "
                          f"(limit {MAX_WAVE_VECTORS:.0e}) and {q_max / dq:.3g} shells of dq = {dq:g}; pass a smaller "
                          "q_max (or stride > 1, a larger dq)")
    n_bins = int(np.ceil(q_max / dq))
    total = np.zeros(ns * ns * n_bins)
    cnt = np.zeros(n_bins, dtype=np.uint64)
    sq_ = np.zeros(n_bins)
    done = 0
    volumes = []
    for pos, boxes, vols in _chunks(traj, idx):
        cb = None if progress is None else (lambda d, t, off=done: progress(off + d, len(idx)))
        s, c, q = _core.sq_shells(pos, boxes, traj.types, ns, float(q_max), float(dq), int(stride), n_threads, cb)
        total += s
        cnt += c
        sq_ += q
        volumes.extend(vols)
        done += len(pos)
    keep = cnt > 0
    c = cnt[keep].astype(np.float64)
    s = total.reshape(ns, ns, n_bins)[:, :, keep] / c
    q = sq_[keep] / c
    parts = [pl.DataFrame({"pair": [name] * len(q), "q": q, "s": s[u, v], "n_vectors": cnt[keep].astype(np.int64)})
             for u, v, name in _pairs(species)]
    return make_table(pl.concat(parts), {
        "kind": "sq", "method": "reciprocal lattice", "q_max": q_max, "dq": dq, "stride": stride, "dim": traj.dim,
        "n_frames": len(idx), "species": list(species), "counts": counts.tolist(),
        "density": float(np.mean(traj.n_particles / np.asarray(volumes))), **species_params(traj)})


def first_peak(traj: Trajectory | Frame, species: str | None = None, *, frames: int = 3,
               q_range: tuple[float, float] = (4.0, 10.0), width: float = 0.25, per_shell: int = 64,
               n_threads: int | None = None) -> tuple[float, dict]:
    """Position (σ⁻¹) of the first peak of the partial S_uu(q) of ``species`` (default: the first,
    A) from :func:`sq` — the shared default wave number of the dynamics (F_s) and of anything
    else that needs "the first peak of S_AA".

    S_uu is averaged over up to ``frames`` evenly spaced frames and over shells of ``width``
    σ⁻¹ (shell edges at multiples of ``width``). To bound the cost for large boxes each shell is
    thinned to about ``per_shell`` lattice vectors (``sq``'s deterministic ``stride``, chosen
    from the shell population at the middle of q_range). The peak is the highest shell in ``q_range``,
    refined to the vertex of the parabola through it and its two neighbours (mean |q| of each
    shell) when that vertex lies between them. Returns (k, info) with the source, stride and
    frames used (record it in result tables)."""
    traj = as_trajectory(traj)
    sp = traj.species[0] if species is None else species
    if sp not in traj.species:
        raise ValueError(f"unknown species {sp!r}; the trajectory has {list(traj.species)}")
    q_lo, q_hi = (float(x) for x in q_range)
    if not (0 <= q_lo < q_hi and width > 0):
        raise ValueError(f"first_peak needs 0 ≤ q_range[0] < q_range[1] and width > 0, got {q_range}, {width}")
    idx = np.unique(np.round(np.linspace(0, len(traj) - 1, min(int(frames), len(traj)))).astype(np.int64))
    vol = float(traj[int(idx[0])].box.volume)
    q_mid = 0.5 * (q_lo + q_hi)
    n_shell = 2 * np.pi * q_mid ** 2 * width * vol / (2 * np.pi) ** 3     # half-space vectors per shell
    stride = max(1, int(np.ceil(n_shell / per_shell))) if per_shell else 1
    tab = sq(traj, q_max=q_hi, dq=width, frames=idx, stride=stride, n_threads=n_threads)
    sub = tab.filter((pl.col("pair") == f"{sp}-{sp}") & (pl.col("q") >= q_lo) & (pl.col("q") < q_hi)).sort("q")
    if sub.height == 0:
        raise ValueError(f"no reciprocal-lattice vector of the box in q_range={q_range}")
    q, s = sub["q"].to_numpy(), sub["s"].to_numpy()
    j = int(np.argmax(s))
    k = float(q[j])
    if 0 < j < len(s) - 1:
        a, b, _ = np.polyfit(q[j - 1:j + 2], s[j - 1:j + 2], 2)
        if a < 0 and q[j - 1] <= -b / (2 * a) <= q[j + 1]:
            k = float(-b / (2 * a))
    return k, {"source": f"first peak of S_{sp}{sp}(q) (glassrs.structure.first_peak)", "species": sp,
               "q_range": [q_lo, q_hi], "width": float(width), "stride": stride, "frames": idx.tolist()}


def sq_from_rdf(rdf_table: pl.DataFrame, q: np.ndarray | None = None) -> pl.DataFrame:
    """S_uv(q) from g_uv(r) by Fourier transform:
    S_uv(q) = δ_uv + ρ √(x_u x_v) Σ_bins 4πr² (g_uv(r) − 1) sin(qr)/(qr) Δr  (midpoint rule on
    the histogram); in 2D (the table's ``dim``) the Hankel transform Σ_bins 2πr (g − 1) J0(qr) Δr. **Truncation:** the integral stops sharply at the table's r_max (no window
    function), which produces ripples of period ≈ 2π/r_max and makes S unreliable for
    q ≲ 2π/r_max. ``q`` defaults to 2π/r_max … 20 σ⁻¹ in steps of 0.05."""
    p = params(rdf_table)
    for k in ("density", "counts", "species", "dr"):
        if k not in p:
            raise ValueError(f"sq_from_rdf needs a table from glassrs.structure.rdf (missing parameter '{k}')")
    r, g = _rdf_arrays(rdf_table)
    dr = float(p["dr"])
    rho = float(p["density"])
    x = np.asarray(p["counts"], float) / np.sum(p["counts"])
    species = p["species"]
    if q is None:
        q = np.arange(2 * np.pi / p["r_max"], 20.0, 0.05)
    q = np.asarray(q, float)
    dim = int(p.get("dim", 3))
    parts = []
    for u, v, name in _pairs(species):
        qr = np.outer(q, r)
        if dim == 2:
            from scipy.special import j0
            s = (u == v) + rho * np.sqrt(x[u] * x[v]) * (j0(qr) * (2 * np.pi * r * (g[name] - 1.0) * dr)).sum(axis=1)
        else:
            sinc = np.sinc(qr / np.pi)
            s = (u == v) + rho * np.sqrt(x[u] * x[v]) * (sinc * (4 * np.pi * r ** 2 * (g[name] - 1.0) * dr)).sum(axis=1)
        parts.append(pl.DataFrame({"pair": [name] * len(q), "q": q, "s": s}))
    return make_table(pl.concat(parts), {"kind": "sq", "method": "fourier transform of g(r)",
                                         "truncation": f"sharp at r_max = {p['r_max']}", "species": species,
                                         "counts": p["counts"], "density": rho, "dim": dim})


# ---------------------------------------------------------------------------------------------
# 2.5 windows
#: tolerance (in units of the grid step) of "inside a window" for every radial integral (definitions §2.3)
GRID_TOL = 1e-9


def grid_inside(r: np.ndarray, lo: float, hi: float, step: float) -> np.ndarray:
    """Mask of the grid points ``r`` inside [lo, hi] with a tolerance of ``GRID_TOL``·``step`` at
    both ends (definitions §2.3): an edge computed by arithmetic (1.4249999999999998) selects the
    same points as the literal value (1.425)."""
    tol = GRID_TOL * float(step)
    return (r >= lo - tol) & (r <= hi + tol)


def _snap_windows(wm: np.ndarray, dr: float) -> np.ndarray:
    """Window edges moved onto the local-g grid r_k = k·dr (the value the kernel compares with), so
    that the grid points selected are exactly those within GRID_TOL·dr of [lo, hi]."""
    out = wm.copy()
    tol = GRID_TOL * dr
    for j, (lo, hi) in enumerate(wm):
        k_lo = int(np.ceil((lo - tol) / dr))
        while k_lo * dr < lo - tol:
            k_lo += 1
        while (k_lo - 1) * dr >= lo - tol:
            k_lo -= 1
        k_hi = int(np.floor((hi + tol) / dr)) if np.isfinite(hi) else None
        if k_hi is not None:
            while k_hi * dr > hi + tol:
                k_hi -= 1
            while (k_hi + 1) * dr <= hi + tol:
                k_hi += 1
        out[j, 0] = max(k_lo, 0) * dr if lo > 0 else lo
        out[j, 1] = k_hi * dr if k_hi is not None and k_hi >= k_lo else hi
    return out


def _smooth(g: np.ndarray, dr: float, width: float) -> tuple[np.ndarray, np.ndarray]:
    """g convolved with a normalised Gaussian of ``width`` σ (edge-padded) and the kernel."""
    w = max(1, int(np.ceil(3 * width / dr)))
    kern = np.exp(-0.5 * (np.arange(-w, w + 1) * dr / width) ** 2)
    kern /= kern.sum()
    return np.convolve(np.pad(g, w, mode="edge"), kern, mode="valid"), kern


def _bin_noise(g: np.ndarray, threshold: float) -> float:
    """Per-bin statistical noise of a histogram g(r) (dimensionless): robust scale of the second
    differences, 1.4826·median|Δ²g|/√6, over the bins where g exceeds ``threshold`` (a smooth
    curve has |Δ²g| ≪ noise at Δr = 0.01 σ away from the sharpest peaks)."""
    v = g[g > threshold]
    if len(v) < 5:
        return 0.0
    return float(1.4826 * np.median(np.abs(np.diff(v, 2))) / np.sqrt(6.0))


def _minimum_vertex(r: np.ndarray, g: np.ndarray, gs: np.ndarray, m: int, p0: int, nxt: int | None,
                    frac: float = 0.3, min_points: int = 7) -> tuple[float, float, int]:
    """The first minimum refined by least squares: a parabola through the histogram g on the bins
    within ±h of the smoothed minimum ``m`` (h: where the smoothed curve has risen by ``frac`` of the
    smaller of the two flanking heights, on the nearer side; at least ``min_points`` bins),
    re-centred on its vertex until it moves less than half a bin. Returns (vertex r*, its
    standard error from the fit residuals by the delta method, number of bins); (nan, inf, n)
    when the parabola is not convex."""
    step = float(r[1] - r[0])
    top = min(gs[p0], gs[nxt]) if nxt is not None else gs[p0]
    lim = gs[m] + frac * (top - gs[m])
    a, b = m, m
    end = nxt if nxt is not None else len(gs) - 1
    while a > p0 and gs[a - 1] <= lim:
        a -= 1
    while b < end and gs[b + 1] <= lim:
        b += 1
    h = max(min(m - a, b - m), min_points // 2) * step
    centre, se, n = float(r[m]), float("inf"), 0
    for _ in range(5):
        sel = np.abs(r - centre) <= h + 1e-9 * step
        x, y = r[sel] - centre, g[sel]
        n = len(x)
        if n < 4:
            return float("nan"), float("inf"), n
        A = np.column_stack([np.ones_like(x), x, x * x])
        p, *_ = np.linalg.lstsq(A, y, rcond=None)
        s2 = float(np.sum((y - A @ p) ** 2) / (n - 3))
        cov = np.linalg.inv(A.T @ A) * s2
        _, b1, a2 = p
        if not a2 > 0:
            return float("nan"), float("inf"), n
        v = -b1 / (2 * a2)
        grad = np.array([0.0, -1.0 / (2 * a2), b1 / (2 * a2 ** 2)])
        se = float(np.sqrt(max(grad @ cov @ grad, 0.0)))
        moved = abs(v)
        centre = centre + v
        if moved < 0.5 * step:
            break
    return centre, se, n


def find_windows(rdf_table: pl.DataFrame, *, threshold: float = 1e-3, smooth: float = 0.03,
                 prominence: float = 0.1, n_sigma: float = 5.0, max_error: float = 0.05,
                 details: bool = False) -> dict[str, tuple[float, float]] | tuple[dict, dict]:
    """Integration windows [r_lo, r_hi] per species pair from a global g_uv table (definitions §2.5).

    r_lo (σ): the smallest bin centre where the histogram g exceeds ``threshold`` (1e-3).

    r_hi (σ): the first minimum of g after its first peak, located so that it is a minimum of
    the curve and not of the histogram noise:

    1. the per-bin noise σ_g of the histogram is estimated from its second differences
       (1.4826·median|Δ²g|/√6 over the bins with g > threshold), and that of g smoothed with a
       Gaussian of width ``smooth`` σ is σ_s = σ_g·(Σ kernel²)^{1/2};
    2. on the smoothed g, the first peak is the first local maximum above 1 + ``n_sigma``·σ_s with
       prominence ≥ max(``prominence``, ``n_sigma``·σ_s); the candidate minimum is the lowest smoothed value
       between it and the next such peak (or the end of the table); a dip whose smoothed g stays
       above 1 lies inside a split first peak, not at its end: the search moves on to the minimum
       after the next peak (with a warning naming the pair);
    3. the minimum is refined by a least-squares parabola through the histogram around it
       (:func:`_minimum_vertex`); r_hi is the vertex, and its standard error (from the fit
       residuals) must not exceed ``max_error`` σ.

    A pair whose peak cannot be found or whose minimum is not resolved (standard error above
    ``max_error``, non-convex parabola, dip shallower than ``n_sigma``·σ_s) raises ``ValueError``
    naming the pair, the error and the number of frames of the table — average more frames
    (every frame of the trajectory is used by :func:`local`) or pass the windows explicitly.
    With ``details=True`` also returns, per pair, the noise and the fit (``r_hi_stderr``,
    ``noise``, ``fit_points``, ``r_argmin``).
    """
    from scipy.signal import find_peaks

    r, g = _rdf_arrays(rdf_table)
    dr = float(r[1] - r[0]) if len(r) > 1 else 1.0
    n_frames = params(rdf_table).get("n_frames")
    frames_txt = f" (g from {n_frames} frame{'s' if n_frames != 1 else ''})" if n_frames is not None else ""
    out, info = {}, {}
    for name, gv in g.items():
        above = np.flatnonzero(gv > threshold)
        if above.size == 0:
            raise ValueError(f"g_{name}(r) never exceeds {threshold}; cannot place the integration window")
        lo = float(r[above[0]])
        gs, kern = _smooth(gv, dr, smooth)
        noise = _bin_noise(gv, threshold)
        noise_s = noise * float(np.sqrt(np.sum(kern ** 2)))
        need = max(prominence, n_sigma * noise_s)
        peaks, _ = find_peaks(gs, prominence=need)
        peaks = [p for p in peaks if gs[p] > 1.0 + n_sigma * noise_s and r[p] > lo]
        if not peaks:
            raise ValueError(f"g_{name}(r) has no clear first peak above 1 (height 1 + {n_sigma:g}× the noise, prominence ≥ {need:.3g}: the larger of "
                             f"{prominence} and {n_sigma:g}× the noise {noise_s:.3g} of the smoothed g){frames_txt}; "
                             "average more frames or pass the integration windows explicitly")
        split = []
        j = 0
        while True:
            p0 = peaks[j]
            nxt = peaks[j + 1] if len(peaks) > j + 1 else None
            end = nxt if nxt is not None else len(gs) - 1
            if end <= p0 + 1:
                raise ValueError(f"g_{name}(r): no minimum after the first peak within the table (r_max = {r[-1]:.3g})")
            m = p0 + int(np.argmin(gs[p0:end + 1]))
            if gs[m] <= 1.0 or nxt is None:
                break
            split.append(float(r[m]))   # a dip that stays above 1 is inside a split first peak
            j += 1
        if split:
            import warnings
            warnings.warn(f"g_{name}(r): the dip(s) at r = {', '.join(f'{x:.3f}' for x in split)} stay above 1 — inside a "
                          f"split first peak, not its end; the window ends at the minimum after it (r ≈ {r[m]:.3f})",
                          stacklevel=2)
        if m >= len(gs) - 1 or r[m] >= r[-1] - 1e-12:
            raise ValueError(f"g_{name}(r): the first minimum is not inside the table (r_max = {r[-1]:.3g}); "
                             "compute g(r) further out or pass windows explicitly")
        rise = (gs[nxt] if nxt is not None else float(np.max(gs[m:]))) - gs[m]
        hi, se, npts = _minimum_vertex(r, gv, gs, m, p0, nxt)
        if not (min(gs[p0] - gs[m], rise) >= n_sigma * noise_s and np.isfinite(hi) and se <= max_error
                and r[p0] < hi < r[end]):
            why = (f"the parabola through the histogram around r = {r[m]:.3f} is not convex" if not np.isfinite(hi)
                   else f"the minimum at r = {hi:.3f} ± {se:.3f} σ has a standard error above max_error = "
                        f"{max_error:g} σ" if se > max_error
                   else f"the minimum at r = {hi:.3f} lies outside its first peak and the next one"
                   if not r[p0] < hi < r[end]
                   else f"the dip at r = {r[m]:.3f} is shallower than {n_sigma:g}× the noise {noise_s:.3g}")
            raise ValueError(f"the first minimum of g_{name}(r) is not resolved: {why}{frames_txt}; average more "
                             f"frames (pass every frame of the trajectory) or pass windows explicitly "
                             f"(windows={{'{name}': (r_lo, r_hi), …}})")
        out[name] = (lo, float(hi))
        info[name] = {"r_hi_stderr": se, "noise": noise, "fit_points": npts, "r_argmin": float(r[m]),
                      "n_frames": n_frames, "split_peak_dips": split}
    return (out, info) if details else out


def trajectory_windows(traj: Trajectory | Frame | Sequence[Frame], *, frames=None, dr: float = 0.01,
                       r_max: float = 4.0, n_threads: int | None = None, **kwargs) -> dict[str, tuple[float, float]]:
    """The default integration windows of a trajectory: :func:`find_windows` (``kwargs``) on the
    global g_uv of every frame (or of ``frames``), histogram step ``dr``, up to ``r_max`` (or half
    the box height). Pass its result as ``windows=`` to compute the SOP of a single frame of that
    trajectory — one frame rarely resolves the first minimum of a minority pair."""
    traj = as_trajectory(traj)
    idx = frame_indices(traj, frames)
    half = traj[int(idx[0])].box.max_cutoff
    return find_windows(rdf(traj, r_max=min(half, r_max), dr=dr, frames=idx, n_threads=n_threads), **kwargs)


def _window_matrix(windows: Mapping, species: Sequence[str], r_range: tuple[float, float] | None) -> np.ndarray:
    ns = len(species)
    wm = np.zeros((ns * ns, 2))
    for u in range(ns):
        for v in range(ns):
            key, alt = f"{species[u]}-{species[v]}", f"{species[v]}-{species[u]}"
            if key in windows:
                w = windows[key]
            elif alt in windows:
                w = windows[alt]
            else:
                raise ValueError(f"no integration window for pair {key}; windows given for {sorted(windows)}")
            lo, hi = (float(x) for x in w)
            if not (0 <= lo < hi and np.isfinite(hi)):
                raise ValueError(f"integration window for {key} must satisfy 0 ≤ r_lo < r_hi, got [{lo}, {hi}]")
            if r_range is not None and (lo < 0 or hi > r_range[1] + 1e-12):
                raise ValueError(f"integration window for {key} [{lo}, {hi}] lies outside the range of g(r) "
                                 f"[0, {r_range[1]:.6g}]")
            wm[u * ns + v] = (lo, hi)
    return wm


# ---------------------------------------------------------------------------------------------
# 2.6 macroscopic SOP
def sop_macro(rdf_table: pl.DataFrame, windows: Mapping, *, closure: str = "approx", T: float | None = None,
              model=None) -> tuple[float, float]:
    """Macroscopic SOP from the global g_uv (definitions §2.6): returns (βΦ, 1/|βΦ|) with
    βΦ = −ρ Σ_{u,v} x_u x_v ∫ 4πr² c_uv(r) g_uv(r) dr (2πr dr in 2D), trapezoid over the
    histogram's bin centres inside each window (endpoints included), points with g < 1e-10
    excluded (contribute 0)."""
    p = params(rdf_table)
    two_d = int(p.get("dim", 3)) == 2
    species = p["species"]
    r, g = _rdf_arrays(rdf_table)
    wm = _window_matrix(windows, species, (0.0, float(p["r_max"])))
    rho = float(p["density"])
    x = np.asarray(p["counts"], float) / np.sum(p["counts"])
    if closure not in ("approx", "hnc"):
        raise ValueError(f"unknown closure '{closure}'; expected 'approx' or 'hnc'")
    if closure == "hnc":
        if T is None or not T > 0:
            raise ValueError("the hnc closure needs the temperature T of the state point (β = 1/T)")
        if model is None:
            raise ValueError("the hnc closure needs a model for βU(r)")
        model.require_pairwise("the HNC closure (βU of a pair)")
    ns = len(species)
    total = 0.0
    for u in range(ns):
        for v in range(ns):
            key = f"{species[min(u, v)]}-{species[max(u, v)]}"
            gv = g[key]
            lo, hi = wm[u * ns + v]
            m = grid_inside(r, lo, hi, float(p['dr']) if 'dr' in p else float(r[1] - r[0]))
            rr, gg = r[m], gv[m]
            if closure == "approx":
                c = gg - 1.0
            else:
                bu = model.eval(species[u], species[v], rr)[0] / T
                with np.errstate(divide="ignore", invalid="ignore"):
                    c = -bu + (gg - 1.0) - np.log(gg)
            with np.errstate(invalid="ignore"):
                f = np.where(gg < 1e-10, 0.0, (2 * np.pi * rr if two_d else 4 * np.pi * rr ** 2) * c * gg)
            total += x[u] * x[v] * (np.trapezoid(f, rr) if len(rr) > 1 else 0.0)
    bphi = -rho * total
    return float(bphi), float(1.0 / abs(bphi))


# ---------------------------------------------------------------------------------------------
# 2.3–2.8 local quantities
def _model_setup(traj: Trajectory, model, closure: str, T: float | None):
    if closure not in ("approx", "hnc"):
        raise ValueError(f"unknown closure '{closure}'; expected 'approx' or 'hnc'")
    if T is not None and not (float(T) > 0 and np.isfinite(float(T))):
        raise ValueError(f"temperature T must be positive and finite (or None), got T={T}")
    if closure == "hnc":
        if T is None:
            raise ValueError("the hnc closure needs the temperature T of the state point (β = 1/T); pass T=…")
        if not (T > 0 and np.isfinite(T)):
            raise ValueError(f"temperature must be positive, got T={T}")
        if model is None:
            raise ValueError("the hnc closure needs a model (βU(r)); pass model=…")
    if model is None:
        return None, None
    smap = np.ascontiguousarray(model.type_map(traj.species), dtype=np.int64)
    return model.native, smap


def local(traj: Trajectory | Frame, model=None, *, T: float | None = None, closure: str = "approx",
          windows: Mapping | None = None, delta: float = 0.09, dr: float = 0.005, r_s: float = 3.0,
          frames=None, rdf_dr: float = 0.01, e_pair: bool = True, n_threads: int | None = None,
          progress: Progress = None) -> pl.DataFrame:
    """Per-particle structure (definitions §2.3–2.8) in one long table.

    Columns: ``frame``, ``particle`` (id, or index when the file has no ids), ``species``,
    ``beta_phi`` (βφ_i, signed), ``sop`` (1/|βφ_i|), ``s2`` (local two-body excess entropy),
    ``e_loc`` (½Σ_v ρ_v ∫4πr² U g^i dr) and ``e_pair`` (exact ½Σ_j U(r_ij), from the shared force
    kernel); the energy columns are null without a model.

    The Gaussian-smoothed g^i_uv (width ``delta``, grid spacing ``dr``) is built and integrated
    particle by particle in Rust, never stored. ``windows`` maps pairs ("A-B") to (r_lo, r_hi);
    by default they come from the global g_uv of the same frames (:func:`find_windows`). For a
    temperature series pass the windows of a reference state point (``gr.params(t)["windows"]``).
    ``closure="hnc"`` needs ``T`` and ``model``. The table parameters record closure, T, windows,
    δ, dr, r_s, the macroscopic SOP (``beta_Phi_macro``, ``sop_macro``) and ⟨sop⟩.
    """
    traj = as_trajectory(traj)
    idx = frame_indices(traj, frames)
    _check_species(traj, "the local g^i_uv(r) (normalised by ρ_v)")
    native, smap = _model_setup(traj, model, closure, T)
    species = traj.species
    ns = len(species)
    # global g for the windows and the macroscopic SOP
    half = traj[int(idx[0])].box.max_cutoff
    r_need = 4.0 if windows is None else max(float(w[1]) for w in windows.values()) + 2 * rdf_dr
    g_tab = rdf(traj, r_max=min(half, max(r_need, 1.0)), dr=rdf_dr, frames=idx, n_threads=n_threads)
    auto = windows is None
    if auto:
        windows = find_windows(g_tab)
    gp = params(g_tab)
    wm = _window_matrix(windows, species, (0.0, float(gp["r_max"])))
    bPhi, sopm = sop_macro(g_tab, windows, closure=closure, T=T, model=model)
    wm_grid = _snap_windows(wm, float(dr))   # grid points within GRID_TOL·dr of each window (§2.3)
    temp = None if T is None else float(T)
    parts = []
    for n_done, k in enumerate(idx):
        f = traj[int(k)]
        bp, s2, el, _, _ = _core.local_frame(f.positions, f.box.native, f.types, ns, wm_grid,
                                             float(delta), float(dr), float(r_s), closure, temp, native, smap, None,
                                             n_threads)
        cols = {"frame": np.full(f.n_particles, int(k), dtype=np.int64), "particle": particle_ids(f),
                "species": pl.Series(np.asarray(species, dtype=object)[f.types], dtype=pl.String),
                "beta_phi": bp, "sop": 1.0 / np.abs(bp), "s2": s2}
        if model is not None:
            cols["e_loc"] = el
            if e_pair:
                from glassrs.forces import forces
                cols["e_pair"] = forces(f, model, n_threads=n_threads).per_particle
            else:
                cols["e_pair"] = np.full(f.n_particles, np.nan)
        else:
            cols["e_loc"] = pl.Series([None] * f.n_particles, dtype=pl.Float64)
            cols["e_pair"] = pl.Series([None] * f.n_particles, dtype=pl.Float64)
        parts.append(pl.DataFrame(cols))
        if progress is not None:
            progress(n_done + 1, len(idx))
    out = pl.concat(parts)
    return make_table(out, {
        "kind": "local", "closure": closure, "T": temp, "model": None if model is None else model.name,
        "windows": {f"{species[u]}-{species[v]}": list(wm[u * ns + v]) for u in range(ns) for v in range(ns)},
        "windows_source": "auto (global g_uv of the same frames)" if auto else "given",
        "delta": delta, "dr": dr, "r_s": r_s, "rdf_dr": rdf_dr, "n_frames": len(idx),
        "beta_Phi_macro": bPhi, "sop_macro": sopm, "sop_mean": float(out["sop"].mean()),
        "species": list(species), "density": gp["density"], **species_params(traj)})


def local_g(traj: Trajectory | Frame, particles: Sequence[int], *, frame: int = 0, delta: float = 0.09,
            dr: float = 0.005, r_max: float = 3.0, n_threads: int | None = None) -> pl.DataFrame:
    """Gaussian-smoothed g^i_uv(r) (definitions §2.3) of the chosen particles (indices) in one frame.

    Columns ``particle`` (index), ``species`` (of i), ``pair`` ("u-v", v the neighbour species),
    ``r`` (grid r_k = k·dr up to r_max), ``g``."""
    traj = as_trajectory(traj)
    _check_species(traj, "the local g^i_uv(r) (normalised by ρ_v)")
    f = traj[int(frame)]
    species = traj.species
    ns = len(species)
    parts_idx = np.ascontiguousarray(np.atleast_1d(np.asarray(particles, dtype=np.int64)))
    wm = np.tile([0.0, r_max], (ns * ns, 1))
    _, _, _, r, curves = _core.local_frame(f.positions, f.box.native, f.types, ns, wm,
                                           float(delta), float(dr), float(r_max), "approx", None, None, None,
                                           parts_idx, n_threads)
    k = len(r)
    curves = curves.reshape(len(parts_idx), ns, k)
    rows = []
    for p, i in enumerate(parts_idx):
        su = species[f.types[i]]
        for v in range(ns):
            rows.append(pl.DataFrame({"particle": np.full(k, i), "species": [su] * k,
                                      "pair": [f"{su}-{species[v]}"] * k, "r": r, "g": curves[p, v]}))
    return make_table(pl.concat(rows), {"kind": "local_g", "frame": int(frame), "delta": delta, "dr": dr,
                                        "r_max": float(r[-1])})


# ---------------------------------------------------------------------------------------------
# 2.9 coarse-graining
def coarse_grain(traj: Trajectory | Frame, table: pl.DataFrame, column: str,
                 L: Sequence[float] = tuple(np.arange(0, 5.01, 0.5)), *, r_cg: float | None = None,
                 species: Sequence[str] | None = None, long: bool = False,
                 n_threads: int | None = None) -> pl.DataFrame:
    """Coarse-grain a per-particle column (definitions §2.9): X̄_i(L) = Σ_j e^{−r_ij/L} X_j / Σ_j e^{−r_ij/L}
    over j with r_ij < r_cg (default half the smallest box height) and a defined (non-null,
    finite) X, j = i included; L = 0 returns X itself. ``species`` restricts j (including
    j = i) to those species. All L in one pass over the neighbour pairs.

    ``table`` needs ``frame`` (index into ``traj``), ``particle`` and ``column``. Returns the
    table with columns ``{column}_L{L:g}`` added (or, with ``long=True``, the long table
    frame, particle, species, L, ``{column}``).
    """
    traj = as_trajectory(traj)
    for c in ("frame", "particle", column):
        if c not in table.columns:
            raise ValueError(f"table has no column '{c}' (columns: {table.columns})")
    Ls = [float(x) for x in np.atleast_1d(L)]
    if any(not (x >= 0 and np.isfinite(x)) for x in Ls):
        raise ValueError(f"L values must be finite and ≥ 0, got {Ls}")
    sp = traj.species
    mask = None
    if species is not None:
        unknown = [s for s in species if s not in sp]
        if unknown:
            raise ValueError(f"unknown species {unknown} in the species filter (trajectory species: {list(sp)})")
        mask = [s in species for s in sp]
    names = [f"{column}_L{x:g}" for x in Ls]
    pieces = []
    for (fk,), sub in table.group_by(["frame"], maintain_order=True):
        fk = int(fk)
        if not 0 <= fk < len(traj):
            raise ValueError(f"table refers to frame {fk}, but the trajectory has {len(traj)} frames")
        f = traj[fk]
        ids = particle_ids(f)
        order = np.argsort(ids, kind="stable")
        pid = sub["particle"].to_numpy()
        pos_in = np.searchsorted(ids[order], pid)
        pos_in = np.clip(pos_in, 0, len(ids) - 1)
        if np.any(ids[order][pos_in] != pid):
            bad = pid[ids[order][pos_in] != pid][0]
            raise ValueError(f"frame {fk}: particle {bad} of the table is not in the trajectory")
        where = order[pos_in]
        x = np.full(f.n_particles, np.nan)
        x[where] = sub[column].cast(pl.Float64).fill_null(np.nan).to_numpy()
        rc = f.box.max_cutoff if r_cg is None else float(r_cg)
        out = _core.coarse_grain(f.positions, f.box.native, f.types, x, Ls, rc, mask,
                                 n_threads).reshape(len(Ls), f.n_particles)
        if long:
            for li, Lv in enumerate(Ls):
                pieces.append(pl.DataFrame({"frame": np.full(len(pid), fk, dtype=np.int64), "particle": pid,
                                            "species": np.asarray(sp, dtype=object)[f.types[where]].tolist(),
                                            "L": np.full(len(pid), Lv), column: out[li, where]}))
        else:
            pieces.append(sub.with_columns([pl.Series(n, out[li, where]) for li, n in enumerate(names)]))
    res = pl.concat(pieces)
    p = dict(params(table))
    p.update({"coarse_grain": {"column": column, "L": Ls, "r_cg": r_cg if r_cg is not None else "half box height",
                               "species": None if species is None else list(species)}})
    return make_table(res, p)


# ---------------------------------------------------------------------------------------------
# 2.10–2.11 caging potential, softness
def _s_matrix(sq_table: pl.DataFrame, species: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    ns = len(species)
    q = None
    mats = None
    for u, v, name in _pairs(species):
        sub = sq_table.filter(pl.col("pair") == name).sort("q")
        if sub.height == 0:
            raise ValueError(f"the S(q) table has no rows for pair {name}")
        if q is None:
            q = sub["q"].to_numpy()
            mats = np.zeros((len(q), ns, ns))
        elif len(sub) != len(q) or not np.allclose(sub["q"].to_numpy(), q, rtol=0, atol=1e-12):
            raise ValueError(f"pair {name} of the S(q) table is on a different q grid")
        mats[:, u, v] = mats[:, v, u] = sub["s"].to_numpy()
    return q, mats


def caging_potential(s: pl.DataFrame | Trajectory | Frame, *, dr_max: float = 1.5, n_dr: int = 301,
                     dr_fit: float = 0.1, q_min: float = 0.0, q_max: float | None = None,
                     paper_units: bool = False, **sq_kwargs) -> pl.DataFrame:
    """Mean-field caging potential βΦ(Δr) in q space (definitions §2.10), its softness and τ_mfpt.

    βΦ(Δr) = −(1/ρ) ∫ d³q/(2π)³ Σ_uv C_uv(q) √(x_u x_v)(S_uv(q) − δ_uv) e^{−q²Δr²/6}, C = 1 − S⁻¹,
    trapezoid rule over the q points of the S table with q_min ≤ q ≤ q_max — the integral is
    truncated there (report it with the result). ``s`` is a table from :func:`sq` /
    :func:`sq_from_rdf`, or a trajectory (then :func:`sq` is called with ``sq_kwargs``).
    ``paper_units=True`` drops the 1/ρ as the seeds do. For mixtures the integrand is dominated by
    small q (nearly singular S(q) matrix of the partials; for KA at T = 0.8, N = 1000, q < 5 σ⁻¹
    gives ~80 % of βΦ(0)), so use the reciprocal-lattice S(q) of a large enough box — the Fourier
    transform of a truncated g(r) is unreliable there. The Gaussian factor is e^{−q²Δr²/6}
    (definitions §2.10; seed 001 Eq. 1 prints e^{−q²r²/2}).

    Returns columns ``dr`` (Δr grid 0…dr_max, σ) and ``beta_phi``; parameters record
    ``S_av`` (least-squares fit of βΦ(Δr) − βΦ(0) = Δr²/(2 S_av) on 0 < Δr ≤ dr_fit, in the
    convention of the call, named by ``S_av_units``) and both conventions:
    ``S_av_with_density`` (βΦ dimensionless, with 1/ρ: S_av in σ²) and ``S_av_paper_units``
    (βΦ in σ⁻³ as the papers, without 1/ρ: S_av in σ⁵; = S_av_with_density/ρ),
    ``beta_phi_0``, ``tau_mfpt`` (D0 = 1) and ``r_max`` (grid point of the maximum of βΦ; for a
    monotonic potential that is the grid end and τ_mfpt depends on ``dr_max``).
    """
    if not isinstance(s, pl.DataFrame):
        s = sq(s, **sq_kwargs)
    p = params(s)
    for k in ("species", "counts", "density"):
        if k not in p:
            raise ValueError(f"the S(q) table lacks parameter '{k}'; use glassrs.structure.sq or sq_from_rdf")
    if int(p.get("dim", 3)) == 2:
        raise ValueError("caging_potential is the three-dimensional q-space integral (d³q, e^{−q²Δr²/6}); it is "
                         "not defined for a 2D S(q) table in this version")
    species = p["species"]
    x = np.asarray(p["counts"], float) / np.sum(p["counts"])
    rho = float(p["density"])
    q, mats = _s_matrix(s, species)
    keep = (q >= q_min) & (q <= (np.inf if q_max is None else q_max))
    q, mats = q[keep], mats[keep]
    grid = np.linspace(0.0, dr_max, n_dr)
    phi = np.asarray(_core.caging_potential(q.tolist(), mats.ravel().tolist(), x.tolist(), rho, grid.tolist(),
                                            paper_units))
    fit = (grid > 0) & (grid <= dr_fit)
    if fit.sum() < 2:
        raise ValueError(f"dr_fit = {dr_fit} holds fewer than two grid points (grid step {grid[1]:.4g})")
    xx, yy = grid[fit] ** 2, phi[fit] - phi[0]
    slope = float(xx @ yy / (xx @ xx))
    s_av = 1.0 / (2.0 * slope) if slope != 0 else np.inf
    tau, imax = _core.mfpt(grid.tolist(), phi.tolist())
    # βΦ_paper = ρ βΦ (the seeds' convention has no 1/ρ), so S_av,paper = S_av / ρ
    s_with = s_av * rho if paper_units else s_av
    s_paper = s_av if paper_units else s_av / rho
    return make_table({"dr": grid, "beta_phi": phi}, {
        "kind": "caging_potential", "S_av": s_av,
        "S_av_units": "sigma^5 (no 1/rho, as the papers)" if paper_units else "sigma^2 (with 1/rho)",
        "S_av_with_density": s_with, "S_av_paper_units": s_paper,
        "beta_phi_0": float(phi[0]), "tau_mfpt": tau,
        "r_max": float(grid[imax]), "dr_fit": dr_fit, "q_range": [float(q[0]), float(q[-1])],
        "paper_units": paper_units, "density": rho, "species": species, "sq_method": p.get("method")})


def _linfit(x, y) -> dict[str, float]:
    """Ordinary least squares y = intercept + slope·x through :func:`glassrs.fits.linear`."""
    from glassrs.fits import linear

    f = linear(x, y)
    return {"intercept": f["intercept"], "slope": f["slope"], "intercept_err": f.stderr["intercept"],
            "slope_err": f.stderr["slope"]}


def softness_calibration(S_av: Sequence[float], beta_Phi_macro: Sequence[float]) -> dict[str, float]:
    """Local-softness calibration (definitions §2.11): linear fit 1/S_av = c0 + c1 |βΦ| over a series of
    state points of one system (βΦ macroscopic, HNC closure). Returns c0, c1 and their standard errors."""
    f = _linfit(np.abs(np.asarray(beta_Phi_macro, float)), 1.0 / np.asarray(S_av, float))
    return {"c0": f["intercept"], "c1": f["slope"], "c0_err": f["intercept_err"], "c1_err": f["slope_err"]}


def local_softness(table: pl.DataFrame, c0: float, c1: float, *, closure: str | None = None) -> pl.DataFrame:
    """Add ``softness`` S_i = 1/(c0 + c1 |βφ_i|) (definitions §2.11) to a :func:`local` table computed with
    the HNC closure.

    The closure is read from the table's parameters. A table that lost them (Polars operations
    such as ``filter`` drop them) is refused unless ``closure="hnc"`` states it; a stated closure
    must agree with the recorded one."""
    p = params(table)
    recorded = p.get("closure")
    if closure is not None and recorded is not None and closure != recorded:
        raise ValueError(f"closure={closure!r} given, but the table records closure {recorded!r}")
    used = recorded if recorded is not None else closure
    if used is None:
        raise ValueError("the table carries no closure parameter (Polars operations such as filter drop glassrs "
                         "parameters): local softness needs βφ_i from the hnc closure — pass closure='hnc' if the "
                         "table came from glassrs.structure.local(..., closure='hnc'), or filter after adding softness")
    if used != "hnc":
        raise ValueError(f"local softness needs βφ_i from the hnc closure; the table used '{used}'")
    out = table.with_columns((1.0 / (c0 + c1 * pl.col("beta_phi").abs())).alias("softness"))
    p.update({"closure": used, "softness": {"c0": c0, "c1": c1}})
    return make_table(out, p)


def sop_temperature_fit(T: Sequence[float], sop: Sequence[float]) -> dict[str, float]:
    """Linear fit sop = sop0 + γ T (definitions §5.2: (βΦ)⁻¹ = (βΦ0)⁻¹ + γT; γ′ for ⟨(βφ)⁻¹⟩).
    Returns gamma, gamma_err, sop0, sop0_err."""
    f = _linfit(T, sop)
    return {"gamma": f["slope"], "gamma_err": f["slope_err"], "sop0": f["intercept"], "sop0_err": f["intercept_err"]}


def sop_blocks(traj: Trajectory, model=None, *, T: float | None = None, n_blocks: int = 4,
               windows: Mapping | None = None, closure: str = "approx", stride: int = 1,
               **local_kwargs) -> pl.DataFrame:
    """The SOPs of each of ``n_blocks`` contiguous time blocks of frames of one trajectory — the
    independent units behind intervals on γ and γ′ (:func:`glassrs.uncertainty.gamma`) when a
    state point has a single trajectory.

    Per block, :func:`local` on its frames (every ``stride``-th; ``local_kwargs`` passed on) gives
    ``sop_macro`` (1/|βΦ| of the block's global g, dimensionless), ``sop_mean`` (⟨1/|βφ_i|⟩, the
    γ′ convention of definitions §5.2) and ``sop_inv_mean_depth`` (1/⟨|βφ_i|⟩, the convention
    that reproduces paper 000's γ′, see definitions §5.2). ``windows``: one set for every block
    and, for a temperature series, for every temperature (default: :func:`trajectory_windows` of
    all frames of ``traj``). Blocks of frames are far less correlated than the particles of one
    frame, but only approximately independent: use blocks much longer than τ_α.

    Returns columns: T (ε/k_B or null), block, n_frames, sop_macro, sop_mean,
    sop_inv_mean_depth; parameters record the windows, closure and unit ``"time blocks"``.
    """
    traj = as_trajectory(traj)
    nb, st = int(n_blocks), int(stride)
    if nb < 2:
        raise ValueError(f"sop_blocks needs n_blocks ≥ 2 (one block has no scatter), got {n_blocks}")
    if st < 1:
        raise ValueError(f"stride must be a positive integer, got {stride}")
    frames = np.arange(0, len(traj), st)
    if len(frames) < nb:
        raise ValueError(f"{len(frames)} frames (stride {st}) cannot make {nb} blocks of at least one frame")
    if windows is None:
        windows = trajectory_windows(traj, frames=frames)
    blk = (np.arange(len(frames)) * nb) // len(frames)
    rows = []
    for b in range(nb):
        idx = frames[blk == b]
        loc = local(traj, model, T=T, closure=closure, windows=windows, frames=idx, **local_kwargs)
        p = params(loc)
        rows.append({"T": None if T is None else float(T), "block": b, "n_frames": len(idx),
                     "sop_macro": float(p["sop_macro"]), "sop_mean": float(p["sop_mean"]),
                     "sop_inv_mean_depth": float(1.0 / loc["beta_phi"].abs().mean())})
    out = pl.DataFrame(rows, schema={"T": pl.Float64, "block": pl.Int64, "n_frames": pl.Int64, "sop_macro": pl.Float64,
                                     "sop_mean": pl.Float64, "sop_inv_mean_depth": pl.Float64})
    return make_table(out, {"kind": "sop_blocks", "n_blocks": nb, "stride": st, "closure": closure, "T": T,
                            "windows": {k: list(v) for k, v in windows.items()}, "unit": "time blocks"})
