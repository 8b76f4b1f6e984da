"""The periodic simulation box.

The box is the 3×3 matrix ``H`` whose *columns* are the edge vectors a, b, c (length units
of the model), plus an origin. glassrs follows LAMMPS: a = (lx, 0, 0), b = (xy, ly, 0),
c = (xz, yz, lz). Fractional coordinates are s = H⁻¹ (x − origin).
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
    """Periodic box. ``matrix`` (3, 3): columns are the box vectors; ``origin`` (3,)."""

    matrix: np.ndarray
    origin: np.ndarray = field(default_factory=lambda: np.zeros(3))

    def __post_init__(self) -> None:
        m = np.ascontiguousarray(self.matrix, dtype=np.float64).reshape(3, 3)
        o = np.ascontiguousarray(self.origin, dtype=np.float64).reshape(3)
        if not np.all(np.isfinite(m)) or not np.all(np.isfinite(o)):
            raise ValueError(f"box has a non-finite entry: matrix={m.tolist()}, origin={o.tolist()}")
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
        object.__setattr__(self, "origin", o)

    # -- constructors -------------------------------------------------------------------
    @classmethod
    def orthorhombic(cls, lengths, origin=None) -> "Box":
        """Box with edge lengths ``lengths`` = (lx, ly, lz)."""
        lx, ly, lz = (float(v) for v in np.broadcast_to(np.asarray(lengths, dtype=float), (3,)))
        return cls(np.diag([lx, ly, lz]), np.zeros(3) if origin is None else origin)

    @classmethod
    def cube(cls, length: float) -> "Box":
        return cls.orthorhombic([length] * 3)

    @classmethod
    def from_lammps(cls, lengths, tilts=(0.0, 0.0, 0.0), origin=None) -> "Box":
        """From LAMMPS (lx, ly, lz) and tilts (xy, xz, yz)."""
        lx, ly, lz = (float(v) for v in lengths)
        xy, xz, yz = (float(v) for v in tilts)
        m = np.array([[lx, xy, xz], [0.0, ly, yz], [0.0, 0.0, lz]])
        return cls(m, np.zeros(3) if origin is None else origin)

    @classmethod
    def from_vectors(cls, a, b, c, origin=None) -> "Box":
        """From three edge vectors (e.g. extended-XYZ ``Lattice=``)."""
        return cls(np.column_stack([a, b, c]).astype(float), np.zeros(3) if origin is None else origin)

    # -- properties ----------------------------------------------------------------------
    @property
    def volume(self) -> float:
        """Volume (length³)."""
        return float(np.linalg.det(self.matrix))

    @property
    def lengths(self) -> np.ndarray:
        """|a|, |b|, |c| (for LAMMPS boxes, lx, ly, lz only when orthorhombic)."""
        return np.linalg.norm(self.matrix, axis=0)

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
        """Perpendicular widths along each box vector (length). Cutoffs must be ≤ min/2."""
        a, b, c = self.matrix.T
        v = self.volume
        return np.array([v / np.linalg.norm(np.cross(b, c)), v / np.linalg.norm(np.cross(c, a)),
                         v / np.linalg.norm(np.cross(a, b))])

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

    def __repr__(self) -> str:
        if self.is_triclinic:
            return f"Box(lengths={np.round(np.diag(self.matrix), 6).tolist()}, tilts={self.tilts})"
        return f"Box(lengths={np.round(np.diag(self.matrix), 6).tolist()})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Box) and np.array_equal(self.matrix, other.matrix) and np.array_equal(
            self.origin, other.origin)

    def __hash__(self) -> int:
        return hash((self.matrix.tobytes(), self.origin.tobytes()))
