"""Frames and trajectories: the in-memory data model every kernel consumes.

A :class:`Trajectory` is a sequence of :class:`Frame` objects sharing one particle set
(same N, same species, same order — sorted by particle id). Readers (``glassrs.read``)
return lazy trajectories that load a frame only when it is indexed; ``Trajectory.from_frames``
wraps frames already in memory (the MD engine, tests).

Units are the reduced units of the model: positions in σ, times in τ = σ√(m/ε).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Protocol, Sequence

import numpy as np

from glassrs.box import Box


@dataclass
class Frame:
    """One configuration.

    Attributes
    ----------
    positions : (N, 3) float64 — coordinates as stored in the file (wrapped or not).
    types : (N,) int64 — species index into ``species``.
    box : Box
    species : tuple[str, ...] — species names, index ↔ name.
    step : int | None — MD timestep, if known.
    time : float | None — physical time (step × dt, or as stored).
    ids : (N,) int64 | None — particle ids (frames are sorted by id).
    images : (N, 3) int64 | None — periodic image flags, if the file had them.
    unwrapped : (N, 3) float64 | None — unwrapped coordinates, if the file had them (xu …).
    velocities : (N, 3) float64 | None
    """

    positions: np.ndarray
    types: np.ndarray
    box: Box
    species: tuple[str, ...]
    step: int | None = None
    time: float | None = None
    ids: np.ndarray | None = None
    images: np.ndarray | None = None
    unwrapped: np.ndarray | None = None
    velocities: np.ndarray | None = None
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.positions = np.ascontiguousarray(self.positions, dtype=np.float64)
        if self.positions.ndim != 2 or self.positions.shape[1] != 3:
            raise ValueError(f"positions must have shape (N, 3), got {self.positions.shape}")
        n = self.positions.shape[0]
        self.types = np.ascontiguousarray(self.types, dtype=np.int64)
        if self.types.shape != (n,):
            raise ValueError(f"types must have shape ({n},), got {self.types.shape}")
        self.species = tuple(str(s) for s in self.species)
        if n and (self.types.min() < 0 or self.types.max() >= len(self.species)):
            raise ValueError(
                f"species index out of range: types span {self.types.min()}..{self.types.max()} "
                f"but species are {list(self.species)}")
        for name in ("images", "unwrapped", "velocities"):
            v = getattr(self, name)
            if v is not None:
                v = np.ascontiguousarray(v, dtype=np.int64 if name == "images" else np.float64)
                if v.shape != (n, 3):
                    raise ValueError(f"{name} must have shape ({n}, 3), got {v.shape}")
                setattr(self, name, v)
        if self.box.dim == 2:
            for name in ("positions", "unwrapped", "velocities", "images"):
                v = getattr(self, name)
                if v is not None:
                    self.box.check_planar(v, f"{name} (2D box; step {self.step})" if self.step is not None
                                          else f"{name} (2D box)")

    @property
    def n_particles(self) -> int:
        return int(self.positions.shape[0])

    @property
    def dim(self) -> int:
        """Spatial dimension (2 or 3): the box's."""
        return self.box.dim

    @property
    def density(self) -> float:
        """Number density N/V (σ⁻³), or N/A (σ⁻²) in 2D."""
        return self.n_particles / self.box.volume

    def unwrapped_positions(self) -> np.ndarray | None:
        """Unwrapped coordinates from the file (xu) or from image flags; None if neither."""
        if self.unwrapped is not None:
            return self.unwrapped
        if self.images is not None:
            return self.positions + self.images @ self.box.matrix.T
        return None

    def counts(self) -> dict[str, int]:
        """Particles per species."""
        c = np.bincount(self.types, minlength=len(self.species))
        return {s: int(k) for s, k in zip(self.species, c)}


def unwrap_step(prev: np.ndarray, cur: np.ndarray, box: Box, k: int, path: str | None,
                first_particle: int = 0) -> np.ndarray:
    """Minimum-image displacement (n, 3) from frame k−1 (``prev``) to frame k (``cur``) for
    unwrapping (definitions §3.1). Raises ``ValueError`` naming the particle (index offset by
    ``first_particle``) if a step exceeds half the box height: the path is then ambiguous."""
    step = box.min_image(cur - prev)
    lim = box.max_cutoff
    dist = np.linalg.norm(step, axis=1)
    bad = np.flatnonzero(dist > lim)
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"{path or '<memory>'}: particle {first_particle + i} (and {bad.size - 1} others) moved "
            f"{dist[i]:.4g} between frames {k - 1} and {k}, more than half the box height ({lim:.4g}); "
            "the unwrapped path is ambiguous. Write unwrapped coordinates (xu yu zu) or image "
            "flags (ix iy iz), or dump more often.")
    return step


