"""Synthetic trajectories for the dynamics tests (shared by tests/test_dynamics_*.py and the
benchmark). A Gaussian random walk in a periodic box: exact unwrapped positions are known."""

from __future__ import annotations

import numpy as np

import glassrs as gr


def random_walk(n: int = 60, n_frames: int = 30, length: float = 4.0, sigma: float = 0.08, seed: int = 0,
                steps=None, dt: float = 0.005, frac_a: float = 0.8, store: str = "wrapped", drift=None):
    """Random walk with per-axis step std ``sigma`` between consecutive frames.

    ``steps``: MD timesteps of the frames (default 0, 100, 200, …). ``store``: "wrapped"
    (positions only), "images" (wrapped + image flags) or "xu" (wrapped + unwrapped columns).
    Returns (trajectory, unwrapped positions (F, N, 3)).
    """
    rng = np.random.default_rng(seed)
    box = gr.Box.cube(length)
    n_a = int(round(frac_a * n))
    types = np.r_[np.zeros(n_a, int), np.ones(n - n_a, int)]
    steps = np.arange(n_frames) * 100 if steps is None else np.asarray(steps)
    x = rng.random((n, 3)) * length
    unw = np.empty((len(steps), n, 3))
    frames = []
    for f, st in enumerate(steps):
        if f:
            scale = sigma * np.sqrt((steps[f] - steps[f - 1]) / 100.0)
            x = x + rng.normal(scale=scale, size=(n, 3)) + (0 if drift is None else drift * (steps[f] - steps[f - 1]))
        unw[f] = x
        img = np.floor(x / length).astype(np.int64)
        wrapped = x - img * length
        kw = {}
        if store == "images":
            kw["images"] = img
        elif store == "xu":
            kw["unwrapped"] = x.copy()
        frames.append(gr.Frame(positions=wrapped, types=types, box=box, species=("A", "B"), step=int(st), **kw))
    return gr.Trajectory.from_frames(frames, dt=dt), unw


def write_atooms_xyz(path, traj, unwrapped) -> None:
    """An atooms-readable xyz with species, folded positions and unfolded positions (exact 17-digit text)."""
    L = traj.box.matrix.diagonal()
    dt = traj.dt
    with open(path, "w") as fh:
        for k, f in enumerate(traj):
            fh.write(f"{f.n_particles}\n")
            fh.write(f"step:{f.step} columns:species,position,position_unfolded dt:{float(dt)!r} "
                     f"cell:{float(L[0])!r},{float(L[1])!r},{float(L[2])!r}\n")
            for i in range(f.n_particles):
                vals = " ".join(repr(float(v)) for v in np.r_[f.positions[i], unwrapped[k, i]])
                fh.write(f"{f.species[f.types[i]]} {vals}\n")
