"""The built-in MD engine (Rust core, rayon, GIL released).

Velocity Verlet; NVE or NVT with a Nosé–Hoover chain integrated as LAMMPS ``fix nvt``
(chain length 3, T_damp default 100·dt, N_f = 3N − 3). Maxwell–Boltzmann initial
velocities with zero momentum from a seed (xoshiro256** in-crate, reproducible across
platforms); Verlet neighbour list with a skin and automatic rebuild; checkpoint/restart of
the full state so an interrupted run resumes bit-identically (same thread count).

>>> traj = gr.md.run(gr.models.kob_andersen(), n=1000, T=0.8, steps=20000, seed=1, every=200)
>>> traj.thermo            # Polars: step, time, stage, T, U/N, K/N, P, conserved/N, Pxx…
>>> traj.inherent          # (when quench_every is set) U_IS(t) table
>>> act = gr.md.run(gr.models.kob_andersen(), T=0.8, steps=20000, equilibrate=0,
...                 activity=gr.md.Activity(f0=1.0))   # active KA (self-propulsion)

Units: reduced units of the model (σ, ε, m, τ = σ√(m/ε)); temperatures in ε/k_B.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
import warnings
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import polars as pl

from glassrs import _core
from glassrs import progress as _progress
from glassrs.box import Box
from glassrs.forces import model_types
from glassrs.models import Model
from glassrs.tables import make_table
from glassrs.trajectory import Frame, Trajectory, species_params

THERMO_COLUMNS = ["step", "temperature", "potential", "kinetic", "pressure", "conserved",
                  "pxx", "pyy", "pzz", "pxy", "pxz", "pyz"]


# -- self-propulsion ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Activity:
    """Self-propulsion of the active Kob–Andersen liquid (Mandal, Bhuyan, Rao & Dasgupta, Soft
    Matter 12, 6268 (2016)), as the follow-up studies of the same groups describe the protocol.

    A fixed set of active particles (``fraction`` of all particles, chosen at random with
    ``select_seed``; or ``particles`` given explicitly) each feel, besides the interactions, the
    force f0·(k_x, k_y, k_z) with every k_α = ±1 (k_z = 0 in 2D), so |f| = f0·√d. Every τ_p the
    signs are drawn anew, per component, as +1 for a random half of the active particles and −1
    for the other half: the net propulsion force is exactly zero and the total momentum is
    conserved. The signs are redrawn at every absolute step that is a multiple of τ_p/dt (and at
    the start), so the force of a particle is constant over windows of τ_p, uncorrelated between
    windows: averaged over time origins, ⟨f_i(t)·f_i(t+s)⟩ = d·f0²·max(0, 1 − s/τ_p).
    The thermostat is the engine's (Nosé–Hoover chain in NVT), acting on the total kinetic energy;
    the propulsion does no work on the potential energy and is not part of the virial (the
    reported pressure is the interaction pressure). The conserved quantity of the log is not
    conserved with activity.

    Parameters
    ----------
    f0 : propulsion force scale (ε/σ); 0 gives the passive dynamics bit for bit (the forces are
        added as exact zeros).
    fraction : fraction of active particles; the count is round(fraction·N) made even (down,
        at least 2), because the zero-net-force rule pairs each +1 with a −1. Default 0.1.
    tau_p : persistence time (τ); rounded to a whole number of MD steps (recorded). Default 1.0.
    particles : explicit active particle indices (an even number) instead of ``fraction``.
    select_seed : seed of the random choice of the active particles (default 0), so every run of
        the same configuration — and every stage of a run — has the same active set. The signs'
        random stream is derived from the run's own seed, so the propulsion noise differs between
        the runs of an isoconfigurational ensemble.

    The values c = 0.1 and τ_p = 1 are the defaults of the protocol's later uses (Paul, Nandi &
    Karmakar and others quoting Mandal et al.); check them against the study you reproduce.
    """

    f0: float
    fraction: float = 0.1
    tau_p: float = 1.0
    particles: Sequence[int] | None = None
    select_seed: int = 0

    def __post_init__(self):
        if not np.isfinite(self.f0) or self.f0 < 0:
            raise ValueError(f"Activity.f0 must be a finite force ≥ 0 (ε/σ), got {self.f0}")
        if not (0 < self.fraction <= 1):
            raise ValueError(f"Activity.fraction must be in (0, 1], got {self.fraction}")
        if not (np.isfinite(self.tau_p) and self.tau_p > 0):
            raise ValueError(f"Activity.tau_p must be a positive time (τ), got {self.tau_p}")

    def active_particles(self, n: int) -> np.ndarray:
        """Indices (sorted, int64) of the active particles of an ``n``-particle system."""
        if self.particles is not None:
            p = np.asarray(self.particles, dtype=np.int64)
            if p.ndim != 1 or len(p) < 2 or len(p) % 2 or len(np.unique(p)) != len(p):
                raise ValueError(f"Activity.particles must be an even number ≥ 2 of distinct indices, got {len(p)}")
            if p.min() < 0 or p.max() >= n:
                raise ValueError(f"Activity.particles has an index outside 0…{n - 1}")
            return np.sort(p)
        m = int(round(self.fraction * n))
        m = max(2, m - m % 2)
        if m > n:
            raise ValueError(f"Activity: {m} active particles requested in a system of {n}")
        rng = np.random.default_rng(np.random.SeedSequence([int(self.select_seed), 0xAC71]))
        return np.sort(rng.choice(n, size=m, replace=False)).astype(np.int64)

    def steps(self, dt: float) -> int:
        """τ_p in MD steps (at least 1)."""
        return max(1, int(round(self.tau_p / dt)))

    def native(self, n: int, dt: float, seed: int) -> tuple[float, list[int], int, int]:
        """(f0, active particles, τ_p in steps, seed of the sign stream) for the core; the sign
        stream's seed is derived from the run ``seed``."""
        s = int(np.random.SeedSequence([int(seed), 0xAC71]).generate_state(1, np.uint64)[0])
        return float(self.f0), [int(i) for i in self.active_particles(n)], self.steps(dt), s

    def params(self, n: int, dt: float) -> dict:
        """What a trajectory records of the activity."""
        act = self.active_particles(n)
        return {"f0": float(self.f0), "fraction": float(self.fraction), "n_active": int(len(act)),
                "tau_p": self.steps(dt) * float(dt), "tau_p_steps": self.steps(dt),
                "select_seed": int(self.select_seed), "active_particles": [int(i) for i in act],
                "rule": "f0*(±1, ±1, ±1), per component half +1 half -1 among active particles, redrawn every tau_p"}


