"""HOOMD-blue GSD files through the ``gsd`` package (``gsd.hoomd``).

HOOMD's box is ``[Lx, Ly, Lz, xy, xz, yz]`` with *dimensionless* tilt factors: the box
vectors are a1 = (Lx, 0, 0), a2 = (xy·Ly, Ly, 0), a3 = (xz·Lz, yz·Lz, Lz) and positions
lie in the box centred on the origin, so the glassrs origin is −(a1 + a2 + a3)/2. The LAMMPS
tilts are therefore xy_L = xy·Ly, xz_L = xz·Lz, yz_L = yz·Lz. The hoomd schema stores no time:
glassrs writes each frame's time (model time units) as the logged quantity ``glassrs/time``
(chunk ``log/glassrs/time``) and reads it back; for other GSD files pass ``dt`` to
:func:`glassrs.read`.
"""

from __future__ import annotations

import os

import numpy as np

from glassrs.box import Box
from glassrs.io._common import SpeciesArg, SpeciesMap, atomic_path, iter_frames_checked, lammps_form, wrapped_and_images
from glassrs.trajectory import Frame, Trajectory


def hoomd_box_matrix(b) -> np.ndarray:
    """(3, 3) box matrix (columns = box vectors) from HOOMD's [Lx, Ly, Lz, xy, xz, yz]."""
    lx, ly, lz, xy, xz, yz = (float(v) for v in b)
    return np.array([[lx, xy * ly, xz * lz], [0.0, ly, yz * lz], [0.0, 0.0, lz]])


def _format_error(path, frame, msg):
    from glassrs.errors import FormatError
    return FormatError(f"{path}, frame {frame}: {msg}", path, frame, None)


TIME_CHUNK = "log/glassrs/time"


def _stored_times(fl, n: int, path: str) -> np.ndarray | None:
    """The frame times glassrs wrote (``log/glassrs/time`` in every frame), else None."""
    try:
        if not all(fl.chunk_exists(frame=k, name=TIME_CHUNK) for k in range(n)):
            return None
        t = np.array([float(np.asarray(fl.read_chunk(frame=k, name=TIME_CHUNK)).reshape(-1)[0]) for k in range(n)])
    except (RuntimeError, ValueError, OSError, MemoryError, IndexError) as e:
        raise _format_error(path, 0, f"gsd cannot read {TIME_CHUNK} ({type(e).__name__}: {e})") from None
    if not np.all(np.isfinite(t)):
        k = int(np.flatnonzero(~np.isfinite(t))[0])
        raise _format_error(path, k, f"{TIME_CHUNK} = {t[k]} is not a finite time")
    return t


def hoomd_frame(s, *, path: str, k: int, n: int, types: list, lut: np.ndarray, names: tuple, step: int) -> Frame:
    """A glassrs Frame from a ``gsd.hoomd.Frame`` ``s`` (frame ``k`` of ``path``, which must hold
    ``n`` particles of the type list ``types``; ``lut`` maps typeids to species indices of
    ``names``). FormatError naming path and frame for anything glassrs cannot hold."""
    p = s.particles
    two_d = s.configuration.dimensions == 2
    if int(p.N) != n:
        raise _format_error(path, k, f"frame has {p.N} particles but frame 0 has {n}; glassrs needs "
                                     "the same particles in every frame")
    if list(p.types) != types:
        raise _format_error(path, k, f"particle types {list(p.types)} differ from frame 0 ({types})")
    b = np.array(s.configuration.box, dtype=np.float64)
    if not np.all(np.isfinite(b)) or not np.all(b[:2 if two_d else 3] > 0):
        raise _format_error(path, k, f"box [Lx, Ly, Lz, xy, xz, yz] = {b.tolist()} needs finite, positive lengths")
    if two_d:
        b[2], b[4], b[5] = 0.0, 0.0, 0.0   # HOOMD 2D: Lz (and the z tilts) carry no meaning
    m = hoomd_box_matrix(b)
    pos = np.asarray(p.position, dtype=np.float64)
    if not np.all(np.isfinite(pos)):
        i = int(np.flatnonzero(~np.all(np.isfinite(pos), axis=1))[0])
        raise _format_error(path, k, f"particle {i} has a non-finite position {pos[i].tolist()}")
    if two_d and np.any(pos[:, 2] != 0.0):
        i = int(np.flatnonzero(pos[:, 2] != 0.0)[0])
        raise _format_error(path, k, f"2D file (dimensions = 2) but particle {i} has z = {float(pos[i, 2])!r}")
    typeid = np.asarray(p.typeid, dtype=np.int64)
    if typeid.size and (typeid.min() < 0 or typeid.max() >= len(types)):
        raise _format_error(path, k, f"typeid out of range 0..{len(types) - 1}")
    img = None if p.image is None else np.array(p.image, dtype=np.int64)
    vel = None if p.velocity is None else np.array(p.velocity, dtype=np.float64)
    if two_d:
        if img is not None:
            img[:, 2] = 0
        if vel is not None and np.any(vel[:, 2] != 0.0):
            i = int(np.flatnonzero(vel[:, 2] != 0.0)[0])
            raise _format_error(path, k, f"2D file (dimensions = 2) but particle {i} has v_z = {float(vel[i, 2])!r}")
    return Frame(positions=pos, types=lut[typeid], box=Box(m, -0.5 * m.sum(axis=1)),
                 species=names, step=step, images=img, velocities=vel)


