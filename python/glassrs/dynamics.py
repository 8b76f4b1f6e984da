"""Dynamics (definitions §3): MSD, overlap, χ4, α2, F_s, van Hove, τ_α, D and p_hop cage jumps.

Every quantity is computed per species and for all particles (``species`` column: ``"all"``,
then the species names) from *unwrapped* displacements Δr_i(τ) = r_i(t + τ) − r_i(t), with the
unwrapping of :meth:`glassrs.Trajectory.unwrapped` (``xu`` columns, image flags, or accumulated
minimum-image steps — an error when a particle moves more than half a box height between frames).

Time origins and lags
    A lag is τ = t_k′ − t_k for an (origin, target) frame pair with k′ ≥ k. Pairs are grouped by
    their exact lag: by integer timestep difference when every frame has a step (linear,
    log-spaced and block-log LAMMPS schedules alike), otherwise by time difference, merging
    values closer than ``lag_tol`` × (time span) (float noise). Origins are all frames by default;
    ``origins=`` subsamples them (an int: that many evenly spaced frames; or explicit frame
    indices). ``n_origins`` in the table counts the pairs averaged at each lag (summed over runs).

Streaming and memory
    Kernels run on chunks of particles: for each chunk the unwrapped positions of all frames
    (F × n_chunk × 3 float64) are assembled from the frames (loaded one at a time from lazy
    readers) and reduced to per-pair sums that are added over chunks, so results do not depend
    on the chunking (up to floating-point summation order). The origin/target pairs (F(F+1)/2 with
    all origins) are never held at once: :func:`correlations` takes them in blocks of consecutive
    pairs, reduces each block's per-pair sums into the per-lag accumulators and drops them, so its
    peak memory stays within ``max_memory_mb`` (default 1024 MB): F × n_chunk × (48 + 16 n_k)
    bytes of positions, a temporary and the kernel's cos/sin table for the n_k wave vectors, plus
    ≈ (120 + 64 (1 + n_species)) bytes per pair of a block, plus the result itself (a few
    numbers per distinct lag) and the few frames a reader holds at once. A budget that cannot
    hold one particle's positions and one origin's pairs is a ``ValueError`` up front. When the
    positions of all particles fit next to the pair blocks, the trajectory is read once;
    otherwise it is read once per particle chunk and pair block (the table records
    ``pair_block`` and ``particle_chunks``). Progress is shown with a rich progress bar
    (``progress=True``, default when stderr is a terminal) and Ctrl-C stops the computation
    (``KeyboardInterrupt``).

Units: lengths σ, times in the trajectory's time unit (``traj.times``), k in σ⁻¹.
"""

from __future__ import annotations

import hashlib
import math
import sys
import warnings
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np
import polars as pl

from glassrs import _core
from glassrs.tables import make_table, params as table_params
from glassrs.trajectory import Frame, Trajectory, species_params, unwrap_step

__all__ = [
    "correlations", "van_hove", "log_displacements", "phop", "rearrangements", "tau_alpha",
    "relaxation_times", "diffusion_constant", "alpha2_peak", "shell_kvectors", "first_peak_k",
    "lattice_kvectors", "s4", "xi4", "phop_weights", "phop_windows", "relaxation_blocks", "relaxation_ci",
]

ONE_OVER_E = math.exp(-1.0)
KA_FIRST_PEAK = 7.25  # σ⁻¹, first peak of S_AA for Kob–Andersen at ρ = 1.2


# --------------------------------------------------------------------------------------------
# progress
# --------------------------------------------------------------------------------------------
class _Progress:
    """The kernels' progress (:mod:`glassrs.progress`: a bar on a terminal, a stage line from the
    command line, nothing with ``progress=False``), driven by the Rust monitor callbacks
    ``cb(done, total)`` of successive pieces of work."""

    def __init__(self, enabled: bool | None | Callable, description: str, total: int):
        self.enabled = enabled
        self.description = description
        self.total = max(int(total), 1)
        self._cm = None
        self._task = None

    def __enter__(self) -> "_Progress":
        from glassrs import progress

        self._cm = progress.task(self.description, total=self.total, enabled=self.enabled)
        self._task = self._cm.__enter__()
        return self

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)

    def callback(self, offset: int) -> Callable[[int, int], None]:
        """``cb(done, total)`` for the piece of work starting at ``offset``."""
        return self._task.offset(offset)


# --------------------------------------------------------------------------------------------
# trajectory access
# --------------------------------------------------------------------------------------------
def _unwrapped_chunk(traj: Trajectory, lo: int, hi: int) -> np.ndarray:
    """Unwrapped positions (F, hi − lo, 3) of particles ``lo:hi``, identical to
    ``traj.unwrapped()[:, lo:hi]`` but loading one frame at a time (definitions §3.1: rules and errors)."""
    nf = len(traj)
    out = np.empty((nf, hi - lo, 3))
    prev = None
    n0 = None
    direct_all = True
    # First pass: when every frame carries xu/image data there is nothing to accumulate.
    for k, f in enumerate(traj):
        d = f.unwrapped_positions()
        if d is None:
            direct_all = False
            break
        out[k] = d[lo:hi]
    if direct_all:
        return out
    for k, f in enumerate(traj):
        if n0 is None:
            n0 = f.n_particles
            d = f.unwrapped_positions()
            out[0] = (d if d is not None else f.positions)[lo:hi]
            prev = f.positions[lo:hi]
            continue
        if f.n_particles != n0:
            raise ValueError(f"{traj.path or '<memory>'}: frame {k} has {f.n_particles} particles, "
                             f"frame {k - 1} has {n0}")
        cur = f.positions[lo:hi]
        out[k] = out[k - 1] + unwrap_step(prev, cur, f.box, k, traj.path, first_particle=lo)
        prev = cur
    return out


