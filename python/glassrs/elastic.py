"""Mesoscopic elasticity of inherent structures (definitions §6; Kapteijns et al., JCP 155, 074502, 2021).

All quantities are in the reduced units of the model: lengths σ, energies ε, stiffnesses
ε/σ², moduli ε/σ³. The input frame must be an inherent structure (a local energy minimum);
every function checks the residual force (``force_tol``) and refuses anything else.

>>> h = gr.elastic.hessian(frame, model)                # sparse Hessian, 3N × 3N
>>> gr.elastic.shear_modulus(frame, model).G            # athermal G (non-affine)
>>> kap = gr.elastic.dipole_stiffness(frame, model, pairs=2000, seed=1)   # κ_ij table
>>> gr.elastic.local_kappa(kap, frame)                  # κ_i per particle

Solving z = M⁺b (translations projected out) uses either a sparse Cholesky factorisation of
the Hessian with one particle pinned (reused for every right-hand side of the structure) or
block-Jacobi preconditioned conjugate gradients; ``solver="auto"`` factorises when the factor
fits in ``max_factor_gb`` (default 1.6 GB: KA up to N ≈ 8000) and otherwise uses CG. The method
used is recorded in the result. Measured on 2 threads (KA): the factorisation costs 0.5 s /
8 s / 34 s at N = 1000 / 4000 / 8000 and then 0.8 / 7 / 18 ms per dipole; CG costs 26 / 350 /
540 ms per dipole (1500 / 4100 ms at N = 16000 / 32000).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import numpy as np
import polars as pl

from glassrs import _core
from glassrs.models import Model
from glassrs.tables import make_table
from glassrs.tables import params as _params
from glassrs.trajectory import Frame

AXES = "xyz"
ALL_PLANES = [(0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1)]
#: default largest residual force |F_i| (ε/σ) accepted as a minimum
FORCE_TOL = 1e-6


def with_model_species(frame: Frame, model: Model) -> Frame:
    """``frame`` with its species named as the model's when it uses LAMMPS numeric types.

    A LAMMPS dump read without ``model=`` names species '1', '2', …; type k is then taken to be
    the model's k-th species (1 → A, 2 → B for KA) — the rule of ``glassrs.read(path,
    model=...)`` (:func:`glassrs.io._common.model_species`). Frames whose species the model
    knows are returned unchanged; other names raise ``ValueError``.
    """
    from glassrs.io._common import model_species

    m = model_species(frame.species, model, what="type", path="frame")
    if m is None:
        return frame
    import dataclasses
    return dataclasses.replace(frame, species=tuple(m[s] for s in frame.species))


def _types(frame: Frame, model: Model) -> np.ndarray:
    return model.type_map(frame.species)[frame.types]


class Hessian:
    """The sparse Hessian M = ∂²U/∂x∂x of one structure (dN × dN, ε/σ²) and its solver.

    Built from the neighbour CSR as d×d blocks: for each interacting pair
    K = U″ n nᵀ + (U′/r)(I − n nᵀ), M_ij = −K, M_ii = Σ_j K. The d translations are its
    exact zero modes and are projected out of every solve. The solver (factorisation or CG
    preconditioner) is built once and reused. In a 2D box (d = 2) matrices are 2N × 2N and
    vectors have 2N entries (or shape (N, 2)).
    """

    def __init__(self, frame: Frame, model: Model, *, force_tol: float | None = FORCE_TOL,
                 check_rattlers: bool = True, n_threads: int | None = None, max_factor_gb: float = 1.6):
        frame = with_model_species(frame, model)
        self.frame = frame
        self.model = model
        self.types = _types(frame, model)
        self.native = _core.Hessian(frame.positions, self.types, frame.box.native,
                                    model.native, n_threads, float(max_factor_gb))
        self.dim = frame.box.dim
        if force_tol is not None:
            self.native.check_minimum(float(force_tol))
        if check_rattlers:
            self.native.check_rattlers()

    @property
    def n_particles(self) -> int:
        return self.native.n_particles

    @property
    def energy(self) -> float:
        """Potential energy U (ε)."""
        return self.native.energy

    @property
    def forces(self) -> np.ndarray:
        """Residual forces −∂U/∂x (N, 3), ε/σ."""
        return self.native.forces()

    @property
    def max_force(self) -> float:
        return self.native.max_force()[1]

    def _embed(self, x: np.ndarray) -> np.ndarray:
        """(m, dN) vectors → (m, 3N) for the core (z = 0 in 2D)."""
        x = np.asarray(x, dtype=np.float64).reshape(-1, self.dim * self.n_particles)
        if self.dim == 3:
            return np.ascontiguousarray(x)
        out = np.zeros((x.shape[0], self.n_particles, 3))
        out[:, :, :2] = x.reshape(x.shape[0], self.n_particles, 2)
        return out.reshape(x.shape[0], -1)

    def _plane(self, x: np.ndarray) -> np.ndarray:
        """(m, 3N) core vectors → (m, dN)."""
        if self.dim == 3:
            return x
        return np.ascontiguousarray(x.reshape(x.shape[0], self.n_particles, 3)[:, :, :2].reshape(x.shape[0], -1))

    def sparse(self):
        """The Hessian as a ``scipy.sparse.csr_matrix`` (dN × dN)."""
        import scipy.sparse as sp
        ip, idx, val = self.native.csr()
        d = 3 * self.n_particles
        m = sp.csr_matrix((val, idx, ip), shape=(d, d))
        if self.dim == 2:
            keep = np.flatnonzero(np.arange(d) % 3 != 2)
            m = m[keep][:, keep].tocsr()
        return m

    def matvec(self, x: np.ndarray) -> np.ndarray:
        """M x for x of shape (dN,) or (N, d); returns the same shape."""
        x = np.asarray(x, dtype=np.float64)
        y = self.native.matvec(np.ascontiguousarray(self._embed(x).reshape(-1)))
        return self._plane(y.reshape(1, -1)).reshape(x.shape)

    def solve(self, b: np.ndarray, *, solver: str = "auto", rtol: float = 1e-12, max_iter: int = 0) -> np.ndarray:
        """z = M⁺ b for b (dN,) or (m, dN) with zero net force per component (translation-free)."""
        b = np.asarray(b, dtype=np.float64)
        z = self.native.solve(np.ascontiguousarray(self._embed(b)), solver, rtol, max_iter)
        return self._plane(z).reshape(b.shape)

    def solver(self, solver: str = "auto", *, rtol: float = 1e-12, max_iter: int = 0) -> str:
        """Build (or reuse) the solver; return the method used: ``"cholesky"`` or ``"cg"``."""
        return self.native.prepare(solver, rtol, max_iter)

    def pairs(self) -> pl.DataFrame:
        """Interacting pairs i < j (r < r_c of the pair): i, j, species_i, species_j, r, du, d2u."""
        i, j, r, du, d2u = self.native.pairs()
        sp = np.array(self.frame.species)
        return make_table({"i": i, "j": j, "species_i": sp[self.frame.types[i]], "species_j": sp[self.frame.types[j]],
                           "r": r, "du": du, "d2u": d2u},
                          {"kind": "interacting_pairs", "model": self.model.name, "n_particles": self.n_particles})

    def lowest_eigenvalues(self, k: int = 6, *, solver: str = "auto") -> np.ndarray:
        """The k lowest eigenvalues of M on the translation-free subspace (ε/σ², ascending).

        ARPACK in shift-invert mode around 0 with M⁺ (this class's solver) as the inverse, so the
        d translational zero modes are excluded.
        """
        return self.lowest_modes(k, solver=solver)[0]

    def lowest_modes(self, k: int = 6, *, solver: str = "auto") -> tuple[np.ndarray, np.ndarray]:
        """The k lowest eigenvalues (ε/σ², ascending) and unit eigenvectors (k, N, d) of M on
        the translation-free subspace (see :meth:`lowest_eigenvalues`)."""
        import scipy.sparse.linalg as sla
        dd = self.dim
        d = dd * self.n_particles
        if not 0 < k < d - dd - 1:
            raise ValueError(f"k must be in 1..{d - dd - 2}, got {k}")
        self.solver(solver)

        def pinv(x):
            x = np.asarray(x, dtype=np.float64).reshape(-1, dd)
            x = x - x.mean(axis=0)
            return self.solve(x.reshape(-1), solver=solver)

        op = sla.LinearOperator((d, d), matvec=self.matvec, dtype=np.float64)
        opinv = sla.LinearOperator((d, d), matvec=pinv, dtype=np.float64)
        rng = np.random.default_rng(0)
        v0 = rng.standard_normal((self.n_particles, dd))
        v0 -= v0.mean(axis=0)
        vals, vecs = sla.eigsh(op, k=k, sigma=0.0, OPinv=opinv, which="LM", v0=v0.reshape(-1))
        order = np.argsort(vals)
        modes = vecs[:, order].T.reshape(k, self.n_particles, dd)
        modes /= np.linalg.norm(modes.reshape(k, -1), axis=1)[:, None, None]
        return vals[order], modes


def soft_modes(frame: Frame | Hessian, model: Model | None = None, *, k: int = 10, solver: str = "auto",
               amplitudes: bool = False) -> pl.DataFrame:
    """The ``k`` lowest non-zero vibrational modes of an inherent structure (harmonic modes of
    the Hessian, unit mass; translations excluded), with their localisation.

    Returns one row per mode: ``mode`` (0 = softest), ``eigenvalue`` ω² (ε/σ²), ``omega``
    (√ω², 1/τ), ``participation_ratio`` PR = (Σ_i |e_i|²)² / (N Σ_i |e_i|⁴) (≈ 1 for a plane
    wave, ~1/N for a mode on one particle; soft quasi-localised modes have PR ≲ 0.1) and
    ``center`` (the particle with the largest |e_i|). ``amplitudes=True`` returns instead the
    long table mode, particle, ex, ey, ez, amplitude |e_i| for maps of the soft spots (ez = 0
    in 2D).
    """
    h = frame if isinstance(frame, Hessian) else hessian(frame, model)
    vals, modes = h.lowest_modes(k, solver=solver)
    if h.dim == 2:
        modes = np.concatenate([modes, np.zeros(modes.shape[:2] + (1,))], axis=2)
    a2 = (modes ** 2).sum(axis=2)                       # |e_i|², (k, N)
    pr = a2.sum(axis=1) ** 2 / (h.n_particles * (a2 ** 2).sum(axis=1))
    p = {"kind": "soft_modes", "k": int(k), "units": {"eigenvalue": "epsilon/sigma^2 (unit mass)"}}
    if amplitudes:
        n = h.n_particles
        return make_table({"mode": np.repeat(np.arange(k), n), "particle": np.tile(np.arange(n), k),
                           "ex": modes[..., 0].ravel(), "ey": modes[..., 1].ravel(), "ez": modes[..., 2].ravel(),
                           "amplitude": np.sqrt(a2).ravel()}, p)
    return make_table({"mode": np.arange(k), "eigenvalue": vals, "omega": np.sqrt(np.clip(vals, 0, None)),
                       "participation_ratio": pr, "center": np.argmax(a2, axis=1)}, p)


def hessian(frame: Frame, model: Model, *, force_tol: float | None = FORCE_TOL, check_rattlers: bool = True,
            n_threads: int | None = None, max_factor_gb: float = 1.6) -> Hessian:
    """Sparse Hessian of an inherent structure (see :class:`Hessian`).

    Raises ``ValueError`` if the largest residual force exceeds ``force_tol`` (not a minimum;
    ``None`` skips the check) or, with ``check_rattlers``, if a particle's 3×3 diagonal block is
    not positive definite (a rattler or an unstable site: extra zero/negative modes).
    ``max_factor_gb``: ``solver="auto"`` factorises when the Cholesky factor needs at most this
    much memory (GB; estimated by the symbolic analysis), and uses CG otherwise.
    """
    return Hessian(frame, model, force_tol=force_tol, check_rattlers=check_rattlers, n_threads=n_threads,
                   max_factor_gb=max_factor_gb)


def _planes(planes, dim: int = 3) -> list[tuple[int, int]]:
    """Shear planes as (α, β) axis pairs; in 2D only xy (x → x + γy)."""
    if planes == "all":
        return list(ALL_PLANES) if dim == 3 else [(0, 1)]
    if isinstance(planes, str):
        planes = [planes]
    out = []
    for p in planes:
        if isinstance(p, str):
            if len(p) != 2 or p[0] not in AXES or p[1] not in AXES or p[0] == p[1]:
                raise ValueError(f"shear plane '{p}' must be two distinct axes of 'xyz' (e.g. 'xy': x → x + γy)")
            out.append((AXES.index(p[0]), AXES.index(p[1])))
        else:
            a, b = (int(v) for v in p)
            out.append((a, b))
    if dim == 2 and any(q != (0, 1) for q in out):
        raise ValueError(f"a 2D system is sheared in the xy plane only (x → x + γy); got planes "
                         f"{[AXES[a] + AXES[b] for a, b in out]}")
    return out


@dataclass
class ShearModulus:
    """Athermal shear modulus (ε/σ³). ``G`` and ``born`` average the planes in ``per_plane``."""

    G: float
    born: float
    per_plane: dict[str, tuple[float, float]]
    solver: str
    params: dict = field(default_factory=dict)

    def to_polars(self) -> pl.DataFrame:
        return make_table({"plane": list(self.per_plane), "G": [v[0] for v in self.per_plane.values()],
                           "born": [v[1] for v in self.per_plane.values()]}, self.params)


def shear_modulus(frame: Frame | Hessian, model: Model | None = None, *, planes="all", solver: str = "auto",
                  rtol: float = 1e-12, max_iter: int = 0, force_tol: float | None = FORCE_TOL,
                  n_threads: int | None = None) -> ShearModulus:
    """G = (1/V)[∂²U/∂γ² − Ξ·M⁺·Ξ] for simple shear x_α → x_α + γ x_β (definitions §6.3).

    ``planes``: ``"all"`` (the default, as in the CLI and the report: the average over the six
    ordered planes, which uses the isotropy of a glass to reduce the scatter of G by √6), one
    plane such as ``"xy"`` (x → x + γy), or a list such as ``["xy", "yz"]``. ``born`` is the affine (Born) part
    (1/V)∂²U/∂γ² alone. In 2D (ε/σ², V the area) the only plane is xy; "all" means xy and any other
    plane raises ``ValueError``.
    """
    h = frame if isinstance(frame, Hessian) else hessian(frame, model, force_tol=force_tol, n_threads=n_threads)
    pl_ = _planes(planes, h.dim)
    g, born = h.native.shear_modulus(pl_, solver, rtol, max_iter, n_threads)
    names = [AXES[a] + AXES[b] for a, b in pl_]
    method = h.solver(solver, rtol=rtol, max_iter=max_iter)
    params = {"kind": "shear_modulus", "model": h.model.name, "n_particles": h.n_particles, "solver": method,
              "planes": names, "volume": h.native.volume}
    return ShearModulus(float(np.mean(g)), float(np.mean(born)), {n: (float(a), float(b)) for n, a, b in zip(names, g, born)},
                        method, params)


def interacting_pairs(frame: Frame, model: Model) -> pl.DataFrame:
    """All interacting pairs i < j (r below the pair's cutoff) of a configuration."""
    return Hessian(frame, model, force_tol=None, check_rattlers=False).pairs()


def _select_pairs(h: Hessian, pairs, seed: int | None) -> tuple[np.ndarray, np.ndarray]:
    if pairs is None or (isinstance(pairs, str) and pairs == "all"):
        i, j, *_ = h.native.pairs()
        return i.astype(np.int64), j.astype(np.int64)
    if isinstance(pairs, (int, np.integer)):
        i, j, *_ = h.native.pairs()
        n = int(pairs)
        if n <= 0:
            raise ValueError(f"pairs must be a positive number of sampled pairs, got {n}")
        k = np.random.default_rng(seed).choice(len(i), size=min(n, len(i)), replace=False)
        k.sort()
        return i[k].astype(np.int64), j[k].astype(np.int64)
    if isinstance(pairs, pl.DataFrame):
        return pairs["i"].to_numpy().astype(np.int64), pairs["j"].to_numpy().astype(np.int64)
    arr = np.asarray(pairs, dtype=np.int64)
    if arr.ndim != 2 or 2 not in arr.shape:
        raise ValueError(f"pairs must be None/'all', a count, a table with columns i, j or an (M, 2) array; got shape {arr.shape}")
    if arr.shape[1] != 2:
        arr = arr.T
    return np.ascontiguousarray(arr[:, 0]), np.ascontiguousarray(arr[:, 1])


def dipole_stiffness(frame: Frame | Hessian, model: Model | None = None, *, pairs=None, seed: int | None = 0,
                     solver: str = "auto", rtol: float = 1e-12, max_iter: int = 0, batch: int = 0,
                     force_tol: float | None = FORCE_TOL, n_threads: int | None = None,
                     progress: Callable[[int, int], None] | None = None) -> pl.DataFrame:
    """Dipole stiffness κ_ij = (d̂·z)/(z·z), z = M⁺ d̂, d̂ = (1/√2)∂r_ij/∂x (definitions §6.4), ε/σ².

    ``pairs``: ``None``/``"all"`` for every interacting pair, an int to sample that many
    interacting pairs uniformly without replacement (``seed``), a table with columns ``i, j``,
    or an (M, 2) index array (each must be interacting). Returns columns i, j, species_i,
    species_j, r, kappa, iterations (CG iterations; 0 for the factorisation), with the solver
    used recorded in the table parameters. Raises ``glassrs.ConvergenceError`` if CG does not
    reach ``rtol`` within ``max_iter`` (0 → 10·3N).
    """
    h = frame if isinstance(frame, Hessian) else hessian(frame, model, force_tol=force_tol, n_threads=n_threads)
    i, j = _select_pairs(h, pairs, seed)
    kappa, its, method = h.native.dipole_stiffness(i, j, solver, rtol, max_iter, batch, n_threads, progress)
    fr = h.frame
    sp = np.array(fr.species)
    d = fr.box.min_image(fr.positions[j] - fr.positions[i]) if len(i) else np.zeros((0, 3))
    return make_table({"i": i.astype(np.uint32), "j": j.astype(np.uint32), "species_i": sp[fr.types[i]],
                       "species_j": sp[fr.types[j]], "r": np.linalg.norm(d, axis=1), "kappa": kappa,
                       "iterations": its},
                      {"kind": "dipole_stiffness", "model": h.model.name, "n_particles": h.n_particles,
                       "solver": method, "rtol": rtol, "seed": seed,
                       "pairs": "all" if pairs is None or isinstance(pairs, str) else
                       (int(pairs) if isinstance(pairs, (int, np.integer)) else "given")})


def local_kappa(kappa: pl.DataFrame, frame: Frame) -> pl.DataFrame:
    """Local κ_i: mean of κ_ij over the pairs of ``kappa`` that involve particle i (definitions §6.5).

    With ``pairs="all"`` this is the mean over all of i's interacting pairs. Columns: particle,
    species, kappa_local, n_pairs (particles without pairs get null).
    """
    n = frame.n_particles
    i = kappa["i"].to_numpy().astype(np.int64)
    j = kappa["j"].to_numpy().astype(np.int64)
    k = kappa["kappa"].to_numpy()
    s = np.bincount(i, weights=k, minlength=n) + np.bincount(j, weights=k, minlength=n)
    c = np.bincount(i, minlength=n) + np.bincount(j, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        loc = np.where(c > 0, s / np.maximum(c, 1), np.nan)
    df = pl.DataFrame({"particle": np.arange(n, dtype=np.uint32), "species": np.array(frame.species)[frame.types],
                       "kappa_local": loc, "n_pairs": c.astype(np.uint32)})
    df = df.with_columns(pl.col("kappa_local").fill_nan(None))
    return make_table(df, {**_params(kappa), "kind": "local_kappa"})


# ----------------------------------------------------------------------------- statistics

def bootstrap_ci(values: Sequence[float], *, n_boot: int = 2000, ci: float = 0.9, seed: int | None = 0,
                 stat: Callable[[np.ndarray], float] = np.mean) -> tuple[float, float, float]:
    """(statistic, low, high): percentile bootstrap interval (default 90 %, as the paper) over
    independent values — one per unit (structure, configuration), in the units of ``values``.

    The mean (the default ``stat``) is :func:`glassrs.campaign.reduce.bootstrap_mean` over the
    values as units (same resamples, same seed rule: the result equals ``bootstrap_mean`` of a
    table with one row per value and ``by=None``); another ``stat`` is applied to the same
    resamples. Non-finite values are dropped; with a single value the bounds are NaN (one unit
    says nothing about the scatter). ``seed=None`` draws a fresh seed (not reproducible).
    """
    from glassrs.campaign import reduce as _R

    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        raise ValueError("bootstrap of an empty sample (no finite value)")
    if seed is None:
        seed = int(np.random.SeedSequence().entropy)
    if stat is np.mean:
        r = _R.bootstrap_mean(pl.DataFrame({"unit": np.arange(v.size), "v": v}), "v", None, unit="unit",
                              n_boot=n_boot, level=ci, seed=seed).row(0, named=True)
        return float(r["mean"]), float(r["ci_low"]), float(r["ci_high"])
    _R._check(n_boot, ci, seed)
    if v.size < 2:
        return float(stat(v)), float("nan"), float("nan")
    draws = np.concatenate([[stat(v[i]) for i in idx] for idx in _R._boot_indices(v.size, int(n_boot),
                                                                                     _R._rng(seed, ()))])
    lo, hi = _R._quantiles(draws, ci, 1)
    return float(stat(v)), float(lo[0]), float(hi[0])


def kappa_ensemble(structures: Iterable[Frame], model: Model, *, parent_temperature: float | None = None,
                   n_pairs: int | None = 1000, seed: int = 0, shear: bool = True, solver: str = "auto",
                   n_boot: int = 2000, ci: float = 0.9, force_tol: float | None = FORCE_TOL,
                   n_threads: int | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """κ(T_p) (and G) over an ensemble of inherent structures quenched from ``parent_temperature``.

    Samples ``n_pairs`` interacting pairs per structure (``None``: all; pair sample k uses seed
    ``seed + k``). Returns ``(per_structure, summary)``: per structure (column ``structure``)
    the mean κ over its dipoles (``kappa_mean``, ε/σ²) and G (ε/σ³); one summary row with the
    ensemble means (``kappa``, ``G``) and percentile bootstrap intervals at level ``ci``
    (``kappa_lo``/``kappa_hi``, ``G_lo``/``G_hi``) obtained by resampling *structures* (pairs of
    one structure are correlated, so they are never resampled independently), and ``unit``.
    The summary is :func:`glassrs.uncertainty.elastic` of ``per_structure`` at
    T = ``parent_temperature`` (``n_boot`` resamples, ``seed``): the same numbers. With one
    structure the bounds are NaN.
    """
    from glassrs import uncertainty

    rows = []
    for k, fr in enumerate(structures):
        h = hessian(fr, model, force_tol=force_tol, n_threads=n_threads)
        kap = dipole_stiffness(h, pairs=n_pairs, seed=seed + k, solver=solver, n_threads=n_threads)
        kv = kap["kappa"].to_numpy()
        row = {"structure": k, "n_pairs": len(kv), "kappa_mean": float(kv.mean()), "energy_per_particle": h.energy / h.n_particles,
               "solver": _params(kap).get("solver")}
        if shear:
            row["G"] = shear_modulus(h, planes="all", solver=solver).G
        rows.append(row)
    if not rows:
        raise ValueError("kappa_ensemble needs at least one structure")
    per = pl.DataFrame(rows)
    qs = ("kappa", "G") if shear else ("kappa",)
    Tp = float("nan") if parent_temperature is None else float(parent_temperature)
    iv = uncertainty.elastic(per.with_columns(pl.lit(Tp, pl.Float64).alias("T")), quantities=qs, unit="structure",
                             n_boot=n_boot, level=ci, seed=seed)
    summ = {"T_p": parent_temperature, "n_structures": len(rows), "n_dipoles": int(per["n_pairs"].sum())}
    by_q = {r["quantity"]: r for r in iv.iter_rows(named=True)}
    for q in qs:
        summ.update({q: by_q[q]["mean"], f"{q}_lo": by_q[q]["ci_low"], f"{q}_hi": by_q[q]["ci_high"]})
    summ["unit"] = iv["unit"][0]
    params = {"kind": "kappa_ensemble", "model": model.name, "T_p": parent_temperature, "n_pairs": n_pairs,
              "ci": ci, "n_boot": n_boot, "seed": seed, "unit": summ["unit"]}
    return make_table(per, params), make_table(pl.DataFrame([summ]), params)


def _ranks01(x: np.ndarray) -> np.ndarray:
    """Average ranks scaled to [0, 1] (0: lowest, 1: highest)."""
    from scipy.stats import rankdata
    if x.size == 1:
        return np.zeros(1)
    return (rankdata(x) - 1.0) / (x.size - 1.0)


def rank_distribution(values: np.ndarray, types: np.ndarray) -> np.ndarray:
    """Per-species rank of each value in [0, 1] (0 lowest, 1 highest within its species; NaN kept)."""
    values = np.asarray(values, dtype=np.float64)
    types = np.asarray(types)
    out = np.full(values.shape, np.nan)
    for t in np.unique(types):
        m = (types == t) & np.isfinite(values)
        if m.any():
            out[m] = _ranks01(values[m])
    return out


def mobility_extremes(frame: Frame, mobility: np.ndarray, *, radius: float, species: str | None = None,
                      n_select: int = 5, neighbors: pl.DataFrame | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Mobile and immobile extremes (Kapteijns et al. 2021 §III C).

    A particle (of ``species``, default: all) is a local extreme if its mobility is the largest
    (smallest) among the particles of that species within ``radius`` (σ) of it. Of these, the
    ``n_select`` most mobile local maxima and the ``n_select`` least mobile local minima are
    returned as index arrays ``(mobile, immobile)``. ``neighbors``: a precomputed full
    :func:`glassrs.neighbors` table of ``frame`` reaching at least ``radius``.
    """
    from glassrs.neighbors import pairs_within

    mu = np.asarray(mobility, dtype=np.float64)
    n = frame.n_particles
    if mu.shape != (n,):
        raise ValueError(f"mobility must have shape ({n},), got {mu.shape}")
    sel = np.ones(n, bool) if species is None else (np.array(frame.species)[frame.types] == species)
    if not sel.any():
        raise ValueError(f"no particle of species '{species}' (species: {list(frame.species)})")
    i, j, _ = pairs_within(frame, float(radius), neighbors)
    keep = sel[i] & sel[j]
    i, j = i[keep], j[keep]
    nmax = np.full(n, -np.inf)
    nmin = np.full(n, np.inf)
    np.maximum.at(nmax, i, mu[j])
    np.minimum.at(nmin, i, mu[j])
    cand = np.flatnonzero(sel)
    is_max = cand[mu[cand] > nmax[cand]]
    is_min = cand[mu[cand] < nmin[cand]]
    mobile = is_max[np.argsort(-mu[is_max])][:n_select]
    immobile = is_min[np.argsort(mu[is_min])][:n_select]
    return mobile, immobile


def kappa_mobility_correlation(kappa_local: np.ndarray | pl.DataFrame, mobility: np.ndarray,
                               frame: Frame) -> pl.DataFrame:
    """C_s = Spearman(1/κ_i, μ_i) per species and pooled (definitions §6.5 and §4.4: Pearson of average ranks).

    ``kappa_local`` is the :func:`local_kappa` table or an (N,) array; ``mobility`` any
    per-particle column (N,). Particles with a missing κ_i are dropped.
    """
    from scipy.stats import spearmanr
    if isinstance(kappa_local, pl.DataFrame):
        kappa_local = kappa_local["kappa_local"].fill_null(np.nan).to_numpy()
    k = np.asarray(kappa_local, dtype=np.float64)
    mu = np.asarray(mobility, dtype=np.float64)
    n = frame.n_particles
    if k.shape != (n,) or mu.shape != (n,):
        raise ValueError(f"kappa_local and mobility must have shape ({n},), got {k.shape} and {mu.shape}")
    spc = np.array(frame.species)[frame.types]
    rows = []
    for name in [*frame.species, "all"]:
        m = np.isfinite(k) & np.isfinite(mu) & (k != 0)
        if name != "all":
            m &= spc == name
        if m.sum() < 3:
            continue
        rows.append({"species": name, "C_s": float(spearmanr(1.0 / k[m], mu[m]).statistic), "n": int(m.sum())})
    return make_table(pl.DataFrame(rows, schema={"species": pl.String, "C_s": pl.Float64, "n": pl.Int64}),
                      {"kind": "kappa_mobility_correlation"})


# ----------------------------------------------------------------------------- landscape

def is_transition_rate(times: Sequence[float] | pl.DataFrame, u_is: Sequence[float] | None = None, *,
                       n_particles: int | None = None, temperature: float, density: float, threshold: float = 1e-5,
                       n0: int = 1000) -> dict:
    """Inherent-structure transition rate from a quench series U_IS(t) (definitions §6.6).

    A transition is a change |ΔU_IS| > ``threshold`` (ε, extensive energy) between successive
    quenches; Γ = transitions / elapsed time. Also reported: the reduced rate
    Γ·t_ballistic·N0/N with t_ballistic = 0.1 t0, t0 = a0/√T, a0 = (V/N)^{1/3} = ρ^{-1/3}.
    Note: with quenches every k steps, transitions closer than k steps apart are missed, so Γ
    is a lower bound that converges as k decreases.

    ``times`` may instead be the U_IS(t) table of :func:`glassrs.md.inherent_structures`
    (columns time, u_is, u_is_per_particle; N is read from it).
    """
    if isinstance(times, pl.DataFrame):
        tab = times
        u_is = tab["u_is"].to_numpy()
        if n_particles is None:
            k = int(np.argmax(np.abs(u_is)))
            n_particles = int(round(u_is[k] / tab["u_is_per_particle"][k]))
        times = tab["time"].to_numpy()
    if u_is is None or n_particles is None:
        raise ValueError("pass times and u_is arrays with n_particles, or the inherent-structure table")
    t = np.asarray(times, dtype=np.float64)
    u = np.asarray(u_is, dtype=np.float64)
    if t.shape != u.shape or t.ndim != 1 or t.size < 2:
        raise ValueError(f"times and u_is must be 1-d of equal length ≥ 2, got {t.shape} and {u.shape}")
    if not np.all(np.diff(t) > 0):
        raise ValueError("times must be strictly increasing")
    if not (temperature > 0 and density > 0 and n_particles > 0):
        raise ValueError("temperature, density and n_particles must be positive")
    jumps = np.abs(np.diff(u)) > threshold
    n_tr = int(jumps.sum())
    span = float(t[-1] - t[0])
    gamma = n_tr / span
    a0 = density ** (-1.0 / 3.0)
    t0 = a0 / np.sqrt(temperature)
    t_b = 0.1 * t0
    return {"n_transitions": n_tr, "time_span": span, "gamma": gamma, "gamma_reduced": gamma * t_b * n0 / n_particles,
            "t_ballistic": t_b, "threshold": threshold, "n0": n0}