# -- starting structures ----------------------------------------------------------------------

def _counts(n: int, composition: Sequence[float]) -> np.ndarray:
    c = np.asarray(composition, dtype=float)
    if c.ndim != 1 or np.any(c < 0) or c.sum() <= 0:
        raise ValueError(f"composition must be non-negative fractions, got {list(c)}")
    c = c / c.sum()
    k = np.floor(c * n + 0.5).astype(int)
    k[-1] = n - k[:-1].sum()
    if k[-1] < 0:
        raise ValueError(f"cannot split {n} particles with composition {list(c)}")
    return k


def initial_configuration(model: Model, n: int, *, density: float | None = None, composition=None,
                          seed: int = 0, method: str = "random", min_distance: float | None = None,
                          dim: int = 3) -> Frame:
    """n particles in a cubic box (a square box when ``dim=2``) at ``density`` (N/V, or N/A in
    2D; default: the model's) with species in the model's ``composition`` (randomly assigned).

    ``method="random"``: random sequential insertion keeping every pair farther apart than
    ``min_distance`` (default 0.7·ρ^{-1/d}); ``"lattice"``: random subset of a simple-cubic
    (square) lattice. Relax either with :func:`push_off` before dynamics.
    """
    if dim not in (2, 3):
        raise ValueError(f"dim must be 2 or 3, got {dim!r}")
    if int(n) < 2:
        raise ValueError(f"need at least 2 particles, got {n}")
    n = int(n)
    rho = float(model.density if density is None else density)
    if not rho > 0:
        raise ValueError(f"density must be positive, got {rho}")
    comp = model.composition if composition is None else composition
    if len(comp) != len(model.species):
        raise ValueError(f"composition has {len(comp)} entries but model '{model.name}' has species {model.species}")
    counts = _counts(n, comp)
    rng = np.random.default_rng(seed)
    L = (n / rho) ** (1 / dim)
    box = Box.cube(L) if dim == 3 else Box.square(L)
    if L < 2 * model.max_cutoff:
        raise ValueError(f"{n} particles at density {rho:g} give a box of side {L:.4g}, smaller than twice the "
                         f"model cutoff {model.max_cutoff:.4g}; use more particles")
    if method == "lattice":
        m = int(np.ceil(n ** (1 / dim)))
        g = np.stack(np.meshgrid(*[np.arange(m)] * dim, indexing="ij"), -1).reshape(-1, dim)
        sites = rng.choice(len(g), size=n, replace=False)
        pos = np.zeros((n, 3))
        pos[:, :dim] = (g[np.sort(sites)] + 0.5) * (L / m)
    elif method == "random":
        dmin = 0.7 * rho ** (-1 / dim) if min_distance is None else float(min_distance)
        pos = _random_insertion(n, L, dmin, rng, dim=dim)
    else:
        raise ValueError(f"unknown method '{method}': expected 'random' or 'lattice'")
    types = rng.permutation(np.repeat(np.arange(len(counts)), counts))
    return Frame(positions=pos, types=types, box=box, species=model.species, step=0, time=0.0)


