"""Ctrl-C stops every long kernel within 0.5 s (SIGINT sent by a timer to a subprocess), with the
process default and with an explicit thread count."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

_SCRIPT = textwrap.dedent("""
    import json, os, signal, sys, threading, time
    import numpy as np
    import glassrs as gr
    which, n_threads = sys.argv[1], (None if sys.argv[2] == "none" else int(sys.argv[2]))
    ka = gr.models.kob_andersen()
    rng = np.random.default_rng(0)
    def random_frame(n):
        L = (n / 1.2) ** (1 / 3)
        return gr.Frame(positions=rng.random((n, 3)) * L, types=(np.arange(n) >= 0.8 * n).astype(int),
                        box=gr.Box.cube(L), species=("A", "B"))
    if which == "fire_batch":
        frames = [random_frame(500) for _ in range(16)]
        call = lambda: gr.minimize.fire_batch(frames, ka, f_tol=1e-14, max_iter=10**7, n_threads=n_threads)
    elif which == "dipole":
        f, _ = gr.minimize.fire(random_frame(400), ka, f_tol=1e-6)
        h = gr.elastic.hessian(f, ka, force_tol=None)
        call = lambda: [gr.elastic.dipole_stiffness(h, pairs="all", solver="cg", n_threads=n_threads)
                        for _ in range(50)]
    else:
        n, nf = 4000, 300   # ≈ 2.3 s: F_s on 64 off-lattice wave vectors dominates
        u = np.cumsum(0.05 * rng.standard_normal((nf, n, 3)), axis=0)
        fr = [gr.Frame(positions=u[k], unwrapped=u[k], types=np.zeros(n, int), box=gr.Box.cube(12.0),
                       species=("A",), step=k) for k in range(nf)]
        traj = gr.Trajectory.from_frames(fr, dt=1.0)
        kv = np.random.default_rng(1).standard_normal((64, 3))
        call = lambda: gr.dynamics.correlations(traj, kvectors=kv, progress=False, n_threads=n_threads)
    sent = {}
    def fire():
        sent["t"] = time.perf_counter()
        os.kill(os.getpid(), signal.SIGINT)
    threading.Timer(1.5, fire).start()
    t0 = time.perf_counter()
    try:
        call()
        print(json.dumps({"finished": time.perf_counter() - t0}))
    except KeyboardInterrupt:
        print(json.dumps({"latency": time.perf_counter() - sent["t"]}))
""")


@pytest.mark.parametrize("which", ["fire_batch", "dipole", "correlations"])
@pytest.mark.parametrize("n_threads", ["none", "2"])
def test_ctrl_c_latency(which, n_threads):
    r = subprocess.run([sys.executable, "-c", _SCRIPT, which, n_threads], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert "latency" in out, f"the call finished before Ctrl-C ({out}); make the workload longer"
    assert out["latency"] <= 0.5, out
