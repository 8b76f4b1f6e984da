"""Before/after timings of the kernels the locality layer touches, for two builds of glassrs on
the same data in one run: neighbour tables (half and full), g(r) of 3 partials, the local SOP,
the coarse-graining stencil walk, MD steps and FIRE. Each build runs in its own subprocess (the
extension module cannot be loaded twice in one process); the builds alternate round by round,
and the best of the rounds is kept, so load from other processes hits both alike.

Usage:
    python benchmarks/compare_builds.py --base /path/to/old/python [--rounds 5] [--threads 1]

``--base`` is a directory holding an importable ``glassrs`` package (its ``python/`` source
directory with the compiled ``_core`` copied in); the current build is the installed one.
Prints one row per kernel: base and new time (s, best of rounds; CPU time with --cpu), the
ratio new/base, and a flag where the new build is more than 5 % slower.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

KERNELS = ["neighbors_half", "neighbors_full", "rdf_3_partials", "local_sop", "coarse_grain", "md_200_steps",
           "fire"]


def worker(repeat: int, kernels: list[str]) -> dict:
    """Time every kernel in this process (the glassrs on sys.path); returns name → (wall, cpu)."""
    import numpy as np

    import glassrs as gr
    from glassrs import _core

    rng = np.random.default_rng(7)
    n = 4000
    L = (n / 1.2) ** (1 / 3)
    m = gr.models.kob_andersen()
    # a jittered lattice: no overlaps, liquid-like density
    k = int(np.ceil(n ** (1 / 3)))
    g = np.stack(np.meshgrid(*[np.arange(k)] * 3, indexing="ij"), -1).reshape(-1, 3)[:n]
    pos = (g + 0.5 + 0.3 * (rng.random((n, 3)) - 0.5)) * (L / k)
    types = rng.permutation(np.r_[np.zeros(int(0.8 * n), int), np.ones(n - int(0.8 * n), int)])
    box = gr.Box.cube(L)
    f = gr.Frame(positions=pos, types=types, box=box, species=("A", "B"))
    mat = np.ascontiguousarray(box.matrix)
    win = {"A-A": (0.95, 1.42), "A-B": (0.72, 1.21), "B-B": (0.74, 1.33)}
    small = gr.Frame(positions=pos[:1000] * (1000 / n) ** (1 / 3), types=types[:1000],
                     box=gr.Box.cube(L * (1000 / n) ** (1 / 3)), species=("A", "B"))
    push = gr.md.push_off(small, m)
    loc = gr.structure.local(f, None, windows=win)

    def md():
        sim = gr.md.Simulation(m, push, T=1.0, seed=1)
        sim.run(200, thermo_every=0)

    fns = {
        "neighbors_half": lambda: _core.neighbor_list(pos, mat, 2.5, True),
        "neighbors_full": lambda: _core.neighbor_list(pos, mat, 2.5, False),
        "rdf_3_partials": lambda: gr.structure.rdf(f, r_max=5.0, dr=0.01),
        "local_sop": lambda: gr.structure.local(f, None, windows=win),
        "coarse_grain": lambda: gr.structure.coarse_grain(f, loc, "sop", L=[1.0, 2.0]),
        "md_200_steps": md,
        "fire": lambda: gr.minimize.fire(push, m, f_tol=1e-8),
    }
    out = {}
    for name in kernels:
        fns[name]()  # warm-up
        best_w = best_c = float("inf")
        for _ in range(repeat):
            c0, t0 = time.process_time(), time.perf_counter()
            fns[name]()
            best_w = min(best_w, time.perf_counter() - t0)
            best_c = min(best_c, time.process_time() - c0)
        out[name] = (best_w, best_c)
    return out


def run_worker(pythonpath: str | None, threads: int, repeat: int, kernels: list[str]) -> dict:
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    if pythonpath:
        env["PYTHONPATH"] = pythonpath + os.pathsep + env.get("PYTHONPATH", "")
    else:
        env.pop("PYTHONPATH", None)
    r = subprocess.run([sys.executable, __file__, "--worker", "--repeat", str(repeat), "--kernels", ",".join(kernels)],
                       env=env,
                       capture_output=True, text=True, check=True, cwd="/")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", help="directory with the base build's importable glassrs package")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=3, help="timings per kernel per round (best kept)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cpu", action="store_true", help="compare CPU time (steadier on a shared machine)")
    ap.add_argument("--kernels", default=",".join(KERNELS), help=f"comma-separated subset of {KERNELS}")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    kernels = [k for k in a.kernels.split(",") if k]
    unknown = sorted(set(kernels) - set(KERNELS))
    if unknown:
        ap.error(f"unknown kernels {unknown}; choose from {KERNELS}")
    if a.worker:
        print(json.dumps(worker(a.repeat, kernels)))
        return
    if not a.base:
        ap.error("--base is required")
    col = 1 if a.cpu else 0
    best = {"base": {}, "new": {}}
    for _ in range(a.rounds):
        for label, path in (("base", a.base), ("new", None)):
            res = run_worker(path, a.threads, a.repeat, kernels)
            for k, v in res.items():
                best[label][k] = min(best[label].get(k, float("inf")), v[col])
    what = "CPU" if a.cpu else "wall"
    print(f"kernel timings, {what} time (s), best of {a.rounds} rounds × {a.repeat}, {a.threads} thread(s)")
    print(f"{'kernel':<16} {'base':>10} {'new':>10} {'new/base':>9}   target ≤ 1.05")
    for k in kernels:
        b, n = best["base"][k], best["new"][k]
        flag = "  SLOWER" if n > 1.05 * b else ""
        print(f"{k:<16} {b:10.4f} {n:10.4f} {n / b:9.3f}{flag}")


if __name__ == "__main__":
    main()
