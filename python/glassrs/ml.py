"""Machine-learned softness (Cubuk, Schoenholz et al., PRL 114, 108001 (2015); Schoenholz et al.,
Nat. Phys. 12, 469 (2016)): radial structure functions, rearrangement labels from p_hop, a linear
support-vector machine and the softness S_ML = signed distance to its hyperplane.

Units: lengths in σ (σ_AA), times in τ, p_hop in σ² (definitions §3.9), T in ε/k_B.

* :func:`structure_functions` — G_X(i; μ) = Σ_{j≠i, type j = X} exp[−(r_ij − μ)²/(2L²)] per particle.
* :func:`training_labels` — rearranging (p_hop > p_c) and non-rearranging (p_hop < p_low for a
  whole duration around the frame) particle-frames.
* :func:`train_softness` — the linear SVM on standardised structure functions, one species, balanced
  classes, a held-out split in time; returns a :class:`SoftnessModel`.
* :func:`softness` — S_ML of every particle of the model's species in new frames.
* :func:`rearrangement_probability` — P_R(S_ML) through :func:`glassrs.stats.rearrangement_probability`.
* :func:`spearman_table` — Spearman ρ of S_ML against other per-particle columns (the caging-potential
  local softness, the SOP), per species, through :func:`glassrs.stats.spearman`.

scikit-learn is needed for training only (``pip install "glassrs[ml]"``); applying a trained model
uses numpy alone.

>>> model = gr.ml.train_softness(gr.datasets.kob_andersen(0.6), species="A", seed=0)
>>> model.accuracy, model.accuracy_ci
>>> s = gr.ml.softness(model, traj)                 # frame, particle, species, S_ML
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import polars as pl

from glassrs import _core
from glassrs.tables import make_table, params as table_params
from glassrs.trajectory import Frame, Trajectory, as_trajectory, frame_indices, particle_ids, species_params

__all__ = [
    "DEFAULT_MUS", "DEFAULT_WIDTH", "DEFAULT_TRUNCATION", "DEFAULT_ANGULAR", "mu_grid", "feature_names", "structure_functions",
    "training_labels", "SoftnessModel", "train_softness", "softness", "rearrangement_probability",
    "spearman_table",
]

#: default width L of the Gaussian shells (σ), as in Cubuk et al. and Schoenholz et al.
DEFAULT_WIDTH = 0.1
#: neighbours are summed while r_ij < μ_max + DEFAULT_TRUNCATION·L
DEFAULT_TRUNCATION = 3.0


def mu_grid(start: float = 0.5, stop: float = 3.0, step: float = 0.1) -> np.ndarray:
    """Shell centres μ = start, start + step, …, stop (σ; both ends included), rounded to 12 decimals
    so that column names are exact (0.3, not 0.30000000000000004)."""
    if not (np.isfinite(start) and np.isfinite(stop) and np.isfinite(step) and step > 0 and stop >= start >= 0):
        raise ValueError(f"mu_grid needs 0 ≤ start ≤ stop and step > 0 (σ), got start={start}, stop={stop}, "
                         f"step={step}")
    n = int(math.floor((stop - start) / step + 1e-9)) + 1
    return np.round(start + step * np.arange(n), 12)


#: default shell centres (σ): 0.5 … 3.0 in steps of 0.1 — 26 values per neighbour species
DEFAULT_MUS = mu_grid()


#: the angular grid used with ``angular=True``: ξ (σ), λ, ζ and the neighbour range r_max (σ)
DEFAULT_ANGULAR = {"xi": [1.0, 1.5], "lambda": [-1.0, 1.0], "zeta": [1.0, 2.0, 4.0], "r_max": 2.0}


def _check_angular(angular) -> dict | None:
    """The angular grid as a plain dict (xi, lambda, zeta as float lists; r_max), validated; None
    when no angular functions are wanted."""
    if angular is None or angular is False:
        return None
    a = dict(DEFAULT_ANGULAR) if angular is True else dict(angular)
    unknown = set(a) - set(DEFAULT_ANGULAR)
    if unknown:
        raise ValueError(f"angular: unknown key(s) {sorted(unknown)}; expected {sorted(DEFAULT_ANGULAR)}")
    a = {**DEFAULT_ANGULAR, **a}
    out = {}
    for k in ("xi", "lambda", "zeta"):
        v = np.atleast_1d(np.asarray(a[k], dtype=np.float64))
        if v.ndim != 1 or v.size == 0 or not np.all(np.isfinite(v)):
            raise ValueError(f"angular['{k}'] must be a non-empty list of finite numbers, got {a[k]!r}")
        out[k] = v.tolist()
    if any(x <= 0 for x in out["xi"]):
        raise ValueError(f"angular['xi'] must be positive lengths (σ), got {out['xi']}")
    if any(abs(x) > 1 for x in out["lambda"]):
        raise ValueError(f"angular['lambda'] must lie in [−1, 1] (usually ±1), got {out['lambda']}")
    if any(x < 1 for x in out["zeta"]):
        raise ValueError(f"angular['zeta'] must be exponents ≥ 1, got {out['zeta']}")
    r = float(a["r_max"])
    if not (np.isfinite(r) and r > 0):
        raise ValueError(f"angular['r_max'] must be a positive neighbour range (σ), got {a['r_max']!r}")
    out["r_max"] = r
    return out


def feature_names(species: Sequence[str], mus: Sequence[float], angular: Mapping | None = None) -> list[str]:
    """Column names ``G_{X}_{μ:g}`` (neighbour species X, shell centre μ in σ), species-major: all μ
    of the first species, then of the second, … (the order of the feature vector); with an
    ``angular`` grid then ``Psi_{X}{Y}_xi{ξ:g}_l{λ:+g}_z{ζ:g}`` for each unordered neighbour
    species pair (X ≤ Y in species order) and each (ξ, λ, ζ), ξ-major."""
    names = [f"G_{s}_{float(m):g}" for s in species for m in mus]
    if angular is not None:
        pairs = [(species[a], species[b]) for a in range(len(species)) for b in range(a, len(species))]
        names += [f"Psi_{x}{y}_xi{xi:g}_l{lam:+g}_z{z:g}" for x, y in pairs for xi in angular["xi"]
                  for lam in angular["lambda"] for z in angular["zeta"]]
    if len(set(names)) != len(names):
        raise ValueError(f"mus {list(mus)} (or the angular grid) give duplicate column names at 6 significant digits; "
                         "use distinct values")
    return names


# ---------------------------------------------------------------------------------------------
# structure functions


def _check_grid(mus, width: float, truncation: float) -> tuple[np.ndarray, float, float]:
    m = DEFAULT_MUS if mus is None else np.atleast_1d(np.asarray(mus, dtype=np.float64))
    if m.ndim != 1 or m.size == 0 or not np.all(np.isfinite(m)) or np.any(m < 0):
        raise ValueError(f"mus must be a non-empty 1-D sequence of finite shell centres ≥ 0 (σ), got {mus!r}")
    if not (np.isfinite(width) and width > 0):
        raise ValueError(f"width must be a finite Gaussian width L > 0 (σ), got {width!r}")
    if not (np.isfinite(truncation) and truncation > 0):
        raise ValueError(f"truncation must be a finite number of widths > 0, got {truncation!r}")
    return np.ascontiguousarray(m), float(width), float(truncation)


def structure_functions(frame_or_traj: Trajectory | Frame | Sequence[Frame], *, mus: Sequence[float] | None = None,
                        width: float = DEFAULT_WIDTH, species: str | Sequence[str] | None = None, frames=None,
                        truncation: float = DEFAULT_TRUNCATION, angular: Mapping | bool | None = None,
                        n_threads: int | None = None) -> pl.DataFrame:
    """Radial structure functions of every particle (Cubuk et al. 2015, Eq. 1):

    G_X(i; μ) = Σ_{j≠i, type j = X} exp[−(r_ij − μ)²/(2L²)]   (dimensionless; r_ij minimum image, σ)

    for each neighbour species X and shell centre μ, L = ``width``.

    Grid: ``mus`` (σ) defaults to :data:`DEFAULT_MUS`, 0.5 … 3.0 σ in steps of 0.1 σ, and L = 0.1 σ.
    Cubuk et al. and Schoenholz et al. use L = 0.1 σ and μ in 0.1 σ steps up to ≈ 5 σ_AA; here the
    grid stops at 3 σ because below 0.5 σ every G vanishes (no pair of a dense liquid is that close)
    and beyond the second neighbour shell (≈ 2.5 σ in Kob–Andersen) the functions tend to the
    mean density and add little to the classification, while the cost grows as μ_max³ and the
    box must hold r_max (below).

    Truncation: the sum runs over neighbours with r_ij < r_max = max(μ) + ``truncation``·L (default
    3L). A neighbour beyond r_max is at least ``truncation``·L from every μ, so each omitted term is
    below exp(−truncation²/2) = e^{−4.5} ≈ 0.011 (relative to a neighbour at the shell centre, whose
    term is 1), and only the outermost shells are affected. r_max must not exceed half the smallest
    box height (minimum image).

    ``frames``: indices or a slice of the trajectory (default: all). ``species``: keep the rows of
    these central-particle species (default: all); the neighbour species X are always all of them.
    Computed by the Rust core on the shared neighbour layer (orthorhombic, triclinic and 2D boxes).

    ``angular``: also the angular functions (Cubuk et al. 2015), for each unordered pair {X, Y} of
    neighbour species and each (ξ, λ, ζ) of a grid,

    Ψ_XY(i; ξ, λ, ζ) = Σ_{j<k} exp[−(r_ij² + r_ik² + r_jk²)/ξ²] (1 + λ cos θ_jik)^ζ

    over the pairs of neighbours of i within ``r_max`` (each unordered pair once, θ_jik the angle
    at i). ``angular=True`` uses :data:`DEFAULT_ANGULAR` (ξ = 1, 1.5 σ; λ = ±1; ζ = 1, 2, 4;
    r_max = 2 σ, the first shell and the start of the second); a mapping overrides any of its keys.
    The neighbour range is part of the definition (no smooth cutoff): a neighbour pair beyond it
    would weigh at most exp(−r_max²/ξ²) relative to coinciding neighbours.

    Returns one row per particle and frame: ``frame``, ``particle`` (id), ``species`` and one Float64
    column per (X, μ) named ``G_{X}_{μ:g}`` (e.g. ``G_A_1.05``; order: :func:`feature_names`), then
    the angular columns. Parameters record mus, width, truncation, r_max, the error bound and the
    angular grid.
    """
    traj = as_trajectory(frame_or_traj)
    idx = frame_indices(traj, frames)
    m, L, trunc = _check_grid(mus, width, truncation)
    sp = list(traj.species)
    keep_sp = None
    if species is not None:
        keep_sp = [species] if isinstance(species, str) else list(species)
        unknown = [s for s in keep_sp if s not in sp]
        if unknown:
            raise ValueError(f"species: unknown species {unknown}; the trajectory has {sp}")
    ang = _check_angular(angular)
    names = feature_names(sp, m, ang)
    r_max = float(m.max() + trunc * L)
    ns = len(sp)
    parts = []
    for k in idx.tolist():
        f = traj[int(k)]
        if r_max > f.box.max_cutoff:
            raise ValueError(f"mus/width: r_max = max(μ) + {trunc:g}·L = {r_max:g} σ exceeds half the smallest box "
                             f"height ({f.box.max_cutoff:g} σ) of frame {k}; use a smaller μ grid or a larger box")
        g = _kernel(f.positions, f.types, f.box.native, ns, m, L, r_max, n_threads)
        g = np.asarray(g, dtype=np.float64).reshape(f.n_particles, ns * len(m))
        if ang is not None:
            if ang["r_max"] > f.box.max_cutoff:
                raise ValueError(f"angular: r_max = {ang['r_max']:g} σ exceeds half the smallest box height "
                                 f"({f.box.max_cutoff:g} σ) of frame {k}")
            psi = _core.angular_structure_functions(f.positions, f.box.native, f.types, ns, ang["xi"], ang["lambda"],
                                                    ang["zeta"], ang["r_max"], n_threads)
            g = np.hstack([g, np.asarray(psi, dtype=np.float64).reshape(f.n_particles, -1)])
        sel = np.arange(f.n_particles) if keep_sp is None else np.flatnonzero(
            np.isin(np.asarray(sp, dtype=object)[f.types], keep_sp))
        cols: dict[str, Any] = {
            "frame": np.full(len(sel), int(k), dtype=np.int64), "particle": particle_ids(f)[sel],
            "species": pl.Series(np.asarray(sp, dtype=object)[f.types[sel]], dtype=pl.String)}
        block = pl.DataFrame(g[sel], schema=names, orient="row") if len(sel) else pl.DataFrame(
            schema={n: pl.Float64 for n in names})
        parts.append(pl.concat([pl.DataFrame(cols), block], how="horizontal"))
    out = pl.concat(parts) if parts else pl.DataFrame()
    return make_table(out, {
        "kind": "structure_functions", "mus": m.tolist(), "width": L, "truncation": trunc, "r_max": r_max,
        "truncation_error_bound": float(np.exp(-0.5 * trunc ** 2)), "neighbour_species": sp, "angular": ang,
        "species": keep_sp, "dim": traj.dim, "n_frames": len(idx), "features": names, **species_params(traj)})


def _kernel(positions, types, box, n_types, mus, width, r_max, n_threads):
    """(N, n_types, M) structure functions of one frame from the Rust core."""
    return _core.radial_structure_functions(positions, box, types, n_types, mus, width, r_max, n_threads)


# ---------------------------------------------------------------------------------------------
# labels
def training_labels(traj: Trajectory, *, window: float = 15.0, p_c: float | None = None, p_low: float | None = None,
                    hard_duration: float | None = None, rearrangements: pl.DataFrame | None = None,
                    correlations: pl.DataFrame | None = None, time_tol: float = 1e-9) -> pl.DataFrame:
    """Training labels from p_hop (definitions §3.9) with window Δt = ``window`` (τ).

    * rearranging (``label`` = 1): p_hop(i, t) > ``p_c`` at that frame. ``p_c`` (σ²) defaults to the
      project's threshold, the MSD at the peak of α2 (:func:`glassrs.dynamics.rearrangements`).
    * non-rearranging (``label`` = 0): p_hop(i, t′) < ``p_low`` at every frame t′ with
      |t′ − t| ≤ ``hard_duration``/2 where p_hop is defined, and that whole interval lies inside the
      range of frames with p_hop. ``p_low`` (σ²) defaults to p_c/2 and ``hard_duration`` (τ) to
      4·``window`` (60 τ for the default Δt = 15 τ, of the order of τ_α of Kob–Andersen at
      T = 0.6; Schoenholz et al. ask for no rearrangement during about τ_α — pass τ_α of your
      state point). The gap between p_low and p_c leaves out the ambiguous particles; a longer
      duration and a lower p_low give cleaner non-rearranging examples and fewer of them.

    Everything else is unlabelled and not returned. ``rearrangements``: a precomputed table of
    :func:`glassrs.dynamics.rearrangements` (or :func:`glassrs.dynamics.phop`) of ``traj`` with the
    same window; ``correlations``: a :func:`glassrs.dynamics.correlations` table for the default p_c.

    Returns frame, time (τ), particle, species, phop (σ²), label (Int8). Parameters record p_c,
    p_low, hard_duration, window and the class counts per species.
    """
    from glassrs import dynamics as dyn

    if not (np.isfinite(window) and window > 0):
        raise ValueError(f"window must be a finite p_hop window Δt > 0 (τ), got {window!r}")
    if rearrangements is None:
        re = dyn.rearrangements(traj, window, p_c=p_c, table=correlations, time_tol=time_tol)
    else:
        re = rearrangements
        for c in ("frame", "particle", "species", "phop"):
            if c not in re.columns:
                raise ValueError(f"rearrangements: the table needs column '{c}' (columns: {re.columns})")
        w = table_params(re).get("window")
        if w is not None and abs(float(w) - float(window)) > 1e-12 * max(1.0, abs(window)):
            raise ValueError(f"rearrangements: the table has window {w}, but window={window}")
    rp = table_params(re)
    if p_c is None:
        p_c = rp.get("p_c")
        if p_c is None:
            raise ValueError("p_c: no threshold given and the rearrangements table records none (pass p_c=, σ²)")
    p_c = float(p_c)
    if not (np.isfinite(p_c) and p_c > 0):
        raise ValueError(f"p_c must be a finite threshold > 0 (σ²), got {p_c!r}")
    p_low = 0.5 * p_c if p_low is None else float(p_low)
    if not (np.isfinite(p_low) and 0 < p_low <= p_c):
        raise ValueError(f"p_low must be a finite threshold with 0 < p_low ≤ p_c = {p_c:g} (σ²), got {p_low!r}")
    hard = 4.0 * float(window) if hard_duration is None else float(hard_duration)
    if not (np.isfinite(hard) and hard >= 0):
        raise ValueError(f"hard_duration must be a finite time ≥ 0 (τ), got {hard_duration!r}")

    re = re.sort("frame", "particle")
    fr = np.unique(re["frame"].to_numpy())
    n = re.height // len(fr)
    if n * len(fr) != re.height:
        raise ValueError("rearrangements: every frame of the table must hold the same particles")
    ph = re["phop"].to_numpy().reshape(len(fr), n)
    times = np.asarray(traj.times, dtype=np.float64)[fr]
    tol = time_tol * max(float(times[-1] - times[0]), 1e-300) + 1e-12
    h = 0.5 * hard
    inside = (times - h >= times[0] - tol) & (times + h <= times[-1] + tol)
    lo = np.searchsorted(times, times - h - tol, side="left")
    hi = np.searchsorted(times, times + h + tol, side="right")
    # running maximum of p_hop over each frame's interval [lo, hi)
    pmax = np.stack([ph[a:b].max(axis=0) for a, b in zip(lo.tolist(), hi.tolist())])
    label = np.full(ph.shape, -1, dtype=np.int8)
    label[ph > p_c] = 1
    label[(pmax < p_low) & inside[:, None]] = 0
    out = re.with_columns(pl.Series("time", np.repeat(times, n)), pl.Series("label", label.reshape(-1)))
    out = out.filter(pl.col("label") >= 0).select("frame", "time", "particle", "species", "phop", "label")
    counts = {s: {"rearranging": int(((sub["label"] == 1)).sum()), "non_rearranging": int((sub["label"] == 0).sum())}
              for (s,), sub in out.group_by(["species"], maintain_order=True)}
    return make_table(out, {"kind": "training_labels", "window": float(window), "p_c": p_c,
                            "p_c_source": rp.get("p_c_source", "user"), "p_low": p_low, "hard_duration": hard,
                            "units": {"p_c": "sigma^2", "p_low": "sigma^2", "hard_duration": "tau",
                                      "window": "tau"},
                            "counts": counts, **species_params(traj)})


# ---------------------------------------------------------------------------------------------
# model
@dataclass
class SoftnessModel:
    """A trained linear softness model (plain data; applying it needs numpy only).

    species : the central-particle species it was trained on and applies to.
    neighbour_species : species of the feature blocks (the trajectory's species, in order).
    mus : shell centres μ (σ), shape (M,); width : L (σ); truncation : in units of L; angular : the
    angular grid of the features (xi, lambda, zeta, r_max; None: radial functions only).
    features : the F = len(neighbour_species)·M column names (:func:`feature_names`).
    mean, scale : standardisation x̃ = (x − mean)/scale, shape (F,), from the training set.
    weights : w, shape (F,), in the standardised space; intercept : b.
    S_ML = (w·x̃ + b)/|w| — the signed distance (standardised units) to the hyperplane, > 0 on
    the rearranging side.
    thresholds : p_c, p_low (σ²), hard_duration, window (τ) of the labels.
    accuracy : held-out accuracy; accuracy_ci : its 95 % Wilson binomial interval (treats the
    held-out samples as independent, which particle-frames of one trajectory are not quite:
    read it as a lower bound on the uncertainty). train_accuracy : on the training set.
    n_train, n_test : {"rearranging": …, "non_rearranging": …}. test_frames : frame indices of the
    held-out time blocks (evaluate P_R there to stay out of the training data).
    C, seed, solver : how it was trained.
    """

    species: str
    neighbour_species: list[str]
    mus: list[float]
    width: float
    truncation: float
    features: list[str]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    intercept: float
    thresholds: dict[str, float]
    accuracy: float
    accuracy_ci: tuple[float, float]
    train_accuracy: float
    n_train: dict[str, int]
    n_test: dict[str, int]
    test_frames: list[int] = field(default_factory=list)
    C: float = 1.0
    seed: int = 0
    solver: str = "sklearn.svm.LinearSVC(dual=False)"
    angular: dict | None = None

    def decision(self, x: np.ndarray) -> np.ndarray:
        """S_ML of raw structure-function rows ``x`` (shape (n, F), columns in ``features`` order)."""
        x = np.asarray(x, dtype=np.float64)
        z = (x - self.mean) / self.scale
        return (z @ self.weights + self.intercept) / float(np.linalg.norm(self.weights))

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (arrays as lists); :meth:`from_dict` restores it."""
        d = asdict(self)
        for k in ("mean", "scale", "weights"):
            d[k] = np.asarray(d[k]).tolist()
        d["accuracy_ci"] = list(self.accuracy_ci)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "SoftnessModel":
        """Inverse of :meth:`to_dict`."""
        d = dict(d)
        for k in ("mean", "scale", "weights"):
            d[k] = np.asarray(d[k], dtype=np.float64)
        d["accuracy_ci"] = tuple(d["accuracy_ci"])
        return cls(**d)


def _require_sklearn():
    try:
        import sklearn  # noqa: F401
        from sklearn.svm import LinearSVC
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("glassrs.ml.train_softness needs scikit-learn: pip install \"glassrs[ml]\" "
                          "(the optional dependency group [ml], scikit-learn ≥ 1.3)") from e
    return LinearSVC


def _balanced(rows: np.ndarray, y: np.ndarray, rng: np.random.Generator, cap: int | None) -> np.ndarray:
    """Indices into ``rows``: equally many of both classes (the smaller class size, at most ``cap``),
    drawn without replacement, returned sorted."""
    pos, neg = rows[y == 1], rows[y == 0]
    k = min(len(pos), len(neg))
    if cap is not None:
        k = min(k, int(cap))
    pick = np.concatenate([rng.choice(pos, k, replace=False), rng.choice(neg, k, replace=False)]) if k else rows[:0]
    return np.sort(pick)


def train_softness(traj: Trajectory, *, species: str | None = None, labels: pl.DataFrame | None = None,
                   window: float = 15.0, p_c: float | None = None, p_low: float | None = None,
                   hard_duration: float | None = None, mus: Sequence[float] | None = None,
                   width: float = DEFAULT_WIDTH, truncation: float = DEFAULT_TRUNCATION, C: float = 1.0,
                   test_fraction: float = 0.25, split_time: float | None = None, max_per_class: int | None = 5000,
                   angular: Mapping | bool | None = None, seed: int = 0, n_threads: int | None = None) -> SoftnessModel:
    """Train the softness hyperplane on one species of ``traj``.

    1. Labels from :func:`training_labels` (``window``, ``p_c``, ``p_low``, ``hard_duration``;
       or a precomputed ``labels`` table) for the particles of ``species`` (default: the first
       species, A — Schoenholz et al. train on the majority species A).
    2. Held-out split in time: the labelled frames are grouped into blocks of ``split_time`` τ
       (default 2·``window``: neighbouring frames of one trajectory are nearly the same
       configuration, so a random split of particle-frames would put near-copies on both sides)
       and a fraction ``test_fraction`` of the blocks, drawn with ``seed``, is held out.
    3. Balanced classes on each side: equally many rearranging and non-rearranging samples (the
       smaller class, at most ``max_per_class`` on the training side), drawn with ``seed``.
    4. Features: :func:`structure_functions` (``mus``, ``width``, ``truncation``, and the angular
       functions with ``angular``) at the sampled frames, standardised with the training mean and
       standard deviation.
    5. ``sklearn.svm.LinearSVC(C=C, dual=False)``: the primal liblinear solver is deterministic (no
       random coordinate order, so ``seed`` alone fixes the model), scales linearly with the number
       of samples (``SVC(kernel="linear")`` scales quadratically or worse) and gives the same
       hyperplane family; its intercept is regularised like a weight, which on standardised
       features shifts the hyperplane negligibly.

    Same inputs and ``seed`` → the identical model. Raises ``ValueError`` when a class is empty on a
    side of the split. Requires scikit-learn (the ``[ml]`` extra).
    """
    LinearSVC = _require_sklearn()
    from scipy.stats import binomtest

    sp = list(traj.species)
    species = sp[0] if species is None else species
    if species not in sp:
        raise ValueError(f"species: unknown species {species!r}; the trajectory has {sp}")
    if not (0 < test_fraction < 1):
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    if not (np.isfinite(C) and C > 0):
        raise ValueError(f"C must be a finite SVM regularisation constant > 0, got {C!r}")
    if max_per_class is not None and int(max_per_class) < 1:
        raise ValueError(f"max_per_class must be None or ≥ 1, got {max_per_class!r}")
    m, L, trunc = _check_grid(mus, width, truncation)
    if labels is None:
        labels = training_labels(traj, window=window, p_c=p_c, p_low=p_low, hard_duration=hard_duration)
    lp = table_params(labels)
    for c in ("frame", "particle", "species", "label"):
        if c not in labels.columns:
            raise ValueError(f"labels: the table needs column '{c}' (columns: {labels.columns})")
    lab = labels.filter(pl.col("species") == species).sort("frame", "particle")
    if lab.height == 0:
        raise ValueError(f"labels: no labelled particle of species {species!r}")
    rng = np.random.default_rng(seed)
    frames_all = np.asarray(traj.times, dtype=np.float64)
    t = frames_all[lab["frame"].to_numpy()]
    win = float(lp.get("window", window))
    block_len = float(2.0 * win if split_time is None else split_time)
    if not (np.isfinite(block_len) and block_len > 0):
        raise ValueError(f"split_time must be a finite block length > 0 (τ), got {split_time!r}")
    block = np.floor((t - t.min()) / block_len).astype(np.int64)
    ub = np.unique(block)
    if len(ub) < 2:
        raise ValueError(f"split_time: the labelled frames span a single block of {block_len:g} τ; pass a shorter "
                         "split_time or a longer trajectory")
    n_test_blocks = max(1, int(round(test_fraction * len(ub))))
    test_blocks = np.sort(rng.choice(ub, n_test_blocks, replace=False))
    is_test = np.isin(block, test_blocks)
    y_all = lab["label"].to_numpy().astype(np.int64)
    rows = np.arange(lab.height)
    tr = _balanced(rows[~is_test], y_all[~is_test], rng, max_per_class)
    te = _balanced(rows[is_test], y_all[is_test], rng, None)
    for name, ix in (("training", tr), ("held-out", te)):
        if len(ix) == 0:
            raise ValueError(f"the {name} side of the split has no sample of one class (labels per class: "
                             f"{lp.get('counts')}); use a longer trajectory, other thresholds or another seed")
    need = np.unique(lab["frame"].to_numpy()[np.concatenate([tr, te])])
    ang = _check_angular(angular)
    G = structure_functions(traj, mus=m, width=L, species=species, frames=need, truncation=trunc, angular=ang,
                            n_threads=n_threads)
    feats = feature_names(sp, m, ang)
    keyed = lab.with_row_index("_row").join(G, on=["frame", "particle"], how="inner").sort("_row")
    row_of = keyed["_row"].to_numpy()
    X_lab = keyed.select(feats).to_numpy()
    pos_of = {int(r): k for k, r in enumerate(row_of.tolist())}
    Xtr, ytr = X_lab[[pos_of[int(r)] for r in tr]], y_all[tr]
    Xte, yte = X_lab[[pos_of[int(r)] for r in te]], y_all[te]
    mean = Xtr.mean(axis=0)
    scale = Xtr.std(axis=0)
    scale[scale == 0] = 1.0          # a feature constant on the training set (e.g. an empty shell)
    clf = LinearSVC(C=float(C), dual=False, max_iter=10_000)
    clf.fit((Xtr - mean) / scale, ytr)
    w = clf.coef_.ravel().astype(np.float64)
    b = float(clf.intercept_[0])
    pred_te = ((Xte - mean) / scale) @ w + b > 0
    pred_tr = ((Xtr - mean) / scale) @ w + b > 0
    n_ok = int((pred_te == (yte == 1)).sum())
    ci = binomtest(n_ok, len(yte)).proportion_ci(confidence_level=0.95, method="wilson")
    thresholds = {"p_c": float(lp.get("p_c", np.nan)), "p_low": float(lp.get("p_low", np.nan)),
                  "hard_duration": float(lp.get("hard_duration", np.nan)), "window": win}
    test_frames = np.unique(lab["frame"].to_numpy()[is_test]).astype(int).tolist()
    return SoftnessModel(
        species=species, neighbour_species=sp, mus=m.tolist(), width=L, truncation=trunc, features=feats,
        mean=mean, scale=scale, weights=w, intercept=b, thresholds=thresholds,
        accuracy=n_ok / len(yte), accuracy_ci=(float(ci.low), float(ci.high)),
        train_accuracy=float((pred_tr == (ytr == 1)).mean()),
        n_train={"rearranging": int((ytr == 1).sum()), "non_rearranging": int((ytr == 0).sum())},
        n_test={"rearranging": int((yte == 1).sum()), "non_rearranging": int((yte == 0).sum())},
        test_frames=test_frames, C=float(C), seed=int(seed), angular=ang)


def softness(model: SoftnessModel, frame_or_traj: Trajectory | Frame | Sequence[Frame], *, frames=None,
             n_threads: int | None = None) -> pl.DataFrame:
    """S_ML of every particle of ``model.species`` in the given frames: the structure functions on
    the model's grid, standardised with its training mean and scale, S_ML = (w·x̃ + b)/|w|
    (signed distance to the hyperplane in standardised units; > 0: classified as rearranging).

    The trajectory must have the model's species, in the same order. Returns frame, particle,
    species, S_ML; parameters record the model's grid, thresholds and held-out accuracy.
    """
    if not isinstance(model, SoftnessModel):
        raise ValueError(f"model must be a SoftnessModel from glassrs.ml.train_softness, got {type(model).__name__}")
    traj = as_trajectory(frame_or_traj)
    if list(traj.species) != list(model.neighbour_species):
        raise ValueError(f"frame_or_traj: species {list(traj.species)} differ from the model's "
                         f"{model.neighbour_species} (same names in the same order needed)")
    G = structure_functions(traj, mus=model.mus, width=model.width, species=model.species, frames=frames,
                            truncation=model.truncation, angular=model.angular, n_threads=n_threads)
    s = model.decision(G.select(model.features).to_numpy()) if G.height else np.zeros(0)
    out = G.select("frame", "particle", "species").with_columns(pl.Series("S_ML", s, dtype=pl.Float64))
    return make_table(out, {"kind": "ml_softness", "species": model.species, "mus": model.mus, "width": model.width,
                            "truncation": model.truncation, "angular": model.angular, "thresholds": model.thresholds,
                            "accuracy": model.accuracy, "accuracy_ci": list(model.accuracy_ci),
                            **species_params(traj)})


# ---------------------------------------------------------------------------------------------
# analyses reusing the project's machinery
def rearrangement_probability(model: SoftnessModel, traj: Trajectory, *, frames=None, window: float | None = None,
                              p_c: float | None = None, bins: int | Sequence[float] = 5, quantiles: bool = True,
                              n_threads: int | None = None) -> pl.DataFrame:
    """P_R(S_ML): the fraction of particles of the model's species rearranging (p_hop > p_c) per bin
    of S_ML — :func:`softness` joined with p_hop by :func:`glassrs.isoconf.rearrangement_structure`,
    binned by :func:`glassrs.stats.rearrangement_probability`.

    ``window`` (τ) and ``p_c`` (σ²) default to the model's thresholds — those of its training
    trajectory; at another temperature pass that temperature's p_c (or use
    :func:`glassrs.isoconf.rearrangement_structure`, whose default is the MSD at the α2 peak of the
    trajectory it is given). ``bins``: a count or explicit
    edges; with ``quantiles=True`` a count gives equal-population bins (quantiles of S_ML, e.g. 5 for
    quintiles). ``frames`` default to all; pass ``model.test_frames`` when ``traj`` is the training
    trajectory. Columns: bin, x_low, x_high, x_mid, n, p_r (:func:`glassrs.stats.rearrangement_probability`).
    """
    from glassrs.isoconf import rearrangement_structure
    from glassrs.stats import rearrangement_probability as pr

    window = float(model.thresholds["window"]) if window is None else float(window)
    p_c = float(model.thresholds["p_c"]) if p_c is None else float(p_c)
    s = softness(model, traj, frames=frames, n_threads=n_threads)
    data = rearrangement_structure(traj, s, window=window, p_c=p_c)
    edges = bins
    if np.isscalar(bins) and quantiles:
        v = data["S_ML"].to_numpy()
        edges = np.quantile(v, np.linspace(0.0, 1.0, int(bins) + 1))
    out = pr(data, "S_ML", p_c=p_c, bins=edges)
    return make_table(out, {"kind": "ml_rearrangement_probability", "species": model.species, "p_c": p_c,
                            "window": window, "bins": "quantiles" if (np.isscalar(bins) and quantiles) else "given",
                            "n_frames": int(data["frame"].n_unique())})


def spearman_table(ml: pl.DataFrame, other: pl.DataFrame, columns: Sequence[str] = ("softness", "sop"), *,
                   by_species: bool = True) -> pl.DataFrame:
    """Spearman ρ of ``S_ML`` (from :func:`softness`) against each of ``columns`` of ``other`` (e.g. a
    :func:`glassrs.structure.local` table with ``local_softness`` added: ``softness``, ``sop``), joined on
    (frame, particle), per species (``by_species``), with :func:`glassrs.stats.spearman`.

    Returns species, column, rho, n (pairs with finite values).
    """
    from glassrs.stats import spearman

    for c in ("frame", "particle", "S_ML"):
        if c not in ml.columns:
            raise ValueError(f"ml: the table needs column '{c}' (columns: {ml.columns}); use glassrs.ml.softness")
    missing = [c for c in ("frame", "particle", *columns) if c not in other.columns]
    if missing:
        raise ValueError(f"other: the table lacks columns {missing} (columns: {other.columns})")
    j = ml.select("frame", "particle", "species", "S_ML").join(
        other.select("frame", "particle", *columns), on=["frame", "particle"], how="inner")
    if j.height == 0:
        raise ValueError("ml and other share no (frame, particle): compute both on the same frames")
    groups = j.group_by(["species"], maintain_order=True) if by_species else [(("all",), j)]
    rows = []
    for (s,), sub in groups:
        x = sub["S_ML"].to_numpy()
        for c in columns:
            y = sub[c].cast(pl.Float64).to_numpy()
            ok = np.isfinite(x) & np.isfinite(y)
            rho = spearman(x[ok], y[ok]) if ok.sum() >= 3 else float("nan")
            rows.append({"species": s, "column": c, "rho": rho, "n": int(ok.sum())})
    return make_table(pl.DataFrame(rows, schema={"species": pl.String, "column": pl.String, "rho": pl.Float64,
                                                 "n": pl.Int64}),
                      {"kind": "ml_spearman", "method": "spearman (average ranks)", "columns": list(columns)})
