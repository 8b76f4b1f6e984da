"""Trajectories from objects other tools hold in memory: :func:`glassrs.read` accepts them.

* ``gsd.hoomd.Frame`` (or a list of them): HOOMD's box ``[Lx, Ly, Lz, xy, xz, yz]`` has
  *dimensionless* tilt factors, a1 = (Lx, 0, 0), a2 = (xy·Ly, Ly, 0), a3 = (xz·Lz, yz·Lz, Lz),
  and the box is centred on the origin (as in :mod:`glassrs.io.gsd`). Labels: the frame's
  ``particles.types``; steps: ``configuration.step``; velocities and image flags are kept.
* ``ase.Atoms`` (or a list of them): the rows of ``atoms.cell`` are the edge vectors a, b, c
  (glassrs' box matrix is its transpose), the box corner is at the origin and every direction
  must be periodic. Labels: the chemical symbols (a ``species=`` sequence names them in sorted
  order, as for extended XYZ); steps and times from ``atoms.info`` (``step``/``Step``,
  ``time``/``Time``) when every frame has them. ASE velocities are in ASE's units, not the
  model's, and are not taken.
* an MDAnalysis ``Universe`` or ``AtomGroup``: every frame of its trajectory (lazily, by
  seeking). ``ts.dimensions = [a, b, c, α, β, γ]`` (lengths, angles in degrees) become the edge
  vectors a = (a, 0, 0), b = (b cos γ, b sin γ, 0), c = (c cos β, c (cos α − cos β cos γ)/sin γ,
  c_z) — MDAnalysis' own ``triclinic_vectors`` convention, computed in float64 — with the
  corner at the origin. Labels: the atoms' ``types`` (LAMMPS data: "1", "2", … — named after
  a ``model``'s species like LAMMPS types). Steps: ``ts.data["step"]`` where the reader records
  it, else the frame index; MDAnalysis times are in its picosecond convention, not the model's
  time unit, so they are not taken: pass ``dt`` (times = step × dt; with frame indices as steps,
  ``dt`` is the time between frames).

The packages are optional: glassrs imports none of them, and an object is recognised by the
module its class comes from. ``species=`` and ``model=`` name the labels as for files.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from glassrs.box import Box
from glassrs.io._common import SpeciesArg, SpeciesMap
from glassrs.trajectory import Frame

__all__ = ["kind_of", "source_for", "mdanalysis_box_matrix", "ase_box_matrix"]


def _module(obj) -> str:
    return type(obj).__module__ or ""


def kind_of(obj: Any) -> str | None:
    """``"hoomd"``, ``"ase"`` or ``"mdanalysis"`` for an object (or a non-empty list of objects)
    glassrs can read from memory; None otherwise. Recognised without importing the packages."""
    if isinstance(obj, (list, tuple)) and obj:
        kinds = {kind_of(o) for o in obj}
        if len(kinds) == 1:
            k = kinds.pop()
            return k if k in ("hoomd", "ase") else None
        return None
    mod, name = _module(obj), type(obj).__name__
    if mod.startswith("gsd.") and name == "Frame":
        return "hoomd"
    if mod.startswith("ase") and name == "Atoms":
        return "ase"
    if mod.startswith("MDAnalysis") and name in ("Universe", "AtomGroup", "UpdatingAtomGroup"):
        return "mdanalysis"
    return None


def _error(where: str, k: int, msg: str):
    from glassrs.errors import FormatError
    return FormatError(f"{where}, frame {k}: {msg}", None, k, None)


# -- gsd.hoomd.Frame -------------------------------------------------------------------------

class HoomdFramesSource:
    """Frames of ``gsd.hoomd.Frame`` objects in memory."""

    format = "gsd"
    path = None

    def __init__(self, frames: Sequence, species: SpeciesArg = None, model=None):
        from glassrs.io.gsd import hoomd_frame

        self._convert = hoomd_frame
        self.where = "<gsd.hoomd.Frame list>"
        self.frames = list(frames)
        for k, s in enumerate(self.frames):
            if s.particles.position is None:
                raise _error(self.where, k, "gsd.hoomd.Frame has no particles.position")
            if s.particles.N is None or int(s.particles.N) <= 0:
                raise _error(self.where, k, f"gsd.hoomd.Frame has particles.N = {s.particles.N}; expected > 0")
        f0 = self.frames[0]
        self._types = list(f0.particles.types)
        self._n = int(f0.particles.N)
        self._species = SpeciesMap(self._types, species, what="type", path=self.where,
                                   positional=lambda k: self._types[k] if k < len(self._types) else k,
                                   index_keys=True, model=model)
        self._lut = self._species.indices(self._types, 0)
        self.steps = np.array([k if s.configuration.step is None else int(s.configuration.step)
                               for k, s in enumerate(self.frames)], dtype=np.int64)
        t = [s.log.get("glassrs/time") if getattr(s, "log", None) else None for s in self.frames]
        self.times = None if any(x is None for x in t) else np.array([float(np.ravel(x)[0]) for x in t])

    @property
    def species_map(self) -> SpeciesMap:
        return self._species

    def __len__(self) -> int:
        return len(self.frames)

    def load(self, k: int) -> Frame:
        s = self.frames[int(k)]
        if s.particles.typeid is None:
            s.particles.typeid = np.zeros(int(s.particles.N), dtype=np.uint32)  # HOOMD's default: type 0
        f = self._convert(s, path=self.where, k=int(k), n=self._n, types=self._types, lut=self._lut,
                          names=self._species.names, step=int(self.steps[k]))
        if self.times is not None:
            f.time = float(self.times[k])
        return f


# -- ase.Atoms -------------------------------------------------------------------------------

def ase_box_matrix(cell) -> np.ndarray:
    """glassrs box matrix (columns = edge vectors) from an ASE cell (rows = edge vectors)."""
    return np.asarray(cell, dtype=np.float64).reshape(3, 3).T.copy()


def _info(atoms, *keys):
    for key in keys:
        if key in atoms.info:
            return atoms.info[key]
    return None


class AseSource:
    """Frames of ``ase.Atoms`` objects in memory."""

    format = "ase"
    path = None

    def __init__(self, frames: Sequence, species: SpeciesArg = None, model=None):
        self.where = "<ase.Atoms list>"
        self.frames = list(frames)
        syms0 = self.frames[0].get_chemical_symbols()
        self._labels = sorted(set(syms0))
        self._species = SpeciesMap(self._labels, species, what="species", path=self.where, model=model)
        steps = [_info(a, "step", "Step") for a in self.frames]
        self.steps = np.array([k if s is None else int(s) for k, s in enumerate(steps)], dtype=np.int64)
        times = [_info(a, "time", "Time") for a in self.frames]
        self.times = None if any(t is None for t in times) else np.array([float(t) for t in times])
        self._n = len(syms0)

    @property
    def species_map(self) -> SpeciesMap:
        return self._species

    def __len__(self) -> int:
        return len(self.frames)

    def load(self, k: int) -> Frame:
        a = self.frames[int(k)]
        if len(a) != self._n:
            raise _error(self.where, k, f"{len(a)} atoms but frame 0 has {self._n}; glassrs needs the same particles "
                                        "in every frame")
        if not all(bool(p) for p in a.pbc):
            raise _error(self.where, k, f"ase.Atoms pbc = {a.pbc.tolist()}; glassrs needs a periodic box in every "
                                        "direction (atoms.pbc = True with a cell)")
        m = ase_box_matrix(a.cell[:])
        if not np.linalg.det(m) > 0:
            raise _error(self.where, k, f"ase.Atoms cell rows {m.T.tolist()} do not span a right-handed box of "
                                        "positive volume")
        pos = np.asarray(a.positions, dtype=np.float64)
        if not np.all(np.isfinite(pos)):
            i = int(np.flatnonzero(~np.all(np.isfinite(pos), axis=1))[0])
            raise _error(self.where, k, f"atom {i} has a non-finite position {pos[i].tolist()}")
        types = self._species.indices(a.get_chemical_symbols(), int(k))
        return Frame(positions=pos, types=types, box=Box(m, np.zeros(3)), species=self._species.names,
                     step=int(self.steps[k]), time=None if self.times is None else float(self.times[k]))


# -- MDAnalysis ------------------------------------------------------------------------------

def mdanalysis_box_matrix(dimensions) -> np.ndarray:
    """glassrs box matrix (columns = edge vectors) from MDAnalysis ``[a, b, c, α, β, γ]``
    (lengths; angles in degrees: α between b and c, β between a and c, γ between a and b),
    in MDAnalysis' orientation (a along x, b in the xy plane), in float64."""
    a, b, c, al, be, ga = (float(v) for v in dimensions)
    ca, cb, cg = (math.cos(math.radians(x)) for x in (al, be, ga))
    sg = math.sin(math.radians(ga))
    if not all(math.isfinite(v) and v > 0 for v in (a, b, c)) or abs(sg) < 1e-12:
        raise ValueError(f"box dimensions {list(dimensions)} are not a valid [a, b, c, α, β, γ]")
    cy = c * (ca - cb * cg) / sg
    cz2 = c * c - (c * cb) ** 2 - cy * cy
    if not cz2 > 0:
        raise ValueError(f"box angles of {list(dimensions)} do not make a box of positive volume")
    return np.array([[a, b * cg, c * cb], [0.0, b * sg, cy], [0.0, 0.0, math.sqrt(cz2)]])


