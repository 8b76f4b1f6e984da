"""Log-binned lags: the report's curves of MSD, q, F_s, χ4 and α2 against time.

:func:`glassrs.dynamics.correlations` returns one row per distinct lag of the frame schedule. On a
block-logarithmic schedule most lags are reached by few origins (at T = 0.6 of the embedded
dataset: 5147 distinct lags, most averaged over 9–19 origins), so χ4 and α2 plotted lag by lag
are noise bands. :func:`log_bin` pools the origins of all lags that fall in one bin of equal
width in log10 t: every column is the n_origins-weighted mean of its per-lag values, which for
the means (MSD, q, F_s) is exactly the average over all (origin, lag) pairs in the bin, and for
χ4 (a variance over origins) the pooled within-lag variance — each lag's fluctuations are taken
about its own mean, so the drift of ⟨q⟩ across a bin does not inflate χ4. α2 is likewise the
weighted mean of the per-lag (pooled) α2.

:func:`roughness` is the smoothness measure the tests hold the binned curves to.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import polars as pl

__all__ = ["log_bin", "log_edges", "roughness", "PER_DECADE"]

#: default bins per decade of lag
PER_DECADE = 8

_KEYS = ("species", "lag", "n_origins")


def log_edges(lags: Sequence[float] | np.ndarray, per_decade: int = PER_DECADE) -> np.ndarray:
    """Bin edges of equal width 1/``per_decade`` in log10 t covering the positive ``lags``,
    aligned on powers of ten (so that tables binned separately share their bins)."""
    if per_decade < 1:
        raise ValueError(f"per_decade must be ≥ 1, got {per_decade}")
    t = np.asarray(lags, dtype=float)
    t = t[np.isfinite(t) & (t > 0)]
    if t.size == 0:
        raise ValueError("no positive lag to bin")
    lo = math.floor(np.log10(t.min()) * per_decade - 1e-9)
    hi = math.ceil(np.log10(t.max()) * per_decade + 1e-9)
    hi = max(hi, lo + 1)
    return 10.0 ** (np.arange(lo, hi + 1) / per_decade)


def log_bin(table: pl.DataFrame, per_decade: int = PER_DECADE, *, edges: np.ndarray | None = None,
            by: str | None = "species") -> pl.DataFrame:
    """Pool the lags of a correlation table in bins of equal width in log10 t.

    Parameters
    ----------
    table : a table of :func:`glassrs.dynamics.correlations` (columns ``lag``, ``n_origins`` and
        value columns; ``species`` unless ``by`` is None). Lag 0 is dropped (no place on a log axis).
    per_decade : bins per decade (ignored when ``edges`` is given).
    edges : explicit bin edges (time units), e.g. from :func:`log_edges`, to bin several tables
        (blocks of origins) on one grid.
    by : the grouping column (None: the table is one curve).

    Returns
    -------
    One row per (group, non-empty bin): ``species`` (the group), ``lag`` (the n_origins-weighted
    geometric mean of the bin's lags), ``lag_lo``, ``lag_hi`` (the bin edges), ``n_lags``,
    ``n_origins`` (summed: the (origin, lag) pairs pooled), then each value column as the
    n_origins-weighted mean of its finite per-lag values (NaN if none). Sorted by group, lag.
    """
    if "lag" not in table.columns or "n_origins" not in table.columns:
        raise ValueError(f"log_bin needs the columns 'lag' and 'n_origins'; the table has {table.columns}")
    values = [c for c in table.columns if c not in _KEYS and c != by and table[c].dtype.is_numeric()]
    df = table.filter(pl.col("lag") > 0)
    if edges is None:
        edges = log_edges(df["lag"].to_numpy(), per_decade)
    edges = np.asarray(edges, dtype=float)
    groups = [(None, df)] if by is None else [(g, df.filter(pl.col(by) == g))
                                               for g in df[by].unique(maintain_order=True).to_list()]
    out = []
    for g, sub in groups:
        t = sub["lag"].to_numpy()
        w = sub["n_origins"].to_numpy().astype(float)
        j = np.searchsorted(edges, t, side="right") - 1
        ok = (j >= 0) & (j < len(edges) - 1)
        cols: dict[str, list] = {"lag": [], "lag_lo": [], "lag_hi": [], "n_lags": [], "n_origins": []}
        cols.update({c: [] for c in values})
        arrays = {c: sub[c].to_numpy().astype(float) for c in values}
        for b in np.unique(j[ok]):
            m = ok & (j == b)
            wb = w[m]
            cols["lag"].append(float(np.exp(np.sum(wb * np.log(t[m])) / wb.sum())))
            cols["lag_lo"].append(float(edges[b]))
            cols["lag_hi"].append(float(edges[b + 1]))
            cols["n_lags"].append(int(m.sum()))
            cols["n_origins"].append(int(wb.sum()))
            for c in values:
                v = arrays[c][m]
                f = np.isfinite(v)
                cols[c].append(float(np.sum(wb[f] * v[f]) / wb[f].sum()) if f.any() and wb[f].sum() > 0
                               else float("nan"))
        part = pl.DataFrame(cols, schema={"lag": pl.Float64, "lag_lo": pl.Float64, "lag_hi": pl.Float64,
                                          "n_lags": pl.Int64, "n_origins": pl.Int64,
                                          **{c: pl.Float64 for c in values}})
        if by is not None:
            part = part.select(pl.lit(g, dtype=df[by].dtype).alias(by), pl.all())
        out.append(part)
    return pl.concat(out) if out else pl.DataFrame()


def roughness(y: Sequence[float] | np.ndarray) -> float:
    """Total variation of a curve divided by that of the smoothest curve with its end points and
    extremes: Σ|Δy| / (2 max y − y_first − y_last) for a curve that rises to a peak and falls
    (χ4), Σ|Δy| / |y_last − y_first| for a monotonic one. 1 for a noise-free unimodal or
    monotonic curve; each noise wiggle adds twice its height. NaN values are dropped."""
    v = np.asarray(y, dtype=float)
    v = v[np.isfinite(v)]
    if v.size < 3:
        return float("nan")
    tv = float(np.sum(np.abs(np.diff(v))))
    peak, trough = float(v.max()), float(v.min())
    ideal = max(2 * peak - v[0] - v[-1], v[0] + v[-1] - 2 * trough, abs(v[-1] - v[0]))
    return tv / ideal if ideal > 0 else float("nan")
