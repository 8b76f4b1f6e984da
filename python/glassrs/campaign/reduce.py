"""Reductions of a campaign's tables to means and fits with confidence intervals.

Every function takes the LazyFrames of :func:`glassrs.campaign.open` (a ``pl.DataFrame`` works
too), collects only the columns it needs, and returns a ``pl.DataFrame``. They do not depend on
the campaign runner: any table with the columns of :mod:`glassrs.campaign.schema` will do.

Uncertainty
-----------
Intervals are **percentile bootstrap** intervals over *independent units*:

* **configurations** (``config``) for everything measured on a trajectory — relaxation times,
  correlations, structure, rearrangements. Whole configurations are resampled with
  replacement; the particles (or frames, or lags) of one configuration are never treated as
  independent. When a configuration contributes several rows to one group (several frames,
  several files), they are averaged first, so each configuration has weight one.
* **inherent structures** (``config``, ``batch``, ``index``) for the elastic constants of
  :func:`elastic`; this assumes the structures of one trajectory are quenched far enough
  apart in time to be decorrelated.

Fits (:func:`vft`, :func:`sop_gamma`, :func:`rearrangement_arrhenius`) fit the
configuration means per temperature; their intervals come from resampling the configurations
*within each temperature* and refitting. These intervals measure the configuration-to-
configuration scatter only, not the adequacy of the model, and are conditional on a
successful refit (failed refits are counted in ``n_failed``).

Every table has the columns ``ci_low``, ``ci_high`` (at ``level``, default 0.95),
``n_units`` (units behind the value) and ``unit`` (what a unit is, e.g. ``"configurations"``).
A group with a single unit gets NaN interval bounds — one unit says nothing about the scatter,
and a zero-width interval would be a false claim of precision. Percentile intervals from few
units are too narrow: with 5 configurations a nominal 95 % interval of a mean covers the truth
about 85 % of the time (≈ 93 % with 30).

Determinism: the bootstrap draws of a group come from ``seed`` (a non-negative int) and the
group's key (e.g. system, T, species), and rows are put in a canonical order before anything
is computed, so the same rows give bitwise the same output whatever their order, and a group's
result does not depend on which other groups are present.

Units: reduced units of the model — temperatures T in ε/k_B, times in τ, lengths in σ,
energies in ε, moduli (G) and stiffnesses (κ) as recorded by :mod:`glassrs.elastic`
(ε/σ³ and ε/σ²).
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field
from typing import Sequence, Union

import numpy as np
import polars as pl

from glassrs import fits as _fits

__all__ = [
    "bootstrap_mean", "tau_alpha", "vft", "correlation", "sop_gamma", "elastic",
    "rearrangement_fraction", "rearrangement_arrhenius", "target_temperature",
]

Frame = Union[pl.LazyFrame, pl.DataFrame]

#: the unit of everything measured on a trajectory
CONFIG_UNIT: tuple[str, ...] = ("config",)
#: the columns identifying one inherent structure (the unit of :func:`elastic`)
INHERENT_UNIT: tuple[str, ...] = ("config", "batch", "index")
#: unit columns and how a table names them in its ``unit`` column (in the order
#: :mod:`glassrs.uncertainty` looks for them)
UNIT_LABELS = {"config": "configurations", "run": "runs", "block": "time blocks", "structure": "inherent structures"}
_LABELS = {**{(c,): lab for c, lab in UNIT_LABELS.items()}, INHERENT_UNIT: "inherent structures"}

#: errors a fit may raise on unusable data (TypeError: minpack on too few points)
_FIT_ERRORS = (ValueError, RuntimeError, TypeError, ArithmeticError, np.linalg.LinAlgError)
#: a fit warns about its degrees of freedom when it has at most this many
_FEW_DOF = 2
#: elements of one block of bootstrap indices (bounds memory: n_boot × n_units int64)
_BLOCK = 4_000_000

_VFT_NAMES = ("ln_tau0", "K_VFT", "T_VFT")


# ----------------------------------------------------------------------------- helpers

def _lazy(frame: Frame, what: str) -> pl.LazyFrame:
    if isinstance(frame, pl.DataFrame):
        return frame.lazy()
    if isinstance(frame, pl.LazyFrame):
        return frame
    raise TypeError(f"{what}: expected a polars LazyFrame or DataFrame, got {type(frame).__name__}")


def _cols(c: str | Sequence[str] | None) -> list[str]:
    if c is None:
        return []
    return [c] if isinstance(c, str) else list(c)


def _schema(lf: pl.LazyFrame, need: Sequence[str], what: str) -> pl.Schema:
    schema = lf.collect_schema()
    missing = [c for c in dict.fromkeys(need) if c not in schema]
    if missing:
        raise ValueError(f"{what}: table has no column(s) {missing}; it has {schema.names()}")
    return schema


def _check(n_boot: int, level: float, seed: int) -> None:
    if int(n_boot) != n_boot or n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer, got {n_boot!r}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    if int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")


def _label(ucols: Sequence[str], unit_label: str | None) -> str:
    if unit_label is not None:
        return unit_label
    return _LABELS.get(tuple(ucols), "+".join(ucols))


def _rng(seed: int, key: tuple) -> np.random.Generator:
    """A generator determined by ``seed`` and the group key (Python values from Polars rows)."""
    h = int.from_bytes(hashlib.blake2b(repr(tuple(key)).encode(), digest_size=8).digest(), "little")
    return np.random.default_rng(np.random.SeedSequence([int(seed), h]))


def _quantiles(draws: np.ndarray | None, level: float, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval along axis 0 of ``draws`` (NaN when there are none)."""
    if draws is None or len(draws) == 0:
        return np.full(width, np.nan), np.full(width, np.nan)
    lo, hi = np.quantile(draws, [(1.0 - level) / 2.0, (1.0 + level) / 2.0], axis=0)
    return np.atleast_1d(lo), np.atleast_1d(hi)