class GsdSource:
    """A :class:`~glassrs.trajectory.FrameSource` over a HOOMD-blue GSD file (lazy)."""

    format = "gsd"

    def __init__(self, path: str, species: SpeciesArg = None, model=None):
        import gsd.fl
        import gsd.hoomd

        self.path = path
        try:
            self._file = gsd.hoomd.open(path, "r")
        except Exception as e:  # gsd raises RuntimeError/OSError for non-GSD content
            from glassrs.errors import FormatError
            raise FormatError(f"{path}: not a readable GSD file ({e})") from e
        n = len(self._file)
        if n == 0:
            from glassrs.errors import FormatError
            raise FormatError(f"{path}: the GSD file contains no frame")
        try:
            fl = self._file.file
            steps = []
            for k in range(n):
                st = fl.read_chunk(frame=k, name="configuration/step") if fl.chunk_exists(
                    frame=k, name="configuration/step") else None
                v = int(st[0]) if st is not None else (steps[0] if steps else 0)
                if not 0 <= v < 2**63:
                    raise _format_error(path, k, f"configuration/step = {v} is not a timestep glassrs can hold "
                                                 "(a non-negative integer below 2^63)")
                steps.append(v)
        except (RuntimeError, ValueError, OSError, MemoryError) as e:
            from glassrs.errors import FormatError
            if isinstance(e, FormatError):
                raise
            raise _format_error(path, len(steps), f"gsd cannot read the frame index ({type(e).__name__}: {e})") from None
        self.steps = np.asarray(steps, dtype=np.int64)
        self.times = _stored_times(fl, n, path)
        # particle counts checked before gsd allocates arrays of that size (a corrupt N)
        size = os.path.getsize(path)
        try:
            self._n_chunk = [int(fl.read_chunk(frame=k, name="particles/N")[0])
                             if fl.chunk_exists(frame=k, name="particles/N") else None for k in range(n)]
        except (RuntimeError, ValueError, OSError, MemoryError) as e:
            raise _format_error(path, 0, f"gsd cannot read particles/N ({type(e).__name__}: {e})") from None
        n0 = self._n_chunk[0] if self._n_chunk[0] is not None else 0
        if not 0 < n0 <= size:
            raise _format_error(path, 0, f"particles/N = {n0} is impossible for a file of {size} bytes")
        f0 = self._read(0)
        self.columns = ["position", "typeid"] + [name for name, arr in
                                                 (("image", f0.particles.image), ("velocity", f0.particles.velocity))
                                                 if arr is not None]
        self._types = list(f0.particles.types)
        self._n = int(f0.particles.N)
        #: spatial dimension recorded in the file (configuration.dimensions of frame 0)
        self.dim = 2 if f0.configuration.dimensions == 2 else 3
        self._species = SpeciesMap(self._types, species, what="type", path=path,
                                   positional=lambda k: self._types[k] if k < len(self._types) else k,
                                   index_keys=True, model=model)
        self._lut = self._species.indices(self._types, 0)

    def __len__(self) -> int:
        return len(self.steps)

    def _read(self, k: int):
        """Frame k through gsd; a corrupt chunk (an impossible size, unreadable data) is a
        FormatError naming the file and frame, not a MemoryError or gsd's own exception."""
        try:
            return self._file[k]
        except MemoryError as e:
            raise _format_error(self.path, k, f"a data chunk claims an impossible size ({e}); the file is "
                                              "corrupt") from None
        except (RuntimeError, ValueError, OSError, KeyError, IndexError) as e:
            raise _format_error(self.path, k, f"gsd cannot read this frame ({type(e).__name__}: {e})") from e

    @property
    def species_map(self) -> SpeciesMap:
        return self._species

    def load(self, k: int) -> Frame:
        nk = self._n_chunk[int(k)]
        if nk is not None and nk != self._n:
            raise _format_error(self.path, int(k), f"frame has {nk} particles but frame 0 has {self._n}; glassrs "
                                                   "needs the same particles in every frame")
        s = self._read(int(k))
        f = hoomd_frame(s, path=self.path, k=int(k), n=self._n, types=self._types, lut=self._lut,
                        names=self._species.names, step=int(self.steps[k]))
        if self.times is not None:
            f.time = float(self.times[k])
        return f

    def close(self) -> None:
        self._file.close()


