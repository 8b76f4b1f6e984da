"""Pair-potential models (SPEC §1): U, U′, U″ per species pair, masses, standard state.

>>> ka = glassrs.models.kob_andersen()
>>> u, du, d2u = ka.eval("A", "B", np.linspace(0.8, 2.0, 50))
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from glassrs import _core


class Model:
    """A pair model. ``native`` is the Rust object passed to kernels."""

    def __init__(self, native: _core.Model):
        self.native = native

    @property
    def name(self) -> str:
        return self.native.name

    @property
    def species(self) -> tuple[str, ...]:
        return tuple(self.native.species)

    @property
    def masses(self) -> np.ndarray:
        return np.asarray(self.native.masses)

    @property
    def density(self) -> float:
        """Number density of the model's standard state (σ⁻³)."""
        return self.native.density

    @property
    def composition(self) -> np.ndarray:
        """Mole fractions of the standard state, in species order."""
        return np.asarray(self.native.composition)

    def index(self, s: str | int) -> int:
        """Species index of a name (or pass an index through, range-checked)."""
        if isinstance(s, (int, np.integer)):
            if not 0 <= int(s) < len(self.species):
                raise ValueError(f"species index {s} out of range for model '{self.name}' with species {self.species}")
            return int(s)
        try:
            return self.species.index(s)
        except ValueError:
            raise ValueError(f"unknown species '{s}' for model '{self.name}' (species: {list(self.species)})") from None

    def cutoff(self, a: str | int, b: str | int) -> float:
        return self.native.cutoff(self.index(a), self.index(b))

    @property
    def max_cutoff(self) -> float:
        return self.native.max_cutoff()

    def eval(self, a: str | int, b: str | int, r) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(U, dU/dr, d²U/dr²) of the (a, b) pair at distances ``r`` (σ); energies in ε."""
        r = np.ascontiguousarray(np.atleast_1d(r), dtype=np.float64)
        return self.native.eval(self.index(a), self.index(b), r)

    def type_map(self, species: Sequence[str]) -> np.ndarray:
        """Map a trajectory's species names to this model's indices (error for unknown names)."""
        return np.array([self.index(s) for s in species], dtype=np.int64)

    def __repr__(self) -> str:
        return f"Model('{self.name}', species={list(self.species)})"


def kob_andersen() -> Model:
    """Kob–Andersen 80:20 LJ mixture, ρ = 1.2; cut at 2.5σ_uv, energy-shifted."""
    return Model(_core.Model.kob_andersen())
