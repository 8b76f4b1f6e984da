"""Intervals outside campaigns: γ, γ′, VFT, apparent barriers, κ(T_p) and G(T_p) from tables of
per-unit values (definitions §5).

Every function takes the values of the *independent units* behind a result — one row per unit
and temperature: configurations, isoconfigurational runs, time blocks of one trajectory
(:func:`glassrs.dynamics.relaxation_blocks`, :func:`glassrs.structure.sop_blocks`) or inherent
structures — either as one ``pl.DataFrame`` with a column ``T`` (ε/k_B) or as a mapping
T → table (the tables of several state points, a ``T`` column is added). A unit with several rows
at one T (several frames, several species rows filtered to one) is averaged to one value first.
The unit column is named by ``unit`` (default: the first of ``config``, ``run``, ``block``,
``structure`` that the table has).

Intervals are percentile bootstrap intervals: the units are resampled with replacement *within
each temperature*, the per-T means recomputed and the fit redone — the same machinery (and
random streams) as :mod:`glassrs.campaign.reduce`, whose functions these generalise to any
unit column. Particles of one configuration are never resampled as if independent: their
values enter only through the unit's mean. With one unit at some temperature there is no
interval (NaN, and a warning). Percentile intervals from few units are too narrow (≈ 85 %
coverage of a nominal 95 % interval of a mean with 5 units).

Every table has the columns ``unit`` (what was resampled, e.g. ``"time blocks"``), ``level``
(the interval's nominal coverage), ``n_units`` and, for fits, ``n_failed`` (refits that failed)
and ``warning`` (few degrees of freedom, single units, failed refits).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Mapping, Sequence, Union

import numpy as np
import polars as pl

from glassrs.campaign import reduce as _R
from glassrs.tables import make_table

__all__ = ["unit_values", "gamma", "vft", "vft_fit", "VFTFit", "apparent_barriers", "elastic"]

Data = Union[pl.DataFrame, Mapping[float, pl.DataFrame]]

#: unit columns looked for, in order, when ``unit`` is not given, and their labels
UNIT_LABELS = _R.UNIT_LABELS
#: γ (macroscopic SOP) and γ′ (both conventions of the particle SOP, definitions §5.2)
GAMMA_COLUMNS = {"sop_macro": "gamma", "sop_mean": "gamma_prime", "sop_inv_mean_depth": "gamma_prime_inv_mean_depth"}


def _table(data: Data, what: str) -> pl.DataFrame:
    """One table with a ``T`` column from a table or a mapping T → table."""
    if isinstance(data, pl.LazyFrame):
        data = data.collect()
    if isinstance(data, pl.DataFrame):
        if "T" not in data.columns:
            raise ValueError(f"{what}: the table has no column 'T' (temperature, ε/k_B); columns: {data.columns} — "
                             "add one, or pass a mapping {{T: table}}")
        return data
    if isinstance(data, Mapping):
        if not data:
            raise ValueError(f"{what}: an empty mapping of temperatures to tables")
        parts = []
        for T, df in data.items():
            if not isinstance(df, pl.DataFrame):
                raise TypeError(f"{what}: the value for T = {T!r} is a {type(df).__name__}, not a polars DataFrame")
            parts.append(df.drop("T", strict=False).with_columns(pl.lit(float(T), pl.Float64).alias("T")))
        return pl.concat(parts, how="diagonal_relaxed")
    raise TypeError(f"{what}: expected a polars DataFrame or a mapping T → DataFrame, got {type(data).__name__}")


def _unit(df: pl.DataFrame, unit: str | Sequence[str] | None, unit_label: str | None, what: str
          ) -> tuple[list[str], str]:
    if unit is None:
        found = [c for c in UNIT_LABELS if c in df.columns]
        if not found:
            raise ValueError(f"{what}: no unit column ({', '.join(UNIT_LABELS)}) in the table (columns: "
                             f"{df.columns}); name the column of the independent units with unit=")
        unit = found[0]
    ucols = [unit] if isinstance(unit, str) else list(unit)
    missing = [c for c in ucols if c not in df.columns]
    if missing:
        raise ValueError(f"{what}: unit column(s) {missing} not in the table (columns: {df.columns})")
    return ucols, _R._label(ucols, unit_label)


def _species(df: pl.DataFrame, species: str | None, what: str) -> pl.DataFrame:
    if "species" not in df.columns or species is None:
        return df
    out = df.filter(pl.col("species") == species)
    if out.height == 0:
        have = sorted(df["species"].drop_nulls().unique().to_list())
        raise ValueError(f"{what}: no rows of species {species!r}; species present: {have}")
    return out


def _singular(label: str) -> str:
    return label[:-1] if label.endswith("s") else label


def unit_values(data: Data, value: str, *, unit: str | Sequence[str] | None = None,
                species: str | None = "all") -> tuple[np.ndarray, list[np.ndarray], list[str]]:
    """The per-unit values of column ``value`` at each temperature.

    Returns ``(T, arrays, unit_columns)``: the temperatures (ascending, ε/k_B), one array per T of
    the unit means of ``value`` (units sorted by key; null and non-finite rows dropped) and the
    unit column(s) used. ``species`` selects rows when the table has a ``species`` column
    (None: all rows, pooled per unit).
    """
    T, arrays, ucols, _ = _values(data, value, unit, None, species, "unit_values")
    return T, arrays, ucols


def _values(data: Data, value: str, unit, unit_label, species, what: str):
    """(T, per-T unit arrays, unit columns, unit label) of column ``value``, or a ValueError."""
    df = _species(_table(data, what), species, what)
    ucols, label = _unit(df, unit, unit_label, what)
    if value not in df.columns:
        raise ValueError(f"{what}: no column {value!r} in the table (columns: {df.columns})")
    groups = _R._fit_groups(df.lazy(), value, [], ucols)
    if not groups:
        raise ValueError(f"{what}: no finite {value!r} at any temperature")
    _, T, arrays = groups[0]
    return T, arrays, ucols, label


def _check(n_boot: int, level: float, seed: int) -> None:
    _R._check(n_boot, level, seed)


def _frame(rows: list[dict], level: float, extra: dict | None = None) -> pl.DataFrame:
    schema = {**(extra or {}), **_R._FIT_SCHEMA}
    out = pl.DataFrame(rows, schema=schema)
    return out.with_columns(pl.lit(float(level), pl.Float64).alias("level"))


def gamma(data: Data, *, columns: Sequence[str] | None = None, unit: str | Sequence[str] | None = None,
          unit_label: str | None = None, species: str | None = "all", n_boot: int = 1000, level: float = 0.95,
          seed: int = 0) -> pl.DataFrame:
    """γ and γ′ — slopes of the SOPs against T (definitions §5.2) — with bootstrap intervals.

    ``data``: per-unit SOPs, e.g. ``{T: glassrs.structure.sop_blocks(traj_T, ...)}`` (unit: time
    blocks) or one row per configuration. Each column of ``columns`` (default: those of
    ``sop_macro`` → γ, ``sop_mean`` → γ′, ``sop_inv_mean_depth`` → γ′ in the 1/⟨|βφ_i|⟩
    convention, that the table has) is fitted as SOP = intercept + slope·T
    (:func:`glassrs.fits.linear` on the per-T unit means); the SOPs are dimensionless, T in
    ε/k_B, so the slopes are in k_B/ε. Intervals: units resampled within each T, refitted (all
    resamples in one least-squares solve). ``stderr`` is the 1σ error of the fit of the means.

    Returns columns: quantity (the SOP column), parameter (``gamma_intercept``, ``gamma``,
    ``gamma_prime_intercept``, ``gamma_prime``, …), value, stderr, ci_low, ci_high,
    n_temperatures, n_units, unit, n_failed, warning, level.
    """
    _check(n_boot, level, seed)
    df = _species(_table(data, "gamma"), species, "gamma")
    ucols, label = _unit(df, unit, unit_label, "gamma")
    cols = [c for c in GAMMA_COLUMNS if c in df.columns] if columns is None else list(columns)
    if not cols:
        raise ValueError(f"gamma: the table has none of the SOP columns {list(GAMMA_COLUMNS)} (columns: {df.columns})")
    rows = []
    for c in cols:
        if c not in df.columns:
            raise ValueError(f"gamma: no column {c!r} in the table (columns: {df.columns})")
        name = GAMMA_COLUMNS.get(c, f"gamma_{c}")
        for _, T, arrays in _R._fit_groups(df.lazy(), c, [], ucols):
            fit = _R._lin_fit("linear", T, arrays, n_boot, _R._rng(seed, ("gamma", c)), _singular(label))
            rows += fit.rows({"quantity": c}, level, label, (f"{name}_intercept", name))
    return make_table(_frame(rows, level, {"quantity": pl.String}),
                      {"kind": "gamma", "unit": label, "n_boot": int(n_boot), "level": level, "seed": int(seed),
                       "model": "sop = intercept + slope T", "interval": "percentile bootstrap over units within each T"})


def _vft(data: Data, tau: str, unit, unit_label, species, n_boot, level, seed, p0, what):
    _check(n_boot, level, seed)
    T, arrays, _, label = _values(data, tau, unit, unit_label, species, what)
    return T, arrays, label, _R._vft_fit(T, arrays, n_boot, _R._rng(seed, ("vft", tau)), p0, _singular(label))


@dataclass
class VFTFit:
    """Result of :func:`vft_fit`: the parameter table of :func:`vft` and the fitted curve.

    parameters : the table :func:`vft` returns (same resamples and refits).
    T : the temperatures (ε/k_B, ascending) of the data; tau : the per-T unit means (time units).
    unit, level : what was resampled and the intervals' nominal coverage.
    """

    parameters: pl.DataFrame
    T: np.ndarray
    tau: np.ndarray
    unit: str
    level: float
    _fit: _R._Fit = field(repr=False)

    def curve(self, T=None, *, n_points: int = 100) -> pl.DataFrame:
        """τ_VFT(T) of the fit of the means with a pointwise percentile band over the refits.

        ``T``: temperatures (ε/k_B; default ``n_points`` from min to max of the data). Per
        bootstrap refit (the resamples of :attr:`parameters`) ln τ_b(T) = ln τ0,b + T_VFT,b /
        (K_VFT,b (T − T_VFT,b)); ``ci_low``/``ci_high`` are the (1 ∓ level)/2 quantiles of τ_b(T)
        (time units; NaN without an interval). Below a refit's T_VFT its τ_b is undefined and
        that refit is left out at that T. Columns: T, tau, ci_low, ci_high, unit, level.
        """
        Tg = np.linspace(self.T.min(), self.T.max(), int(n_points)) if T is None else np.asarray(T, float).ravel()
        f = self._fit

        def ln_tau(p):
            p = np.atleast_2d(p)[:, :, None]
            with np.errstate(divide="ignore", invalid="ignore"):
                y = p[:, 0] + p[:, 2] / (p[:, 1] * (Tg[None, :] - p[:, 2]))
            return np.where(Tg[None, :] > p[:, 2], y, np.nan)

        y = np.exp(ln_tau(f.value)[0])
        lo = hi = np.full(len(Tg), np.nan)
        if f.draws is not None and len(f.draws):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns below every T_VFT,b
                lo, hi = np.exp(np.nanquantile(ln_tau(f.draws), [(1 - self.level) / 2, (1 + self.level) / 2], axis=0))
        return make_table(pl.DataFrame({"T": Tg, "tau": y, "ci_low": lo, "ci_high": hi, "unit": self.unit,
                                        "level": float(self.level)}),
                          {"kind": "vft_curve", "unit": self.unit, "level": self.level,
                           "interval": "pointwise percentile over the bootstrap refits"})


def vft_fit(data: Data, *, tau: str = "tau_alpha", unit: str | Sequence[str] | None = None,
            unit_label: str | None = None, species: str | None = "all", n_boot: int = 1000, level: float = 0.95,
            seed: int = 0, p0: Sequence[float] | None = None) -> VFTFit:
    """:func:`vft` that also keeps the bootstrap refits, for the fitted τ_α(T) with its band
    (:meth:`VFTFit.curve`). Arguments and ``parameters`` as :func:`vft` (the same numbers)."""
    T, arrays, label, fit = _vft(data, tau, unit, unit_label, species, n_boot, level, seed, p0, "vft")
    table = make_table(_frame(fit.rows({}, level, label), level),
                       {"kind": "vft", "tau": tau, "unit": label, "n_boot": int(n_boot), "level": level,
                        "seed": int(seed), "interval": "percentile bootstrap over units within each T"})
    return VFTFit(table, T, fit.means, label, float(level), fit)


def vft(data: Data, *, tau: str = "tau_alpha", unit: str | Sequence[str] | None = None,
        unit_label: str | None = None, species: str | None = "all", n_boot: int = 1000, level: float = 0.95,
        seed: int = 0, p0: Sequence[float] | None = None) -> pl.DataFrame:
    """VFT fit τ_α(T) = τ0 exp[T_VFT/(K_VFT (T − T_VFT))] of τ_α values that carry their own
    scatter, with the scatter propagated into the parameters.

    ``data``: per-unit τ_α (column ``tau``, time units) at each T, e.g.
    ``{T: glassrs.dynamics.relaxation_blocks(traj_T)}`` (unit: time blocks) or one row per
    configuration or run. The fit (:func:`glassrs.fits.vft`, on ln τ) is to the per-T unit
    means; the interval resamples the units within each T, recomputes the means and refits
    (refits that fail — no convergence, T_VFT ≥ min T — are skipped and counted in
    ``n_failed``). ``p0``: starting (ln_tau0, K_VFT, T_VFT). The fitted curve with its band:
    :func:`vft_fit`.

    Returns columns: parameter (``ln_tau0``, ``K_VFT``, ``T_VFT`` in ε/k_B), value, stderr,
    ci_low, ci_high, n_temperatures, n_units, unit, n_failed, warning, level.
    """
    return vft_fit(data, tau=tau, unit=unit, unit_label=unit_label, species=species, n_boot=n_boot, level=level,
                   seed=seed, p0=p0).parameters


def apparent_barriers(data: Data, *, tau: str = "tau_alpha", unit: str | Sequence[str] | None = None,
                      unit_label: str | None = None, species: str | None = "all", n_boot: int = 1000,
                      level: float = 0.95, seed: int = 0, p0: Sequence[float] | None = None) -> pl.DataFrame:
    """The apparent macroscopic barrier ΔE^ma(T) = T ln(τ_α/τ0) (ε; definitions §5.3) with τ0
    from the VFT fit of the same data, and its interval.

    Per bootstrap resample (the same resamples and refits as :func:`vft` with the same
    arguments) the per-T mean τ_α and τ0 change together: ΔE^ma_b(T) = T (ln τ̄_b(T) − ln τ0,b),
    so the interval carries both the scatter of τ_α at that T and that of the fitted τ0. The
    A′, B′ fits of 1/ΔE^ma against Δ((βΦ)⁻¹) need the SOP of the same units as well:
    :func:`glassrs.fits.macroscopic_barriers` (same resampling rule).

    Returns one row per T: T, n_units, tau_alpha (mean, time units), tau_ci_low, tau_ci_high,
    delta_e_ma (ε), ci_low, ci_high, ln_tau0, unit, n_failed, warning, level.
    """
    T, arrays, label, fit = _vft(data, tau, unit, unit_label, species, n_boot, level, seed, p0, "apparent_barriers")
    ln0 = float(fit.value[0])
    de = T * (np.log(fit.means) - ln0)
    if fit.draws is not None and len(fit.draws):
        with np.errstate(divide="ignore", invalid="ignore"):
            D = T[None, :] * (np.log(fit.boot_means) - fit.draws[:, :1])
        lo, hi = _R._quantiles(D, level, len(T))
        tlo, thi = _R._quantiles(fit.boot_means, level, len(T))
    else:
        lo = hi = tlo = thi = np.full(len(T), np.nan)
    w = "; ".join(fit.warning) or None
    out = pl.DataFrame({"T": T, "n_units": [len(a) for a in arrays], "tau_alpha": fit.means, "tau_ci_low": tlo,
                        "tau_ci_high": thi, "delta_e_ma": de, "ci_low": lo, "ci_high": hi, "ln_tau0": ln0,
                        "unit": label, "n_failed": fit.n_failed, "warning": w, "level": float(level)},
                       schema_overrides={"warning": pl.String, "n_units": pl.Int64, "n_failed": pl.Int64})
    return make_table(out, {"kind": "apparent_barriers", "tau": tau, "unit": label, "n_boot": int(n_boot),
                            "level": level, "seed": int(seed), "formula": "dE_ma = T ln(tau_alpha / tau0), tau0 from VFT",
                            "interval": "percentile bootstrap over units within each T, VFT refitted per resample"})


def elastic(data: Data, *, quantities: Sequence[str] = ("G", "kappa"), unit: str | Sequence[str] | None = None,
            unit_label: str | None = None, n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> pl.DataFrame:
    """κ(T_p) and G(T_p): means over independent configurations or inherent structures per parent
    temperature T_p, with percentile bootstrap intervals of the mean.

    ``data``: one row per structure with the parent temperature in ``T`` (ε/k_B) — e.g.
    ``{T_p: per_structure}`` of :func:`glassrs.elastic.kappa_ensemble` (unit column
    ``structure``; its ``kappa_mean`` is read as ``kappa``) — or one row per configuration (the
    mean over its structures: the conservative choice when structures quenched from one
    trajectory are correlated). κ in ε/σ², G in ε/σ³. The κ of one structure is the mean over its
    dipoles; dipoles are never resampled. Rows with a NaN value are dropped for that quantity.
    Same resampling as :func:`glassrs.campaign.reduce.bootstrap_mean`.

    Returns columns (long format): T, quantity, mean, ci_low, ci_high, n_units, unit, level.
    """
    _check(n_boot, level, seed)
    df = _table(data, "elastic")
    if "kappa" not in df.columns and "kappa_mean" in df.columns:
        df = df.rename({"kappa_mean": "kappa"})
    ucols, label = _unit(df, unit, unit_label, "elastic")
    missing = [q for q in quantities if q not in df.columns]
    if missing:
        raise ValueError(f"elastic: no column(s) {missing} in the table (columns: {df.columns})")
    parts = [_R.bootstrap_mean(df, q, ["T"], unit=ucols, n_boot=n_boot, level=level, seed=seed, unit_label=label)
             .with_columns(pl.lit(q).alias("quantity")) for q in quantities]
    out = (pl.concat(parts).select("T", "quantity", "mean", "ci_low", "ci_high", "n_units", "unit")
           .with_columns(pl.lit(float(level), pl.Float64).alias("level")).sort("quantity", "T"))
    return make_table(out, {"kind": "elastic", "unit": label, "n_boot": int(n_boot), "level": level, "seed": int(seed),
                            "interval": "percentile bootstrap of the mean over units"})
