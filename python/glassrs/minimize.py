"""FIRE minimisation to inherent structures (definitions §6.1).

FIRE as in LAMMPS ``min_style fire`` (FIRE 2.0 defaults: dtgrow 1.1, dtshrink 0.5, alpha0
0.25, alphashrink 0.99, delaystep 20, tmax 10, tmin 0.02, half-step back, dmax 0.1, initial
timestep 0.005). Converged when max_i |F_i| < ``f_tol`` (default 1e-10 ε/σ); otherwise
:class:`glassrs.ConvergenceError` — never a silent result.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import polars as pl

from glassrs import _core
from glassrs.errors import ConvergenceError
from glassrs.forces import model_types
from glassrs.models import Model
from glassrs.tables import make_table
from glassrs.trajectory import Frame, Trajectory


@dataclass
class FireInfo:
    """energy: total potential energy of the minimum (ε); energy_per_particle; max_force:
    max_i |F_i| at the end (ε/σ); iterations; n_evals (force evaluations)."""

    energy: float
    energy_per_particle: float
    max_force: float
    iterations: int
    n_evals: int


def _params(f_tol: float, max_iter: int, extra: dict) -> dict:
    p = {"f_tol": float(f_tol), "max_iter": int(max_iter)}
    p.update(extra)
    return p


def _moved(frame: Frame, new_pos: np.ndarray) -> Frame:
    """Copy of ``frame`` with positions ``new_pos`` (continuous with the old ones: image
    flags stay valid, stored unwrapped coordinates move by the same displacement)."""
    delta = new_pos - frame.positions
    return dataclasses.replace(
        frame, positions=new_pos, velocities=None,
        unwrapped=None if frame.unwrapped is None else frame.unwrapped + delta,
        images=None if frame.images is None else frame.images.copy(), extra=dict(frame.extra))


def fire(frame: Frame, model: Model, *, f_tol: float = 1e-10, max_iter: int = 100_000, n_threads: int | None = None,
         progress=None, require_convergence: bool = True, **params) -> tuple[Frame, FireInfo]:
    """Minimise ``frame`` under ``model`` with FIRE; returns (inherent-structure frame, info).

    ``params`` override the FIRE settings (dt, dtgrow, dtshrink, alpha0, alphashrink,
    delaystep, tmax, tmin, dmax, vdfmax, halfstepback, initialdelay, skin). ``progress`` is
    an optional callback ``(done, total)`` called every 1000 iterations (Ctrl-C stops).
    Raises ConvergenceError if max|F| < f_tol is not reached within ``max_iter`` iterations
    (``require_convergence=False`` returns the last positions instead, e.g. for a push-off).
    """
    types = model_types(frame, model)
    pos, e, fmax, it, ne = _core.fire(frame.positions, frame.box.native, types, model.native,
                                      _params(f_tol, max_iter, params), n_threads, progress, require_convergence)
    return _moved(frame, pos), FireInfo(e, e / frame.n_particles, fmax, it, ne)


def fire_batch(frames: Trajectory | Sequence[Frame] | Iterable[Frame], model: Model, *, f_tol: float = 1e-10,
               max_iter: int = 100_000, n_threads: int | None = None, errors: str = "raise", progress=None,
               **params) -> tuple[list[Frame], pl.DataFrame]:
    """Minimise many frames of one particle set in parallel (rayon over frames).

    Returns (inherent-structure frames, table with columns frame, step, energy,
    energy_per_particle, max_force, iterations, n_evals, converged). ``errors="raise"``
    raises ConvergenceError naming the first frame that failed; ``"ignore"`` returns it
    unchanged with ``converged = False`` and NaN energy. ``progress``: None (a bar on a
    terminal, a stage line from the command line), True, False or a callback ``(done, total)``
    (:mod:`glassrs.progress`).
    """
    if errors not in ("raise", "ignore"):
        raise ValueError(f"errors must be 'raise' or 'ignore', got {errors!r}")
    frames = list(frames)
    if not frames:
        raise ValueError("fire_batch needs at least one frame")
    f0 = frames[0]
    for k, f in enumerate(frames):
        if f.n_particles != f0.n_particles or f.species != f0.species or not np.array_equal(f.types, f0.types):
            raise ValueError(f"frame {k} does not have the same particles (N, species, types) as frame 0")
    types = model_types(f0, model)
    pos = np.stack([f.positions for f in frames])
    boxes = np.stack([f.box.native for f in frames])
    from glassrs import progress as _progress

    with _progress.task("FIRE minimisation", total=len(frames), enabled=progress, unit="frames") as bar:
        out, e, fmax, it, ne, errs = _core.fire_batch(pos, boxes, types, model.native,
                                                      _params(f_tol, max_iter, params), n_threads, bar.cb)
    bad = [k for k, m in enumerate(errs) if m is not None]
    if bad and errors == "raise":
        raise ConvergenceError(f"frame {bad[0]} (and {len(bad) - 1} others): {errs[bad[0]]}")
    result = [f if k in bad else _moved(f, out[k]) for k, f in enumerate(frames)]
    n = f0.n_particles
    table = make_table({
        "frame": np.arange(len(frames), dtype=np.int64),
        "step": np.array([-1 if f.step is None else f.step for f in frames], dtype=np.int64),
        "energy": e, "energy_per_particle": e / n, "max_force": fmax, "iterations": it, "n_evals": ne,
        "converged": np.array([m is None for m in errs]),
    }, {"kind": "inherent_structures", "model": model.name, "f_tol": f_tol, "max_iter": max_iter, **params})
    return result, table
