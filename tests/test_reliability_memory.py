"""Memory: the origin–lag bookkeeping of dynamics.correlations stays within max_memory_mb, and
allocation sizes derived from user input are checked before allocating (never an abort)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import glassrs as gr

_RSS = textwrap.dedent("""
    import json, resource, sys
    import numpy as np
    import glassrs as gr
    n, nf, budget = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    rng = np.random.default_rng(0)
    box = gr.Box.cube(10.0)
    x = rng.random((n, 3)) * 10.0
    steps = 0.05 * rng.standard_normal((nf, n, 3))
    frames = []
    u = x.copy()
    for k in range(nf):
        u = u + steps[k]
        frames.append(gr.Frame(positions=u.copy(), types=np.zeros(n, int), box=box, species=("A",), step=k,
                               unwrapped=u.copy()))
    del steps
    traj = gr.Trajectory.from_frames(frames, dt=1.0)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t = gr.dynamics.correlations(traj, kvectors=np.array([[0.6283, 0.0, 0.0]]), max_memory_mb=budget,
                                 progress=False)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"base": base, "peak": peak, "rows": t.height, "p": gr.params(t)}))
""")


def _peak(n: int, nf: int, budget: float) -> dict:
    out = subprocess.run([sys.executable, "-c", _RSS, str(n), str(nf), str(budget)], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_correlations_all_origins_stay_within_the_budget():
    # N = 200, 1500 frames, all origins: 1 125 750 origin/target pairs; unbounded per-pair
    # bookkeeping needed ~250 MB on top of the trajectory (measured: 1000/2000/4000 frames of
    # N = 50 grew by 100/415/1587 MB with a 64 MB budget; now 49/52/48 MB).
    r = _peak(200, 1500, 32.0)
    grown = r["peak"] - r["base"]
    assert grown <= 32.0 + 24.0, r  # the budget plus interpreter/allocator slack
    assert r["rows"] == 2 * 1500  # "all" and "A"
    assert r["p"]["pair_block"] < 1500 * 1501 // 2


@pytest.mark.slow
def test_correlations_long_n1000_trajectory_within_a_small_budget():
    # N = 1000, 2000 frames (2 001 000 pairs): +372 MB before, +5 MB now with a 64 MB budget
    r = _peak(1000, 2000, 64.0)
    assert r["peak"] - r["base"] <= 64.0 + 40.0, r
    assert r["rows"] == 2 * 2000


def test_correlations_budget_too_small_is_a_clear_error_up_front():
    frames = [gr.Frame(positions=np.full((4, 3), 0.1 * k), types=np.zeros(4, int), box=gr.Box.cube(5.0),
                       species=("A",), step=k) for k in range(200)]
    traj = gr.Trajectory.from_frames(frames, dt=1.0)
    with pytest.raises(ValueError, match="max_memory_mb"):
        gr.dynamics.correlations(traj, kvectors=np.array([[1.0, 0, 0]]), max_memory_mb=0.01, progress=False)
    with pytest.raises(ValueError, match="max_memory_mb"):
        gr.dynamics.correlations(traj, kvectors=np.array([[1.0, 0, 0]]), max_memory_mb=-1, progress=False)


def test_correlations_blocked_equals_unblocked():
    rng = np.random.default_rng(3)
    n, nf = 30, 60
    u = np.cumsum(0.1 * rng.standard_normal((nf, n, 3)), axis=0) + 2.0
    types = np.r_[np.zeros(20, int), np.ones(10, int)]
    frames = [gr.Frame(positions=u[k], unwrapped=u[k], types=types, box=gr.Box.cube(4.0), species=("A", "B"),
                       step=3 * k) for k in range(nf)]
    traj = gr.Trajectory.from_frames(frames, dt=0.5)
    kv = np.array([[1.5, 0.0, 0.0], [0.0, 1.5, 0.0]])
    for avg in ("pooled", "origin"):
        ref = gr.dynamics.correlations(traj, kvectors=kv, progress=False, alpha2_average=avg)
        small = gr.dynamics.correlations(traj, kvectors=kv, progress=False, alpha2_average=avg, max_memory_mb=0.12)
        assert gr.params(small)["pair_block"] < nf * (nf + 1) // 2
        assert gr.params(small)["particle_chunks"] > 1
        for c in ("lag", "n_origins", "overlap", "chi4"):
            np.testing.assert_array_equal(small[c].to_numpy(), ref[c].to_numpy(), err_msg=c)
        for c in ("msd", "fs", "alpha2"):
            np.testing.assert_allclose(small[c].to_numpy(), ref[c].to_numpy(), rtol=1e-12, atol=1e-15, err_msg=c)


_ALLOC = textwrap.dedent("""
    import sys
    import numpy as np
    import glassrs as gr
    which = sys.argv[1]
    rng = np.random.default_rng(0)
    if which == "sq":
        f = gr.Frame(positions=rng.random((50, 3)) * 10, types=np.zeros(50, int), box=gr.Box.cube(10.0), species=("A",))
        call = lambda: gr.structure.sq(f, q_max=1e4)
    else:
        f = gr.Frame(positions=rng.random((50, 3)) * 1e9, types=np.zeros(50, int), box=gr.Box.cube(1e9), species=("A",))
        call = lambda: gr.structure.rdf(f)
    try:
        call()
        print("no error")
    except (MemoryError, ValueError) as e:
        print(type(e).__name__, e)
""")


@pytest.mark.parametrize("which,param", [("sq", "q_max"), ("rdf", "r_max")])
def test_allocation_sizes_from_user_input_are_checked(which, param):
    r = subprocess.run([sys.executable, "-c", _ALLOC, which], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"aborted (rc {r.returncode}): {r.stderr[-1500:]}"
    assert r.stdout.startswith(("MemoryError", "ValueError")) and param in r.stdout, r.stdout
