"""Trajectory readers and writers. ``read(path)`` picks the format from the file name.

* LAMMPS text dumps (``dump atom`` / ``dump custom``): indexed and parsed in Rust, frames
  loaded lazily (:mod:`glassrs.io.lammps`).
* HOOMD-blue GSD through the ``gsd`` package (:mod:`glassrs.io.gsd`).
* Extended XYZ (:mod:`glassrs.io.xyz`).

Writers: :func:`write_lammps`, :func:`write_gsd` (atomic: temp file + rename).
"""

from __future__ import annotations

import os
from typing import Mapping, Sequence, Union

from glassrs.io._common import SpeciesArg
from glassrs.io.gsd import write_gsd
from glassrs.io.lammps import write_lammps
from glassrs.trajectory import Trajectory

__all__ = ["read", "write_lammps", "write_gsd", "SpeciesArg"]

FORMATS = ("lammps", "gsd", "extxyz")


def read(path: str | os.PathLike, *, dt: float | None = None,
         species: Union[Sequence[str], Mapping, None] = None, format: str | None = None) -> Trajectory:
    """Open a trajectory lazily (frames are parsed when indexed).

    Parameters
    ----------
    path : trajectory file. Formats: LAMMPS text dump (``.lammpstrj``, ``.dump``, ``.atom``,
        anything not recognised below), HOOMD-blue GSD (``.gsd``), extended XYZ (``.xyz``,
        ``.extxyz``); ``format=`` ("lammps", "gsd", "extxyz") overrides the guess.
    dt : MD timestep (model time units). ``traj.times`` = step × dt when given; otherwise the
        times stored in the file (LAMMPS ``ITEM: TIME``, extended-XYZ ``Time=``) or, failing
        that, the steps.
    species : names for the particle types. A sequence gives the name of the k-th type
        (LAMMPS type k+1, GSD typeid k, the k-th extended-XYZ species in sorted order); a
        mapping maps file labels (LAMMPS type numbers, GSD/XYZ type names or GSD typeids) to
        names — several labels may share one name (types are then merged). Default: the
        names in the file (GSD, XYZ) or the LAMMPS type numbers as strings ("1", "2", …).

    Raises ``FileNotFoundError`` for a missing file and :class:`glassrs.FormatError` (naming
    file, frame and line) for a malformed one.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path}: is a directory, expected a trajectory file")
    fmt = (format or _guess(path)).lower()
    if dt is not None and not (float(dt) > 0 and float(dt) < float("inf")):
        raise ValueError(f"dt must be a positive finite time step, got {dt}")
    if fmt == "lammps":
        from glassrs.io.lammps import LammpsSource
        src = LammpsSource(path, species=species)
    elif fmt == "gsd":
        from glassrs.io.gsd import GsdSource
        src = GsdSource(path, species=species)
    elif fmt in ("extxyz", "xyz"):
        from glassrs.io.xyz import XyzSource
        src = XyzSource(path, species=species)
    else:
        raise ValueError(f"unknown trajectory format '{format}'; expected one of {FORMATS}")
    return Trajectory(src, dt=dt)


def _guess(path: str) -> str:
    low = path.lower()
    if low.endswith(".gsd"):
        return "gsd"
    if low.endswith((".xyz", ".extxyz")):
        return "extxyz"
    return "lammps"
