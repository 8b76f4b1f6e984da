"""Rank statistics for structure–dynamics correlations (SPEC §4).

* :func:`spearman` — C_R(X, Y): Pearson correlation of average ranks (ties averaged).
* Polars: ``pl.col("x").glass.spearman(pl.col("y"))`` inside ``group_by(...).agg(...)``
  gives C_R per species, per L, per time — native Polars, no Python loop.
* :func:`rearrangement_probability` — P_R(X): fraction of particles in each bin of X whose
  p_hop exceeds p_c.
"""

from __future__ import annotations

import numpy as np
import polars as pl


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
