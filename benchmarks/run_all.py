"""Every benchmark in one run: the peer ratios each benchmark prints, in one table, and the cost
of the main kernels vs system size N = 10³ … 10⁶ with the fitted exponent (linear scaling: 1).

Usage: python benchmarks/run_all.py [--quick] [--max-n 1000000] [--skip-peers]

* Peer ratios: runs bench_neighbors, bench_structure, bench_dynamics, bench_md (KA, and SW with
  one FIRE quench), bench_elastic and bench_io (each in its own process, as each documents) and collects every line that states a
  ratio or a target. Times are from the same run on the same data inside each benchmark.
* Scaling: KA-like jittered-lattice configurations (ρ = 1.2) of N particles; for each N the best of
  a few timings of: the half neighbour table (r < 2.5), the local SOP (approximate closure), one
  correlator pass (MSD and overlap over 11 frames, all origins) and one MD step (after the engine
  is built). The exponent is the least-squares slope of log t vs log N over N ≥ 10⁴ (smaller
  sizes are dominated by fixed costs); target 1.00 ± 0.10.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = [("bench_neighbors.py",), ("bench_structure.py",), ("bench_dynamics.py",), ("bench_md.py",),
         ("bench_md.py", "--model", "sw", "--fire", "1"), ("bench_elastic.py",), ("bench_io.py",)]
# a line states a ratio or a target: the words, "×", "≥", a number followed by x ("6.0x") or a
# "peer/glassrs = r" pair
RATIO = re.compile(r"ratio|target|×|≥|\b\d+(\.\d+)?x\b|/glassrs", re.IGNORECASE)


def peer_ratios(quick: bool, timeout: float) -> list[tuple[str, str]]:
    rows = []
    for script, *extra in PEERS:
        args = [sys.executable, os.path.join(HERE, script), *extra] + (["--quick"] if quick and script == "bench_dynamics.py" else [])
        t0 = time.perf_counter()
        try:
            r = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
            text = r.stdout + (("\n[stderr] " + r.stderr.strip().splitlines()[-1]) if r.returncode and r.stderr else "")
        except subprocess.TimeoutExpired:
            text = f"(timed out after {timeout:.0f} s)"
        lines = [ln.strip() for ln in text.splitlines() if RATIO.search(ln)]
        name = " ".join([script, *extra])
        rows.append((name, f"({time.perf_counter() - t0:.0f} s)"))
        rows.extend((name, ln) for ln in lines or ["(no ratio printed)"])
    return rows


def lattice(n: int, seed: int = 0):
    import glassrs as gr

    rng = np.random.default_rng(seed)
    L = (n / 1.2) ** (1 / 3)
    k = int(np.ceil(n ** (1 / 3)))
    g = np.stack(np.meshgrid(*[np.arange(k)] * 3, indexing="ij"), -1).reshape(-1, 3)[:n]
    pos = (g + 0.5 + 0.1 * (rng.random((n, 3)) - 0.5)) * (L / k)   # small jitter: the push-off before MD is short
    types = (rng.random(n) > 0.8).astype(int)
    return gr.Frame(positions=pos, types=types, box=gr.Box.cube(L), species=("A", "B"))


def relaxed_start(n: int, model):
    """A relaxed KA-like configuration of n particles for timing MD (not timed): the lattice after
    300 FIRE steps — or, above 125 000 particles, that of n/8 tiled 2 × 2 × 2. FIRE's global
    velocity mixing lets a large lattice release its energy through hard collisions, and at 10⁶
    particles some still overlap after 300 steps (measured: 4 pairs closer than 0.6 σ); the tiled
    copy has the local structure of the relaxed smaller box and the same density."""
    import glassrs as gr

    if n <= 125_000 or n % 8:
        return gr.md.push_off(lattice(n), model, max_iter=300)
    base = relaxed_start(n // 8, model)
    L = base.box.matrix[0, 0]
    shifts = np.array([[a, b, c] for a in (0, 1) for b in (0, 1) for c in (0, 1)], float) * L
    pos = np.concatenate([base.positions + s for s in shifts])
    types = np.tile(base.types, 8)
    return gr.Frame(positions=pos, types=types, box=gr.Box.cube(2 * L), species=base.species)


def best(fn, repeat: int) -> float:
    t = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        t = min(t, time.perf_counter() - t0)
    return t


def scaling(sizes: list[int], repeat: int) -> dict[str, list[float]]:
    import glassrs as gr
    from glassrs import _core

    m = gr.models.kob_andersen()
    win = {"A-A": (0.95, 1.42), "A-B": (0.72, 1.21), "B-B": (0.74, 1.33)}
    out: dict[str, list[float]] = {"neighbours (half)": [], "local SOP": [], "correlator (msd, q)": [],
                                   "MD step": []}
    for n in sizes:
        f = lattice(n)
        rep = repeat    # the first call at a size also pays page faults of its fresh arrays: best of `repeat` everywhere
        out["neighbours (half)"].append(best(lambda: _core.neighbor_list(f.positions, f.box.native, 2.5, True), rep))
        out["local SOP"].append(best(lambda: gr.structure.local(f, None, windows=win), rep))
        rng = np.random.default_rng(1)
        frames = [gr.Frame(positions=f.positions, types=f.types, box=f.box, species=f.species, step=0,
                           unwrapped=f.positions.copy())]
        x = f.positions.copy()
        for s in range(1, 11):
            x = x + rng.normal(0, 0.05, x.shape)
            frames.append(gr.Frame(positions=f.box.wrap(x), types=f.types, box=f.box, species=f.species, step=s,
                                   unwrapped=x.copy()))
        traj = gr.Trajectory.from_frames(frames, dt=1.0)
        out["correlator (msd, q)"].append(best(lambda: gr.dynamics.correlations(
            traj, quantities=["msd", "overlap"], progress=False), rep))
        sim = gr.md.Simulation(m, relaxed_start(n, m), T=0.8, seed=1)   # relaxed start (not timed)
        sim.run(10, thermo_every=0)                      # builds the engine and its list; lets the push-off relax
        steps = max(3, int(2e5 // n))
        out["MD step"].append(best(lambda: sim.run(steps, thermo_every=0), rep) / steps)
        print(f"  N = {n:>8d}: " + ", ".join(f"{k} {v[-1]:.3g} s" for k, v in out.items()), flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller peer cases and N ≤ 10⁵")
    ap.add_argument("--max-n", type=int, default=1_000_000)
    ap.add_argument("--skip-peers", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per peer benchmark")
    a = ap.parse_args()
    if not a.skip_peers:
        print("== peer ratios (each benchmark, same data, same run)")
        for script, line in peer_ratios(a.quick, a.timeout):
            print(f"{script:<20} {line}")
    max_n = min(a.max_n, 100_000) if a.quick else a.max_n
    sizes = [n for n in (1_000, 10_000, 100_000, 1_000_000) if n <= max_n]
    print(f"\n== cost vs N (best of {a.repeat})")
    res = scaling(sizes, a.repeat)
    print(f"\n{'kernel':<22}" + "".join(f"{n:>12d}" for n in sizes) + f"{'exponent':>10}   target 1.00 ± 0.10")
    for k, v in res.items():
        ns = np.array(sizes, float)
        fit = ns >= 10_000 if (ns >= 10_000).sum() >= 2 else np.ones(len(ns), bool)
        slope = np.polyfit(np.log(ns[fit]), np.log(np.asarray(v)[fit]), 1)[0] if fit.sum() >= 2 else float("nan")
        flag = "" if abs(slope - 1) <= 0.1 else "  OUTSIDE"
        print(f"{k:<22}" + "".join(f"{t:12.4g}" for t in v) + f"{slope:10.3f}{flag}")


if __name__ == "__main__":
    main()
