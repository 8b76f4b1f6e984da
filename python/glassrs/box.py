"""The periodic simulation box.

The box is the 3×3 matrix ``H`` whose *columns* are the edge vectors a, b, c (length units
of the model), plus an origin. glassrs follows LAMMPS: a = (lx, 0, 0), b = (xy, ly, 0),
c = (xz, yz, lz). Fractional coordinates are s = H⁻¹ (x − origin).

Two dimensions: a 2D box (``dim == 2``) has two edge vectors a, b in the xy plane; the
dimension is a property of the box, never guessed from coordinates. It is stored with the
unit z vector as third column (so ``matrix`` stays invertible), ``volume`` is the area
|a × b|, ``heights`` has two entries, and positions must have z = 0. Build one with
``Box.orthorhombic([lx, ly])``, ``Box.from_lammps([lx, ly], tilts=(xy,))``,
``Box.from_vectors(a, b)`` or ``Box(matrix, dim=2)``; a matrix with a zero third column is a
2D box too (that is how ``native`` passes it to the Rust core).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


MIN_HEIGHT = 1e-10


def _heights_ok(m: np.ndarray) -> bool:
    """Every box height (distance between opposite faces) at least MIN_HEIGHT and at most 1e10
    times another: a box length such as 1e-300 makes cell lists, wave vectors and min-image
    arithmetic meaningless."""
    with np.errstate(all="ignore"):
        inv = np.linalg.inv(m)
        h = 1.0 / np.linalg.norm(inv, axis=1)
    return bool(np.all(np.isfinite(h)) and h.min() >= MIN_HEIGHT and h.max() <= 1e10 * h.min())


@dataclass(frozen=True)
class Box:
    """Periodic box. ``matrix`` (3, 3): columns are the box vectors; ``origin`` (3,);
    ``dim``: 3, or 2 for a two-dimensional box (see the module docs; default: 2 if the third
    column of ``matrix`` is zero, else 3)."""

    matrix: np.ndarray
    origin: np.ndarray = field(default_factory=lambda: np.zeros(3))
    dim: int | None = None
    _heights: np.ndarray = field(default=None, init=False, repr=False, compare=False)
    _volume: float = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        m = np.array(self.matrix, dtype=np.float64).reshape(3, 3)
        o = np.array(self.origin, dtype=np.float64).reshape(3)
        if not np.all(np.isfinite(m)) or not np.all(np.isfinite(o)):
            raise ValueError(f"box has a non-finite entry: matrix={m.tolist()}, origin={o.tolist()}")
        dim = self.dim
        if dim is None:
            dim = 2 if not np.any(m[:, 2]) else 3
        if dim not in (2, 3):
            raise ValueError(f"box dimension must be 2 or 3, got {dim!r}")
        if dim == 2:
            if m[2, 0] != 0.0 or m[2, 1] != 0.0 or m[0, 2] != 0.0 or m[1, 2] != 0.0:
                raise ValueError("a 2D box needs its two edge vectors in the xy plane and no z tilt; "
                                 f"matrix columns={m.T.tolist()}")
            m[2, 2] = 1.0
            o[2] = 0.0
        object.__setattr__(self, "dim", int(dim))
        if not np.linalg.det(m) > 0:
            raise ValueError(
                f"box must have positive volume (right-handed edge vectors); matrix columns={m.T.tolist()}"
            )
        if not _heights_ok(m):
            raise ValueError(f"degenerate box: every box length (height) must be ≥ {MIN_HEIGHT:g} σ and within a "
                             f"factor 1e10 of the others; matrix columns={m.T.tolist()}")
        m.flags.writeable = False
        o.flags.writeable = False
        object.__setattr__(self, "matrix", m)
        a, b, c = m.T
        v = float(m[0, 0] * m[1, 1] - m[1, 0] * m[0, 1]) if dim == 2 else float(np.linalg.det(m))
        h = np.array([v / np.linalg.norm(np.cross(b, c)), v / np.linalg.norm(np.cross(c, a)),
                      v / np.linalg.norm(np.cross(a, b))])[:dim]
        h.flags.writeable = False
        object.__setattr__(self, "_heights", h)  # the heights are asked for per frame (unwrapping): computed once
        object.__setattr__(self, "_volume", v)
        object.__setattr__(self, "origin", o)

    # -- constructors -------------------------------------------------------------------
    @classmethod
    def orthorhombic(cls, lengths, origin=None) -> "Box":
        """Box with edge lengths ``lengths`` = (lx, ly, lz), or (lx, ly) for a 2D box."""
        arr = np.atleast_1d(np.asarray(lengths, dtype=float))
        if arr.size == 2:
            return cls(np.diag([arr[0], arr[1], 0.0]), _origin(origin, 2), dim=2)
        lx, ly, lz = (float(v) for v in np.broadcast_to(arr, (3,)))
        return cls(np.diag([lx, ly, lz]), np.zeros(3) if origin is None else origin)

    @classmethod
    def cube(cls, length: float) -> "Box":
        return cls.orthorhombic([length] * 3)

    @classmethod
    def square(cls, length: float) -> "Box":
        """2D box of side ``length``."""
        return cls.orthorhombic([length] * 2)

    @classmethod
    def from_lammps(cls, lengths, tilts=(0.0, 0.0, 0.0), origin=None, dim: int = 3) -> "Box":
        """From LAMMPS (lx, ly, lz) and tilts (xy, xz, yz). ``dim=2`` (or two lengths) gives
        a 2D box (LAMMPS ``dimension 2``): lz and the z tilts are ignored."""
        lengths = [float(v) for v in lengths]
        tilts = [float(v) for v in tilts] + [0.0] * (3 - len(tuple(tilts)))
        if len(lengths) == 2 or dim == 2:
            m = np.array([[lengths[0], tilts[0], 0.0], [0.0, lengths[1], 0.0], [0.0, 0.0, 0.0]])
            return cls(m, _origin(origin, 2), dim=2)
        lx, ly, lz = lengths
        xy, xz, yz = tilts
        m = np.array([[lx, xy, xz], [0.0, ly, yz], [0.0, 0.0, lz]])
        return cls(m, np.zeros(3) if origin is None else origin)

    @classmethod
    def from_vectors(cls, a, b, c=None, origin=None) -> "Box":
        """From three edge vectors (e.g. extended-XYZ ``Lattice=``), or two (2D box; 2 or 3
        components each, z = 0)."""
        if c is None:
            a2 = np.zeros(3)
            b2 = np.zeros(3)
            a2[:len(a)] = a
            b2[:len(b)] = b
            return cls(np.column_stack([a2, b2, np.zeros(3)]), _origin(origin, 2), dim=2)
        return cls(np.column_stack([a, b, c]).astype(float), np.zeros(3) if origin is None else origin)

    # -- properties ----------------------------------------------------------------------
    @property
    def native(self) -> np.ndarray:
        """The (3, 3) matrix handed to the Rust core: ``matrix``, with the third column zero
        for a 2D box (that is how the core knows the dimension)."""
        m = np.array(self.matrix)
        if self.dim == 2:
            m[:, 2] = 0.0
        return m

    @property
    def volume(self) -> float:
        """Volume (length³), or area (length²) of a 2D box."""
        return self._volume

    @property
    def lengths(self) -> np.ndarray:
        """|a|, |b|, |c| (for LAMMPS boxes, lx, ly, lz only when orthorhombic); |a|, |b| in 2D."""
        return np.linalg.norm(self.matrix, axis=0)[: self.dim]

    @property
    def tilts(self) -> tuple[float, float, float]:
        """LAMMPS tilts (xy, xz, yz) = (H[0,1], H[0,2], H[1,2])."""
        m = self.matrix
        return float(m[0, 1]), float(m[0, 2]), float(m[1, 2])

    @property
    def is_triclinic(self) -> bool:
        m = self.matrix
        return bool(np.any(m[~np.eye(3, dtype=bool)] != 0.0))

    @property
    def heights(self) -> np.ndarray:
        """Perpendicular widths along each box vector (length; ``dim`` entries). Cutoffs must be ≤ min/2."""
        return self._heights

    @property
    def max_cutoff(self) -> float:
        """Largest cutoff with a unique minimum image: half the smallest height."""
        return float(0.5 * self.heights.min())

    # -- geometry ------------------------------------------------------------------------
    def fractional(self, x: np.ndarray) -> np.ndarray:
        """Fractional coordinates of positions ``x`` (..., 3)."""
        return np.linalg.solve(self.matrix, (np.asarray(x, float) - self.origin).reshape(-1, 3).T).T.reshape(np.shape(x))

    def cartesian(self, s: np.ndarray) -> np.ndarray:
        return np.asarray(s, float) @ self.matrix.T + self.origin

    def min_image(self, d: np.ndarray) -> np.ndarray:
        """Minimum-image displacement vectors (..., 3); exact for |d| < max_cutoff."""
        d = np.asarray(d, float)
        s = np.linalg.solve(self.matrix, d.reshape(-1, 3).T).T
        s -= np.round(s)
        return (s @ self.matrix.T).reshape(d.shape)

    def wrap(self, x: np.ndarray) -> np.ndarray:
        """Positions wrapped into the box."""
        s = self.fractional(x)
        s -= np.floor(s)
        return self.cartesian(s)

    def check_planar(self, positions: np.ndarray, what: str = "positions") -> None:
        """In a 2D box, raise ``ValueError`` naming the first particle with z ≠ 0."""
        if self.dim == 2:
            z = np.asarray(positions, float).reshape(-1, 3)[:, 2]
            bad = np.flatnonzero(z != 0.0)
            if bad.size:
                raise ValueError(f"{what}: particle {int(bad[0])} has z = {float(z[bad[0]])!r} in a 2D box "
                                 f"({bad.size} particles with z ≠ 0); a two-dimensional system has z = 0")

    def __repr__(self) -> str:
        d = self.dim
        lengths = np.round(np.diag(self.matrix)[:d], 6).tolist()
        if self.is_triclinic:
            tilts = self.tilts[:1] if d == 2 else self.tilts
            return f"Box(lengths={lengths}, tilts={tilts})"
        return f"Box(lengths={lengths})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Box) and self.dim == other.dim and np.array_equal(self.matrix, other.matrix) \
            and np.array_equal(self.origin, other.origin)

    def __hash__(self) -> int:
        return hash((self.dim, self.matrix.tobytes(), self.origin.tobytes()))


def _origin(origin, dim: int) -> np.ndarray:
    """Origin as a 3-vector (a 2D origin gets z = 0)."""
    o = np.zeros(3)
    if origin is not None:
        v = np.asarray(origin, float).reshape(-1)
        o[: v.size] = v
    return o
