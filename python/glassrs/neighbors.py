"""Periodic neighbour search (cell list in Rust; orthorhombic and triclinic boxes)."""

from __future__ import annotations

import numpy as np
import polars as pl

from glassrs import _core
from glassrs.tables import make_table
from glassrs.trajectory import Frame


def neighbors(frame: Frame, r_max: float, *, half: bool = False, n_threads: int | None = None) -> pl.DataFrame:
    """All pairs with minimum-image distance r < ``r_max`` (σ).

    Returns a table with columns ``i``, ``j`` (particle indices, u32), ``r`` and the
    displacement ``dx, dy, dz`` = r_j − r_i (minimum image), sorted by (i, j). ``half=True``
    keeps each pair once (j > i). Raises ``ValueError`` if ``r_max`` exceeds half the smallest
    box height or a coordinate is not finite. ``n_threads``: None (the process default,
    :func:`glassrs.set_num_threads`) or a positive count.
    """
    i, j, r, dx, dy, dz = _core.neighbor_list(frame.positions, frame.box.native,
                                              float(r_max), half, n_threads)
    # through Arrow: the core's numpy columns become Polars columns without a copy
    import pyarrow as pa
    cols = pa.table({"i": i, "j": j, "r": r, "dx": dx, "dy": dy, "dz": dz})
    return make_table(pl.from_arrow(cols, rechunk=False),
                      {"kind": "neighbors", "r_max": float(r_max), "half": half})


def pairs_within(frame: Frame, r_max: float, neighbors: pl.DataFrame | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, r) of every ordered pair with r < ``r_max`` (σ), as int64, int64, float64 arrays.

    ``neighbors``: a precomputed full table of :func:`neighbors` for this frame with an
    ``r_max`` of at least this one (it is filtered; nothing is searched again), as freud's
    computes accept a neighbour list. Raises ``ValueError`` for a half table or one with a
    shorter range."""
    if neighbors is None:
        t = _core.neighbor_list(frame.positions, frame.box.native, float(r_max), False, None)
        return t[0].astype(np.int64), t[1].astype(np.int64), t[2]
    from glassrs.tables import params
    p = params(neighbors)
    if p.get("kind") != "neighbors" or p.get("half"):
        raise ValueError("neighbors must be a full table from gr.neighbors(frame, r_max) (half=False)")
    if float(p.get("r_max", 0.0)) < float(r_max) * (1 - 1e-12):
        raise ValueError(f"the neighbors table reaches r_max = {p.get('r_max')} σ, less than the {r_max} σ needed")
    i, j, r = (neighbors[c].to_numpy() for c in ("i", "j", "r"))
    keep = r < r_max
    return i[keep].astype(np.int64), j[keep].astype(np.int64), r[keep]