class FrameSource(Protocol):
    """What a reader provides to :class:`Trajectory`: a frame count and random access.

    Optional attributes a reader may add: ``steps`` (int64 array, one per frame, −1 unknown),
    ``times`` (float array of stored times, or None: a source with this attribute is a file
    whose frames carry no other times), ``columns`` (names of the per-particle columns found),
    ``species_map`` (a :class:`glassrs.io._common.SpeciesMap`: how the file's type labels were
    named) and ``load_many(ks) -> list[Frame]`` (several frames at once, e.g. parsed in
    parallel)."""

    path: str | None

    def __len__(self) -> int: ...

    def load(self, k: int) -> Frame: ...


class MemorySource:
    def __init__(self, frames: Sequence[Frame]):
        self.frames = list(frames)
        self.path = None
        self._glassrs_particles = None

    def __len__(self) -> int:
        return len(self.frames)

    def load(self, k: int) -> Frame:
        return self.frames[k]


class Trajectory:
    """A sequence of frames of one particle set; lazy when backed by a file.

    ``len(traj)``, ``traj[k]`` (a :class:`Frame`), ``traj[a:b:c]`` / ``traj[[...]]``
    (a view), iteration. ``steps`` are always available (−1 where unknown); ``times`` are in
    the model's time unit — ``step × dt`` when ``dt`` is known, else the times stored in the
    file or the frames — and raise ``ValueError`` when neither is known (``has_times`` tells
    which): MD steps are never taken for times. ``species_mapping`` / ``species_source`` record
    how a file's type labels were named (see :func:`glassrs.read`).
    """

    def __init__(self, source: FrameSource, indices: np.ndarray | None = None, *, dt: float | None = None,
                 species: Sequence[str] | None = None, check_particles: bool = True):
        self._source = source
        self.check_particles = bool(check_particles)
        self._idx = np.arange(len(source)) if indices is None else np.asarray(indices, dtype=np.int64)
        self.dt = dt
        self._species_override = tuple(species) if species is not None else None
        if len(self._idx) == 0:
            raise ValueError(f"trajectory {getattr(source, 'path', None) or '<memory>'} has no frames")
        self._first: Frame | None = None

    @classmethod
    def from_frames(cls, frames: Sequence[Frame], *, dt: float | None = None) -> "Trajectory":
        """Wrap frames already in memory. All frames must have the same N and species.

        ``frames`` may also be a list of ``gsd.hoomd.Frame`` or ``ase.Atoms`` objects (converted
        as by :func:`glassrs.read`, which also takes ``species=``/``model=`` and MDAnalysis
        objects)."""
        frames = list(frames)
        if not frames:
            raise ValueError("from_frames needs at least one frame")
        if not isinstance(frames[0], Frame):
            from glassrs.io.memory import kind_of
            if kind_of(frames) is not None:
                from glassrs.io import read
                return read(frames, dt=dt)
            bad = next(f for f in frames if not isinstance(f, Frame))
            raise TypeError(f"from_frames takes glassrs Frame objects (or gsd.hoomd.Frame / ase.Atoms lists), got "
                            f"{type(bad).__module__}.{type(bad).__name__}")
        n0, sp0 = frames[0].n_particles, frames[0].species
        for k, f in enumerate(frames):
            if f.n_particles != n0:
                raise ValueError(f"frame {k} has {f.n_particles} particles, frame 0 has {n0}")
            if f.species != sp0:
                raise ValueError(f"frame {k} has species {f.species}, frame 0 has {sp0}")
            if f.box.dim != frames[0].box.dim:
                raise ValueError(f"frame {k} has a {f.box.dim}D box, frame 0 a {frames[0].box.dim}D box")
        return cls(MemorySource(frames), dt=dt)

    @property
    def dim(self) -> int:
        """Spatial dimension (2 or 3), a property of the box (frame 0's)."""
        return self[0].box.dim

    # -- sequence protocol --------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._idx)

    def __getitem__(self, k):
        if isinstance(k, (int, np.integer)):
            kk = int(k)
            if kk < 0:
                kk += len(self)
            if not 0 <= kk < len(self):
                raise IndexError(f"frame {k} out of range for a trajectory of {len(self)} frames")
            return self._frame(int(self._idx[kk]))
        if isinstance(k, slice):
            idx = self._idx[k]
        else:
            idx = self._idx[np.asarray(k)]
        return Trajectory(self._source, idx, dt=self.dt, species=self._species_override,
                          check_particles=self.check_particles)

    def __iter__(self) -> Iterator[Frame]:
        many = getattr(self._source, "load_many", None)
        if many is None:
            for k in range(len(self)):
                yield self[k]
            return
        # readers that parse in parallel get small batches (bounded memory)
        batch = 8
        for a in range(0, len(self), batch):
            raw = [int(r) for r in self._idx[a:a + batch]]
            for r, f in zip(raw, many(raw)):
                yield self._adjust(f, r)

    def _frame(self, raw: int) -> Frame:
        return self._adjust(self._source.load(raw), raw)

    @property
    def dropped_frames(self) -> int:
        """How many unfinished frames at the end of the file were left out (``on_truncated="drop"``
        of :func:`glassrs.read`); 0 otherwise."""
        return int(getattr(self._source, "dropped_frames", 0) or 0)

    def _reference(self) -> tuple[int, np.ndarray | None, np.ndarray]:
        """(N, ids, types) of the source's frame 0, the particle set every frame must hold."""
        ref = getattr(self._source, "_glassrs_particles", None)
        if ref is None:
            f0 = self._source.load(0)
            ref = (f0.n_particles, None if f0.ids is None else f0.ids.copy(), f0.types.copy())
            self._source._glassrs_particles = ref
        return ref

    def _check_particles(self, f: Frame, raw: int) -> None:
        """Frame ``raw`` of the source must hold frame 0's particles: same N, same ids (after
        sorting) and the same species per particle (FormatError naming file, frame, particle);
        with ``check_particles=False`` a mismatch is a warning (once per file)."""
        if raw == 0 and getattr(self._source, "_glassrs_particles", None) is None:
            self._source._glassrs_particles = (f.n_particles, None if f.ids is None else f.ids.copy(), f.types.copy())
            return
        frames = self._source.frames if isinstance(self._source, MemorySource) else None
        if frames and f.types is frames[0].types and f.ids is frames[0].ids and f.n_particles == frames[0].n_particles:
            return   # in memory, holding frame 0's own type and id arrays: the same particles by construction
        n0, ids0, t0 = self._reference()
        msg = None
        if f.n_particles != n0:
            msg = f"frame has {f.n_particles} particles but frame 0 has {n0}"
        elif (ids0 is None) != (f.ids is None):
            msg = "frame has " + ("no particle ids but frame 0 has" if f.ids is None else "particle ids but frame 0 has none")
        elif ids0 is not None and not np.array_equal(f.ids, ids0):
            extra = np.setdiff1d(f.ids, ids0)
            missing = np.setdiff1d(ids0, f.ids)
            if extra.size:
                msg = (f"particle id {int(extra[0])} does not occur in frame 0"
                       + (f" (and frame 0's id {int(missing[0])} is missing)" if missing.size else "")
                       + (f"; {extra.size - 1} more ids differ" if extra.size > 1 else ""))
            else:
                i = int(np.flatnonzero(f.ids != ids0)[0])
                msg = f"the particle ids differ from frame 0's at row {i} after sorting (id {int(f.ids[i])})"
        elif not np.array_equal(f.types, t0):
            i = int(np.flatnonzero(f.types != t0)[0])
            who = f"particle {i}" + (f" (id {int(f.ids[i])})" if f.ids is not None else "")
            sp = f.species
            msg = (f"{who} has type {sp[f.types[i]]!r} but {sp[t0[i]]!r} in frame 0"
                   + (f" ({int(np.count_nonzero(f.types != t0)) - 1} other particles differ too)"
                      if np.count_nonzero(f.types != t0) > 1 else ""))
        if msg is None:
            return
        where = self.path or "<memory>"
        if not self.check_particles:
            if not getattr(self._source, "_glassrs_particles_warned", False):
                import warnings
                self._source._glassrs_particles_warned = True
                warnings.warn(f"{where}, frame {raw}: {msg} (read with check_particles=False: per-particle results "
                              "mix different particles across frames)", UserWarning, stacklevel=4)
            return
        from glassrs.errors import FormatError
        raise FormatError(f"{where}, frame {raw}: {msg}; glassrs needs the same particles in every frame — pass "
                          "check_particles=False to glassrs.read for reactive or grand-canonical data",
                          self.path, raw, None)

    def _adjust(self, f: Frame, raw: int | None = None) -> Frame:
        if raw is not None:
            self._check_particles(f, raw)
        if self._species_override is not None and f.species != self._species_override:
            if len(self._species_override) < int(f.types.max(initial=-1)) + 1:
                raise ValueError(f"species override {self._species_override} has fewer names than the "
                                 f"{int(f.types.max()) + 1} types in the file")
            f.species = self._species_override
        if self.dt is not None and f.step is not None:
            f.time = f.step * self.dt
        return f

    # -- summary properties -------------------------------------------------------------
    @property
    def path(self) -> str | None:
        return getattr(self._source, "path", None)

    @property
    def first(self) -> Frame:
        if self._first is None:
            self._first = self[0]
        return self._first

    @property
    def n_particles(self) -> int:
        return self.first.n_particles

    @property
    def species(self) -> tuple[str, ...]:
        return self.first.species

    @property
    def types(self) -> np.ndarray:
        return self.first.types

    @property
    def box(self) -> Box:
        """Box of the first frame."""
        return self.first.box

    @property
    def steps(self) -> np.ndarray:
        """Timesteps (int64); −1 where unknown."""
        steps = getattr(self._source, "steps", None)
        if steps is not None:
            return np.asarray(steps, dtype=np.int64)[self._idx]
        # the raw frames: a step needs no particle check (frames are checked where they are used)
        load = self._source.load
        return np.array([(-1 if (st := load(int(r)).step) is None else st) for r in self._idx], dtype=np.int64)

    def _known_times(self) -> np.ndarray | None:
        """Frame times when they are known (dt × steps, stored, or carried by the frames), else None."""
        steps = self.steps
        if self.dt is not None and len(steps) and np.all(steps >= 0):
            return steps * float(self.dt)
        if hasattr(self._source, "times"):  # file readers: ``times`` is what the file stores (or None)
            stored = self._source.times
            return None if stored is None else np.asarray(stored, dtype=np.float64)[self._idx]
        out = np.empty(len(self))
        for k, r in enumerate(self._idx):  # in-memory frames (raw: a time needs no particle check)
            f = self._source.load(int(r))
            t = f.step * float(self.dt) if (self.dt is not None and f.step is not None) else f.time
            if t is None:
                return None
            out[k] = t
        return out

    @property
    def has_times(self) -> bool:
        """True when frame times are known: ``dt`` was given (and every frame has a step), or the
        file / the frames store times. False for e.g. a LAMMPS dump without ``ITEM: TIME`` read
        without ``dt``; ``steps`` are available either way."""
        return self._known_times() is not None

    @property
    def times(self) -> np.ndarray:
        """Frame times (float64, model time units): step × ``dt`` when ``dt`` is known, else the
        times stored in the file (LAMMPS ``ITEM: TIME``, extended-XYZ ``Time=``) or carried by the
        frames. Raises ``ValueError`` saying how to fix it when none is known — steps are never
        used as times (they are in ``steps``)."""
        t = self._known_times()
        if t is None:
            raise self._no_times_error()
        return t

    def _no_times_error(self) -> ValueError:
        where = self.path or "<memory>"
        steps = self.steps
        known_steps = bool(len(steps)) and bool(np.all(steps >= 0))
        fmt = getattr(self._source, "format", None)
        if self.dt is not None and not known_steps:
            why = "some frames have no MD step to multiply dt with, and the file stores no times"
            fix = "give every frame a step (extended XYZ: Step=) or store the times (Time=)"
        else:
            why = {"lammps": "the LAMMPS dump has no ITEM: TIME",
                   "gsd": "the GSD file stores no times",
                   "extxyz": "the extended-XYZ comment lines have no Time="}.get(fmt, "the frames carry no times")
            why += " and no MD timestep was given, so the frame times are unknown"
            if known_steps:
                why += f" (only the steps {int(steps[0])} … {int(steps[-1])})"
            if self.path:
                fix = ("pass dt= (API) or --dt (CLI) with the MD timestep, e.g. glassrs.read(path, dt=0.005) "
                       "or --dt 0.005")
            else:
                fix = "pass dt= (Trajectory.from_frames(frames, dt=...)) or give the frames their times"
            if fmt == "lammps":
                fix += ", or write the dump with 'dump_modify ID time yes'"
        return ValueError(f"{where}: {why}; {fix}")

    # -- species naming ------------------------------------------------------------------
    @property
    def species_mapping(self) -> dict[str, str] | None:
        """File type label → species name, e.g. ``{"1": "A", "2": "B"}`` (labels as strings), for a
        trajectory read from a file; None for frames in memory."""
        sm = getattr(self._source, "species_map", None)
        return None if sm is None else dict(sm.mapping)

    @property
    def species_source(self) -> str | None:
        """Where the species names come from: ``"file"`` (as stored), ``"species"`` (the
        ``species=`` argument) or ``"model <name>"`` (numeric types 1..n mapped in order onto the
        model's species); None for frames in memory."""
        sm = getattr(self._source, "species_map", None)
        return None if sm is None else sm.source

    @property
    def species_note(self) -> str | None:
        """One line describing a renaming of the file's types, e.g. ``"types 1,2 → A,B (from
        model kob_andersen)"``; None when the names are the file's own."""
        src = self.species_source
        if src is None or src == "file":
            return None
        m = self.species_mapping
        via = "from species=" if src == "species" else f"from {src}"
        return f"types {','.join(m)} → {','.join(m.values())} ({via})"

    # -- bulk arrays ---------------------------------------------------------------------
    def positions(self) -> np.ndarray:
        """Stored positions of every frame, (F, N, 3) float64."""
        return np.stack([f.positions for f in self])

    def unwrapped(self) -> np.ndarray:
        """Unwrapped positions (F, N, 3) following definitions §3.1: ``xu`` columns, else image flags,
        else accumulated minimum-image steps between consecutive frames — the last raises
        ``ValueError`` if any particle moves more than half a box height between frames."""
        frames = list(self)
        direct = [f.unwrapped_positions() for f in frames]
        if all(d is not None for d in direct):
            return np.stack(direct)
        out = np.empty((len(frames), frames[0].n_particles, 3))
        out[0] = direct[0] if direct[0] is not None else frames[0].positions
        for k in range(1, len(frames)):
            f0, f1 = frames[k - 1], frames[k]
            if f1.n_particles != f0.n_particles:
                raise ValueError(f"{self.path or '<memory>'}: frame {k} has {f1.n_particles} particles, "
                                 f"frame {k - 1} has {f0.n_particles}")
            out[k] = out[k - 1] + unwrap_step(f0.positions, f1.positions, f1.box, k, self.path)
        return out

    def to_polars(self):
        """Long table: frame, step, time, particle, species, x, y, z (one row per particle×frame)."""
        import polars as pl

        from glassrs.tables import make_table

        parts = []
        times = self._known_times()  # None: the time column is null (steps are not times)
        steps = self.steps
        for k, f in enumerate(self):
            n = f.n_particles
            parts.append(pl.DataFrame({
                "frame": np.full(n, k, dtype=np.int64),
                "step": np.full(n, steps[k], dtype=np.int64),
                "time": pl.Series([None] * n, dtype=pl.Float64) if times is None else np.full(n, times[k]),
                "particle": np.arange(n, dtype=np.int64) if f.ids is None else f.ids,
                "species": pl.Series(np.asarray(f.species, dtype=object)[f.types], dtype=pl.String),
                "x": f.positions[:, 0], "y": f.positions[:, 1], "z": f.positions[:, 2],
            }))
        return make_table(pl.concat(parts), {"kind": "trajectory", "source": self.path, **species_params(self)})

    def __repr__(self) -> str:
        return (f"Trajectory({self.path or '<memory>'}, frames={len(self)}, N={self.n_particles}, "
                f"species={list(self.species)})")


