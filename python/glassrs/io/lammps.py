"""LAMMPS text dumps: lazy reader (index + parsing in Rust) and writer.

Reading: one sequential pass (in Rust) records the byte range and header of every frame;
a frame's atom lines are parsed only when it is indexed, in parallel.

Compressed dumps (LAMMPS ``dump custom/gz``, ``dump custom/zstd``, or ``gzip``/``zstd`` of a text
dump; recognised by their first bytes, whatever the name) are read as a stream with the same
checks and errors. Random access is sequential underneath: reading frames in increasing order
(iteration, ``traj[a:b]``, the dynamics) decompresses the file once per pass, but reading frame
k after a later frame decompresses from the start of the file up to k — for repeated random
access, decompress the file once (``gunzip``/``unzstd``). Columns: any order;
positions from ``x y z``, ``xs ys zs``, ``xu yu zu`` or ``xsu ysu zsu`` (first present, scaled
ones converted with the frame's box), unwrapped coordinates from ``xu``/``xsu``, image flags
``ix iy iz``, velocities ``vx vy vz``, ``id`` (atoms sorted by it) and ``type``; other
columns are ignored. Orthogonal, restricted-triclinic (``xy xz yz``: bounding-box bounds are
converted back to the box) and general-triclinic (``abc origin``) boxes.
"""

from __future__ import annotations

import os

import numpy as np

from glassrs import _core
from glassrs.box import Box
from glassrs.io._common import SpeciesArg, SpeciesMap, atomic_path, iter_frames_checked, lammps_form, wrapped_and_images
from glassrs.trajectory import Frame, Trajectory


class LammpsSource:
    """A :class:`~glassrs.trajectory.FrameSource` over a LAMMPS text dump.

    Attributes: ``path``, ``steps`` (int64, one per frame), ``times`` (``ITEM: TIME`` values
    or None), ``columns`` (names of ``ITEM: ATOMS``), ``species_map`` (how the types were named),
    ``compression`` ("none", "gzip" or "zstd"), ``dropped_frames``.
    ``species`` / ``model``: see :func:`glassrs.read`.
    """

    format = "lammps"

    def __init__(self, path: str, species: SpeciesArg = None, model=None, on_truncated: str = "error"):
        self.path = path
        self._dump = _core.LammpsDump(path, on_truncated == "drop")
        self.dropped_frames, reason = self._dump.dropped
        if reason:
            self.dropped_reason = reason
        self.compression = self._dump.compression
        self.steps = self._dump.steps
        self.times = self._dump.times
        self.columns = list(self._dump.columns)
        first = self._dump.read(0)
        t0 = first["types"]
        labels = [1] if t0 is None else np.unique(t0).tolist()
        self._species = SpeciesMap(labels, species, what="type", path=path, positional=lambda k: k + 1, model=model)
        self._first = first
        # dense lookup type value → species index for the types of frame 0 (−1: unknown)
        self._lut_lo = int(min(labels))
        self._lut = np.full(int(max(labels)) - self._lut_lo + 1, -1, dtype=np.int64)
        self._lut[np.asarray(labels) - self._lut_lo] = self._species.indices(labels, 0)
        self._box: Box | None = None

    def __len__(self) -> int:
        return len(self._dump)

    @property
    def species_map(self) -> SpeciesMap:
        return self._species

    def _frame(self, k: int, d: dict) -> Frame:
        t = d["types"]
        if t is None:
            types = np.full(d["positions"].shape[0], self._species.indices([1], k)[0], dtype=np.int64)
        else:
            lo, lut = self._lut_lo, self._lut
            tt = t - lo
            if tt.min() < 0 or tt.max() >= len(lut) or (types := lut[tt]).min() < 0:
                u, idx = self._species.lookup_table(t, k)  # raises FormatError naming the unknown type
                types = idx[np.searchsorted(u, t)]
        box = self._box
        if box is None or not (np.array_equal(box.matrix, d["matrix"]) and np.array_equal(box.origin, d["origin"])):
            box = self._box = Box(d["matrix"], d["origin"])
        return Frame(positions=d["positions"], types=types, box=box,
                     species=self._species.names, step=int(d["step"]), time=d["time"], ids=d["ids"],
                     images=d["images"], unwrapped=d["unwrapped"], velocities=d["velocities"])

    def load(self, k: int) -> Frame:
        if k == 0 and self._first is not None:
            d, self._first = self._first, None
            return self._frame(0, d)
        return self._frame(k, self._dump.read(int(k)))

    def load_many(self, ks) -> list[Frame]:
        """Several frames parsed in parallel."""
        ks = [int(k) for k in ks]
        return [self._frame(k, d) for k, d in zip(ks, self._dump.read_many(ks))]