def _random_insertion(n: int, L: float, dmin: float, rng, max_tries: int = 2000, dim: int = 3) -> np.ndarray:
    """Random sequential insertion in a periodic cube (square when dim = 2, z = 0) with a cell
    grid (cells ≥ dmin)."""
    nc = max(1, int(L // dmin))
    cell = L / nc
    grid: dict[tuple[int, int, int], list[int]] = {}
    pos = np.zeros((n, 3))
    d2 = dmin * dmin
    zs = (-1, 0, 1) if dim == 3 else (0,)
    for i in range(n):
        for _ in range(max_tries):
            x = rng.random(3) * L if dim == 3 else np.r_[rng.random(2) * L, 0.0]
            c = (x // cell).astype(int) % nc
            ok = True
            for dx in (-1, 0, 1):
                for dy in (-1, 0, 1):
                    for dz in zs:
                        for j in grid.get(((c[0] + dx) % nc, (c[1] + dy) % nc, (c[2] + dz) % nc), ()):
                            d = pos[j] - x
                            d -= L * np.round(d / L)
                            if d @ d < d2:
                                ok = False
                                break
                        if not ok:
                            break
                    if not ok:
                        break
                if not ok:
                    break
            if ok:
                pos[i] = x
                grid.setdefault((int(c[0]), int(c[1]), int(c[2])), []).append(i)
                break
        else:
            raise ValueError(f"random insertion failed at particle {i} of {n}: minimum distance {dmin:g} is too "
                             "large for this density; lower min_distance or use method='lattice'")
    return pos


def push_off(frame: Frame, model: Model, *, max_iter: int = 3000, f_tol: float = 1.0,
             n_threads: int | None = None) -> Frame:
    """Soft push-off: a short FIRE relaxation (displacements capped at 0.1σ per step) that
    removes overlaps of a random start. Stops at max|F| < f_tol or after ``max_iter`` steps
    (no error: it is a preparation step, not a minimisation)."""
    from glassrs.minimize import fire

    out, _ = fire(frame, model, f_tol=f_tol, max_iter=max_iter, n_threads=n_threads, require_convergence=False)
    return out


# -- output schedules -------------------------------------------------------------------------

def schedule(steps: int, *, every: int | None = None, log_block: int | None = None, log_base: float = 1.4) -> np.ndarray:
    """Output steps in [0, steps] (int64, sorted, unique).

    ``every``: linear 0, every, 2·every, …  ``log_block``: blocks of ``log_block`` steps, each
    with frames at offsets 0 and ⌊base^k⌋ (log-spaced, several time origins for dynamics),
    plus the end of the run. Both may be combined.
    """
    steps = int(steps)
    out = [0, steps]
    if every is not None:
        if int(every) <= 0:
            raise ValueError(f"every must be a positive number of steps, got {every}")
        out += list(range(0, steps + 1, int(every)))
    if log_block is not None:
        b = int(log_block)
        if b <= 0 or not log_base > 1:
            raise ValueError(f"log_block must be positive and log_base > 1; got {log_block}, {log_base}")
        offs = {0}
        x = 1.0
        while x < b:
            offs.add(int(x))
            x *= log_base
        for start in range(0, steps + 1, b):
            out += [start + o for o in offs if start + o <= steps]
    return np.unique(np.asarray(out, dtype=np.int64))


# -- the simulation object ----------------------------------------------------------------------

def _wrap(pos: np.ndarray, box: Box) -> tuple[np.ndarray, np.ndarray]:
    s = np.linalg.solve(box.matrix, (pos - box.origin).T).T
    img = np.floor(s)
    return pos - img @ box.matrix.T, img.astype(np.int64)


class Simulation:
    """A simulation in memory: state in Rust, frames and thermo handed back per ``run``.

    Parameters: ``frame`` (start, positions may be unwrapped), ``model``, ``T`` (target/initial
    temperature), ``dt`` (τ), ``ensemble`` ("nvt" | "nve"), ``tdamp`` (τ, default 100·dt),
    ``chain`` (3), ``skin`` (σ, 0.3), ``seed`` (velocities; ignored when ``velocities`` given).
    ``chunks``: the force loop is split into this many fixed chunks (default 8) so results are
    bit-identical for any ``n_threads``; 0 uses one chunk per thread (results then depend on
    the thread count through the summation order). ``activity``: an :class:`Activity` makes the
    system active (self-propulsion; its sign stream is seeded from ``seed``).
    """

    def __init__(self, model: Model, frame: Frame, *, T: float, dt: float = 0.005, ensemble: str = "nvt",
                 tdamp: float | None = None, chain: int = 3, skin: float = 0.3, seed: int = 0,
                 velocities: np.ndarray | None = None, n_threads: int | None = None, chunks: int = 8,
                 activity: Activity | None = None, _state: dict | None = None):
        self.model = model
        self.activity = activity
        self.box = frame.box
        self.species = frame.species
        self.types = model_types(frame, model)
        self.frame_types = frame.types.copy()
        self.dt = float(dt)
        self.T = float(T)
        self.tdamp = 100 * self.dt if tdamp is None else float(tdamp)
        self.chain = int(chain)
        self.ensemble = ensemble
        self.n_threads = n_threads
        pos = frame.unwrapped_positions() if frame.unwrapped_positions() is not None else frame.positions
        if _state is not None:
            pos = _state["positions"]
            vel = _state["velocities"]
        elif velocities is not None:
            vel = np.ascontiguousarray(velocities, dtype=float)
        elif frame.velocities is not None:
            vel = frame.velocities
        else:
            vel = np.zeros_like(pos)
        self._sim = _core.MdSim(model.native, np.ascontiguousarray(pos, dtype=float), self.box.native,
                                self.types, np.ascontiguousarray(vel, dtype=float), self.dt, ensemble, self.T, self.T,
                                self.tdamp, self.chain, float(skin), int(seed), _state, int(chunks),
                                None if activity is None else activity.native(frame.n_particles, self.dt, int(seed)))
        if _state is None and velocities is None and frame.velocities is None:
            self._sim.init_velocities(self.T)

    @property
    def step(self) -> int:
        return int(self._sim.step)

    @property
    def temperature(self) -> float:
        """Instantaneous kinetic temperature (N_f = 3N − 3)."""
        return float(self._sim.temperature)

    def propulsion_forces(self) -> np.ndarray:
        """The self-propulsion force on every particle now, (N, 3) in ε/σ (zeros when passive)."""
        return self._sim.propulsion_forces()

    def set_thermostat(self, ensemble: str = "nvt", T: float | None = None, T_stop: float | None = None,
                       ramp: tuple[int, int] | None = None) -> None:
        """Switch ensemble / target temperature; ``T_stop`` with ``ramp`` = (begin, end) absolute
        steps gives a linear ramp (a quench)."""
        t0 = self.T if T is None else float(T)
        t1 = t0 if T_stop is None else float(T_stop)
        self.ensemble = ensemble
        self.T = t1
        self._sim.set_ensemble(ensemble, t0, t1, self.tdamp, self.chain, ramp)

    def frame(self, positions: np.ndarray | None = None, step: int | None = None, velocities=None) -> Frame:
        pos = self._sim.positions() if positions is None else positions
        w, img = _wrap(pos, self.box)
        st = self.step if step is None else int(step)
        return Frame(positions=w, types=self.frame_types, box=self.box, species=self.species, step=st,
                     time=st * self.dt, images=img, velocities=velocities)

    def run(self, steps: int, *, output: Sequence[int] = (), thermo_every: int = 100, velocities: bool = False,
            progress: Callable[[int, int], None] | None = None) -> tuple[list[Frame], np.ndarray]:
        """Advance ``steps``; frames at the absolute steps in ``output`` (current step included
        if listed); thermo rows (array, THERMO_COLUMNS) at multiples of ``thermo_every``."""
        if int(steps) < 0:
            raise ValueError(f"steps must be non-negative, got {steps}")
        out = [int(s) for s in sorted(set(int(x) for x in output))]
        st, pos, vel, th = self._sim.run(int(steps), out, int(thermo_every), self.n_threads, progress, velocities)
        frames = [self.frame(pos[k], int(st[k]), None if vel is None else vel[k]) for k in range(len(st))]
        return frames, th

    def state(self) -> dict:
        """Everything needed to continue bit-identically (arrays and plain numbers)."""
        return dict(self._sim.state())

    @classmethod
    def from_state(cls, model: Model, frame: Frame, state: dict, *, T: float, dt: float, ensemble: str = "nvt",
                   tdamp: float | None = None, chain: int = 3, skin: float = 0.3,
                   n_threads: int | None = None, chunks: int = 8, activity: Activity | None = None) -> "Simulation":
        return cls(model, frame, T=T, dt=dt, ensemble=ensemble, tdamp=tdamp, chain=chain, skin=skin,
                   n_threads=n_threads, chunks=chunks, activity=activity, _state=state)


# -- checkpoints ----------------------------------------------------------------------------------

def _atomic_savez(path: str, **arrays) -> None:
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".glassrs-", suffix=".npz.tmp", dir=d)
    os.close(fd)
    try:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual file mode
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _save_checkpoint(path: str, key: str, stage: int, state: dict, frames: list[Frame], thermo: list[np.ndarray],
                     stage_names: list[str]) -> None:
    arrays = {
        "key": np.array(key), "stage": np.array(stage),
        "positions": state["positions"], "velocities": state["velocities"], "step": np.array(state["step"], dtype=np.uint64),
        "eta": np.asarray(state["eta"], float), "eta_dot": np.asarray(state["eta_dot"], float),
        "eta_dotdot": np.asarray(state["eta_dotdot"], float), "rng": np.asarray(state["rng"], dtype=np.uint64),
        "has_build": np.array(state["build_pos"] is not None),
        "build_pos": state["build_pos"] if state["build_pos"] is not None else np.zeros((0, 3)),
        "frame_positions": np.stack([f.unwrapped_positions() for f in frames]) if frames else np.zeros((0, 0, 3)),
        "frame_steps": np.array([f.step for f in frames], dtype=np.int64),
        "frame_velocities": (np.stack([f.velocities for f in frames])
                             if frames and frames[0].velocities is not None else np.zeros((0, 0, 3))),
        "thermo": np.concatenate(thermo) if thermo else np.zeros((0, len(THERMO_COLUMNS) + 1)),
    }
    if "propulsion_signs" in state:
        arrays["propulsion_signs"] = state["propulsion_signs"]
        arrays["propulsion_rng"] = np.asarray(state["propulsion_rng"], dtype=np.uint64)
    _atomic_savez(path, **arrays)


def _load_checkpoint(path: str) -> dict:
    import zipfile

    from glassrs.errors import FormatError
    try:
        with np.load(path, allow_pickle=False) as z:
            d = {k: z[k] for k in z.files}
        for k in ("key", "stage", "positions", "velocities", "step", "eta", "eta_dot", "eta_dotdot", "rng",
                  "has_build", "build_pos", "frame_positions", "frame_steps", "frame_velocities", "thermo"):
            if k not in d:
                raise KeyError(f"no array '{k}'")
    except (zipfile.BadZipFile, EOFError, KeyError, ValueError, OSError) as e:
        if isinstance(e, OSError) and not isinstance(e, zipfile.BadZipFile) and e.errno is not None:
            raise
        raise FormatError(f"{path}: the checkpoint file is corrupt or not a glassrs checkpoint ({type(e).__name__}: "
                          f"{e}); delete it (or pass another checkpoint=) to start the run afresh", path) from e
    state = {
        "positions": d["positions"], "velocities": d["velocities"], "step": int(d["step"]),
        "eta": d["eta"].tolist(), "eta_dot": d["eta_dot"].tolist(), "eta_dotdot": d["eta_dotdot"].tolist(),
        "rng": [int(x) for x in d["rng"]], "build_pos": d["build_pos"] if bool(d["has_build"]) else None,
    }
    if "propulsion_signs" in d:
        state["propulsion_signs"] = d["propulsion_signs"]
        state["propulsion_rng"] = [int(x) for x in d["propulsion_rng"]]
    return {"key": str(d["key"]), "stage": int(d["stage"]), "state": state, "frame_positions": d["frame_positions"],
            "frame_steps": d["frame_steps"], "frame_velocities": d["frame_velocities"], "thermo": d["thermo"]}


# -- the one-call driver --------------------------------------------------------------------------

@dataclass
class Stage:
    name: str
    steps: int
    ensemble: str
    T: float
    T_stop: float
    output: bool = False


def run(model: Model, n: int = 1000, T: float = 0.8, steps: int = 10_000, *, dt: float = 0.005, seed: int = 0,
        density: float | None = None, composition=None, start: str | Frame = "random",
        melt_T: float | None = None, melt_steps: int = 0, quench_steps: int = 0, equilibrate: int | None = None,
        ensemble: str = "nvt", tdamp: float | None = None, chain: int = 3, skin: float = 0.3,
        every: int | None = None, log_block: int | None = None, log_base: float = 1.4,
        thermo_every: int = 100, velocities: bool = False, quench_every: int | None = None,
        checkpoint: str | None = None, checkpoint_every: int | None = None, out: str | None = None,
        n_threads: int | None = None, chunks: int = 8, push: bool | None = None,
        progress: bool | Callable = False, dim: int = 3, activity: Activity | None = None) -> Trajectory:
    """Simulate ``model`` and return the production trajectory (frames in memory).

    Protocol: start structure (``"random"`` insertion, ``"lattice"`` — in a square box when
    ``dim=2`` — or a given Frame, whose box sets the dimension) →
    soft push-off (short capped FIRE; ``push`` defaults to True except for a Frame start) →
    Maxwell–Boltzmann velocities (seeded; a Frame's own velocities if it has them) → optional melt
    (``melt_steps`` NVT at ``melt_T``) → optional linear quench (``quench_steps``, melt_T → T)
    → ``equilibrate`` steps NVT at T (not given: none, with a warning for a random or lattice
    start; pass 0 to say so) → ``steps`` of production in ``ensemble`` with frames at
    :func:`schedule` (``every`` and/or ``log_block``/``log_base``; default every steps/100).
    ``quench_every`` = k: also output every k-th MD step and FIRE-quench those frames
    (``.inherent``: U_IS(t), transitions, rate; definitions §6.6).

    Frame steps and times count from the start of production (time = step·dt). The returned
    Trajectory carries ``.thermo`` (Polars: stage, step, time, temperature, potential/N,
    kinetic/N, pressure, conserved/N, pressure tensor), ``.model`` and ``.params``; with
    ``quench_every`` also ``.inherent`` (see :func:`inherent_structures`).

    ``checkpoint``: a file (npz) written atomically every ``checkpoint_every`` steps (and at
    stage ends); if it exists when ``run`` is called with the same arguments, the run resumes
    from it and the result is bit-identical to an uninterrupted run (same ``n_threads``).
    ``out``: also write the trajectory with :func:`write` — ``.gsd`` (HOOMD-blue), ``.npz``,
    ``.lammpstrj``/``.dump`` or ``.parquet`` — and its thermodynamic log beside it
    (``run.gsd`` → ``run.thermo.parquet``, :func:`thermo_path`). ``progress``: True to show each
    stage (a rich bar on a terminal, else one line per stage with its elapsed time;
    :mod:`glassrs.progress`), None for a bar on a terminal only, False (default) for nothing, or
    a callback ``(done_steps, total_steps)``. Ctrl-C raises KeyboardInterrupt; calling ``run``
    again with the same arguments resumes from the last checkpoint written.
    ``activity``: an :class:`Activity` makes every stage active (self-propelled particles; the
    push-off is passive); recorded in ``params["activity"]``.
    """
    T = float(T)
    if not T > 0:
        raise ValueError(f"temperature must be positive, got {T}")
    if equilibrate is None:
        equilibrate = 0
        if isinstance(start, str) and not melt_steps:
            warnings.warn("md.run: no equilibration (equilibrate not given) — production starts from a pushed-off "
                          f"{start} structure, so its energy drifts; pass equilibrate=STEPS (or equilibrate=0 to "
                          "say this is intended). The drift of U/N is in traj.params['production_drift']",
                          stacklevel=2)
    if out is not None:
        out = check_out_path(out, "out")  # before the simulation: a typo must not lose the run
    if not dt > 0:
        raise ValueError(f"dt must be positive, got {dt}")
    for name, v in (("steps", steps), ("melt_steps", melt_steps), ("quench_steps", quench_steps),
                    ("equilibrate", equilibrate)):
        if int(v) < 0:
            raise ValueError(f"{name} must be non-negative, got {v}")
    if ensemble not in ("nvt", "nve"):
        raise ValueError(f"unknown ensemble '{ensemble}': expected 'nvt' or 'nve'")
    melt_T = T if melt_T is None else float(melt_T)
    if every is None and log_block is None:
        every = max(1, int(steps) // 100)
    outs = schedule(steps, every=every, log_block=log_block, log_base=log_base)
    if quench_every is not None:
        if int(quench_every) <= 0:
            raise ValueError(f"quench_every must be a positive number of MD steps, got {quench_every}")
        outs = np.union1d(outs, np.arange(0, int(steps) + 1, int(quench_every), dtype=np.int64))
    stages = []
    if melt_steps:
        stages.append(Stage("melt", int(melt_steps), "nvt", melt_T, melt_T))
    if quench_steps:
        stages.append(Stage("quench", int(quench_steps), "nvt", melt_T, T))
    if equilibrate:
        stages.append(Stage("equilibrate", int(equilibrate), "nvt", T, T))
    stages.append(Stage("production", int(steps), ensemble, T, T, True))
    t0 = stages[0].T
    params = {
        "kind": "md", "model": model.name, "n": int(n) if not isinstance(start, Frame) else start.n_particles,
        "T": T, "steps": int(steps), "dt": float(dt), "seed": int(seed), "density": density,
        "start": start if isinstance(start, str) else "frame", "melt_T": melt_T, "melt_steps": int(melt_steps),
        "quench_steps": int(quench_steps), "equilibrate": int(equilibrate), "ensemble": ensemble,
        "tdamp": 100 * dt if tdamp is None else float(tdamp), "chain": int(chain), "skin": float(skin),
        "every": every, "log_block": log_block, "log_base": log_base, "thermo_every": int(thermo_every),
        "chunks": int(chunks), "push": push,
    }
    if activity is not None:
        n_act = start.n_particles if isinstance(start, Frame) else int(n)
        params["activity"] = activity.params(n_act, float(dt))
    key_src = json.dumps(params, sort_keys=True, default=str)
    if isinstance(start, Frame):
        key_src += hashlib.sha256(np.ascontiguousarray(start.positions).tobytes()).hexdigest()
    key = hashlib.sha256(key_src.encode()).hexdigest()[:16]

    frames: list[Frame] = []
    thermo: list[np.ndarray] = []
    stage0 = 0
    resume = None
    if checkpoint is not None and os.path.exists(checkpoint):
        resume = _load_checkpoint(checkpoint)
        if resume["key"] != key:
            raise ValueError(f"{checkpoint}: checkpoint was written by a run with different parameters; "
                             "delete it or use another checkpoint file")

    if isinstance(start, Frame):
        frame0 = start
    else:
        frame0 = initial_configuration(model, n, density=density, composition=composition, seed=seed, method=start,
                                       dim=dim)
    if resume is None:
        if push if push is not None else not isinstance(start, Frame):
            frame0 = push_off(frame0, model, n_threads=n_threads)
        sim = Simulation(model, frame0, T=t0, dt=dt, ensemble=stages[0].ensemble, tdamp=tdamp, chain=chain,
                         skin=skin, seed=seed, n_threads=n_threads, chunks=chunks, activity=activity)
    else:
        stage0 = resume["stage"]
        st = stages[stage0]
        sim = Simulation.from_state(model, frame0, resume["state"], T=st.T, dt=dt, ensemble=st.ensemble, tdamp=tdamp,
                                    chain=chain, skin=skin, n_threads=n_threads, chunks=chunks, activity=activity)
        fv = resume["frame_velocities"]
        for k, s in enumerate(resume["frame_steps"]):
            f = sim.frame(resume["frame_positions"][k], int(s), fv[k] if len(fv) else None)
            frames.append(f)
        if len(resume["thermo"]):
            thermo.append(resume["thermo"])

    total = sum(s.steps for s in stages)
    begin_of = np.cumsum([0] + [s.steps for s in stages])
    cb = progress if callable(progress) else None
    show = False if callable(progress) else progress  # the display; a callback gets the steps itself
    for si in range(stage0, len(stages)):
        st = stages[si]
        b, e = int(begin_of[si]), int(begin_of[si + 1])
        with _progress.task(f"MD {st.name}", total=st.steps, enabled=show, unit="steps") as bar:
            bar.update(sim.step - b)
            if st.T != st.T_stop:
                sim.set_thermostat(st.ensemble, st.T, st.T_stop, ramp=(b, e))
            else:
                sim.set_thermostat(st.ensemble, st.T)
            want = (outs + b) if st.output else np.zeros(0, dtype=np.int64)
            if st.output and st.steps == 0 and sim.step == b and not frames:
                fr, _ = sim.run(0, output=[b], thermo_every=0, velocities=velocities)
                for f in fr:
                    f.step, f.time = 0, 0.0
                frames.extend(fr)
            while sim.step < e:
                seg = e - sim.step
                if checkpoint is not None and checkpoint_every:
                    seg = min(seg, int(checkpoint_every) - (sim.step - b) % int(checkpoint_every))
                seg = min(seg, max(1000, total // 50))
                here = sim.step
                first = here == b
                sel = want[(want >= here) & (want <= here + seg)] if first else want[(want > here) & (want <= here + seg)]

                def _step_cb(done, _tot, _here=here, _b=b, _bar=bar):
                    _bar.update(_here + done - _b)
                    if cb is not None:
                        cb(_here + done, total)

                fr, th = sim.run(seg, output=sel, thermo_every=thermo_every, velocities=velocities,
                                 progress=_step_cb if (cb is not None or bar.mode == "bar") else None)
                for f in fr:
                    f.step = int(f.step) - b
                    f.time = f.step * dt
                frames.extend(fr)
                if len(th):
                    thermo.append(np.column_stack([np.full(len(th), si, float), th]))
                bar.update(sim.step - b)
                if cb is not None:
                    cb(sim.step, total)
                if checkpoint is not None and (checkpoint_every or sim.step == e):
                    nxt = si + 1 if sim.step == e and si + 1 < len(stages) else si
                    _save_checkpoint(checkpoint, key, nxt, sim.state(), frames, thermo, [s.name for s in stages])

    traj = Trajectory.from_frames(frames, dt=dt)
    traj.thermo = _thermo_table(thermo, stages, begin_of, sim, params)
    params["production_drift"] = _drift(traj.thermo)
    traj.model = model
    traj.params = params
    traj.last_velocities = sim._sim.velocities()
    if quench_every is not None:
        sel = [k for k, s_ in enumerate(traj.steps) if s_ % int(quench_every) == 0]
        traj.inherent = inherent_structures(traj[sel], model, n_threads=n_threads, temperature=T)[1]
    if out is not None:
        write(traj, out)
    return traj


def _drift(thermo: pl.DataFrame) -> dict:
    """Drift of the potential energy per particle during production: the least-squares slope
    of U/N against time (ε per time unit) and its change over the run (slope × duration), next
    to the standard deviation of U/N (a drift comparable to the fluctuations means the run was
    not equilibrated)."""
    prod = thermo.filter(pl.col("stage") == "production")
    if prod.height < 3:
        return {"slope": None, "change": None, "std": None, "n_rows": prod.height}
    t, u = prod["time"].to_numpy(), prod["potential"].to_numpy()
    slope = float(np.polyfit(t, u, 1)[0])
    return {"slope": slope, "change": slope * float(t[-1] - t[0]), "std": float(u.std()), "n_rows": prod.height}


def _thermo_table(thermo: list[np.ndarray], stages, begin_of, sim: Simulation, params: dict) -> pl.DataFrame:
    a = np.concatenate(thermo) if thermo else np.zeros((0, len(THERMO_COLUMNS) + 1))
    n = len(sim.types)
    si = a[:, 0].astype(int)
    step = a[:, 1].astype(np.int64)
    prod0 = int(begin_of[-2])
    df = {
        "stage": pl.Series([stages[k].name for k in si], dtype=pl.String),
        "step": step - prod0,
        "time": (step - prod0) * sim.dt,
        "temperature": a[:, 2], "potential": a[:, 3] / n, "kinetic": a[:, 4] / n, "pressure": a[:, 5],
        "conserved": a[:, 6] / n,
    }
    for k, c in enumerate(["pxx", "pyy", "pzz", "pxy", "pxz", "pyz"]):
        df[c] = a[:, 7 + k]
    return make_table(df, {**params, "kind": "md_thermo", "per_particle": ["potential", "kinetic", "conserved"]})


OUT_EXTENSIONS = (".parquet", ".npz", ".gsd", ".lammpstrj", ".dump")


def check_out_path(path: str, what: str = "out") -> str:
    """Validate an output path before a long computation: a known extension (see :func:`write`)
    and an existing, writable directory. ``ValueError`` / ``PermissionError`` naming ``what``."""
    path = os.fspath(path)
    if not path.lower().endswith(OUT_EXTENSIONS):
        raise ValueError(f"{what}={path!r}: unknown file extension; use one of {', '.join(OUT_EXTENSIONS)}")
    d = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(d):
        raise ValueError(f"{what}={path!r}: the directory {d} does not exist (create it first)")
    if not os.access(d, os.W_OK | os.X_OK):
        raise PermissionError(13, f"{what}: the directory is not writable", d)
    if os.path.isdir(path):
        raise ValueError(f"{what}={path!r} is a directory; give a file name")
    return path


def thermo_path(path: str) -> str:
    """Where the thermodynamic log of a trajectory written to ``path`` goes: beside it, with the
    extension replaced by ``.thermo.parquet`` (``run.gsd`` → ``run.thermo.parquet``)."""
    return os.path.splitext(os.fspath(path))[0] + ".thermo.parquet"


def write(traj: Trajectory, path: str, *, thermo: str | bool | None = None) -> str | None:
    """Write a trajectory: ``.gsd`` (HOOMD-blue's format, float64, frame times stored) /
    ``.lammpstrj`` / ``.dump`` through the glassrs.io writers; ``.parquet`` as the long table
    ``Trajectory.to_polars()`` plus image flags ``ix, iy, iz`` when the frames have them (box,
    species, timestep and the run's parameters in its metadata: :func:`glassrs.read` opens it
    again); ``.npz`` as exact float64
    arrays (positions unwrapped, steps, types, box, thermo). Every write is atomic.

    ``thermo``: where the thermodynamic log (``traj.thermo``, e.g. from :func:`run`) goes — None
    (default): beside ``path`` (:func:`thermo_path`) when the trajectory has one; a path; False:
    not written. Returns the path of the log written, or None."""
    path = os.fspath(path)
    low = path.lower()
    if low.endswith(".parquet"):
        _write_parquet_trajectory(traj, path)
    elif low.endswith(".npz"):
        save_npz(traj, path)
    elif low.endswith(".gsd"):
        from glassrs.io import write_gsd
        write_gsd(path, traj, precision="double")
    elif low.endswith((".lammpstrj", ".dump")):
        from glassrs.io import write_lammps
        write_lammps(path, traj)
    else:
        raise ValueError(f"{path}: cannot write this format (use one of {', '.join(OUT_EXTENSIONS)})")
    th = getattr(traj, "thermo", None)
    if thermo is False or th is None:
        return None
    dest = thermo_path(path) if thermo is None or thermo is True else os.fspath(thermo)
    if os.path.abspath(dest) == os.path.abspath(path):
        raise ValueError(f"{dest}: the thermodynamic log would overwrite the trajectory; give another thermo= path")
    from glassrs.tables import write_parquet
    write_parquet(th, dest)
    return dest


def _write_parquet_trajectory(traj: Trajectory, path: str) -> None:
    """The long table of :meth:`Trajectory.to_polars` with what :func:`glassrs.read` needs to
    rebuild the frames: image flags, the box (one, or one per frame), species and dt."""
    from glassrs.tables import make_table, params as table_params, write_parquet

    df = traj.to_polars()
    frames = list(traj)
    if all(f.images is not None for f in frames):
        img = np.concatenate([f.images for f in frames])
        df = make_table(df.with_columns(pl.Series("ix", img[:, 0]), pl.Series("iy", img[:, 1]),
                                        pl.Series("iz", img[:, 2])), table_params(df))
    boxes = [f.box for f in frames]
    same = all(b == boxes[0] for b in boxes)
    geometry = {"box": boxes[0].native.tolist(), "origin": boxes[0].origin.tolist()} if same else {
        "boxes": [b.native.tolist() for b in boxes], "origins": [b.origin.tolist() for b in boxes]}
    run_params = getattr(traj, "params", None) or {}
    meta = {**table_params(df), "kind": "trajectory", "species": list(traj.species), "dt": traj.dt, **geometry}
    if run_params:
        meta["run"] = run_params
    write_parquet(df, path, meta)


def save_npz(traj: Trajectory, path: str, *, velocities_last: bool = True) -> None:
    """Exact float64 archive of an in-memory trajectory (unwrapped positions, steps, types,
    species, box, dt; thermo, parameters and the final velocities if present). Atomic."""
    f0 = traj[0]
    arrays = {
        "positions": traj.unwrapped(), "steps": traj.steps, "types": f0.types, "species": np.array(f0.species),
        "box": f0.box.native, "origin": f0.box.origin, "dt": np.array(np.nan if traj.dt is None else traj.dt),
    }
    th = getattr(traj, "thermo", None)
    if th is not None:
        arrays["thermo_columns"] = np.array(th.columns)
        arrays["thermo_stage"] = th["stage"].to_numpy().astype(str)
        for c in th.columns[1:]:
            arrays["thermo_" + c] = th[c].to_numpy()
    params = getattr(traj, "params", None)
    if params is not None:
        arrays["params"] = np.array(json.dumps(params, default=str))
    lv = getattr(traj, "last_velocities", None)
    if velocities_last and lv is not None:
        arrays["last_velocities"] = np.asarray(lv, dtype=float)
    _atomic_savez(path, **arrays)


def load_npz(path: str) -> Trajectory:
    """Read :func:`save_npz` output back into an in-memory Trajectory (frames wrapped with images)."""
    with np.load(path, allow_pickle=False) as z:
        d = {k: z[k] for k in z.files}
    box = Box(d["box"], d["origin"])
    dt = None if np.isnan(d["dt"]) else float(d["dt"])
    species = tuple(str(s) for s in d["species"])
    frames = []
    for k, s in enumerate(d["steps"]):
        w, img = _wrap(d["positions"][k], box)
        frames.append(Frame(positions=w, types=d["types"], box=box, species=species, step=int(s),
                            time=None if dt is None else int(s) * dt, images=img))
    traj = Trajectory.from_frames(frames, dt=dt)
    if "thermo_columns" in d:
        cols = [str(c) for c in d["thermo_columns"]]
        traj.thermo = pl.DataFrame({"stage": d["thermo_stage"].astype(str), **{c: d["thermo_" + c] for c in cols[1:]}})
    if "params" in d:
        traj.params = json.loads(str(d["params"]))
    if "last_velocities" in d:
        traj.last_velocities = d["last_velocities"]
    return traj


# -- inherent structures along a trajectory ---------------------------------------------------

def inherent_structures(traj: Trajectory | Sequence[Frame], model: Model, *, every: int = 1,
                        threshold: float = 1e-5, f_tol: float = 1e-10, max_iter: int = 100_000,
                        n_threads: int | None = None, temperature: float | None = None,
                        n0: int = 1000) -> tuple[list[Frame], pl.DataFrame]:
    """Quench every ``every``-th frame with FIRE (parallel over frames) → U_IS(t) (definitions §6.6).
    For "every k MD steps", pass frames written every k steps (``gr.md.run(quench_every=k)``).

    Returns (IS frames, table: frame, step, time, u_is (total, ε), u_is_per_particle,
    delta (U_IS − previous U_IS), transition (|ΔU_IS| > ``threshold``, total energy)). The
    parameters record the number of transitions and, when the parent ``temperature`` is given,
    the rate Γ and the reduced rate Γ·t_ballistic·N0/N of definitions §6.6 (t_ballistic = 0.1 t0,
    t0 = a0/√T) from :func:`glassrs.elastic.is_transition_rate` — the one place they are computed.
    """
    from glassrs.minimize import fire_batch

    frames = list(traj)[:: int(every)]
    is_frames, info = fire_batch(frames, model, f_tol=f_tol, max_iter=max_iter, n_threads=n_threads)
    u = info["energy"].to_numpy()
    n = frames[0].n_particles
    delta = np.r_[np.nan, np.diff(u)]
    trans = np.abs(np.nan_to_num(delta)) > threshold
    steps = np.array([-1 if f.step is None else f.step for f in frames], dtype=np.int64)
    times = np.array([np.nan if f.time is None else f.time for f in frames])
    columns = {
        "frame": np.arange(len(frames), dtype=np.int64) * int(every), "step": steps, "time": times,
        "u_is": u, "u_is_per_particle": u / n, "delta": delta, "transition": trans,
    }
    meta = {"kind": "inherent_structure_trajectory", "model": model.name, "every": int(every),
            "threshold": threshold, "f_tol": f_tol, "transitions": int(trans.sum()), **species_params(traj)}
    if temperature is not None and len(frames) > 1 and np.all(np.isfinite(times)):
        from glassrs.elastic import is_transition_rate

        meta.update(is_transition_rate(times, u, n_particles=n, temperature=temperature,
                                       density=frames[0].density, threshold=threshold, n0=n0))
    return is_frames, make_table(columns, meta)
