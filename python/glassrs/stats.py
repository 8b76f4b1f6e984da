"""Rank statistics for structure–dynamics correlations (definitions §4.4–4.5).

* :func:`spearman` — C_R(X, Y): Pearson correlation of average ranks (ties averaged).
* Polars: ``pl.col("x").glass.spearman(pl.col("y"))`` inside ``group_by(...).agg(...)``
  gives C_R per species, per L, per time — native Polars, no Python loop.
* Polars: ``pl.col("tau_alpha").glass.vft(pl.col("T"))``, ``.glass.arrhenius(T)`` and
  ``.glass.linear(x)`` fit per group inside ``group_by(...).agg(...)`` (the fits of
  :mod:`glassrs.fits`) and return a struct of parameters, standard errors and n.
* :func:`rearrangement_probability` — P_R(X): fraction of particles in each bin of X whose
  p_hop exceeds p_c.
"""

from __future__ import annotations

import warnings
from typing import Callable, Sequence

import numpy as np
import polars as pl

from glassrs import fits as _fits

_F64 = pl.Float64


def _fit_dtype(names: Sequence[str]) -> pl.Struct:
    return pl.Struct({**{n: _F64 for n in names}, **{f"{n}_stderr": _F64 for n in names}, "n": pl.Int64})


#: struct fields of the fit expressions: parameters, their 1σ standard errors, number of points
VFT_FIELDS = ("ln_tau0", "K_VFT", "T_VFT")
LINEAR_FIELDS = ("intercept", "slope")
ARRHENIUS_FIELDS = ("ln_tau0", "E")
#: errors a fit raises on unusable data; they become NaN fields instead of failing the query
_FIT_ERRORS = (ValueError, RuntimeError, TypeError, ArithmeticError, np.linalg.LinAlgError)


def _fit_expr(y: pl.Expr, x: pl.Expr | str, fit: Callable[[np.ndarray, np.ndarray], "_fits.FitResult"],
              names: Sequence[str]) -> pl.Expr:
    """An aggregation fitting ``fit(x, y)`` to the (x, y) pairs of each group.

    Pairs with a null or non-finite x or y are dropped; ``n`` counts the pairs used. When the fit
    fails (too few points, no convergence, invalid values) the parameter fields are NaN.
    """
    x = pl.col(x) if isinstance(x, str) else x
    dtype = _fit_dtype(names)

    def run(s: pl.Series) -> pl.Series:
        cols = s.struct.unnest()
        yv = cols.to_series(0).cast(_F64).to_numpy()
        xv = cols.to_series(1).cast(_F64).to_numpy()
        ok = np.isfinite(xv) & np.isfinite(yv)
        row: dict[str, float | int] = {f: np.nan for f in dtype.to_schema() if f != "n"}
        row["n"] = int(ok.sum())
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r = fit(xv[ok], yv[ok])
        except _FIT_ERRORS:
            pass
        else:
            for k in names:
                row[k] = float(r.params[k])
                row[f"{k}_stderr"] = float(r.stderr[k])
        return pl.Series(s.name, [row], dtype=dtype)

    return pl.struct(y, x.alias("__glass_x")).map_batches(run, return_dtype=dtype, returns_scalar=True)


def spearman(x, y) -> float:
    """Spearman rank correlation: Pearson correlation of the average ranks of x and y."""
    from scipy.stats import rankdata

    x = np.asarray(x, float).ravel()
    y = np.asarray(y, float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"x has {x.size} values, y has {y.size}")
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        raise ValueError("spearman needs at least 3 finite pairs")
    rx, ry = rankdata(x[ok]), rankdata(y[ok])
    rx -= rx.mean()
    ry -= ry.mean()
    den = np.sqrt((rx * rx).sum() * (ry * ry).sum())
    if den == 0:
        raise ValueError("spearman is undefined when one variable is constant")
    return float((rx * ry).sum() / den)


