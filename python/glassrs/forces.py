"""Energy, per-particle energy, forces and virial/pressure tensor of a configuration under a
pair model — the one kernel shared by MD, FIRE, structure (e_pair) and elasticity.

Definitions (definitions §1): E = Σ_{i<j} U(r_ij); e_i = ½ Σ_j U(r_ij); F_i = −∂E/∂x_i;
virial W_ab = −Σ_{i<j} (U′/r) d_a d_b (d = x_j − x_i, minimum image); configurational
pressure tensor P = W/V. Energies in ε, forces in ε/σ, pressures in ε/σ³.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from glassrs import _core
from glassrs.models import Model
from glassrs.trajectory import Frame


@dataclass
class ForceResult:
    """energy (float); per_particle (N,) with Σ = energy; forces (N, 3); virial (3, 3);
    pressure (3, 3) = virial / V (configurational part, no kinetic term)."""

    energy: float
    per_particle: np.ndarray
    forces: np.ndarray
    virial: np.ndarray
    pressure: np.ndarray


def model_types(frame: Frame, model: Model) -> np.ndarray:
    """Species indices of ``frame``'s particles in ``model``'s numbering (ValueError for a
    species the model does not know)."""
    return np.ascontiguousarray(model.type_map(frame.species)[frame.types], dtype=np.int64)


def forces(frame: Frame, model: Model, *, n_threads: int | None = None) -> ForceResult:
    """Evaluate ``model`` on ``frame``. Positions may be wrapped or unwrapped.

    Raises ``ValueError`` for NaN coordinates, species unknown to the model, a box thinner
    than twice the cutoff, or overlapping particles (non-finite energy; the message names
    the pair).
    """
    e, per, f, w = _core.forces(frame.positions, frame.box.native, model_types(frame, model),
                                model.native, n_threads)
    return ForceResult(e, per, f, w, w / frame.box.volume)