def write_lammps(path: str | os.PathLike, data, *, velocities: bool = True) -> None:
    """Write frames as a LAMMPS text dump (``dump custom`` layout), atomically.

    ``data``: a Trajectory, a Frame or an iterable of Frames. Columns ``id type x y z``, plus
    ``ix iy iz`` when the frames carry unwrapped coordinates or image flags (x is then wrapped
    into the box and x + image·box is the unwrapped position), plus ``vx vy vz`` when present
    and ``velocities``; ``ITEM: TIME`` (as ``dump_modify time yes`` writes it) when every frame's
    time is known. Types are written as species index + 1 (LAMMPS numbering); read back
    with ``species=`` to restore names. Boxes not in LAMMPS' restricted form are rotated into
    it (and the positions with them). A 2D frame is written as LAMMPS ``dimension 2`` writes it
    (z = 0, z bounds [−0.5, 0.5]); read it back with ``dim=2``. Floats are written with the shortest repr that round-trips exactly.
    """
    frames = iter_frames_checked(data)
    if isinstance(data, Trajectory):
        times = data.times if data.has_times else None
    else:
        times = [f.time for f in frames] if all(f.time is not None for f in frames) else None
    with atomic_path(path) as tmp, open(tmp, "w") as out:
        for k, f in enumerate(frames):
            r, q = lammps_form(f.box)
            sw, img, x = wrapped_and_images(f, r, q)
            has_img = img is not None or f.images is not None
            if has_img:
                pos = sw @ r.T
                if img is None:
                    img = np.zeros((f.n_particles, 3), np.int64)
            else:
                pos = x  # as stored, no image information to keep
            lx, ly, lz = float(r[0, 0]), float(r[1, 1]), float(r[2, 2])
            xy, xz, yz = float(r[0, 1]), float(r[0, 2]), float(r[1, 2])
            tri = bool(xy or xz or yz)
            # positions are relative to the origin; a rotated box gets origin 0
            o = f.box.origin if np.array_equal(q, np.eye(3)) else np.zeros(3)
            xlo, ylo, zlo = (float(v) for v in o)
            if f.box.dim == 2:
                zlo = -0.5  # LAMMPS dimension 2: z ∈ [−0.5, 0.5], particles at z = 0 (read back with dim=2)
            step = f.step if f.step is not None else k
            if times is not None:  # as LAMMPS' dump_modify time yes
                out.write(f"ITEM: TIME\n{float(times[k])!r}\n")
            out.write(f"ITEM: TIMESTEP\n{int(step)}\nITEM: NUMBER OF ATOMS\n{f.n_particles}\n")
            if tri:
                xlo_b = xlo + min(0.0, xy, xz, xy + xz)
                xhi_b = xlo + lx + max(0.0, xy, xz, xy + xz)
                ylo_b = ylo + min(0.0, yz)
                yhi_b = ylo + ly + max(0.0, yz)
                out.write("ITEM: BOX BOUNDS xy xz yz pp pp pp\n")
                out.write(f"{xlo_b!r} {xhi_b!r} {xy!r}\n{ylo_b!r} {yhi_b!r} {xz!r}\n{zlo!r} {zlo + lz!r} {yz!r}\n")
            else:
                out.write("ITEM: BOX BOUNDS pp pp pp\n")
                out.write(f"{xlo!r} {xlo + lx!r}\n{ylo!r} {ylo + ly!r}\n{zlo!r} {zlo + lz!r}\n")
            pos = pos + o
            ids = f.ids if f.ids is not None else np.arange(1, f.n_particles + 1)
            cols = [ids.astype(np.int64), f.types.astype(np.int64) + 1, pos]
            names = ["id", "type", "x", "y", "z"]
            if has_img:
                cols.append(img)
                names += ["ix", "iy", "iz"]
            if velocities and f.velocities is not None:
                cols.append(f.velocities @ q)
                names += ["vx", "vy", "vz"]
            out.write("ITEM: ATOMS " + " ".join(names) + "\n")
            _write_rows(out, cols)


def _write_rows(out, cols) -> None:
    """One line per particle; integers as integers, floats with the shortest exact repr."""
    parts = []
    for c in cols:
        c = c.reshape(c.shape[0], -1)
        if c.dtype.kind in "iu":
            parts.append([" ".join(map(str, r)) for r in c.tolist()])
        else:
            parts.append([" ".join(map(_g17, r)) for r in c.tolist()])
    out.write("\n".join(" ".join(p) for p in zip(*parts)))
    out.write("\n")


def _g17(v: float) -> str:
    return repr(float(v))