def _chunks(n: int, n_frames: int, max_memory_mb: float, chunk_particles: int | None,
            n_k: int = 0) -> list[tuple[int, int]]:
    """Particle ranges so that one chunk needs ≤ max_memory_mb: per particle 2 × F × 24 bytes of
    positions (the chunk + one temporary) and F × 16 n_k bytes of the kernel's cos/sin table."""
    if chunk_particles is None:
        per_particle = n_frames * (2 * 24 + 16 * n_k)
        chunk_particles = max(1, int(max_memory_mb * 2**20 // per_particle))
    chunk_particles = max(1, min(int(chunk_particles), n))
    return [(lo, min(lo + chunk_particles, n)) for lo in range(0, n, chunk_particles)]


def _box_dim(traj: Trajectory, dim: int | None) -> int:
    """The spatial dimension: the box's (never guessed from coordinates). An explicit ``dim``
    must agree with it."""
    d = traj.first.box.dim
    if dim is not None and int(dim) != d:
        raise ValueError(f"dim={dim} was passed but the trajectory's box is {d}-dimensional; the dimension is a "
                         f"property of the box (build a 2D box with Box.orthorhombic([lx, ly]) or read the file with "
                         "dim=2)")
    return d


def _lag_keys(traj: Trajectory, steps: np.ndarray | None = None) -> tuple[np.ndarray, bool]:
    """Per-frame lag keys: integer steps when all are known (exact), else times (``steps``:
    ``traj.steps`` when the caller has them already)."""
    steps = traj.steps if steps is None else steps
    if len(steps) and np.all(steps >= 0):
        return steps.astype(np.float64), True
    return np.asarray(traj.times, dtype=np.float64), False


def _origin_frames(n_frames: int, origins) -> np.ndarray:
    if origins is None:
        return np.arange(n_frames, dtype=np.int64)
    if isinstance(origins, (int, np.integer)):
        if origins < 1:
            raise ValueError(f"origins must be ≥ 1, got {origins}")
        return np.unique(np.round(np.linspace(0, n_frames - 1, min(int(origins), n_frames))).astype(np.int64))
    o = np.unique(np.asarray(origins, dtype=np.int64))
    if o.size == 0 or o[0] < 0 or o[-1] >= n_frames:
        raise ValueError(f"origin frames must lie in 0..{n_frames - 1}, got {np.asarray(origins).tolist()[:10]}")
    return o


def _pairs(traj: Trajectory, origins, max_lag: float | None) -> np.ndarray:
    """(P, 2) origin/target frame pairs with target ≥ origin (and lag ≤ max_lag): the pairs
    that :func:`_origin_targets` describes, as an array."""
    o, end = _origin_targets(traj, origins, max_lag)
    parts = [np.column_stack([np.full(e - i, i, dtype=np.int64), np.arange(i, e, dtype=np.int64)])
             for i, e in zip(o.tolist(), end.tolist())]
    return np.concatenate(parts) if parts else np.empty((0, 2), np.int64)


def _lattice_indices(box, kv: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(H⁻¹, integer n (K, 3)) when every wave vector is on the reciprocal lattice of ``box``,
    k = 2π H⁻ᵀ n (as :func:`shell_kvectors` makes them), else None."""
    h = np.asarray(getattr(box, "matrix", box), dtype=float)
    if h.shape != (3, 3) or len(kv) == 0:
        return None
    try:
        hinv = np.linalg.inv(h)
    except np.linalg.LinAlgError:
        return None
    nf = np.asarray(kv, dtype=float) @ h / (2 * np.pi)
    n = np.rint(nf)
    if not np.all(np.isfinite(nf)) or np.max(np.abs(nf - n)) > 1e-9 or np.max(np.abs(n)) > 4096:
        return None
    return np.ascontiguousarray(hinv), n.astype(np.int64)


def _fft_sums(x: np.ndarray, types: np.ndarray, n_sp: int, kv: np.ndarray, msd: bool, fs: bool,
              max_m: int, lattice: tuple[np.ndarray, np.ndarray] | None = None, n_threads: int | None = None
              ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """For an unwrapped trajectory ``x`` (T, N, 3) on a linear schedule with every frame an
    origin: per selection (all, then each species) and lag index m = 0…max_m, the sums over
    particles and origins Σ_i Σ_t |x_i(t+m) − x_i(t)|² and Σ_i Σ_t (1/K) Σ_k cos(k·Δr) by FFT
    autocorrelation in the core (O(N T log T) instead of O(N T²)), each (1 + n_sp, max_m + 1).

    MSD: Σ_t |Δ|² = Σ_t (|x(t+m)|² + |x(t)|²) − 2 Σ_t x(t+m)·x(t), the first from cumulative sums,
    the second from the power spectrum of each axis, positions taken relative to the first frame.
    F_s: Σ_t e^{ik·r(t+m)} e^{−ik·r(t)} is the autocorrelation of e^{ik·r(t)}. Power spectra are
    summed over the particles (and axes, wave vectors) of a species before one inverse FFT.
    ``lattice`` (from :func:`_lattice_indices`): the wave vectors are reciprocal-lattice vectors and
    the phases are products of powers of three per-axis phases (three sin/cos per particle and
    frame instead of one per wave vector)."""
    waves: dict[str, np.ndarray] = {}
    if fs and lattice is not None:
        waves = {"hinv": lattice[0], "nvecs": lattice[1]}
    elif fs:
        waves = {"kvecs": np.ascontiguousarray(kv, dtype=np.float64)}
    out_m, out_f = _core.dynamics_fft_sums(np.ascontiguousarray(x, dtype=np.float64), np.asarray(types, dtype=np.int64),
                                           n_sp, max_m + 1, msd, n_threads=n_threads, **waves)
    return out_m, out_f


def _linear_steps(steps: np.ndarray) -> bool:
    """Every frame has a step (``steps``: a trajectory's) and consecutive frames are equally
    spaced in steps."""
    st = np.asarray(steps)
    if len(st) < 2 or np.any(st < 0):
        return False
    d = np.diff(st)
    return bool(d[0] > 0 and np.all(d == d[0]))


#: The MSD alone is summed by lag (``method="lags"``) rather than by FFT while the pairs per run
#: are at most this many times the frames (mean targets per origin); measured on 2 cores,
#: N = 1000 and 4000: the two kernels cost the same at F ≈ 60 frames (≈ 30 targets per origin),
#: the FFT 1.1–1.3x faster at F = 100–160 and 1.5–3x at F = 200–800 (the lag cost grows as F²).
_LAGS_BEFORE_FFT = 30

#: the columns :func:`correlations` can compute, in table order
QUANTITIES = ("msd", "overlap", "chi4", "fs", "alpha2")


def _quantities(quantities: Sequence[str] | None) -> set[str]:
    """The requested correlation columns (all when None), validated."""
    if quantities is None:
        return set(QUANTITIES)
    if isinstance(quantities, str):
        quantities = [quantities]
    q = [str(x).lower() for x in quantities]
    bad = [x for x in q if x not in QUANTITIES]
    if bad or not q:
        raise ValueError(f"quantities must be a non-empty subset of {list(QUANTITIES)}, got {list(quantities)!r}")
    return set(q)


# --------------------------------------------------------------------------------------------
# cage-relative displacements
# --------------------------------------------------------------------------------------------
def cage_radii(traj: Trajectory, cage_radius=None, *, frames: int | None = None) -> dict[str, float]:
    """The neighbour range r_uv of the cage of each species pair "u-v" (σ): the first minimum of
    the global g_uv(r) (:func:`glassrs.structure.find_windows` on :func:`glassrs.structure.rdf`
    of every frame, or of ``frames`` frames spread over the trajectory), unless ``cage_radius``
    gives it — a number (every pair) or a mapping "u-v" → r. A minimum the frames do not resolve
    raises ``ValueError`` naming the pair (pass ``cage_radius``)."""
    species = list(traj.species)
    names = [f"{species[u]}-{species[v]}" for u in range(len(species)) for v in range(u, len(species))]
    if cage_radius is not None and not isinstance(cage_radius, Mapping):
        r = float(cage_radius)
        if not (r > 0 and math.isfinite(r)):
            raise ValueError(f"cage_radius must be a positive distance (σ), got {cage_radius!r}")
        return {name: r for name in names}
    if cage_radius is not None:
        out = {}
        for name in names:
            u, v = name.split("-")
            val = cage_radius.get(name, cage_radius.get(f"{v}-{u}"))
            if val is None:
                raise ValueError(f"cage_radius has no entry for pair {name!r} (give every pair of {species}, "
                                 "or one number)")
            out[name] = float(val)
        return out
    from glassrs.structure import find_windows, rdf

    n = len(traj) if frames is None else min(int(frames), len(traj))
    idx = np.unique(np.linspace(0, len(traj) - 1, n).round().astype(int))
    win = find_windows(rdf(traj, frames=idx))
    return {name: float(win[name][1]) for name in names}


def cage_matrix(frame: Frame, radii: Mapping[str, float], neighbors: pl.DataFrame | None = None):
    """Row-normalised neighbour matrix A (N × N, scipy CSR): A_ij = 1/|n_i| for the j within
    r_{u_i u_j} of i in ``frame`` (the cage at the origin); a particle without neighbours has an
    empty row (its cage-relative displacement is its plain one). ``neighbors``: a precomputed
    full :func:`glassrs.neighbors` table of ``frame`` reaching the largest radius."""
    import scipy.sparse as sp

    from glassrs.neighbors import pairs_within

    species = list(frame.species)
    ns = len(species)
    rmat = np.zeros((ns, ns))
    for u in range(ns):
        for v in range(u, ns):
            rmat[u, v] = rmat[v, u] = radii[f"{species[u]}-{species[v]}"]
    i, j, r = pairs_within(frame, float(rmat.max()), neighbors)
    keep = r < rmat[frame.types[i], frame.types[j]]
    i, j = i[keep], j[keep]
    n = frame.n_particles
    deg = np.bincount(i, minlength=n).astype(np.float64)
    return sp.csr_matrix((1.0 / deg[i], (i, j)), shape=(n, n))


def cage_relative_positions(unwrapped: np.ndarray, cage) -> np.ndarray:
    """y_i(t) = x_i(t) − (1/|n_i|) Σ_{j∈n_i} x_j(t) for unwrapped positions (F, N, 3) and the
    cage matrix of the origin (:func:`cage_matrix`): y_i(t) − y_i(t0) is the cage-relative
    displacement Δr_i^CR = Δr_i − ⟨Δr_j⟩_{j∈n_i} (particles without neighbours keep x_i)."""
    x = np.asarray(unwrapped, dtype=np.float64)
    f, n, _ = x.shape
    has = np.diff(cage.indptr) > 0
    flat = np.moveaxis(x, 1, 0).reshape(n, f * 3)
    mean = np.asarray(cage @ flat).reshape(n, f, 3)
    out = x.copy()
    out[:, has] -= np.moveaxis(mean, 0, 1)[:, has]
    return out


# --------------------------------------------------------------------------------------------
# wave vectors
# --------------------------------------------------------------------------------------------
def _reciprocal(box_matrix: np.ndarray) -> np.ndarray:
    """Reciprocal basis (columns): 2π H⁻ᵀ."""
    return 2 * np.pi * np.linalg.inv(box_matrix).T


def shell_kvectors(box, k: float, dk: float = 0.1, nk: int | None = 24, seed: int = 0) -> np.ndarray:
    """Reciprocal-lattice wave vectors (nk, 3) of ``box`` with | |q| − k | < dk (σ⁻¹).

    One vector of each ±q pair is kept (cos is even, so F_s is unchanged). When the shell holds
    more than ``nk`` vectors a deterministic random subset (``numpy`` generator ``seed``) is used;
    ``nk=None`` keeps all of them.
    """
    if not (k > 0 and dk > 0):
        raise ValueError(f"k and dk must be > 0, got k={k}, dk={dk}")
    h = np.asarray(box.matrix if hasattr(box, "matrix") else box, dtype=float)
    d = getattr(box, "dim", 3)
    b = _reciprocal(h)
    # a 2D box: the reciprocal lattice of the plane (n_z = 0)
    nmax = [int(math.ceil((k + dk) / (2 * np.pi) * np.linalg.norm(h[:, i]))) + 1 if i < d else 0 for i in range(3)]
    g = np.stack(np.meshgrid(*[np.arange(-m, m + 1) for m in nmax], indexing="ij"), -1).reshape(-1, 3)
    # keep one of ±n: first nonzero component positive
    nz = np.where(g[:, 0] != 0, g[:, 0], np.where(g[:, 1] != 0, g[:, 1], g[:, 2]))
    g = g[nz > 0]
    q = g @ b.T
    qn = np.linalg.norm(q, axis=1)
    sel = np.abs(qn - k) < dk
    q, g = q[sel], g[sel]
    if len(q) == 0:
        raise ValueError(f"no wave vector of the box's reciprocal lattice has |q| within {dk} of k={k}; "
                         "increase dk")
    order = np.lexsort((g[:, 2], g[:, 1], g[:, 0]))
    q = q[order]
    if nk is not None and len(q) > nk:
        idx = np.sort(np.random.default_rng(seed).choice(len(q), size=int(nk), replace=False))
        q = q[idx]
    return np.ascontiguousarray(q)


def first_peak_k(traj: Trajectory, species: str | None = None, frames: int = 3, q_range=(4.0, 10.0),
                 width: float = 0.25, per_shell: int = 64) -> float:
    """Position of the first peak of the partial S_uu(q) of ``species`` (default: the first
    species, A), σ⁻¹: :func:`glassrs.structure.first_peak` (the one shared implementation, on
    :func:`glassrs.structure.sq`), shells of ``width``, about ``per_shell`` vectors per shell,
    up to ``frames`` frames, peak in ``q_range``. Pass ``k=`` to :func:`correlations` to
    override (e.g. 7.25 for Kob–Andersen)."""
    from glassrs.structure import first_peak

    return first_peak(traj, species, frames=frames, q_range=q_range, width=width, per_shell=per_shell)[0]


# --------------------------------------------------------------------------------------------
# correlations
# --------------------------------------------------------------------------------------------
@dataclass
class _Run:
    traj: Trajectory
    pairs: np.ndarray
    lag_key: np.ndarray
    lag_time: np.ndarray
    sums: np.ndarray | None = None


def _a2c(dim: int) -> float:
    """Normalisation of α2: 3/5 in 3d, 1/2 in 2d."""
    return 3.0 / 5.0 if dim == 3 else 0.5


def _origin_targets(traj: Trajectory, origins, max_lag: float | None,
                    times: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Origin frames ``o`` and, for each, the end (exclusive) of its target frames o..end−1
    (all later frames, or those within ``max_lag``) — the pairs of :func:`_pairs` without the
    (P, 2) array (``times``: ``traj.times`` when the caller has them already)."""
    nf = len(traj)
    o = _origin_frames(nf, origins)
    times = np.asarray(traj.times if times is None else times, dtype=np.float64)
    if np.any(np.diff(times) <= 0):
        raise ValueError(f"{traj.path or '<memory>'}: frame times must increase strictly "
                         f"(first offending frame {int(np.flatnonzero(np.diff(times) <= 0)[0]) + 1})")
    if max_lag is None:
        return o, np.full(o.size, nf, dtype=np.int64)
    thr = max_lag * (1 + 1e-12) + 1e-300
    end = np.searchsorted(times, times[o] + thr, side="right").astype(np.int64)
    for j, i in enumerate(o):  # the same test as times[t] − times[i] ≤ thr, at the boundary
        e = max(int(end[j]), int(i) + 1)
        while e < nf and times[e] - times[i] <= thr:
            e += 1
        while e > i + 1 and not times[e - 1] - times[i] <= thr:
            e -= 1
        end[j] = e
    return o, end


class _PairPlan:
    """The (origin, target) pairs of one run in run/origin order, generated block by block."""

    def __init__(self, traj: Trajectory, o: np.ndarray, end: np.ndarray, keys: np.ndarray, times: np.ndarray,
                 steps: np.ndarray):
        self.traj, self.o, self.keys, self.times, self.steps = traj, o, keys, times, steps
        self.counts = (end - o).astype(np.int64)
        self.cum = np.cumsum(self.counts)
        self.n_pairs = int(self.cum[-1]) if self.cum.size else 0
        self.max_per_origin = int(self.counts.max(initial=0))

    def every_lag_from_every_origin(self) -> bool:
        """Every frame is an origin and origin o has the targets o … o + min(F − o, L) − 1, L the
        first origin's count: lag m (in frames) then has the origins 0 … F − m − 1, as the FFT and
        lag kernels assume. (A ``max_lag`` cut that rounding moves by one frame for some origins
        breaks it.)"""
        nf = len(self.traj)
        return bool(self.counts.size == nf and np.array_equal(self.o, np.arange(nf))
                    and np.array_equal(self.counts, np.minimum(nf - self.o, self.counts[0])))

    def lag_keys(self) -> np.ndarray:
        """Keys of lags 0 … L − 1 (frames) of a run with :meth:`every_lag_from_every_origin`."""
        return np.arange(int(self.counts[0])) * (self.keys[1] - self.keys[0])

    def lag_groups(self, gmap: np.ndarray, distinct: np.ndarray) -> np.ndarray:
        """Group index of each of :meth:`lag_keys`."""
        return gmap[np.searchsorted(distinct, self.lag_keys())]

    def pairs(self, p0: int, p1: int) -> np.ndarray:
        """Pairs p0..p1−1 as a (p1 − p0, 2) int64 array."""
        p = np.arange(p0, p1, dtype=np.int64)
        idx = np.searchsorted(self.cum, p, side="right")
        origin = self.o[idx]
        start = self.cum[idx] - self.counts[idx]
        return np.column_stack([origin, origin + (p - start)])


class _Budget:
    """How :func:`correlations` splits ``max_memory_mb`` between the unwrapped positions of a
    particle chunk (F × n_chunk × (48 + 16 n_k) bytes) and a block of origin/target pairs
    (≈ (120 + 64 n_sel) bytes per pair: the pairs, the kernel's per-pair sums and the temporaries
    of their reduction). Raises ``ValueError`` up front when the budget cannot hold one particle
    and one origin's pairs."""

    def __init__(self, n: int, n_frames: list[int], n_pairs: int, n_k: int, n_sel: int, max_memory_mb: float,
                 chunk_particles: int | None, max_per_origin: int):
        if not (float(max_memory_mb) > 0 and math.isfinite(float(max_memory_mb))):
            raise ValueError(f"max_memory_mb must be a positive number of megabytes, got {max_memory_mb}")
        budget = float(max_memory_mb) * 2**20
        f = max(n_frames)
        ppp = f * (48 + 16 * n_k)
        ppair = 120 + 64 * n_sel
        min_block = max(1, min(n_pairs, max(max_per_origin, 1)))
        if chunk_particles is not None:
            if int(chunk_particles) < 1:
                raise ValueError(f"chunk_particles must be ≥ 1, got {chunk_particles}")
            chunk = min(int(chunk_particles), n)
        else:
            need = ppp + min_block * ppair
            if budget < need:
                raise ValueError(
                    f"max_memory_mb={max_memory_mb:g} is too small to make progress: one particle over {f} frames "
                    f"({ppp / 2**20:.3g} MB with {n_k} wave vectors) plus the pairs of one time origin "
                    f"({min_block} pairs, {min_block * ppair / 2**20:.3g} MB) need {need / 2**20:.3g} MB; raise "
                    "max_memory_mb (CLI --memory-mb), or pass max_lag / fewer frames")
            pair_share = min(n_pairs * ppair, budget / 2)
            chunk = int(min(n, max(1, (budget - pair_share) // ppp)))
        left = budget - chunk * ppp
        self.pair_block = int(max(min_block, min(max(n_pairs, 1), left // ppair)))
        self.chunks = [(lo, min(lo + chunk, n)) for lo in range(0, n, chunk)]

    def blocks(self, n_pairs: int):
        for p0 in range(0, n_pairs, self.pair_block):
            yield p0, min(p0 + self.pair_block, n_pairs)


def _as_runs(traj) -> list[Trajectory]:
    trajs = [traj] if isinstance(traj, Trajectory) else list(traj)
    if not trajs:
        raise ValueError("no trajectory given")
    n0, sp0 = trajs[0].n_particles, trajs[0].species
    t0 = trajs[0].types
    for r, t in enumerate(trajs[1:], 1):
        if t.n_particles != n0 or t.species != sp0 or not np.array_equal(t.types, t0):
            raise ValueError(f"run {r} ({t.path or '<memory>'}) has a different particle set from run 0: "
                             "χ4 over runs needs independent trajectories of one state point (same N and species)")
    return trajs


def _group(runs: list[_Run], exact: bool, lag_tol: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group ids of all pairs (concatenated over runs), group lag keys, group lag times."""
    keys = np.concatenate([r.lag_key for r in runs])
    times = np.concatenate([r.lag_time for r in runs])
    span = max(float(np.max(np.abs(r.lag_time))) if r.lag_time.size else 0.0 for r in runs)
    tol = 0.0 if exact else lag_tol * max(span, 1e-300)
    gkeys, gid = _core.dynamics_group_lags(keys, tol)
    # lag time of a group: the time difference of its first pair (in run/origin order)
    first = np.full(len(gkeys), -1, dtype=np.int64)
    order = np.arange(len(gid))[::-1]
    first[gid[order]] = order
    return gid, gkeys, times[first]


def correlations(traj: Trajectory | Sequence[Trajectory], *, a: float = 0.3, k: float | None = None,
                 dk: float = 0.1, nk: int | None = 24, kvectors: np.ndarray | None = None,
                 origins: int | Sequence[int] | None = None, max_lag: float | None = None,
                 lag_tol: float = 1e-9, dim: int | None = None, alpha2_average: str = "pooled",
                 max_memory_mb: float = 1024.0, chunk_particles: int | None = None,
                 progress: bool | Callable[[int, int], None] | None = None,
                 n_threads: int | None = None, cage_relative: bool | None = None,
                 cage_radius: float | Mapping[str, float] | None = None,
                 quantities: Sequence[str] | None = None, method: str = "auto") -> pl.DataFrame:
    """MSD, overlap, χ4, F_s and α2 at every lag of the frame schedule (definitions §3), in one pass.

    Parameters
    ----------
    traj : a Trajectory, or several independent runs of one state point (χ4 then averages over
        the origins of all runs: ⟨⟩ over origins and runs).
    a : overlap cutoff (σ); q counts particles with |Δr| ≤ a (inclusive).
    k, dk, nk : F_s is averaged over up to ``nk`` reciprocal-lattice vectors with | |q| − k | < dk
        (:func:`shell_kvectors`). Default k: the first peak of S_AA estimated by
        :func:`first_peak_k`. ``kvectors`` (K, 3) overrides the shell.
    origins : None (all frames), an int (that many evenly spaced origin frames) or frame indices.
    max_lag : largest lag (time units) to compute.
    dim : the spatial dimension is the box's (``traj.dim``): it sets the α2 normalisation and D.
        Passing a ``dim`` that disagrees with the box raises ``ValueError``.
    alpha2_average : ``"pooled"`` (definitions §3.7: ⟨Δr⁴⟩ and ⟨Δr²⟩ pooled over particles and origins
        before the ratio) or ``"origin"`` (atooms-pp: the per-origin ratio averaged over origins).
    max_memory_mb, chunk_particles : memory budget (MB) for positions and origin/target pair blocks
        (see the module docs); ``chunk_particles`` fixes the particle-chunk size.
    progress : True/False, None (auto: when stderr is a terminal) or a callable ``cb(done, total)``.
    n_threads : None (the process default, :func:`glassrs.set_num_threads`) or a positive count.
    cage_relative : use the cage-relative displacement Δr_i^CR(t0, t) = Δr_i − (1/|n_i|) Σ_{j∈n_i} Δr_j,
        n_i the neighbours of i at the origin t0 within ``cage_radius`` (default: the first minimum
        of each g_uv, :func:`cage_radii`), in every correlator. It removes the collective motion
        (drift, long-wavelength phonons) that dominates plain displacements in 2D (Mermin–Wagner),
        so the default is True in 2D and False in 3D; the table parameters record the choice and
        the radii. Needs the whole unwrapped trajectory in memory (F × N × 24 bytes).

    quantities : the columns to compute, a subset of ``("msd", "overlap", "chi4", "fs", "alpha2")``
        (default: all). Only what is asked is computed: without ``"fs"`` no wave vectors are set
        up (no S(q) peak search) and the pass has no cos/sin work; ``"chi4"`` brings the overlap
        counts with it and ``"alpha2"`` the moments of |Δr|.
    method : ``"auto"`` (default), ``"direct"`` or ``"fft"``. The direct path sums over every
        (origin, target) pair; on a linear schedule with every frame an origin (``origins=None``,
        no cage-relative displacements) the MSD and F_s are FFT autocorrelations instead
        (O(N T log T); equal to the direct sums to ~1e-13 relative), chosen by ``"auto"`` — except
        the MSD when another column needs the direct pass anyway (it sums |Δr|² at no extra cost).
        On the same schedules ``"auto"`` sums the overlap, χ4 and the pooled α2 (and the MSD with
        them, or alone while that beats its FFT: up to ~60 frames) by lag instead of by (origin,
        target) pair — ``"lags"``: the same direct sums in another order (per particle, every
        origin of each lag; equal to the pair sums to rounding, ~1e-15 relative, the overlap and
        χ4 exactly), with several times less memory traffic. χ4 goes this way when one particle
        chunk holds the trajectory and its F × F count tables fit half of ``max_memory_mb``; the
        per-origin α2 needs per-pair values and is always ``"direct"``. ``"direct"`` forces the
        per-pair sums for every column, F_s included. The table parameters
        record the method of each column (``method``: "fft", "lags" or "direct").

    Returns
    -------
    Long table with columns ``species`` ("all", then each species), ``lag`` (time units),
    ``n_origins``, then the requested of ``msd`` (σ²), ``overlap``, ``chi4``, ``fs``, ``alpha2``
    (all by default); sorted by species then lag.
    ``fs`` is NaN when ``kvectors`` is empty (``np.zeros((0, 3))``: F_s skipped on purpose).
    α2 is NaN where the MSD is 0 (e.g. lag 0). Parameters are attached (``glassrs.params``).
    """
    if alpha2_average not in ("pooled", "origin"):
        raise ValueError(f"alpha2_average must be 'pooled' or 'origin', got {alpha2_average!r}")
    trajs = _as_runs(traj)
    t0 = trajs[0]
    species = list(t0.species)
    n_sp = len(species)
    types = np.ascontiguousarray(t0.types, dtype=np.int64)
    n = t0.n_particles
    dim = _box_dim(t0, dim)
    wanted = _quantities(quantities)
    if "fs" not in wanted:
        kvectors = np.zeros((0, 3))
    if cage_relative is None:
        cage_relative = dim == 2
    radii = cage_radii(t0, cage_radius) if cage_relative else None
    # wave vectors
    k_source = "user kvectors"
    if kvectors is None:
        if k is None:
            from glassrs.structure import first_peak
            k, peak = first_peak(t0)
            k_source = f"{peak['source']}, shells {peak['width']:g}, stride {peak['stride']}, frames {peak['frames']}"
        else:
            k_source = "user k"
        kvectors = shell_kvectors(t0.box, k, dk, nk)
    kvectors = np.ascontiguousarray(np.asarray(kvectors, dtype=np.float64).reshape(-1, 3))
    if max_lag is not None and not (float(max_lag) >= 0):
        raise ValueError(f"max_lag must be ≥ 0 (time units) or None for all lags, got {max_lag}")
    n_sel = 1 + n_sp
    n_k = len(kvectors)
    # origin/target pairs, never materialised all at once: per run, the targets of origin o are
    # frames o .. end[o]−1; blocks of consecutive pairs (in run/origin order) are generated on demand
    runs: list[_PairPlan] = []
    exact_all = True
    for t in trajs:
        # steps and times once per run (each is a pass over the frames)
        steps = t.steps
        times = np.asarray(t.times, dtype=np.float64)
        keys, exact = _lag_keys(t, steps)
        exact_all &= exact
        o, end = _origin_targets(t, origins, max_lag, times)
        runs.append(_PairPlan(t, o, end, keys, times, steps))
    if not exact_all:
        for r in runs:
            r.keys = r.times
    if method not in ("auto", "direct", "fft"):
        raise ValueError(f"method must be 'auto', 'direct' or 'fft', got {method!r}")
    fft_ok = (exact_all and origins is None and not cage_relative
              and all(_linear_steps(r.steps) and r.every_lag_from_every_origin() for r in runs))
    if method == "fft" and not fft_ok:
        raise ValueError("method='fft' needs a linear schedule (equal step increments, steps known) in every run, "
                         "every frame an origin (origins=None) with the same lags (max_lag) and plain displacements "
                         "(cage_relative=False)")
    fft_cols = {q for q in ("msd", "fs") if q in wanted} if (method != "direct" and fft_ok) else set()
    if "fs" in fft_cols and n_k == 0:
        fft_cols.discard("fs")
    budget = _Budget(n, [len(r.traj) for r in runs], max(r.n_pairs for r in runs), n_k, n_sel,
                     max_memory_mb, chunk_particles, max(r.max_per_origin for r in runs))
    # the lag kernel (every origin of a linear schedule summed per particle and lag, in cache) for
    # the overlap, the pooled α2 and χ4 (whose per-pair overlap counts it keeps in an F × (F + 8)
    # table per species — with one particle chunk only, as Σ C² is not additive over chunks, and
    # within half the memory budget for its at most 9 tables); the per-origin α2 needs per-pair
    # moments and keeps the per-pair pass
    lag_cols: set[str] = set()
    if (method == "auto" and fft_ok and not ("alpha2" in wanted and alpha2_average == "origin")
            and ("chi4" not in wanted or (len(budget.chunks) == 1 and all(
                9 * 8 * n_sp * len(r.traj) * (len(r.traj) + 8) <= max_memory_mb * 2**19 for r in runs)))):
        lag_cols = {q for q in ("overlap", "chi4", "alpha2") if q in wanted}
    direct_needed = bool((wanted - fft_cols - lag_cols) - {"n_origins"})
    if direct_needed:
        lag_cols = set()   # the per-pair pass runs anyway and sums every column
    if method == "auto" and (direct_needed or lag_cols) and "msd" in fft_cols:
        fft_cols.discard("msd")   # the pass that runs anyway sums |Δr|² exactly, at no extra cost
        if lag_cols:
            lag_cols.add("msd")
    elif (method == "auto" and "msd" in fft_cols and not direct_needed
          and all(r.n_pairs <= _LAGS_BEFORE_FFT * len(r.traj) for r in runs)):
        # the MSD alone: by lag the work grows with the pairs, by FFT with F log F
        fft_cols.discard("msd")
        lag_cols.add("msd")
    if "fs" in fft_cols:
        kvectors_direct = np.zeros((0, 3))
    else:
        kvectors_direct = kvectors
    # pass 1 (cheap, no kernel): the distinct lag keys and the time span, block by block — or,
    # without a per-pair pass (fft_ok: lag m is m·step from the origins 0 … F − m − 1), no pairs
    distinct = np.empty(0)
    span = 0.0
    for r in runs:
        if not direct_needed:
            distinct = np.union1d(distinct, r.lag_keys())
            continue
        for p0, p1 in budget.blocks(r.n_pairs):
            pr = r.pairs(p0, p1)
            distinct = np.union1d(distinct, np.unique(r.keys[pr[:, 1]] - r.keys[pr[:, 0]]))
            if len(pr):
                span = max(span, float(np.max(np.abs(r.times[pr[:, 1]] - r.times[pr[:, 0]]))))
    tol = 0.0 if exact_all else lag_tol * max(span, 1e-300)
    gkeys, gmap = _core.dynamics_group_lags(distinct, tol)
    ng = len(gkeys)
    # pass 2: per block, per particle chunk, the per-pair sums → reduced at once into per-lag accumulators
    tot = np.zeros((n_sel, ng, 4))
    s1 = np.zeros((n_sel, ng), dtype=np.int64)
    s2 = np.zeros((n_sel, ng), dtype=np.int64)
    rsum = np.zeros((n_sel, ng))
    n_orig = np.zeros(ng, dtype=np.int64)
    gtimes = np.full(ng, np.nan)
    seen = np.zeros(ng, dtype=bool)
    kv_kernel = kvectors_direct
    n_chunks = len(budget.chunks)
    total = sum(r.n_pairs for r in runs) * n_chunks
    done = 0
    def accumulate(r: _PairPlan, pr: np.ndarray, sums: np.ndarray) -> None:
        gid = gmap[np.searchsorted(distinct, r.keys[pr[:, 1]] - r.keys[pr[:, 0]])]
        n_orig[:] += np.bincount(gid, minlength=ng)
        # lag time of a group: the time difference of its first pair (in run/origin order)
        u, first = np.unique(gid, return_index=True)
        new = ~seen[u]
        gtimes[u[new]] = r.times[pr[first[new], 1]] - r.times[pr[first[new], 0]]
        seen[u] = True
        for s in range(n_sel):
            for col in range(4):
                tot[s, :, col] += np.bincount(gid, weights=sums[:, s, col], minlength=ng)
            # χ4 from the integer overlap counts C_p of each pair, exactly (int64 sums)
            cp = np.rint(sums[:, s, 2]).astype(np.int64)
            s1[s] += np.bincount(gid, weights=cp, minlength=ng).astype(np.int64)
            s2[s] += np.bincount(gid, weights=(cp * cp).astype(np.float64), minlength=ng).astype(np.int64)
            if alpha2_average == "origin":
                ns_s = n if s == 0 else int(np.sum(types == s - 1))
                if ns_s:
                    m2p = sums[:, s, 0] / ns_s
                    m4p = sums[:, s, 1] / ns_s
                    with np.errstate(divide="ignore", invalid="ignore"):
                        rp = np.where(m2p > 0, _a2c(dim) * m4p / (m2p * m2p) - 1.0, np.nan)
                    rsum[s] += np.bincount(gid, weights=rp, minlength=ng)

    cache: dict[int, np.ndarray] = {}

    def chunk_of(r: _PairPlan, lo: int, hi: int) -> np.ndarray:
        """Unwrapped positions of particles lo:hi of run r; loaded once per run when one chunk
        holds every particle (the passes below share it)."""
        if n_chunks > 1:
            return _unwrapped_chunk(r.traj, lo, hi)
        if id(r) not in cache:
            cache.clear()
            cache[id(r)] = _unwrapped_chunk(r.traj, lo, hi)
        return cache[id(r)]

    if not (direct_needed or lag_cols):
        total = 1   # only FFTs, which report no progress
    with _Progress(progress, "dynamics", total if not cage_relative else sum(r.n_pairs for r in runs)) as bar:
        for r in runs:
            if cage_relative:
                # per origin: positions relative to the origin's cages, then the same kernel
                x = _cage_unwrapped(r.traj, max_memory_mb)
                for y, local, mine in _cage_batches(r.traj, x, r.pairs(0, r.n_pairs), radii):
                    sums = _core.dynamics_pair_sums(y, types, n_sp, local, float(a), kv_kernel, bar.callback(done),
                                                    n_threads)
                    accumulate(r, mine, sums)
                    done += len(mine)
                continue
            if not direct_needed:
                # lag m has the origins 0 … F − m − 1; its time is that of the first pair, (0, m)
                gid = r.lag_groups(gmap, distinct)
                n_orig[gid] += len(r.traj) - np.arange(len(gid))
                new = ~seen[gid]
                gtimes[gid[new]] = r.times[np.arange(len(gid))[new]] - r.times[0]
                seen[gid] = True
            else:
                for p0, p1 in budget.blocks(r.n_pairs):
                    pr = r.pairs(p0, p1)
                    sums = None
                    for lo, hi in budget.chunks:
                        pos = chunk_of(r, lo, hi)
                        part = _core.dynamics_pair_sums(pos, types[lo:hi], n_sp, pr, float(a), kv_kernel,
                                                        bar.callback(done), n_threads)
                        if sums is None:
                            sums = part
                        else:
                            sums += part
                            del part
                        done += len(pr)
                        del pos
                    accumulate(r, pr, sums)
                    del sums
            if lag_cols:   # (no per-pair pass: gid is the lag groups from above)
                pc = "chi4" in lag_cols
                if pc and n_chunks != 1:
                    raise AssertionError("the lag path for chi4 needs one particle chunk")
                lt = np.zeros((len(gid), n_sel, 3))
                for lo, hi in budget.chunks:
                    # the kernel reports particle groups; the bar counts pair-particle work
                    cb = bar.callback(done)
                    part, mom = _core.dynamics_lag_sums(
                        chunk_of(r, lo, hi), types[lo:hi], n_sp, len(gid), float(a),
                        lambda d, t, cb=cb: cb(r.n_pairs * d // max(t, 1), r.n_pairs), n_threads,
                        moments4="alpha2" in lag_cols, overlap="overlap" in lag_cols and not pc, pair_counts=pc)
                    lt += part
                    done += r.n_pairs
                for s_ in range(n_sel):
                    for col in (0, 1):
                        tot[s_, :, col] += np.bincount(gid, weights=lt[:, s_, col], minlength=ng)
                    if pc:   # Σ C and Σ C² per lag, exact integers (np.add.at keeps int64)
                        np.add.at(s1[s_], gid, mom[:, s_, 0])
                        np.add.at(s2[s_], gid, mom[:, s_, 1])
                    else:
                        s1[s_] += np.rint(np.bincount(gid, weights=lt[:, s_, 2], minlength=ng)).astype(np.int64)
    fft_tot = {}
    if fft_cols:
        for r in runs:
            x = chunk_of(r, 0, n)
            gid = r.lag_groups(gmap, distinct)
            fm, ff = _fft_sums(x, types, n_sp, kvectors, "msd" in fft_cols, "fs" in fft_cols, len(gid) - 1,
                               lattice=_lattice_indices(r.traj.box, kvectors) if "fs" in fft_cols else None,
                               n_threads=n_threads)
            for name, arr in (("msd", fm), ("fs", ff)):
                if arr is not None:
                    acc = fft_tot.setdefault(name, np.zeros((n_sel, ng)))
                    for s_ in range(n_sel):
                        acc[s_] += np.bincount(gid, weights=arr[s_], minlength=ng)
    counts = [n] + [int(np.sum(types == u)) for u in range(n_sp)]
    names = ["all"] + species
    c = _a2c(dim)
    frames = []
    for s, (name, ns) in enumerate(zip(names, counts)):
        if ns == 0:
            continue
        # N[⟨q²⟩ − ⟨q⟩²] = (n_o ΣC² − (ΣC)²) / (n_o² N), in Python integers (no cancellation).
        chi4 = np.array([(int(no) * int(b) - int(a_) * int(a_)) / (int(no) * int(no) * ns)
                         for no, a_, b in zip(n_orig, s1[s], s2[s])], dtype=np.float64) if "chi4" in wanted else None
        q_mean = s1[s] / (n_orig * ns)
        norm = n_orig * ns
        msd = tot[s, :, 0] / norm
        m4 = tot[s, :, 1] / norm
        with np.errstate(divide="ignore", invalid="ignore"):
            if alpha2_average == "pooled":
                a2 = np.where(msd > 0, c * m4 / (msd * msd) - 1.0, np.nan)
            else:
                a2 = rsum[s] / n_orig
        fs = tot[s, :, 3] / norm if n_k else np.full(ng, np.nan)
        if "msd" in fft_tot:
            msd = fft_tot["msd"][s] / norm
        if "fs" in fft_tot:
            fs = fft_tot["fs"][s] / norm
        cols = {"msd": msd, "overlap": q_mean, "chi4": chi4, "fs": fs, "alpha2": a2}
        frames.append(pl.DataFrame({"species": [name] * ng, "lag": gtimes, "n_origins": n_orig,
                                    **{q: cols[q] for q in QUANTITIES if q in wanted}}))
    df = pl.concat(frames)
    kn = np.linalg.norm(kvectors, axis=1)
    return make_table(df, {
        "kind": "dynamics", "a": float(a), "overlap": "inclusive |dr| <= a", "k": None if k is None else float(k),
        "k_source": k_source, "dk": float(dk), "n_k": int(len(kvectors)),
        "k_mean": float(kn.mean()) if len(kn) else None, "dim": int(dim), "alpha2_average": alpha2_average,
        "quantities": [q for q in QUANTITIES if q in wanted],
        "method": {q: ("fft" if q in fft_cols else "lags" if q in lag_cols else "direct") for q in QUANTITIES
                   if q in wanted},
        "displacements": "cage-relative" if cage_relative else "plain", "cage_radius": radii,
        "origins": "all frames" if origins is None else (int(origins) if isinstance(origins, (int, np.integer))
                                                          else "explicit"),
        "max_lag": max_lag, "lag_grouping": "timestep difference" if exact_all else f"time difference, tol {lag_tol} x span",
        "n_runs": len(trajs), "n_particles": n, "species": species, "sources": [t.path for t in trajs],
        "max_memory_mb": float(max_memory_mb), "pair_block": budget.pair_block, "particle_chunks": n_chunks,
        **species_params(trajs[0]),
    })


# --------------------------------------------------------------------------------------------
# analysis of a correlation table
# --------------------------------------------------------------------------------------------
def _series(table: pl.DataFrame, column: str, species: str) -> tuple[np.ndarray, np.ndarray]:
    if column not in table.columns:
        raise ValueError(f"the table has no column {column!r} (its columns: {table.columns}); compute it with "
                         f"correlations(..., quantities=[..., {column!r}])")
    sub = table.filter(pl.col("species") == species).sort("lag")
    if sub.height == 0:
        raise ValueError(f"no rows for species {species!r}; available: {table['species'].unique().to_list()}")
    return sub["lag"].to_numpy(), sub[column].to_numpy()


def tau_alpha(table: pl.DataFrame, column: str = "overlap", threshold: float = ONE_OVER_E,
              species: str = "all") -> float:
    """First lag where ``column`` (``overlap`` or ``fs``) drops to ``threshold`` or below, linearly
    interpolated in ln τ between the bracketing lags (linear in τ when the earlier lag is 0).
    NaN if it never does."""
    t, y = _series(table, column, species)
    below = np.flatnonzero(y <= threshold)
    if below.size == 0:
        return float("nan")
    j = int(below[0])
    if j == 0:
        return float(t[0])
    t0, t1, y0, y1 = t[j - 1], t[j], y[j - 1], y[j]
    f = (threshold - y0) / (y1 - y0)
    if t0 <= 0:
        return float(t0 + f * (t1 - t0))
    return float(math.exp(math.log(t0) + f * (math.log(t1) - math.log(t0))))


def relaxation_times(table: pl.DataFrame, threshold: float = ONE_OVER_E, fs_threshold: float | None = None) -> pl.DataFrame:
    """τ_α per species from the overlap and from F_s: columns species, tau_q, tau_fs."""
    fs_threshold = threshold if fs_threshold is None else fs_threshold
    names = table["species"].unique(maintain_order=True).to_list()
    return make_table({"species": names,
                       "tau_q": [tau_alpha(table, "overlap", threshold, s) for s in names],
                       "tau_fs": [tau_alpha(table, "fs", fs_threshold, s) for s in names]},
                      {"kind": "relaxation_times", "threshold": threshold, "fs_threshold": fs_threshold})


def diffusion_constant(table: pl.DataFrame, t_min: float, t_max: float, species: str = "all",
                       dim: int | None = None) -> tuple[float, float]:
    """D (σ²/time) and its standard error from a least-squares line MSD = 2dDτ + c over lags in
    [t_min, t_max] (i.e. the slope of MSD/(2d) against τ). Needs at least 3 lags in range."""
    t, m = _series(table, "msd", species)
    sel = (t >= t_min) & (t <= t_max)
    if sel.sum() < 3:
        raise ValueError(f"only {int(sel.sum())} lags in [{t_min}, {t_max}]; need at least 3 to fit D")
    if dim is None:
        dim = table_params(table).get("dim")
        if dim is None:
            raise ValueError("the table records no dimension 'dim' (Polars operations such as filter drop glassrs "
                             "parameters): pass dim=3 or dim=2")
    dim = int(dim)
    if dim not in (2, 3):
        raise ValueError(f"dim must be 2 or 3, got {dim}")
    x, y = t[sel], m[sel]
    A = np.column_stack([x, np.ones_like(x)])
    coef, res, *_ = np.linalg.lstsq(A, y, rcond=None)
    dof = len(x) - 2
    resid = y - A @ coef
    s2 = float(resid @ resid) / dof if dof > 0 else 0.0
    cov = s2 * np.linalg.inv(A.T @ A)
    return float(coef[0] / (2 * dim)), float(math.sqrt(max(cov[0, 0], 0.0)) / (2 * dim))


def alpha2_peak(table: pl.DataFrame, species: str = "all") -> tuple[float, float, float]:
    """(t*, α2(t*), MSD(t*)): the lag of the largest α2 (no interpolation) and the MSD there —
    MSD(t*) is the p_hop threshold p_c of definitions §3.9."""
    sub = table.filter((pl.col("species") == species) & pl.col("alpha2").is_not_nan()).sort("lag")
    if sub.height == 0:
        raise ValueError(f"no finite α2 values for species {species!r}")
    j = int(np.argmax(sub["alpha2"].to_numpy()))
    return float(sub["lag"][j]), float(sub["alpha2"][j]), float(sub["msd"][j])


# --------------------------------------------------------------------------------------------
# van Hove
# --------------------------------------------------------------------------------------------
def _lag_pairs(traj: Trajectory, lags: Iterable[float], origins, lag_tol: float) -> list[tuple[float, np.ndarray]]:
    """For each requested lag, the available lag nearest to it and its (origin, target) pairs."""
    pairs = _pairs(traj, origins, None)
    keys, exact = _lag_keys(traj)
    times = np.asarray(traj.times, dtype=np.float64)
    run = _Run(traj, pairs, keys[pairs[:, 1]] - keys[pairs[:, 0]], times[pairs[:, 1]] - times[pairs[:, 0]])
    gid, _, gtimes = _group([run], exact, lag_tol)
    out = []
    for lag in lags:
        if not np.isfinite(lag):
            raise ValueError(f"lag {lag} is not finite (τ_α not reached in this trajectory?)")
        g = int(np.argmin(np.abs(gtimes - lag)))
        out.append((float(gtimes[g]), pairs[gid == g]))
    return out


def _default_lags(traj: Trajectory, lags) -> list[float]:
    if lags is not None:
        return [float(x) for x in np.atleast_1d(lags)]
    tab = correlations(traj, kvectors=np.zeros((0, 3)), progress=False)
    return [tau_alpha(tab, "overlap")]


def _cage_unwrapped(traj: Trajectory, max_memory_mb: float) -> np.ndarray:
    """The whole unwrapped trajectory (F, N, 3), which cage-relative displacements need (the
    cage of a particle is made of other particles); refused beyond ``max_memory_mb``."""
    need = len(traj) * traj.n_particles * 24 / 2**20
    if need > max_memory_mb:
        raise ValueError(f"cage-relative displacements need the unwrapped trajectory in memory ({need:.0f} MB > "
                         f"max_memory_mb = {max_memory_mb:g}); raise max_memory_mb or use fewer frames")
    return _unwrapped_chunk(traj, 0, traj.n_particles)


def _cage_batches(traj: Trajectory, x: np.ndarray, pairs: np.ndarray, radii: Mapping[str, float]):
    """For (origin, target) frame pairs of ``traj`` (unwrapped positions ``x``): per origin o, the
    cage-relative positions of o and its targets (:func:`cage_relative_positions` with the cage
    of frame o), the pairs in that array's frame indices and the original pairs, as
    (positions (F_o, N, 3), local pairs (P_o, 2), pairs (P_o, 2)) batches."""
    for o in np.unique(pairs[:, 0]).tolist():
        mine = pairs[pairs[:, 0] == o]
        frames = np.r_[o, mine[:, 1]]
        y = np.ascontiguousarray(cage_relative_positions(x[frames], cage_matrix(traj[o], radii)))
        local = np.column_stack([np.zeros(len(mine), np.int64), np.arange(1, len(mine) + 1, dtype=np.int64)])
        yield y, local, mine


def _histograms(traj, lags, origins, lag_tol, edges_fn, log10, max_memory_mb, chunk_particles, progress, n_bins=0,
                n_threads=None, radii=None):
    """Displacement histograms per lag and selection; cage-relative when ``radii`` (the cage
    radii) are given."""
    species = list(traj.species)
    n_sp = len(species)
    types = np.ascontiguousarray(traj.types, dtype=np.int64)
    n = traj.n_particles
    lp = _lag_pairs(traj, _default_lags(traj, lags), origins, lag_tol)
    chunks = _chunks(n, len(traj), max_memory_mb, chunk_particles)
    x_all = _cage_unwrapped(traj, max_memory_mb) if radii is not None else None

    def sources(pairs):
        """(positions, types, pairs) pieces whose histograms add up to the lag's histogram."""
        if radii is not None:
            for y, local, _ in _cage_batches(traj, x_all, pairs, radii):
                yield y, types, local
        else:
            for lo, hi in chunks:
                yield _unwrapped_chunk(traj, lo, hi), types[lo:hi], pairs
    edges = []  # per lag: list of per-selection edge arrays
    for lag, pairs in lp:
        if edges_fn is None:
            m = np.zeros(1 + n_sp)
            for pos, ty, pr in sources(pairs):
                m = np.maximum(m, _core.dynamics_max_displacement(pos, ty, n_sp, pr))
            edges.append([np.linspace(0.0, float(x) if x > 0 else 1e-300, n_bins + 1) for x in m])
        else:
            edges.append([np.asarray(edges_fn(lag), dtype=np.float64)] * (1 + n_sp))
    total = (len(chunks) if radii is None else 1) * sum(len(p) for _, p in lp)
    hists = [None] * len(lp)
    done = 0
    def add(j, pos, ty, pr):
        nonlocal done
        if edges_fn is not None:
            h = _core.dynamics_displacement_histogram(pos, ty, n_sp, pr, edges[j][0], log10, bar.callback(done), n_threads)
            hs = [h[s] for s in range(1 + n_sp)]
        else:
            hs = [_core.dynamics_displacement_histogram(pos, ty, n_sp, pr, edges[j][s], log10, bar.callback(done),
                                                        n_threads)[s] for s in range(1 + n_sp)]
        hists[j] = hs if hists[j] is None else [x + y for x, y in zip(hists[j], hs)]
        done += len(pr)

    with _Progress(progress, "van Hove", total) as bar:
        if radii is not None:
            for j, (lag, pairs) in enumerate(lp):
                for pos, ty, pr in sources(pairs):
                    add(j, pos, ty, pr)
        else:
            for lo, hi in chunks:   # positions of a particle chunk once, for every lag
                pos = _unwrapped_chunk(traj, lo, hi)
                for j, (lag, pairs) in enumerate(lp):
                    add(j, pos, types[lo:hi], pairs)
    counts = [n] + [int(np.sum(types == u)) for u in range(n_sp)]
    return species, lp, edges, hists, counts


def van_hove(traj: Trajectory, lags: Sequence[float] | float | None = None, *, bins: int = 50,
             r_max: float | None = None, origins=None, lag_tol: float = 1e-9, dim: int | None = None,
             max_memory_mb: float = 1024.0, chunk_particles: int | None = None, progress=None,
             n_threads: int | None = None, cage_relative: bool | None = None,
             cage_radius: float | Mapping[str, float] | None = None) -> pl.DataFrame:
    """Self van Hove function G_s(r, τ) (σ⁻³ in 3D), normalised so that ∫ 4πr² G_s dr = 1
    (2D: ∫ 2πr G_s dr = 1), at the available lags nearest to ``lags`` (default: τ_α of the
    overlap). ``bins`` equal bins on [0, r_max]; default r_max = the largest displacement at
    that lag for each selection (as atooms-pp). Columns: species, lag, n_origins, r_lo, r_hi, r
    (bin centre), gs. ``cage_relative``, ``cage_radius``: as :func:`correlations` (default:
    cage-relative in 2D)."""
    dim = _box_dim(traj, dim)
    radii = cage_radii(traj, cage_radius) if (dim == 2 if cage_relative is None else cage_relative) else None

    def edges_fn(lag):
        return np.linspace(0.0, float(r_max), bins + 1)
    species, lp, edges, hists, counts = _histograms(traj, lags, origins, lag_tol, None if r_max is None else edges_fn,
                                                    False, max_memory_mb, chunk_particles, progress, n_bins=bins,
                                                    n_threads=n_threads, radii=radii)
    rows = []
    for j, (lag, pairs) in enumerate(lp):
        for s, name in enumerate(["all"] + species):
            if counts[s] == 0:
                continue
            es = edges[j][s]
            shell = (4 / 3 * np.pi * (es[1:] ** 3 - es[:-1] ** 3)) if dim == 3 else np.pi * (es[1:] ** 2 - es[:-1] ** 2)
            with np.errstate(divide="ignore", invalid="ignore"):  # lag 0: all |Δr| = 0, G_s is a δ at 0
                gs = hists[j][s] / (len(pairs) * counts[s] * shell)
            rows.append(pl.DataFrame({"species": name, "lag": lag, "n_origins": len(pairs), "r_lo": es[:-1],
                                      "r_hi": es[1:], "r": 0.5 * (es[1:] + es[:-1]), "gs": gs}))
    return make_table(pl.concat(rows), {"kind": "van_hove", "bins": bins, "r_max": r_max, "dim": dim,
                                        "normalisation": "integral of 4 pi r^2 G_s dr = 1" if dim == 3 else
                                        "integral of 2 pi r G_s dr = 1",
                                        "displacements": "cage-relative" if radii else "plain", "cage_radius": radii,
                                        **species_params(traj)})


def log_displacements(traj: Trajectory, lags: Sequence[float] | float | None = None, *, bins: int = 60,
                      log_range: tuple[float, float] = (-3.0, 2.0), origins=None, lag_tol: float = 1e-9,
                      max_memory_mb: float = 1024.0, chunk_particles: int | None = None, progress=None,
                      n_threads: int | None = None, cage_relative: bool | None = None,
                      cage_radius: float | Mapping[str, float] | None = None) -> pl.DataFrame:
    """P(log10 δr) at the available lags nearest to ``lags`` (default τ_α): a histogram of
    log10|Δr| on ``bins`` equal bins over ``log_range`` with unit area (counts outside the range
    are dropped; the ``fraction_in_range`` column says how much was kept). Equals
    ln(10)·4π δr³ G_s(δr, τ) in 3D (definitions §3.8). Columns: species, lag, n_origins, log10_dr, p,
    fraction_in_range. ``cage_relative``, ``cage_radius``: as :func:`correlations` (default:
    cage-relative in 2D)."""
    edges = np.linspace(log_range[0], log_range[1], bins + 1)
    d = _box_dim(traj, None)
    radii = cage_radii(traj, cage_radius) if (d == 2 if cage_relative is None else cage_relative) else None
    species, lp, _, hists, counts = _histograms(traj, lags, origins, lag_tol, lambda lag: edges, True,
                                                max_memory_mb, chunk_particles, progress, n_threads=n_threads,
                                                radii=radii)
    rows = []
    w = np.diff(edges)
    for j, (lag, pairs) in enumerate(lp):
        for s, name in enumerate(["all"] + species):
            if counts[s] == 0:
                continue
            tot = len(pairs) * counts[s]
            h = hists[j][s]
            rows.append(pl.DataFrame({"species": name, "lag": lag, "n_origins": len(pairs),
                                      "log10_dr": 0.5 * (edges[1:] + edges[:-1]), "p": h / (tot * w),
                                      "fraction_in_range": float(h.sum() / tot)}))
    return make_table(pl.concat(rows), {"kind": "log_displacements", "bins": bins, "log_range": list(log_range),
                                        "displacements": "cage-relative" if radii else "plain", "cage_radius": radii,
                                        **species_params(traj)})


# --------------------------------------------------------------------------------------------
# p_hop
# --------------------------------------------------------------------------------------------
def phop_weights(times: Sequence[float]) -> np.ndarray:
    """Weight of each frame in the p_hop window averages (definitions §3.9): the time interval
    it stands for, from the midpoint with its previous frame to the midpoint with its next one,
    w_k = (t_{k+1} − t_{k−1})/2 (first and last frame: the full spacing to their one neighbour).
    On an evenly spaced schedule every weight is the frame spacing, so the weighted averages are
    plain frame means; on log or block-log schedules the dense frames do not dominate."""
    t = np.asarray(times, dtype=np.float64)
    if len(t) < 2:
        return np.ones(len(t))
    w = np.empty(len(t))
    w[1:-1] = 0.5 * (t[2:] - t[:-2])
    w[0] = t[1] - t[0]
    w[-1] = t[-1] - t[-2]
    return w


def phop_windows(times: Sequence[float], window: float, tol: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every frame k whose window [t_k − Δt/2, t_k + Δt/2] lies inside the trajectory (within
    ``tol`` time units): (k, lo, hi) with U = frames lo..k (t ≥ t_k − Δt/2 − tol) and V = frames
    k..hi (t ≤ t_k + Δt/2 + tol)."""
    t = np.asarray(times, dtype=np.float64)
    if not (window > 0 and np.isfinite(window)):
        raise ValueError(f"p_hop window must be finite and > 0, got {window}")
    if np.any(~(np.diff(t) > 0)):
        raise ValueError("p_hop needs strictly increasing frame times")
    h = 0.5 * float(window)
    k = np.flatnonzero((t - h >= t[0] - tol) & (t + h <= t[-1] + tol))
    lo = np.searchsorted(t, t[k] - h - tol, side="left")
    hi = np.searchsorted(t, t[k] + h + tol, side="right") - 1
    return k, lo, hi


def phop(traj: Trajectory, window: float = 15.0, *, time_tol: float = 1e-9, max_memory_mb: float = 1024.0,
         chunk_particles: int | None = None, progress=None, n_threads: int | None = None) -> pl.DataFrame:
    """p_hop(i, t) (σ², definitions §3.9) with windows U = [t − Δt/2, t], V = [t, t + Δt/2] (``window``
    = Δt in time units) on any frame schedule (linear, log, block-log).

    p_hop(i, t) = sqrt(⟨|r_i − ⟨r_i⟩_U|²⟩_V · ⟨|r_i − ⟨r_i⟩_V|²⟩_U), the averages over the frames
    of each window weighted by the time each frame stands for (:func:`phop_weights`; plain frame
    means on an evenly spaced schedule). Evaluated at every frame whose whole window lies inside
    the trajectory and whose U and V each hold at least two frames; on an uneven schedule the
    frames with a one-frame side are skipped (listed in the parameter ``skipped_frames``). Window
    membership uses a tolerance of ``time_tol`` × the trajectory span. ``n_threads``
    (:mod:`glassrs.parallel` policy, validated like every kernel's) applies to the unwrapping;
    the window averages are vectorised numpy over particles.

    Columns: frame, particle, species, phop. Parameters: window, units, weights, skipped_frames."""
    times = np.asarray(traj.times, dtype=np.float64)
    span = float(times[-1] - times[0]) if len(times) > 1 else 0.0
    tol = time_tol * max(span, 1e-300)
    kk, lo, hi = phop_windows(times, window, tol)
    if len(kk) == 0:
        raise ValueError(f"the p_hop window Δt = {window} is longer than the trajectory ({span:g} time units); "
                         "no frame has a full window")
    ok = (kk - lo >= 1) & (hi - kk >= 1)
    if not ok.any():
        j = 0
        raise ValueError(f"the p_hop window Δt = {window} holds a single frame on one side of frame {int(kk[j])} "
                         f"(frames {int(lo[j])}..={int(hi[j])}); use a window of at least twice the frame spacing")
    skipped = kk[~ok]
    kk, lo, hi = kk[ok], lo[ok], hi[ok]
    w = phop_weights(times)
    n = traj.n_particles
    types = traj.types
    ids = traj.first.ids if traj.first.ids is not None else np.arange(n, dtype=np.int64)
    chunks = _chunks(n, len(traj), max_memory_mb, chunk_particles)
    vals = np.empty((len(kk), n))
    import contextlib

    from glassrs.parallel import threads
    with (threads(n_threads) if n_threads is not None else contextlib.nullcontext()), \
            _Progress(progress, "p_hop", len(chunks) * len(kk)) as bar:
        for c, (a, b) in enumerate(chunks):
            pos = _unwrapped_chunk(traj, a, b)
            cb = bar.callback(c * len(kk))
            for row, (k, l, h) in enumerate(zip(kk.tolist(), lo.tolist(), hi.tolist())):
                ref = pos[k]                                   # centre on r(t_k): no cancellation
                U, V = pos[l:k + 1] - ref, pos[k:h + 1] - ref
                wu, wv = w[l:k + 1], w[k:h + 1]
                mu = np.tensordot(wu, U, axes=(0, 0)) / wu.sum()
                mv = np.tensordot(wv, V, axes=(0, 0)) / wv.sum()
                A = np.tensordot(wv, np.sum((V - mu) ** 2, axis=2), axes=(0, 0)) / wv.sum()
                B = np.tensordot(wu, np.sum((U - mv) ** 2, axis=2), axes=(0, 0)) / wu.sum()
                vals[row, a:b] = np.sqrt(A * B)
                if (row + 1) % 16 == 0 or row + 1 == len(kk):
                    cb(row + 1, len(kk))
    nf = len(kk)
    sp = np.asarray(traj.species, dtype=object)[types]
    df = pl.DataFrame({
        "frame": np.repeat(kk.astype(np.int64), n), "particle": np.tile(ids, nf),
        "species": pl.Series(np.tile(sp, nf), dtype=pl.String), "phop": vals.reshape(-1),
    })
    even = bool(np.allclose(w, w[0], rtol=1e-9, atol=0))
    return make_table(df, {"kind": "phop", "window": float(window), "units": "length^2",
                           "weights": "frame means (even schedule)" if even else
                           "time each frame stands for (midpoints to its neighbours)",
                           "skipped_frames": skipped.astype(int).tolist(), **species_params(traj)})


def rearrangements(traj: Trajectory, window: float = 15.0, *, p_c: float | None = None,
                   table: pl.DataFrame | None = None, **kwargs) -> pl.DataFrame:
    """The rearrangement table: frame, particle, species, phop, rearranging (p_hop > p_c).
    Default p_c = MSD(t*) of all particles, t* = argmax α2 (definitions §3.9), from ``table`` (a
    :func:`correlations` table of this trajectory) or computed here."""
    if p_c is None:
        if table is None:
            table = correlations(traj, kvectors=np.zeros((0, 3)), progress=kwargs.get("progress"))
        t_star, a2, p_c = alpha2_peak(table)
        source = f"MSD(t*) at t*={t_star:g} (alpha2={a2:.4g})"
    else:
        source = "user"
    df = phop(traj, window, **kwargs)
    df = df.with_columns((pl.col("phop") > float(p_c)).alias("rearranging"))
    return make_table(df, {"kind": "rearrangements", "window": float(window), "p_c": float(p_c), "p_c_source": source,
                           **species_params(traj)})


# --------------------------------------------------------------------------------------------
# four-point structure factor S4(k, τ) and the dynamic length ξ4
# --------------------------------------------------------------------------------------------
def lattice_kvectors(box, k_max: float, *, dim: int | None = None) -> np.ndarray:
    """All reciprocal-lattice vectors (M, 3) of ``box`` with 0 < |k| ≤ k_max (σ⁻¹), one of each ±k
    pair (the first non-zero Miller index positive), sorted by |k| then by Miller indices. In a 2D
    box (or with ``dim=2``) the vectors lie in the plane of the first two box vectors."""
    if dim is None:
        dim = getattr(box, "dim", 3)
    if not (k_max > 0 and np.isfinite(k_max)):
        raise ValueError(f"k_max must be a positive number (σ⁻¹), got {k_max}")
    h = np.asarray(box.matrix if hasattr(box, "matrix") else box, dtype=float)
    b = _reciprocal(h)
    nmax = [int(math.ceil(k_max / (2 * np.pi) * np.linalg.norm(h[:, i]))) + 1 for i in range(3)]
    if dim == 2:
        nmax[2] = 0
    g = np.stack(np.meshgrid(*[np.arange(-m, m + 1) for m in nmax], indexing="ij"), -1).reshape(-1, 3)
    nz = np.where(g[:, 0] != 0, g[:, 0], np.where(g[:, 1] != 0, g[:, 1], g[:, 2]))
    g = g[nz > 0]
    q = g @ b.T
    qn = np.linalg.norm(q, axis=1)
    sel = qn <= k_max * (1 + 1e-12)
    q, g, qn = q[sel], g[sel], qn[sel]
    order = np.lexsort((g[:, 2], g[:, 1], g[:, 0], np.round(qn, 9)))
    return np.ascontiguousarray(q[order])


def _shells(kn: np.ndarray, dk: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Shell index of each |k| and the shell labels: exact |k| values (merged within 1e-9
    relative) when ``dk`` is None, else bins of width dk starting at 0."""
    if dk is None:
        u = np.unique(np.round(kn, 9))
        return np.searchsorted(u, np.round(kn, 9)), u
    if not dk > 0:
        raise ValueError(f"dk must be > 0, got {dk}")
    idx = np.floor(kn / dk).astype(np.int64)
    u, inv = np.unique(idx, return_inverse=True)
    return inv, u.astype(float)


def s4(traj: Trajectory | Sequence[Trajectory], lags: Sequence[float] | float | None = None, *, a: float = 0.3,
       k_max: float = 3.0, dk: float | None = None, origins=None, n_blocks: int = 8, lag_tol: float = 1e-9,
       dim: int | None = None, progress=None) -> pl.DataFrame:
    """Four-point structure factor S4(k, τ) of the overlap field (definitions §3.11).

    With w_j(τ) = Θ(a − |Δr_j(τ)|) (inclusive) of each particle of a selection at one origin and
    W(k, τ) = Σ_j w_j e^{i k·r_j(0)} (origin positions),
    S4(k, τ) = (1/N) [⟨|W(k, τ)|²⟩ − |⟨W(k, τ)⟩|²], ⟨⟩ over origins (and runs), N the particles of
    the selection ("all", then each species). At k = 0 this is χ4 of the same origins
    (definitions §3.5); the k → 0 limit of the fit (:func:`xi4`) differs from it in a finite box.

    ``lags``: the available lags nearest to these (default τ_α of the overlap). Wave vectors: every
    reciprocal-lattice vector with 0 < |k| ≤ ``k_max`` (σ⁻¹, :func:`lattice_kvectors`), averaged
    over shells — each distinct |k| (``dk=None``) or bins of width ``dk``; the k = 0 shell is
    included. ``origins``: as :func:`correlations`. ``dim`` must agree with the box (the dimension
    is the box's). The overlap field uses plain displacements, in 2D too (no cage-relative S4 in
    this version).

    Uncertainty: with several runs the unit is the run; with one trajectory the origins are split
    into ``n_blocks`` contiguous time blocks. A unit's value is (1/N)[⟨|W|²⟩_unit − |⟨W⟩|²]
    (the mean ⟨W⟩ of all origins subtracted), so the estimate is the origin-weighted mean of the
    unit values; ``stderr`` = their standard deviation / √(units). Per-unit values and origin
    counts are kept (``s4_units``, ``origins_units``) for the bootstrap of :func:`xi4`.

    Returns: ``species``, ``lag``, ``n_origins``, ``shell``, ``k`` (mean |k| of the shell, σ⁻¹),
    ``n_k``, ``s4``, ``stderr``, ``n_units``, ``unit``, ``s4_units``, ``origins_units``.
    """
    trajs = _as_runs(traj)
    t0 = trajs[0]
    if not (a > 0 and np.isfinite(a)):
        raise ValueError(f"overlap cutoff a must be positive, got {a}")
    dim = _box_dim(t0, dim)
    kv = lattice_kvectors(t0.box, k_max, dim=dim)
    if len(kv) == 0:
        raise ValueError(f"no reciprocal-lattice vector with |k| ≤ k_max = {k_max}: raise k_max")
    kn = np.linalg.norm(kv, axis=1)
    shell_of, labels = _shells(kn, dk)
    ns = len(labels)
    types = np.asarray(t0.types)
    names = ["all"] + list(t0.species)
    sels = [np.ones(len(types), bool)] + [types == u for u in range(len(t0.species))]
    sizes = [int(m.sum()) for m in sels]
    want = _default_lags(t0, lags)
    multi = len(trajs) > 1
    # acc[(lag j, sel s, unit u)] = (n, Σ W (K+1), Σ |W|² (K+1)); column 0 is k = 0
    acc: dict[tuple[int, int, int], list] = {}
    lag_values = None
    with _Progress(progress, "S4", len(trajs)) as bar:
        for r, t in enumerate(trajs):
            lp = _lag_pairs(t, want, origins, lag_tol)
            if lag_values is None:
                lag_values = [lg for lg, _ in lp]
            u = _unwrapped_chunk(t, 0, t.n_particles)
            all_origins = np.unique(np.concatenate([p[:, 0] for _, p in lp])) if lp else np.empty(0, np.int64)
            blk = dict(zip(all_origins.tolist(), _blocks_of(len(all_origins), n_blocks).tolist()))
            cache: dict[int, np.ndarray] = {}
            for j, (_, pairs) in enumerate(lp):
                for o, tt in pairs.tolist():
                    if o not in cache:
                        if len(cache) > 64:
                            cache.clear()
                        ph = u[o] @ kv.T
                        cache[o] = np.concatenate([np.ones((len(types), 1)), np.exp(1j * ph)], axis=1)
                    E = cache[o]
                    w = (np.sqrt(((u[tt] - u[o]) ** 2).sum(axis=1)) <= a).astype(float)
                    unit = r if multi else blk[o]
                    for s, m in enumerate(sels):
                        if sizes[s] == 0:
                            continue
                        W = (w[m]) @ E[m]
                        key = (j, s, unit)
                        if key not in acc:
                            acc[key] = [0, np.zeros(len(kv) + 1, complex), np.zeros(len(kv) + 1)]
                        e = acc[key]
                        e[0] += 1
                        e[1] += W
                        e[2] += (W * W.conj()).real
            bar.callback(0)(r + 1, len(trajs))
    rows = []
    for j, lag in enumerate(lag_values or []):
        for s, name in enumerate(names):
            if sizes[s] == 0:
                continue
            units = sorted(uu for (jj, ss, uu) in acc if jj == j and ss == s)
            if not units:
                continue
            n_u = np.array([acc[(j, s, uu)][0] for uu in units], float)
            sw = sum(acc[(j, s, uu)][1] for uu in units)
            mean_w = sw / n_u.sum()
            # per unit, per wave vector: (1/N) ⟨|W − ⟨W⟩|²⟩_unit with the mean ⟨W⟩ of all origins; the
            # origin-weighted mean over units is exactly (1/N)[⟨|W|²⟩ − |⟨W⟩|²]
            per_k = np.stack([(acc[(j, s, uu)][2] - 2.0 * (np.conj(mean_w) * acc[(j, s, uu)][1]).real)
                              / acc[(j, s, uu)][0] for uu in units]) + np.abs(mean_w) ** 2
            per_k /= sizes[s]
            shell_vals = [per_k[:, :1]] + [per_k[:, 1:][:, shell_of == b].mean(axis=1, keepdims=True)
                                           for b in range(ns)]
            U = np.concatenate(shell_vals, axis=1)          # (units, 1 + shells)
            est = (n_u[:, None] * U).sum(axis=0) / n_u.sum()
            se = U.std(axis=0, ddof=1) / math.sqrt(len(units)) if len(units) > 1 else np.full(U.shape[1], np.nan)
            kmean = [0.0] + [float(kn[shell_of == b].mean()) for b in range(ns)]
            nk = [1] + [int((shell_of == b).sum()) for b in range(ns)]
            for c in range(U.shape[1]):
                rows.append({"species": name, "lag": float(lag), "n_origins": int(n_u.sum()), "shell": c,
                             "k": kmean[c], "n_k": nk[c], "s4": float(est[c]), "stderr": float(se[c]),
                             "n_units": len(units), "unit": "runs" if multi else "time blocks of origins",
                             "s4_units": U[:, c].tolist(), "origins_units": n_u.astype(np.int64).tolist()})
    schema = {"species": pl.String, "lag": pl.Float64, "n_origins": pl.Int64, "shell": pl.Int64, "k": pl.Float64,
              "n_k": pl.Int64, "s4": pl.Float64, "stderr": pl.Float64, "n_units": pl.Int64, "unit": pl.String,
              "s4_units": pl.List(pl.Float64), "origins_units": pl.List(pl.Int64)}
    return make_table(pl.DataFrame(rows, schema=schema), {
        "kind": "s4", "a": float(a), "overlap": "inclusive |dr| <= a", "k_max": float(k_max),
        "shells": "distinct |k|" if dk is None else f"bins of width {dk}", "dk": dk, "n_kvectors": int(len(kv)),
        "field": "w_j = overlap of particle j, at its origin position", "subtracted": "|<W(k)>|^2 over all origins",
        "unit": "runs" if multi else "time blocks of origins", "n_blocks": None if multi else int(n_blocks),
        "n_runs": len(trajs), "dim": int(dim), "origins": "all frames" if origins is None else str(origins),
        **species_params(t0)})


def _blocks_of(n: int, n_blocks: int) -> np.ndarray:
    nb = max(1, min(int(n_blocks), n))
    return (np.arange(n) * nb) // max(n, 1)


def xi4(s4_table: pl.DataFrame, *, k_fit_max: float = 2.0, k_fit_min: float = 0.0, n_boot: int = 1000,
        level: float = 0.95, seed: int = 0) -> pl.DataFrame:
    """Dynamic length ξ4(τ) and χ4(k → 0) from an Ornstein–Zernike fit of an :func:`s4` table
    (definitions §3.11): S4(k) = χ4(0) / (1 + (k ξ4)²) over the shells with
    ``k_fit_min`` < k ≤ ``k_fit_max`` (σ⁻¹; default 2.0, below the first peak of S(k) where the
    OZ form holds), per species and lag, by :func:`glassrs.fits.ornstein_zernike` weighted by the
    shells' standard errors.

    Errors: ``*_stderr`` from the fit covariance; ``*_ci_low``/``*_ci_high`` a percentile bootstrap
    over the table's independent units (runs or time blocks): the same resample of units for all
    shells (they are correlated), S4 recomputed as the origin-weighted mean of the drawn units,
    refitted. ``n_failed`` counts refits that failed.

    Returns: ``species``, ``lag``, ``chi4_0``, ``chi4_0_stderr``, ``chi4_0_ci_low``,
    ``chi4_0_ci_high``, ``xi4`` (σ), ``xi4_stderr``, ``xi4_ci_low``, ``xi4_ci_high``, ``chi4_k0``
    (S4 at k = 0 of the same origins), ``n_shells``, ``k_fit_min``, ``k_fit_max`` (the k of the
    shells used), ``n_units``, ``unit``, ``n_failed``; the fit range is in the parameters.
    """
    from glassrs import fits

    need = {"species", "lag", "k", "s4", "stderr", "s4_units", "origins_units"}
    if not need <= set(s4_table.columns):
        raise ValueError(f"xi4 needs an s4 table with columns {sorted(need)}, has {s4_table.columns}")
    if not k_fit_max > k_fit_min:
        raise ValueError(f"k_fit_max ({k_fit_max}) must exceed k_fit_min ({k_fit_min})")
    rng_seed = int(seed)
    rows = []
    for (sp, lag), sub in s4_table.sort("species", "lag", "k").group_by(["species", "lag"], maintain_order=True):
        k0 = sub.filter(pl.col("k") == 0)
        chi_k0 = float(k0["s4"][0]) if k0.height else float("nan")
        fit = sub.filter((pl.col("k") > max(k_fit_min, 0.0)) & (pl.col("k") <= k_fit_max * (1 + 1e-12)))
        row = {"species": sp, "lag": float(lag), "chi4_k0": chi_k0, "n_shells": fit.height,
               "k_fit_min": float(fit["k"].min()) if fit.height else float("nan"),
               "k_fit_max": float(fit["k"].max()) if fit.height else float("nan"),
               "n_units": int(sub["n_units"][0]), "unit": sub["unit"][0], "n_failed": 0}
        for nm in ("chi4_0", "xi4"):
            for suf in ("", "_stderr", "_ci_low", "_ci_high"):
                row[nm + suf] = float("nan")
        k = fit["k"].to_numpy()
        y = fit["s4"].to_numpy()
        sig = fit["stderr"].to_numpy()
        sig = sig if np.all(np.isfinite(sig) & (sig > 0)) else None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r = fits.ornstein_zernike(k, y, sigma=sig)
        except (ValueError, RuntimeError, TypeError):
            rows.append(row)
            continue
        for nm in ("chi4_0", "xi4"):
            row[nm], row[nm + "_stderr"] = r.params[nm], r.stderr[nm]
        U = np.array(fit["s4_units"].to_list(), float)            # (shells, units)
        w = np.array(fit["origins_units"][0], float)
        nu = U.shape[1]
        if nu > 1 and n_boot:
            key = hashlib.blake2b(repr((sp, float(lag))).encode(), digest_size=4).digest()
            rng = np.random.default_rng([rng_seed, int.from_bytes(key, "little")])
            draws, failed = [], 0
            for _ in range(int(n_boot)):
                idx = rng.integers(0, nu, nu)
                yb = (U[:, idx] * w[idx]).sum(axis=1) / w[idx].sum()
                sb = U[:, idx].std(axis=1, ddof=1) / math.sqrt(nu)
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        rb = fits.ornstein_zernike(k, yb, sigma=sb if np.all(sb > 0) else None)
                    draws.append([rb.params["chi4_0"], rb.params["xi4"]])
                except (ValueError, RuntimeError, TypeError):
                    failed += 1
            if draws:
                lo, hi = np.quantile(np.array(draws), [(1 - level) / 2, (1 + level) / 2], axis=0)
                row.update({"chi4_0_ci_low": lo[0], "chi4_0_ci_high": hi[0], "xi4_ci_low": lo[1], "xi4_ci_high": hi[1]})
            row["n_failed"] = failed
        rows.append(row)
    cols = ["species", "lag", "chi4_0", "chi4_0_stderr", "chi4_0_ci_low", "chi4_0_ci_high", "xi4", "xi4_stderr",
            "xi4_ci_low", "xi4_ci_high", "chi4_k0", "n_shells", "k_fit_min", "k_fit_max", "n_units", "unit", "n_failed"]
    out = pl.DataFrame(rows).select(cols)
    return make_table(out, {**table_params(s4_table), "kind": "xi4", "model": "S4 = chi4_0 / (1 + (k xi4)^2)",
                            "fit_range": [float(k_fit_min), float(k_fit_max)], "k_fit_min": float(k_fit_min),
                            "k_fit_max": float(k_fit_max), "weights": "1/stderr^2 of the shells",
                            "n_boot": int(n_boot), "level": level, "seed": rng_seed,
                            "interval": "percentile bootstrap over units, all shells resampled together"})


# --------------------------------------------------------------------------------------------
# time-block intervals of the relaxation of one trajectory
# --------------------------------------------------------------------------------------------
RELAXATION_QUANTITIES = ("tau_alpha", "D", "alpha2_peak", "alpha2_peak_time", "msd_at_peak")


def _relaxation_row(tab: pl.DataFrame, species: str, threshold: float, D_range, dim: int) -> dict[str, float]:
    tau = tau_alpha(tab, "overlap", threshold, species)
    t, m = _series(tab, "msd", species)
    lo, hi = D_range if D_range is not None else (float(t[np.argmax(m >= 1.0)]) if np.any(m >= 1.0) else np.inf,
                                                   0.5 * float(t[-1]))
    try:
        D = diffusion_constant(tab, lo, hi, species, dim=dim)[0]
    except ValueError:
        D = float("nan")
    ts, a2, msd = alpha2_peak(tab, species)
    return {"tau_alpha": tau, "D": D, "alpha2_peak": a2, "alpha2_peak_time": ts, "msd_at_peak": msd}


def relaxation_blocks(traj: Trajectory, *, n_blocks: int = 4, threshold: float = ONE_OVER_E,
                      D_range: tuple[float, float] | None = None, **kwargs) -> pl.DataFrame:
    """τ_α, D, the α2 peak and the MSD there from each of ``n_blocks`` contiguous time blocks of
    origins of one trajectory (the unit of the intervals of :func:`relaxation_ci`).

    The origins (every frame, in time order) are split into blocks as in :func:`s4`; block b
    uses its origins with every later frame as target (lags up to the end of the trajectory), via
    :func:`correlations` (``kwargs`` passed on; no F_s). Per block and species (``all`` and each
    species): ``tau_alpha`` (overlap = ``threshold``, time units), ``D`` (σ²/time, the MSD slope
    over ``D_range``; default from the first lag with MSD ≥ 1 σ² to half the longest lag; NaN
    with fewer than 3 lags there), ``alpha2_peak``, ``alpha2_peak_time`` and ``msd_at_peak`` (σ²).
    Blocks share targets, so at lags comparable to the block length they are not independent:
    use blocks much longer than τ_α. Columns: block, species, n_origins, and the quantities."""
    nb = int(n_blocks)
    if nb < 2:
        raise ValueError(f"time-block intervals need n_blocks ≥ 2, got {n_blocks}")
    origins = np.arange(len(traj))
    blk = _blocks_of(len(origins), nb)
    dim = _box_dim(traj, kwargs.pop("dim", None))
    kwargs.setdefault("progress", False)
    rows = []
    for b in range(int(blk.max()) + 1):
        o = origins[blk == b]
        tab = correlations(traj, origins=o.tolist(), kvectors=np.zeros((0, 3)), **kwargs)
        for sp in tab["species"].unique(maintain_order=True).to_list():
            rows.append({"block": b, "species": sp, "n_origins": len(o),
                         **_relaxation_row(tab, sp, threshold, D_range, dim)})
    return make_table(pl.DataFrame(rows), {"kind": "relaxation_blocks", "n_blocks": nb, "threshold": threshold,
                                           "D_range": None if D_range is None else list(D_range),
                                           "unit": "time blocks of origins"})


def relaxation_ci(traj: Trajectory, *, n_blocks: int = 4, n_boot: int = 1000, level: float = 0.95, seed: int = 0,
                  threshold: float = ONE_OVER_E, D_range: tuple[float, float] | None = None,
                  blocks: pl.DataFrame | None = None, **kwargs) -> pl.DataFrame:
    """τ_α, D and the α2 peak of one trajectory with percentile bootstrap intervals over time blocks
    of origins (the independent units of one run; never its particles).

    ``value`` is the estimate from all origins (:func:`correlations` of the whole trajectory);
    ``mean``, ``ci_low``, ``ci_high`` are the mean of the per-block values and the bootstrap
    interval of that mean (:func:`glassrs.campaign.reduce.bootstrap_mean`, unit ``block``) from
    :func:`relaxation_blocks` (or the given ``blocks`` table). Few blocks give a narrow, optimistic
    percentile interval (with 4 blocks a nominal 95 % interval covers far less): prefer several
    runs or configurations when they exist. Columns: species, quantity, value, mean, ci_low,
    ci_high, n_units, unit; parameters record the blocks and the level."""
    from glassrs.campaign.reduce import bootstrap_mean

    per = blocks if blocks is not None else relaxation_blocks(traj, n_blocks=n_blocks, threshold=threshold,
                                                             D_range=D_range, **kwargs)
    dim = _box_dim(traj, kwargs.pop("dim", None))
    kwargs.setdefault("progress", False)
    full = correlations(traj, kvectors=np.zeros((0, 3)), **kwargs)
    parts = []
    for q in RELAXATION_QUANTITIES:
        ci = bootstrap_mean(per, q, ["species"], unit="block", n_boot=n_boot, level=level, seed=seed,
                            unit_label="time blocks of origins")
        vals = {sp: _relaxation_row(full, sp, threshold, D_range, dim)[q] for sp in ci["species"].to_list()}
        parts.append(ci.with_columns(pl.lit(q).alias("quantity"),
                                     pl.col("species").replace_strict(vals, return_dtype=pl.Float64).alias("value")))
    out = pl.concat(parts).select("species", "quantity", "value", "mean", "ci_low", "ci_high", "n_units", "unit")
    return make_table(out, {"kind": "relaxation_ci", "n_blocks": int(per["block"].n_unique()), "n_boot": int(n_boot),
                            "level": level, "seed": int(seed), "unit": "time blocks of origins",
                            "interval": "percentile bootstrap of the mean over blocks"})
