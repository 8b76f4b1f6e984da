"""Trajectory readers and writers. ``read(path)`` picks the format from the file name."""

from __future__ import annotations

import os

from glassrs.trajectory import Trajectory


def read(path: str | os.PathLike, *, format: str | None = None, **kwargs) -> Trajectory:
    """Open a trajectory lazily.

    Formats: LAMMPS text dump (``.lammpstrj``, ``.dump``, ``.atom``), HOOMD-blue GSD
    (``.gsd``), extended XYZ (``.xyz``, ``.extxyz``); ``format=`` overrides the guess.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    fmt = format or _guess(path)
    raise ValueError(f"{path}: reading format '{fmt}' is not available yet")


def _guess(path: str) -> str:
    low = path.lower()
    if low.endswith(".gsd"):
        return "gsd"
    if low.endswith((".xyz", ".extxyz")):
        return "extxyz"
    return "lammps"
