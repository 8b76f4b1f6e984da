"""The one thread policy: ``n_threads=None`` is the process default (set_num_threads /
threads()), a positive int is exactly that many threads, anything else is a ValueError —
the same in every kernel — and results do not depend on the count."""

from __future__ import annotations

import numpy as np
import pytest

import glassrs as gr
from conftest import random_frame

BAD = [0, -1, True, 1.5, "2", 10**6]


@pytest.fixture(scope="module")
def frame():
    return random_frame(400, gr.Box.cube(7.0), seed=3)


@pytest.fixture(scope="module")
def traj(frame):
    rng = np.random.default_rng(1)
    frames, pos = [], frame.positions.copy()
    for k in range(6):
        frames.append(gr.Frame(positions=pos.copy(), types=frame.types, box=frame.box, species=frame.species,
                               step=k, time=float(k)))
        pos = pos + 0.05 * rng.standard_normal(pos.shape)
    return gr.Trajectory.from_frames(frames)


def _calls(frame, traj, n):
    ka = gr.models.kob_andersen()
    return {
        "neighbors": lambda: gr.neighbors(frame, 2.0, n_threads=n),
        "rdf": lambda: gr.structure.rdf(frame, r_max=3.0, n_threads=n),
        "forces": lambda: gr.forces(frame, ka, n_threads=n),
        "correlations": lambda: gr.dynamics.correlations(traj, kvectors=np.zeros((0, 3)), n_threads=n),
        "phop": lambda: gr.dynamics.phop(traj, window=2.0, n_threads=n),
    }


@pytest.mark.parametrize("bad", BAD)
def test_every_kernel_refuses_the_same_bad_counts(frame, traj, bad):
    for name, call in _calls(frame, traj, bad).items():
        with pytest.raises(ValueError, match="n_threads must be None"):
            call()


@pytest.mark.parametrize("bad", BAD)
def test_set_num_threads_refuses_bad_counts(bad):
    with pytest.raises(ValueError, match="n_threads must be None"):
        gr.set_num_threads(bad)


def test_context_manager_sets_and_restores_the_default():
    before = gr.get_num_threads()
    with gr.threads(1):
        assert gr.get_num_threads() == 1
        with gr.threads(3):
            assert gr.get_num_threads() == 3
        assert gr.get_num_threads() == 1
    assert gr.get_num_threads() == before
    with pytest.raises(RuntimeError):
        with gr.threads(1):
            raise RuntimeError("boom")
    assert gr.get_num_threads() == before


def test_results_equal_for_one_and_two_threads(frame, traj):
    a = {k: f() for k, f in _calls(frame, traj, 1).items()}
    b = {k: f() for k, f in _calls(frame, traj, 2).items()}
    with gr.threads(2):
        c = {k: f() for k, f in _calls(frame, traj, None).items()}
    for k in a:
        if k == "forces":
            for x, y in ((a[k].forces, b[k].forces), (a[k].forces, c[k].forces)):
                np.testing.assert_allclose(x, y, rtol=1e-13, atol=1e-13)
            continue
        assert a[k].equals(b[k]), k  # bitwise: tables are identical
        assert a[k].equals(c[k]), k