class MDAnalysisSource:
    """Frames of an MDAnalysis Universe or AtomGroup, read by seeking its trajectory."""

    format = "mdanalysis"
    path = None

    def __init__(self, obj, species: SpeciesArg = None, model=None):
        ag = obj.atoms
        self.ag = ag
        self.universe = ag.universe
        try:
            fn = self.universe.trajectory.filename
        except AttributeError:
            fn = None
        self.where = f"<MDAnalysis {type(obj).__name__}{'' if not fn else ' ' + str(fn)}>"
        try:
            types = [str(t) for t in ag.types]
        except (AttributeError, Exception) as e:  # NoDataError when the topology has no types
            raise ValueError(f"{self.where}: the atoms have no types ({type(e).__name__}: {e}); glassrs needs "
                             "a species per atom (add_TopologyAttr('types', …))") from None
        if not types:
            raise ValueError(f"{self.where}: the AtomGroup is empty")
        self._labels = sorted(set(types), key=lambda s: (not s.isdigit(), int(s) if s.isdigit() else 0, s))
        self._species = SpeciesMap(self._labels, species, what="type", path=self.where, model=model)
        self._types = self._species.indices(types, 0)
        try:
            self._ids = np.asarray(ag.ids, dtype=np.int64)
        except Exception:  # no ids in the topology
            self._ids = None
        tr = self.universe.trajectory
        if "step" in getattr(tr.ts, "data", {}):  # the reader records steps: one pass to collect them
            here = tr.ts.frame
            self.steps = np.array([int(ts.data["step"]) for ts in tr], dtype=np.int64)
            tr[here]
        else:
            self.steps = np.arange(len(tr), dtype=np.int64)
        self.times = None  # MDAnalysis times are in its ps convention: never taken for model times

    @property
    def species_map(self) -> SpeciesMap:
        return self._species

    def __len__(self) -> int:
        return len(self.universe.trajectory)

    def load(self, k: int) -> Frame:
        ts = self.universe.trajectory[int(k)]
        dims = ts.dimensions
        if dims is None:
            raise _error(self.where, k, "the frame has no box (ts.dimensions is None); glassrs needs a periodic box")
        try:
            m = mdanalysis_box_matrix(dims)
        except ValueError as e:
            raise _error(self.where, k, str(e)) from None
        pos = np.asarray(self.ag.positions, dtype=np.float64)
        if not np.all(np.isfinite(pos)):
            i = int(np.flatnonzero(~np.all(np.isfinite(pos), axis=1))[0])
            raise _error(self.where, k, f"atom {i} has a non-finite position {pos[i].tolist()}")
        return Frame(positions=pos, types=self._types, box=Box(m, np.zeros(3)), species=self._species.names,
                     step=int(self.steps[k]), ids=self._ids)


def source_for(obj: Any, species: SpeciesArg = None, model=None):
    """The frame source of an in-memory object (see the module docstring); TypeError otherwise."""
    kind = kind_of(obj)
    if kind == "hoomd":
        return HoomdFramesSource(obj if isinstance(obj, (list, tuple)) else [obj], species, model)
    if kind == "ase":
        return AseSource(obj if isinstance(obj, (list, tuple)) else [obj], species, model)
    if kind == "mdanalysis":
        return MDAnalysisSource(obj, species, model)
    raise TypeError(f"cannot read a {type(obj).__module__}.{type(obj).__name__}: glassrs.read takes a file path, "
                    "a gsd.hoomd.Frame or ase.Atoms (or a list of either) or an MDAnalysis Universe/AtomGroup")