@pl.api.register_expr_namespace("glass")
class GlassExpr:
    """Table-level science as native Polars expressions (``pl.col(...).glass.…``)."""

    def __init__(self, expr: pl.Expr):
        self._expr = expr

    def spearman(self, other: pl.Expr | str) -> pl.Expr:
        """C_R with ``other``: Pearson of average ranks (nulls/NaN rows dropped pairwise)."""
        other = pl.col(other) if isinstance(other, str) else other
        x, y = self._expr, other
        keep = x.is_not_null() & y.is_not_null() & x.is_not_nan() & y.is_not_nan()
        return pl.corr(x.filter(keep).rank("average"), y.filter(keep).rank("average"), method="pearson")

    def zscore(self) -> pl.Expr:
        """(x − mean)/std within the group."""
        return (self._expr - self._expr.mean()) / self._expr.std()

    def vft(self, T: pl.Expr | str) -> pl.Expr:
        """VFT fit of this column (τ, > 0) against temperature ``T`` (ε/k_B), per group.

        :func:`glassrs.fits.vft` (least squares on ln τ): a struct with ``ln_tau0`` (ln τ0, τ0
        in the unit of τ), ``K_VFT`` (dimensionless), ``T_VFT`` (ε/k_B), their ``*_stderr``
        (NaN with exactly 3 points) and ``n``. NaN parameters when the fit fails or there are
        fewer than 3 finite points — the aggregation itself never raises.
        """
        return _fit_expr(self._expr, T, lambda x, y: _fits.vft(x, y), VFT_FIELDS)

    def linear(self, x: pl.Expr | str) -> pl.Expr:
        """Least-squares line of this column against ``x``, per group (:func:`glassrs.fits.linear`).

        A struct with ``intercept`` (unit of y), ``slope`` (unit of y per unit of x),
        ``intercept_stderr``, ``slope_stderr`` and ``n``; NaN parameters with fewer than two
        distinct x values.
        """
        return _fit_expr(self._expr, x, lambda x, y: _fits.linear(x, y), LINEAR_FIELDS)

    def arrhenius(self, T: pl.Expr | str) -> pl.Expr:
        """Arrhenius fit ln τ = ln τ0 + E/T of this column (τ, > 0) against ``T`` (ε/k_B), per group.

        :func:`glassrs.fits.arrhenius`: a struct with ``ln_tau0``, ``E`` (ε), ``ln_tau0_stderr``,
        ``E_stderr`` and ``n``; NaN parameters when a value is ≤ 0 or there are fewer than
        two distinct temperatures.
        """
        return _fit_expr(self._expr, T, lambda x, y: _fits.arrhenius(x, y), ARRHENIUS_FIELDS)


def rearrangement_probability(df: pl.DataFrame, x: str, *, phop: str = "phop", p_c: float,
                              bins: int | np.ndarray = 20, by: list[str] | None = None) -> pl.DataFrame:
    """P_R(X): per bin of column ``x`` (and per ``by`` groups), the fraction of rows with
    ``phop`` > ``p_c``. Columns: [*by], bin, x_low, x_high, x_mid, n, p_r."""
    if x not in df.columns or phop not in df.columns:
        raise ValueError(f"table needs columns '{x}' and '{phop}', has {df.columns}")
    vals = df[x].to_numpy()
    edges = np.histogram_bin_edges(vals[np.isfinite(vals)], bins=bins) if np.isscalar(bins) else np.asarray(bins)
    idx = np.clip(np.searchsorted(edges, vals, side="right") - 1, 0, len(edges) - 2)
    t = df.with_columns(pl.Series("bin", idx), (pl.col(phop) > p_c).alias("_r"))
    out = (t.group_by([*(by or []), "bin"]).agg(pl.len().alias("n"), pl.col("_r").mean().alias("p_r"))
           .sort([*(by or []), "bin"]))
    return out.with_columns(
        pl.col("bin").map_elements(lambda b: float(edges[b]), return_dtype=pl.Float64).alias("x_low"),
        pl.col("bin").map_elements(lambda b: float(edges[b + 1]), return_dtype=pl.Float64).alias("x_high"),
    ).with_columns(((pl.col("x_low") + pl.col("x_high")) / 2).alias("x_mid"))
