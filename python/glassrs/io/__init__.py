"""Trajectory readers and writers. ``read(path)`` picks the format from the file name.

* LAMMPS text dumps (``dump atom`` / ``dump custom``): indexed and parsed in Rust, frames
  loaded lazily (:mod:`glassrs.io.lammps`).
* HOOMD-blue GSD through the ``gsd`` package (:mod:`glassrs.io.gsd`).
* Extended XYZ (:mod:`glassrs.io.xyz`).

Writers: :func:`write_lammps`, :func:`write_gsd` (atomic: temp file + rename).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Mapping, Sequence, Union

from glassrs.io._common import SpeciesArg
from glassrs.io.gsd import write_gsd
from glassrs.io.lammps import write_lammps
from glassrs.trajectory import Trajectory

if TYPE_CHECKING:
    from glassrs.models import Model

__all__ = ["read", "write_lammps", "write_gsd", "SpeciesArg"]

FORMATS = ("lammps", "gsd", "extxyz", "npz", "parquet")


def read(path: "str | os.PathLike | object", *, dt: float | None = None,
         species: Union[Sequence[str], Mapping, None] = None, format: str | None = None,
         model: "Model | None" = None, check_particles: bool = True,
         on_truncated: str = "error", dim: int | None = None) -> Trajectory:
    """Open a trajectory lazily (frames are parsed when indexed).

    Parameters
    ----------
    path : trajectory file. Formats: LAMMPS text dump (``.lammpstrj``, ``.dump``, ``.atom``,
        anything not recognised below), HOOMD-blue GSD (``.gsd``), extended XYZ (``.xyz``,
        ``.extxyz``), and the files glassrs writes besides those: the exact ``.npz`` archives
        (``simulate --out run.npz``, :func:`glassrs.md.save_npz`) and the ``.parquet`` trajectory
        tables (``simulate --out run.parquet``, :func:`glassrs.md.write`); ``format=``
        ("lammps", "gsd", "extxyz", "npz", "parquet") overrides the guess. In-memory objects of
        other tools are read too: a ``gsd.hoomd.Frame``, an ``ase.Atoms`` (or a list of either, as
        a trajectory) and an MDAnalysis ``Universe`` or ``AtomGroup`` (see
        :mod:`glassrs.io.memory` for their box conventions).
    dt : MD timestep (model time units). ``traj.times`` = step × dt when given; otherwise the
        times stored in the file (LAMMPS ``ITEM: TIME``, extended-XYZ ``Time=``). Without
        either, ``traj.times`` raises ``ValueError`` (``traj.has_times`` is False) and
        everything that reports times (dynamics, τ_α, D, p_hop windows) fails with a message
        saying to pass ``dt``; structure needs no times. ``traj.steps`` are always available.
    species : names for the particle types. A sequence gives the name of the k-th type
        (LAMMPS type k+1, GSD typeid k, the k-th extended-XYZ species in sorted order); a
        mapping maps file labels (LAMMPS type numbers, GSD/XYZ type names or GSD typeids) to
        names — several labels may share one name (types are then merged). Default: the
        names in the file (GSD, XYZ) or, without ``model``, the LAMMPS type numbers as
        strings ("1", "2", …).
    model : a :class:`glassrs.models.Model` the data belong to (e.g.
        ``glassrs.models.kob_andersen()``). Without ``species``, numeric type labels
        ("1", "2", …) are named after the model's species in order — type k → the k-th
        species (KA: 1 → A, 2 → B) — and named labels must be species of the model. With
        ``species``, those names win and are only checked against the model. Raises
        ``ValueError`` for a type number beyond the model's species or an unknown name.

    The naming is recorded: ``traj.species_mapping`` (e.g. ``{"1": "A", "2": "B"}``),
    ``traj.species_source`` (``"file"``, ``"species"`` or ``"model kob_andersen"``) and
    ``traj.species_note`` (one line, e.g. "types 1,2 → A,B (from model kob_andersen)");
    result tables computed from the trajectory carry the mapping in their parameters.

    check_particles : every frame must hold the particles of frame 0 — the same ids (after
        sorting by id) and the same species per particle; a frame that does not is a
        :class:`glassrs.FormatError` naming file, frame and the first offending particle when it
        is loaded. ``False`` is for reactive or grand-canonical data whose particles change: the
        frames are then returned as stored and the first mismatch is a ``UserWarning``
        (per-particle dynamics would mix different particles). ``traj.check_particles`` records it.
    on_truncated : ``"error"`` (default) or ``"drop"``. A text dump (LAMMPS, extended XYZ) whose last
        frame is unfinished — the file ends inside its header or atom lines, or inside its last
        line (a value such as ``7.51745`` cut to ``7.51`` cannot be told from a complete one, so a
        last line without its newline counts as cut) — is an error naming that frame by default;
        ``"drop"`` opens the complete frames, warns how many were dropped and records it in
        ``traj.dropped_frames``. Malformed frames before the end are errors either way. GSD files
        are opened by the gsd package, which reads the frames its index lists.

    dim : the spatial dimension, when the file cannot say it. LAMMPS dumps and extended XYZ
        always store three coordinates, so a ``dimension 2`` LAMMPS run is read with ``dim=2``:
        the box keeps its two in-plane edge vectors, z is ignored (it must be the same for every
        particle, else a :class:`glassrs.FormatError` names the frame and particle) and set to 0.
        GSD files record their dimension (``configuration.dimensions``) and .npz archives their
        box, so for them ``dim`` is only checked. Default: 3, or what the file records.

    Raises ``FileNotFoundError`` for a missing file and :class:`glassrs.FormatError` (naming
    file, frame and line) for a malformed one.
    """
    if not isinstance(path, (str, os.PathLike)):
        from glassrs.io.memory import source_for
        if dt is not None and not (float(dt) > 0 and float(dt) < float("inf")):
            raise ValueError(f"dt must be a positive finite time step, got {dt}")
        if model is not None and not hasattr(model, "species"):
            raise TypeError(f"model must be a glassrs.models.Model (e.g. glassrs.models.kob_andersen()), got {model!r}")
        return Trajectory(source_for(path, species=species, model=model), dt=dt, check_particles=check_particles)
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path}: is a directory, expected a trajectory file")
    fmt = (format or _guess(path)).lower()
    if dt is not None and not (float(dt) > 0 and float(dt) < float("inf")):
        raise ValueError(f"dt must be a positive finite time step, got {dt}")
    if on_truncated not in ("error", "drop"):
        raise ValueError(f"on_truncated must be 'error' or 'drop', got {on_truncated!r}")
    if dim not in (None, 2, 3):
        raise ValueError(f"dim must be 2 or 3 (or None: what the file records), got {dim!r}")
    if model is not None and not hasattr(model, "species"):
        raise TypeError(f"model must be a glassrs.models.Model (e.g. glassrs.models.kob_andersen()), got {model!r}")
    if fmt == "lammps":
        from glassrs.io.lammps import LammpsSource
        src = LammpsSource(path, species=species, model=model, on_truncated=on_truncated)
    elif fmt == "gsd":
        from glassrs.io.gsd import GsdSource
        src = GsdSource(path, species=species, model=model)
    elif fmt in ("extxyz", "xyz"):
        from glassrs.io.xyz import XyzSource
        src = XyzSource(path, species=species, model=model, on_truncated=on_truncated)
    elif fmt == "npz":
        traj = _read_npz(path, dt, species, model)
        if dim is not None and traj.dim != dim:
            raise ValueError(f"{path}: the archive holds a {traj.dim}D system, not dim={dim}")
        return traj
    elif fmt == "parquet":
        traj = _read_parquet(path, dt, species, model)
        if dim is not None and traj.dim != dim:
            raise ValueError(f"{path}: the table holds a {traj.dim}D system, not dim={dim}")
        return traj
    else:
        raise ValueError(f"unknown trajectory format '{format}'; expected one of {FORMATS}")
    if dim == 2 and fmt != "gsd":
        from glassrs.io._common import PlanarSource
        src = PlanarSource(src)
    elif dim is not None and fmt == "gsd" and getattr(src, "dim", 3) != dim:
        raise ValueError(f"{path}: the GSD file records {getattr(src, 'dim', 3)} dimensions, not dim={dim}")
    dropped = int(getattr(src, "dropped_frames", 0) or 0)
    if dropped:
        import warnings
        warnings.warn(f"{path}: dropped {dropped} unfinished frame at the end of the file (frame {len(src)}: "
                      f"{getattr(src, 'dropped_reason', 'truncated')}); {len(src)} complete frames read "
                      "(on_truncated='drop')", UserWarning, stacklevel=2)
    return Trajectory(src, dt=dt, check_particles=check_particles)


def _check_named(path: str, traj: Trajectory, species, model) -> None:
    """A file that names its species already: ``species=`` does not apply, ``model`` must know them."""
    if species is not None:
        raise ValueError(f"{path}: the file names its species already ({list(traj.species)}); species= "
                         "does not apply")
    if model is not None:
        unknown = [s for s in traj.species if s not in model.species]
        if unknown:
            raise ValueError(f"{path}: species {unknown} are not species of model '{model.name}' "
                             f"({list(model.species)})")


def _with_dt(path: str, traj: Trajectory, dt: float | None) -> Trajectory:
    """``traj`` with timestep ``dt``: supplied when the file has none, checked when it has one."""
    if dt is None:
        return traj
    if traj.dt is None:
        return Trajectory.from_frames([traj[k] for k in range(len(traj))], dt=float(dt))
    if abs(float(dt) - traj.dt) > 1e-12 * traj.dt:
        raise ValueError(f"{path}: the file was written with dt = {traj.dt:g}, not {dt:g}")
    return traj


def _read_parquet(path: str, dt: float | None, species, model) -> Trajectory:
    """A trajectory table written by :func:`glassrs.md.write` (``simulate --out run.parquet``):
    one row per particle and frame, box, species and dt in its parameters."""
    import numpy as np

    from glassrs.box import Box
    from glassrs.errors import FormatError
    from glassrs.tables import params as table_params, read_parquet
    from glassrs.trajectory import Frame

    try:
        df = read_parquet(path)
    except Exception as e:  # polars/pyarrow errors for non-Parquet content
        raise FormatError(f"{path}: not a readable Parquet file ({type(e).__name__}: {e})", path) from None
    p = table_params(df)
    need = {"frame", "step", "particle", "species", "x", "y", "z"}
    if p.get("kind") != "trajectory" or not ({"box"} <= set(p) or {"boxes"} <= set(p)) or not need <= set(df.columns):
        raise FormatError(f"{path}: not a trajectory table written by glassrs (expected kind 'trajectory' with a "
                          f"box in its parameters and columns {sorted(need)}; got kind {p.get('kind')!r}, columns "
                          f"{df.columns}); result tables are read with glassrs.read_parquet", path)
    names = tuple(p.get("species") or sorted(df["species"].unique().to_list()))
    df = df.sort("frame", "particle")
    nf = df["frame"].n_unique()
    if df.height % nf:
        raise FormatError(f"{path}: {df.height} rows are not the same number of particles in each of {nf} frames", path)
    n = df.height // nf
    lut = {s: k for k, s in enumerate(names)}
    try:
        types = np.array([lut[s] for s in df["species"][:n].to_list()], dtype=np.int64)
    except KeyError as e:
        raise FormatError(f"{path}: species {e.args[0]!r} is not among the table's species {list(names)}", path) from None
    xyz = df.select("x", "y", "z").to_numpy().reshape(nf, n, 3)
    img = df.select("ix", "iy", "iz").to_numpy().reshape(nf, n, 3) if {"ix", "iy", "iz"} <= set(df.columns) else None
    steps = df["step"].to_numpy()[::n]
    ids = df["particle"].to_numpy()[:n]
    stored_dt = p.get("dt")
    tcol = df["time"][::n] if "time" in df.columns else None
    stored_t = None if tcol is None or tcol.null_count() else tcol.to_numpy()
    boxes = ([Box(p["box"], p["origin"])] * nf if "box" in p else
             [Box(m, o) for m, o in zip(p["boxes"], p["origins"])])
    frames = [Frame(positions=xyz[k], types=types, box=boxes[k], species=names, step=int(steps[k]),
                    ids=ids, images=None if img is None else img[k],
                    time=(int(steps[k]) * float(stored_dt) if stored_dt is not None else
                          None if stored_t is None else float(stored_t[k]))) for k in range(nf)]
    traj = Trajectory.from_frames(frames, dt=None if stored_dt is None else float(stored_dt))
    if "run" in p:
        traj.params = p["run"]
    _check_named(path, traj, species, model)
    return _with_dt(path, traj, dt)


def _read_npz(path: str, dt: float | None, species, model) -> Trajectory:
    """A trajectory written by glassrs as exact float64 arrays (``md.save_npz``, ``simulate --out
    run.npz``): it names its species and stores its timestep, so ``species=`` does not apply and
    ``dt=`` must agree with the stored one (or supply it when the file has none)."""
    from glassrs.md import load_npz

    traj = load_npz(path)
    _check_named(path, traj, species, model)
    return _with_dt(path, traj, dt)


def _guess(path: str) -> str:
    low = path.lower()
    if low.endswith(".npz"):
        return "npz"
    if low.endswith(".gsd"):
        return "gsd"
    if low.endswith(".parquet"):
        return "parquet"
    if low.endswith((".xyz", ".extxyz")):
        return "extxyz"
    return "lammps"