def write_gsd(path: str | os.PathLike, data, *, precision: str = "single") -> None:
    """Write frames as a HOOMD-blue GSD file (hoomd schema), atomically.

    ``data``: a Trajectory, a Frame or an iterable of Frames. Positions are wrapped into the
    box centred on the origin (HOOMD convention) with image flags keeping the unwrapped
    path (when the frames carry unwrapped coordinates or images); species names become GSD
    types. ``precision="double"`` keeps float64 positions and velocities (readable by gsd ≥ 4);
    the default "single" is what HOOMD-blue itself writes. The box is always stored in single
    precision (``gsd.hoomd`` casts it), so box vectors carry a relative error of ~1e-7. Boxes not in LAMMPS/HOOMD restricted form are
    rotated into it. Frame times, when known, are stored as the logged quantity ``glassrs/time``.
    """
    import gsd.hoomd

    if precision not in ("single", "double"):
        raise ValueError(f"precision must be 'single' or 'double', got {precision!r}")
    frames = iter_frames_checked(data)
    times = None
    if isinstance(data, Trajectory):
        times = data.times if data.has_times else None
    elif all(f.time is not None for f in frames):
        times = [float(f.time) for f in frames]
    with atomic_path(path, ".gsd") as tmp:
        with gsd.hoomd.open(tmp, "w", precision=precision) as out:
            for k, f in enumerate(frames):
                r, q = lammps_form(f.box)
                sw, img, _ = wrapped_and_images(f, r, q)
                s = gsd.hoomd.Frame()
                s.configuration.step = int(f.step if f.step is not None else k)
                s.configuration.dimensions = f.box.dim
                lx, ly, lz = r[0, 0], r[1, 1], r[2, 2]
                if f.box.dim == 2:   # HOOMD's 2D box: Lz = 0, no z tilts
                    s.configuration.box = [lx, ly, 0.0, r[0, 1] / ly, 0.0, 0.0]
                else:
                    s.configuration.box = [lx, ly, lz, r[0, 1] / ly, r[0, 2] / lz, r[1, 2] / lz]
                s.particles.N = f.n_particles
                s.particles.types = list(f.species)
                s.particles.typeid = f.types.astype(np.uint32)
                pos = (sw - 0.5) @ r.T
                if f.box.dim == 2:
                    pos[:, 2] = 0.0
                    if img is not None:
                        img[:, 2] = 0
                s.particles.position = pos
                if img is not None:
                    s.particles.image = img.astype(np.int32)
                if f.velocities is not None:
                    s.particles.velocity = f.velocities @ q
                if times is not None:
                    s.log["glassrs/time"] = np.array([times[k]], dtype=np.float64)
                out.append(s)