def species_params(data) -> dict:
    """Entries for a result table's parameters recording how a file's types were named:
    ``{"species_mapping": {"1": "A", …}, "species_source": "model kob_andersen"}`` when ``data``
    is a Trajectory whose names were assigned on reading (``species=`` or ``model=``), else {}."""
    if not isinstance(data, Trajectory):
        return {}
    src = data.species_source
    if src is None or src == "file":
        return {}
    return {"species_mapping": data.species_mapping, "species_source": src}


def as_trajectory(x: "Trajectory | Frame | Sequence[Frame]") -> "Trajectory":
    """A Trajectory from a Trajectory (itself), one Frame or a sequence of Frames."""
    if isinstance(x, Trajectory):
        return x
    if isinstance(x, Frame):
        return Trajectory.from_frames([x])
    return Trajectory.from_frames(list(x))


def frame_indices(traj: "Trajectory", frames) -> np.ndarray:
    """Frame indices (int64, non-negative) selected by ``frames``: None (all), a slice, an index
    or a sequence of indices (negative ones count from the end); ``ValueError`` naming the first
    index out of range."""
    if frames is None:
        return np.arange(len(traj))
    if isinstance(frames, slice):
        return np.arange(len(traj))[frames]
    idx = np.atleast_1d(np.asarray(frames, dtype=np.int64))
    bad = idx[(idx < -len(traj)) | (idx >= len(traj))]
    if bad.size:
        raise ValueError(f"frame {int(bad[0])} out of range for a trajectory of {len(traj)} frames")
    return idx % len(traj)


def particle_ids(f: Frame) -> np.ndarray:
    """The particle ids of a frame (its ``ids``, else 0…N−1), int64."""
    return np.arange(f.n_particles, dtype=np.int64) if f.ids is None else np.asarray(f.ids, dtype=np.int64)