def _boot_indices(n: int, n_boot: int, rng: np.random.Generator):
    """``n_boot`` resamples with replacement of ``n`` units, as blocks of (b, n) unit indices.

    The one place where bootstrap indices are drawn: row r of the blocks, in order, is resample
    r; the draws are those of ``rng.integers(0, n, (n_boot, n))`` whatever the block size."""
    block = max(1, _BLOCK // n)
    for s in range(0, n_boot, block):
        yield rng.integers(0, n, (min(block, n_boot - s), n))


def _boot_means(v: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Means of ``n_boot`` resamples (with replacement) of the units ``v``.

    ``v``: (n,) — one value per unit — or (n, k) — k columns of the same units, all resampled
    with the same unit indices (a unit's values stay together). Returns (n_boot,) or
    (n_boot, k); column j equals what ``v[:, j]`` alone gives with the same generator state."""
    v = np.asarray(v, float)
    out = np.empty((n_boot, *v.shape[1:]))
    s = 0
    for idx in _boot_indices(len(v), n_boot, rng):
        out[s:s + len(idx)] = v[idx].mean(axis=1)
        s += len(idx)
    return out


def _boot_T_means(arrays: Sequence[np.ndarray], n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Resample the units within each temperature (ascending T, all resamples of one T drawn
    before the next): (n_boot, n_T) matrix of resampled means, or (n_boot, n_T, k) when each
    array is (n_units, k) — k columns of one unit resampled together (:func:`_boot_means`)."""
    return np.stack([_boot_means(a, n_boot, rng) for a in arrays], axis=1)


def _unit_values(lf: pl.LazyFrame, value: str | Sequence[str], by: list[str],
                 ucols: list[str]) -> tuple[pl.DataFrame, list[np.ndarray]]:
    """Per ``by`` group (sorted), the per-unit means of ``value`` (units sorted by key).

    Rows with a null or non-finite ``value`` are dropped; a unit with several rows in a group
    is represented by the mean of its rows. Returns the groups' keys and one array per group:
    (n_units,) for one column, (n_units, k) for a list of k columns (then a row is kept only
    when all k values are finite, so the columns describe the same rows of each unit).
    """
    vals = _cols(value)
    keys = list(dict.fromkeys([*by, *ucols]))
    df = (lf.select(*[pl.col(c) for c in keys], *[pl.col(c).cast(pl.Float64) for c in vals])
          .filter(pl.all_horizontal([pl.col(c).is_finite() for c in vals])).collect())
    if df.height == 0:
        return df.select(by), []
    df = df.sort([*keys, *vals], nulls_last=True)  # canonical order: same rows → same bits
    v = df[value].to_numpy() if isinstance(value, str) else df.select(vals).to_numpy()

    def starts(cols: list[str]) -> np.ndarray:
        if not cols:
            return np.array([0])
        new = pl.any_horizontal([pl.col(c).ne_missing(pl.col(c).shift(1)) for c in cols])
        flags = df.select(new).to_series().fill_null(True).to_numpy().copy()
        flags[0] = True
        return np.flatnonzero(flags)

    us = starts(keys)  # first row of each unit
    gs = starts(by)    # first row of each group (always a unit start: rows are sorted by `by` first)
    counts = np.diff(np.r_[us, len(v)])
    umeans = np.add.reduceat(v, us, axis=0) / (counts if v.ndim == 1 else counts[:, None])
    bounds = np.r_[np.searchsorted(us, gs), len(us)]
    arrays = [umeans[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    return (df.select(by)[gs.tolist()] if by else pl.DataFrame()), arrays


def _mean_ci(v: np.ndarray, n_boot: int, level: float, rng: np.random.Generator) -> tuple[float, float, float]:
    m = float(v.mean())
    if len(v) < 2:
        return m, np.nan, np.nan
    lo, hi = _quantiles(_boot_means(v, n_boot, rng), level, 1)
    return m, float(lo[0]), float(hi[0])


def _species_filter(lf: pl.LazyFrame, species: str | None) -> pl.LazyFrame:
    if species is None:
        return lf
    return lf.filter(pl.col("species") == species)


def _no_species(lf: pl.LazyFrame, species: str | None, what: str) -> ValueError:
    have = sorted(lf.select(pl.col("species").unique()).collect().to_series().drop_nulls().to_list())
    return ValueError(f"{what}: no finite rows for species {species!r}; species present: {have}")


def _fit_groups(lf: pl.LazyFrame, value: str, fitkeys: list[str],
                ucols: list[str]) -> list[tuple[tuple, np.ndarray, list[np.ndarray]]]:
    """Per fit group (``fitkeys``): temperatures (ascending) and per-T per-unit values."""
    keydf, arrays = _unit_values(lf, value, [*fitkeys, "T"], ucols)
    out: list[tuple[tuple, list[float], list[np.ndarray]]] = []
    for row, a in zip(keydf.rows(), arrays):
        k, T = row[:-1], row[-1]
        if T is None:
            continue
        if not out or out[-1][0] != k:
            out.append((k, [], []))
        out[-1][1].append(T)
        out[-1][2].append(a)
    return [(k, np.asarray(Ts, float), arrs) for k, Ts, arrs in out]


def _dof_warning(n_T: int, n_params: int, model: str) -> list[str]:
    dof = n_T - n_params
    if dof < 0:
        return [f"{n_T} temperature{'s' if n_T != 1 else ''}: a {model} fit needs at least {n_params}"]
    if dof <= _FEW_DOF:
        return [f"{n_T} temperatures: {dof} degree{'' if dof == 1 else 's'} of freedom"]
    return []


def _single_warning(T: np.ndarray, arrays: Sequence[np.ndarray], what: str = "configuration") -> list[str]:
    single = [f"{t:g}" for t, a in zip(T, arrays) if len(a) < 2]
    if not single:
        return []
    return [f"a single {what} at T = {', '.join(single)}: no interval"]


def _failed_warning(n_failed: int, n_boot: int) -> list[str]:
    return [f"{n_failed} of {n_boot} bootstrap refits failed"] if n_failed > 0.1 * n_boot else []


@dataclass
class _Fit:
    """A fit of per-temperature unit means: point values, stderrs and bootstrap draws."""

    names: tuple[str, ...]
    value: np.ndarray
    stderr: np.ndarray
    draws: np.ndarray | None  # (n_ok, n_params) or None (no interval)
    n_failed: int
    n_T: int
    n_units: int
    means: np.ndarray  # per-T means that were fitted
    warning: list[str] = field(default_factory=list)
    #: (n_ok, n_T) resampled per-T means behind each row of ``draws`` (ΔE^ma(T) needs them)
    boot_means: np.ndarray | None = None

    def rows(self, key: dict, level: float, unit: str, names: Sequence[str] | None = None) -> list[dict]:
        lo, hi = _quantiles(self.draws, level, len(self.names))
        w = "; ".join(self.warning) or None
        return [{**key, "parameter": nm, "value": float(self.value[i]), "stderr": float(self.stderr[i]),
                 "ci_low": float(lo[i]), "ci_high": float(hi[i]), "n_temperatures": self.n_T,
                 "n_units": self.n_units, "unit": unit, "n_failed": self.n_failed, "warning": w}
                for i, nm in enumerate(names or self.names)]


def _nan_fit(names, T, arrays, means, warning) -> _Fit:
    nan = np.full(len(names), np.nan)
    return _Fit(tuple(names), nan, nan.copy(), None, 0, len(T), int(sum(map(len, arrays))), means, warning)


def _vft_fit(T: np.ndarray, arrays: list[np.ndarray], n_boot: int, rng: np.random.Generator,
             p0: Sequence[float] | None, what: str = "configuration") -> _Fit:
    """fits.vft on the per-T means; bootstrap refits on means of units (``what``) resampled per T."""
    means = np.array([a.mean() for a in arrays])
    warn = _dof_warning(len(T), 3, "VFT")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = _fits.vft(T, means, p0=p0)
    except _FIT_ERRORS as e:
        return _nan_fit(_VFT_NAMES, T, arrays, means, [*warn, f"VFT fit failed: {e}"])
    value = np.array([r.params[k] for k in _VFT_NAMES])
    stderr = np.array([r.stderr[k] for k in _VFT_NAMES])
    single = _single_warning(T, arrays, what)
    draws, n_failed, kept = None, 0, None
    if not single:
        ok, rows = [], []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for row in _boot_T_means(arrays, n_boot, rng):  # one nonlinear refit per resample
                try:
                    rb = _fits.vft(T, row, p0=value)
                except _FIT_ERRORS:
                    n_failed += 1
                    continue
                ok.append([rb.params[k] for k in _VFT_NAMES])
                rows.append(row)
        draws = np.array(ok, float).reshape(-1, 3)
        kept = np.array(rows, float).reshape(-1, len(T))
    return _Fit(_VFT_NAMES, value, stderr, draws, n_failed, len(T), int(sum(map(len, arrays))), means,
                [*warn, *single, *_failed_warning(n_failed, n_boot)], kept)


def _lin_fit(kind: str, T: np.ndarray, arrays: list[np.ndarray], n_boot: int,
             rng: np.random.Generator, what: str = "configuration") -> _Fit:
    """fits.linear (y vs T) or fits.arrhenius (ln y vs 1/T) on the per-T means.

    The refits of the bootstrap are the same least-squares problem with the same design matrix,
    solved for all resamples at once (one ``lstsq`` with n_boot right-hand sides).
    """
    means = np.array([a.mean() for a in arrays])
    names = ("intercept", "slope") if kind == "linear" else ("ln_tau0", "E")
    warn = _dof_warning(len(T), 2, kind)
    try:
        r = _fits.linear(T, means) if kind == "linear" else _fits.arrhenius(T, means)
    except _FIT_ERRORS as e:
        return _nan_fit(names, T, arrays, means, [*warn, f"{kind} fit failed: {e}"])
    value = np.array([r.params[k] for k in names])
    stderr = np.array([r.stderr[k] for k in names])
    single = _single_warning(T, arrays, what)
    draws, n_failed = None, 0
    if not single:
        M = _boot_T_means(arrays, n_boot, rng)
        x = T
        if kind == "arrhenius":
            good = np.all(M > 0, axis=1)
            n_failed = int((~good).sum())
            M, x = np.log(M[good]), 1.0 / T
        A = np.column_stack([np.ones_like(x), x])
        draws = np.linalg.lstsq(A, M.T, rcond=None)[0].T if len(M) else np.empty((0, 2))
    return _Fit(names, value, stderr, draws, n_failed, len(T), int(sum(map(len, arrays))), means,
                [*warn, *single, *_failed_warning(n_failed, n_boot)])


_FIT_SCHEMA = {"parameter": pl.String, "value": pl.Float64, "stderr": pl.Float64, "ci_low": pl.Float64,
               "ci_high": pl.Float64, "n_temperatures": pl.Int64, "n_units": pl.Int64, "unit": pl.String,
               "n_failed": pl.Int64, "warning": pl.String}


def _fit_frame(rows: list[dict], keys: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={**keys, **_FIT_SCHEMA})


# ----------------------------------------------------------------------------- means

def bootstrap_mean(lf: Frame, value: str, by: str | Sequence[str] | None, *,
                   unit: str | Sequence[str] = "config", n_boot: int = 1000, level: float = 0.95,
                   seed: int = 0, unit_label: str | None = None) -> pl.DataFrame:
    """Mean over independent units of ``value`` per ``by`` group, with a percentile bootstrap CI.

    Per group, each unit (the distinct values of the ``unit`` column(s), default
    ``config``) contributes one value: the mean of its rows in the group (null/NaN/inf rows
    dropped). ``mean`` is the mean of these per-unit values; ``ci_low``/``ci_high`` are the
    ``(1 ∓ level)/2`` quantiles of the means of ``n_boot`` resamples of the units with
    replacement. With a single unit the interval is NaN (undefined), not zero-width.

    ``value`` keeps its units (e.g. τ_α in τ). ``unit_label`` names the unit in the ``unit``
    column (default ``"configurations"`` for ``config``, ``"inherent structures"`` for
    ``(config, batch, index)``, otherwise the column names). Groups without a finite value are
    absent from the output. Units are told apart by their ``unit`` values *within a group*:
    configuration numbers restart in every system and temperature, so keep ``system`` and
    ``T`` in ``by`` (or add them to ``unit``) when pooling over them.

    Returns columns: *by, mean, ci_low, ci_high, n_units, unit — sorted by ``by``.
    """
    _check(n_boot, level, seed)
    lf = _lazy(lf, "bootstrap_mean")
    by, ucols = _cols(by), _cols(unit)
    if not ucols:
        raise ValueError("bootstrap_mean needs at least one unit column")
    _schema(lf, [*by, *ucols, value], "bootstrap_mean")
    keydf, arrays = _unit_values(lf, value, by, ucols)
    keyrows = keydf.rows() if by else [()] * len(arrays)
    stats = [_mean_ci(a, n_boot, level, _rng(seed, k)) for k, a in zip(keyrows, arrays)]
    cols = {
        "mean": pl.Series("mean", [s[0] for s in stats], pl.Float64),
        "ci_low": pl.Series("ci_low", [s[1] for s in stats], pl.Float64),
        "ci_high": pl.Series("ci_high", [s[2] for s in stats], pl.Float64),
        "n_units": pl.Series("n_units", [len(a) for a in arrays], pl.Int64),
        "unit": pl.Series("unit", [_label(ucols, unit_label)] * len(arrays), pl.String),
    }
    out = pl.DataFrame(list(cols.values()))
    return pl.concat([keydf, out], how="horizontal") if by else out


def tau_alpha(relaxation: Frame, *, column: str = "tau_alpha", n_boot: int = 1000, level: float = 0.95,
              seed: int = 0) -> pl.DataFrame:
    """Configuration mean of a relaxation column per system, T, species, with bootstrap CI.

    ``column``: ``"tau_alpha"`` (τ_α, overlap Q(t) = 1/e, in τ; the default), ``"tau_fs"`` (τ_α
    of F_s(q, t), in τ), ``"D"`` (diffusion coefficient, σ²/τ), ``"alpha2_peak"`` (height of the
    non-Gaussian parameter's peak, dimensionless), ``"alpha2_peak_time"`` (τ) or
    ``"msd_at_peak"`` (σ²). The mean is arithmetic over configurations; the interval resamples
    configurations (NaN with a single configuration).

    Returns columns: system, T, species, mean, ci_low, ci_high, n_units, unit.
    """
    return bootstrap_mean(relaxation, column, ["system", "T", "species"], unit="config", n_boot=n_boot,
                          level=level, seed=seed)


def correlation(corr: Frame, *, n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> pl.DataFrame:
    """Configuration mean of the Spearman correlation C_R(X(L), μ(t)) with bootstrap CI.

    Groups: system, T, species, quantity (the structural quantity X), L (coarse-graining length,
    σ) and t_over_tau_alpha (the time of the mobility in units of that state point's τ_α; rows
    of different configurations are matched on this value). C_R is dimensionless. Each
    configuration's C_R is one unit — its particles are not resampled.

    Returns columns: system, T, species, quantity, L, t_over_tau_alpha, mean, ci_low, ci_high,
    n_units, unit.
    """
    return bootstrap_mean(corr, "c_r", ["system", "T", "species", "quantity", "L", "t_over_tau_alpha"],
                          unit="config", n_boot=n_boot, level=level, seed=seed)


def elastic(inherent: Frame, *, unit: str | Sequence[str] = INHERENT_UNIT, n_boot: int = 1000,
            level: float = 0.95, seed: int = 0) -> pl.DataFrame:
    """Mean athermal shear modulus G (ε/σ³) and dipole stiffness κ (ε/σ²) per system and parent T.

    ``T`` of the inherent table is the parent temperature T_p (ε/k_B) of the quench. The unit is
    the inherent structure (``config``, ``batch``, ``index``): structures are resampled with
    replacement. Pass ``unit="config"`` to resample whole parent trajectories instead (a wider,
    more conservative interval when structures of one trajectory are correlated). Rows with a
    NaN G or κ are dropped for that quantity only.

    Returns columns (long format): system, T, quantity ("G", "kappa"), mean, ci_low, ci_high,
    n_units, unit.
    """
    lf = _lazy(inherent, "elastic")
    ucols = _cols(unit)
    _schema(lf, ["system", "T", *ucols, "G", "kappa"], "elastic")
    parts = [bootstrap_mean(lf, q, ["system", "T"], unit=ucols, n_boot=n_boot, level=level, seed=seed)
             .with_columns(pl.lit(q).alias("quantity")) for q in ("G", "kappa")]
    return (pl.concat(parts).select("system", "T", "quantity", "mean", "ci_low", "ci_high", "n_units", "unit")
            .sort("system", "T", "quantity"))


def rearrangement_fraction(rearrangements: Frame, *, n_boot: int = 1000, level: float = 0.95,
                           seed: int = 0) -> pl.DataFrame:
    """Fraction of rearranging particles P_R per system, T, species, with bootstrap CI.

    Per configuration, P_R = Σ n_rearranging / Σ n over its frames (the fraction of
    particle-frames with p_hop > p_c, dimensionless; each configuration's counts use the
    threshold p_c recorded with them). ``mean`` is the mean of the per-configuration P_R;
    the interval resamples configurations. ``p_c`` is the mean threshold over configurations
    (σ², informational). Configurations with Σ n = 0 are skipped.

    Returns columns: system, T, species, p_c, mean, ci_low, ci_high, n_units, unit.
    """
    lf = _lazy(rearrangements, "rearrangement_fraction")
    _schema(lf, ["system", "T", "config", "species", "n", "n_rearranging", "p_c"], "rearrangement_fraction")
    per = _per_config_pr(lf)
    out = bootstrap_mean(per, "p_r", ["system", "T", "species"], unit="config", n_boot=n_boot, level=level,
                         seed=seed)
    keydf, arrays = _unit_values(per, "p_c", ["system", "T", "species"], ["config"])
    pc = keydf.with_columns(pl.Series("p_c", [float(a.mean()) for a in arrays], pl.Float64))
    out = out.join(pc, on=["system", "T", "species"], how="left", nulls_equal=True, maintain_order="left")
    return out.select("system", "T", "species", "p_c", "mean", "ci_low", "ci_high", "n_units", "unit")


def _per_config_pr(lf: pl.LazyFrame) -> pl.LazyFrame:
    """One row per (system, T, species, config): P_R = Σ n_rearranging / Σ n, mean p_c."""
    keys = ["system", "T", "species", "config"]
    return (lf.group_by(keys)
            .agg(pl.col("n_rearranging").cast(pl.Int64).sum().alias("_nr"), pl.col("n").cast(pl.Int64).sum().alias("_n"),
                 pl.col("p_c").cast(pl.Float64).sort().mean().alias("p_c"))
            .filter(pl.col("_n") > 0)
            .select(*keys, (pl.col("_nr") / pl.col("_n")).alias("p_r"), "p_c"))


# ----------------------------------------------------------------------------- fits

def vft(relaxation: Frame, *, species: str | None = "all", column: str = "tau_alpha", n_boot: int = 1000,
        level: float = 0.95, seed: int = 0, p0: Sequence[float] | None = None) -> pl.DataFrame:
    """VFT fit τ(T) = τ0 exp[T_VFT / (K_VFT (T − T_VFT))] per system (and species).

    The fit (:func:`glassrs.fits.vft`, least squares on ln τ) is to the configuration mean of
    ``column`` (τ_α in τ by default) at each temperature (ε/k_B). Intervals: configurations are
    resampled with replacement within each temperature, the means recomputed and the fit
    redone (``n_boot`` times; refits that fail — no convergence, T_VFT ≥ min T — are skipped
    and counted in ``n_failed``). ``stderr`` is the 1σ error of the least-squares fit of the
    means (NaN with 3 temperatures: no residual degrees of freedom).

    Parameters: ``ln_tau0`` (ln of τ0 in τ), ``K_VFT`` (kinetic fragility, dimensionless),
    ``T_VFT`` (ε/k_B). ``species``: one species (default ``"all"``) or None for every species
    separately. ``p0``: starting values (ln_tau0, K_VFT, T_VFT) of the fit of the means.

    ``warning`` is set when the fit has few residual degrees of freedom (``"3 temperatures: 0
    degrees of freedom"``, ``"4 temperatures: 1 degree of freedom"``, ``"5 temperatures: 2
    degrees of freedom"``), when a temperature has a single configuration (then the interval is
    NaN: that temperature's scatter is unknown), when more than 10 % of refits fail, or when the
    fit of the means fails (then all values are NaN); null otherwise.

    Returns columns: system, species, parameter, value, stderr, ci_low, ci_high, n_temperatures,
    n_units (configurations summed over temperatures), unit, n_failed, warning.
    """
    _check(n_boot, level, seed)
    lf = _lazy(relaxation, "vft")
    schema = _schema(lf, ["system", "T", "config", "species", column], "vft")
    sel = _species_filter(lf, species)
    groups = _fit_groups(sel, column, ["system", "species"], ["config"])
    if not groups and species is not None:
        raise _no_species(lf, species, "vft")
    rows = []
    for k, T, arrays in groups:
        fit = _vft_fit(T, arrays, n_boot, _rng(seed, ("vft", *k)), p0)
        rows += fit.rows({"system": k[0], "species": k[1]}, level, _LABELS[CONFIG_UNIT])
    return _fit_frame(rows, {"system": schema["system"], "species": schema["species"]})


def sop_gamma(structure_summary: Frame, *, species: str | None = "all", n_boot: int = 1000,
              level: float = 0.95, seed: int = 0) -> pl.DataFrame:
    """Temperature slopes of the inverse structural order parameter, per system (and species).

    Linear fits (:func:`glassrs.fits.linear`) of the configuration means at each temperature:
    ``sop_macro`` = 1/|βΦ| (macroscopic) = ``gamma_intercept`` + ``gamma`` T and ``sop_mean`` =
    ⟨1/|βφ_i|⟩ = ``gamma_prime_intercept`` + ``gamma_prime`` T. The SOPs are dimensionless and T
    is in ε/k_B, so γ and γ′ are in k_B/ε and the intercepts dimensionless. Intervals resample
    configurations within each temperature and refit; stderr is the 1σ least-squares error.
    ``warning`` as in :func:`vft` (≤ 2 degrees of freedom, single configurations, failed fit).

    Returns columns: system, species, parameter ("gamma_intercept", "gamma",
    "gamma_prime_intercept", "gamma_prime"), value, stderr, ci_low, ci_high, n_temperatures,
    n_units, unit, n_failed, warning.
    """
    _check(n_boot, level, seed)
    lf = _lazy(structure_summary, "sop_gamma")
    schema = _schema(lf, ["system", "T", "config", "species", "sop_macro", "sop_mean"], "sop_gamma")
    sel = _species_filter(lf, species)
    rows = []
    for col, names in (("sop_macro", ("gamma_intercept", "gamma")),
                       ("sop_mean", ("gamma_prime_intercept", "gamma_prime"))):
        for k, T, arrays in _fit_groups(sel, col, ["system", "species"], ["config"]):
            fit = _lin_fit("linear", T, arrays, n_boot, _rng(seed, ("sop_gamma", col, *k)))
            rows += fit.rows({"system": k[0], "species": k[1]}, level, _LABELS[CONFIG_UNIT], names)
    if not rows and species is not None:
        raise _no_species(lf, species, "sop_gamma")
    order = {"gamma_intercept": 0, "gamma": 1, "gamma_prime_intercept": 2, "gamma_prime": 3}
    out = _fit_frame(rows, {"system": schema["system"], "species": schema["species"]})
    return (out.with_columns(pl.col("parameter").replace_strict(order, return_dtype=pl.Int64).alias("_o"))
            .sort("system", "species", "_o", nulls_last=True).drop("_o"))


def rearrangement_arrhenius(rearrangements: Frame, *, species: str | None = None, n_boot: int = 1000,
                            level: float = 0.95, seed: int = 0) -> pl.DataFrame:
    """Arrhenius fit of the rearrangement fraction: P_R(T) = P0 exp(−ΔE/T), per system and species.

    P_R per configuration as in :func:`rearrangement_fraction`; the fit is
    :func:`glassrs.fits.arrhenius` applied to the configuration means (ln P_R = ln P0 − ΔE/T, i.e.
    an Arrhenius "τ" with E = −ΔE). Reported parameters:

    * ``ln_P0`` — ln of the infinite-temperature fraction P0 (dimensionless);
    * ``Delta_E`` — the activation energy ΔE (ε) = −E of the Arrhenius fit; positive when
      rearrangements become rarer on cooling.

    Intervals resample configurations within each temperature and refit (all resamples at
    once); a resample whose mean P_R is 0 at some temperature cannot be fitted on ln P_R and is
    counted in ``n_failed``. ``species``: one species, or None (default) for each species.
    ``warning`` as in :func:`vft` (here with 2 parameters: "2 temperatures: 0 degrees of
    freedom", …).

    Returns columns: system, species, parameter, value, stderr, ci_low, ci_high, n_temperatures,
    n_units, unit, n_failed, warning.
    """
    _check(n_boot, level, seed)
    lf = _lazy(rearrangements, "rearrangement_arrhenius")
    schema = _schema(lf, ["system", "T", "config", "species", "n", "n_rearranging", "p_c"],
                     "rearrangement_arrhenius")
    sel = _per_config_pr(_species_filter(lf, species))
    groups = _fit_groups(sel, "p_r", ["system", "species"], ["config"])
    if not groups and species is not None:
        raise _no_species(lf, species, "rearrangement_arrhenius")
    rows = []
    for k, T, arrays in groups:
        fit = _lin_fit("arrhenius", T, arrays, n_boot, _rng(seed, ("rearrangement_arrhenius", *k)))
        # ln P_R = ln_tau0 + E/T  →  ln P0 = ln_tau0, ΔE = −E (the interval of −E is −(interval of E))
        fit.value[1] *= -1
        if fit.draws is not None:
            fit.draws = fit.draws * np.array([1.0, -1.0])
        rows += fit.rows({"system": k[0], "species": k[1]}, level, _LABELS[CONFIG_UNIT], ("ln_P0", "Delta_E"))
    return _fit_frame(rows, {"system": schema["system"], "species": schema["species"]})


def _vft_temperature(params: np.ndarray, tau: float) -> np.ndarray:
    """T > T_VFT solving ln τ = ln τ0 + T_VFT/(K (T − T_VFT)); NaN where there is none.

    ``params``: (..., 3) array of (ln_tau0, K_VFT, T_VFT)."""
    p = np.asarray(params, float)
    ln0, K, T0 = p[..., 0], p[..., 1], p[..., 2]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        x = T0 / (K * (np.log(tau) - ln0))  # T − T_VFT
        return np.where(np.isfinite(x) & (x > 0), T0 + x, np.nan)


def target_temperature(relaxation: Frame, system: str, tau_target: float | Sequence[float], *,
                       species: str = "all", column: str = "tau_alpha", n_boot: int = 1000,
                       level: float = 0.95, seed: int = 0,
                       p0: Sequence[float] | None = None) -> pl.DataFrame:
    """Temperature at which the VFT fit of τ_α reaches ``tau_target`` (τ), with a bootstrap CI.

    Fits :func:`vft` for ``system``/``species`` (same data, seed and refits, so the intervals
    agree with :func:`vft`'s) and solves τ_VFT(T) = tau_target for T > T_VFT:
    T = T_VFT + T_VFT / (K_VFT (ln tau_target − ln τ0)) (ε/k_B). ``ci_low``/``ci_high`` are
    percentiles of the solutions of the bootstrap refits (resamples without a solution above
    their T_VFT are left out). ``T`` is NaN when the fit has no solution (tau_target ≤ τ0)
    or failed. ``extrapolated`` is true when tau_target lies outside the range of the
    configuration-mean τ_α of the measured temperatures — the VFT form is then trusted beyond
    the data. ``tau_target`` may be a sequence (one row each).

    Returns one row per target: system, species, tau_target, T, ci_low, ci_high, ln_tau0,
    K_VFT, T_VFT, extrapolated, tau_min, tau_max (measured range, τ), n_temperatures, n_units,
    unit, n_failed, warning.
    """
    _check(n_boot, level, seed)
    lf = _lazy(relaxation, "target_temperature")
    schema = _schema(lf, ["system", "T", "config", "species", column], "target_temperature")
    sel = lf.filter((pl.col("system") == system) & (pl.col("species") == species))
    groups = _fit_groups(sel, column, ["system", "species"], ["config"])
    if not groups:
        have = sorted(lf.select(pl.col("system").unique()).collect().to_series().drop_nulls().to_list())
        raise ValueError(f"target_temperature: no finite {column} for system {system!r}, species {species!r} "
                         f"(systems present: {have})")
    k, T, arrays = groups[0]
    fit = _vft_fit(T, arrays, n_boot, _rng(seed, ("vft", *k)), p0)
    targets = np.atleast_1d(np.asarray(tau_target, float)).ravel()
    if np.any(~np.isfinite(targets) | (targets <= 0)):
        raise ValueError(f"tau_target must be positive and finite, got {targets.tolist()}")
    lo_tau, hi_tau = float(fit.means.min()), float(fit.means.max())
    rows = []
    for tt in targets:
        Tt = float(_vft_temperature(fit.value, tt))
        if fit.draws is not None and len(fit.draws):
            d = _vft_temperature(fit.draws, tt)
            lo, hi = _quantiles(d[np.isfinite(d)], level, 1)
        else:
            lo, hi = _quantiles(None, level, 1)
        rows.append({"system": k[0], "species": k[1], "tau_target": float(tt), "T": Tt, "ci_low": float(lo[0]),
                     "ci_high": float(hi[0]), **{nm: float(v) for nm, v in zip(_VFT_NAMES, fit.value)},
                     "extrapolated": bool(tt < lo_tau or tt > hi_tau), "tau_min": lo_tau, "tau_max": hi_tau,
                     "n_temperatures": fit.n_T, "n_units": fit.n_units, "unit": _LABELS[CONFIG_UNIT],
                     "n_failed": fit.n_failed, "warning": "; ".join(fit.warning) or None})
    sch = {"system": schema["system"], "species": schema["species"], "tau_target": pl.Float64, "T": pl.Float64,
           "ci_low": pl.Float64, "ci_high": pl.Float64, "ln_tau0": pl.Float64, "K_VFT": pl.Float64,
           "T_VFT": pl.Float64, "extrapolated": pl.Boolean, "tau_min": pl.Float64, "tau_max": pl.Float64,
           "n_temperatures": pl.Int64, "n_units": pl.Int64, "unit": pl.String, "n_failed": pl.Int64,
           "warning": pl.String}
    return pl.DataFrame(rows, schema=sch)
