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
    return make_table({"i": i, "j": j, "r": r, "dx": dx, "dy": dy, "dz": dz},
                      {"kind": "neighbors", "r_max": float(r_max), "half": half})
