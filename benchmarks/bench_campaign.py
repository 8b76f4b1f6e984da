"""Campaign throughput on Dask: isoconfigurational runs with 1 and 2 worker processes.

Prints, from one run on the same data:
* isoconfigurational throughput (run-τ_α per hour and MD particle-steps per core-second) with
  1 and 2 workers, and the scaling efficiency thr(2) / (2 thr(1))       (target ≥ 0.9);
* the scheduler overhead: 1 − Σ task time / (workers × wall time) at the default task size
  (one batch of ``batch`` runs per task)                                  (target < 5 %);
* the cost of seed 000's protocol per state point (32 configurations × 100 runs to 10 τ_α,
  N = 4000, at the working temperature T = 0.47 where τ_α ≈ 2500 τ) on 1, 2, 64 and 512 cores
  at the measured throughput and efficiency.

Usage: ``python benchmarks/bench_campaign.py [--n 1000] [--T 0.8] [--runs 16] [--batch 4]``
(KA at ρ = 1.2). The equilibration is done once; each measurement reruns only the
isoconfigurational tasks (their files are deleted between measurements, so the campaign's
resume logic reruns exactly them).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time

import glassrs as gr


def plan(n: int, T: float, runs: int, batch: int, times: list[float]) -> dict:
    return {
        "name": "bench", "seed": 1,
        "systems": [{"name": "ka", "model": "kob_andersen", "n": n, "temperatures": [T], "configurations": 2,
                     "dt": 0.005, "equilibration": {"melt_steps": 2000, "steps": 4000},
                     "production": {"steps": 1000}, "pilot": {"equilibrate_steps": 1000, "steps": 1000}}],
        "analyses": {"structure": {"frames": 1, "sq": False},
                     "isoconf": {"runs": runs, "batch": batch, "times": times, "L": [0.0]}},
    }


def measure(p: dict, out: str, workers: int) -> tuple[float, float, int]:
    """Wall time of the isoconf tasks with ``workers`` processes (cluster started before the clock,
    as on a running cluster); Σ of their task times."""
    from distributed import Client, LocalCluster

    iso = os.path.join(out, "isoconf_batches")
    if os.path.isdir(iso):
        shutil.rmtree(iso)
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=50) as lc, Client(lc) as c:
        c.run(lambda: __import__("glassrs"))        # workers import glassrs before the clock starts
        t0 = time.perf_counter()
        s = gr.campaign.run(p, out, client=c, threads_per_task=1, progress=False)
        wall = time.perf_counter() - t0
    with open(os.path.join(out, "manifest.json")) as fh:
        tasks = json.load(fh)["tasks"]
    busy = sum(tasks[t]["seconds"] for t in s.executed if t.startswith("isoconf/"))
    return wall, busy, sum(1 for t in s.executed if t.startswith("isoconf/"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--T", type=float, default=0.8)
    ap.add_argument("--runs", type=int, default=16)
    ap.add_argument("--batch", type=int, default=8, help="runs per task (default 8, the plan default)")
    ap.add_argument("--tmax", type=float, default=3.0, help="longest output time in units of τ_α (the plan default)")
    a = ap.parse_args()
    times = [a.tmax / 10, a.tmax / 3, a.tmax]
    p = plan(a.n, a.T, a.runs, a.batch, times)
    out = tempfile.mkdtemp(prefix="glassrs-bench-campaign-")
    try:
        gr.campaign.run(p, out, progress=False)      # pilot, equilibration, structure once
        tau = gr.campaign.open(out)["tau_reference"].collect()["tau_alpha"][0]
        steps_per_run = round(a.tmax * tau / 0.005)
        run_taus = 2 * a.runs * a.tmax               # 2 configurations
        rows = {}
        for w in (1, 2):
            wall, busy, k = measure(p, out, w)
            rows[w] = dict(wall=wall, busy=busy, tasks=k, thr=run_taus / wall * 3600,
                           rate=2 * a.runs * steps_per_run * a.n / (w * wall),
                           overhead=1 - busy / (w * wall))
    finally:
        shutil.rmtree(out, ignore_errors=True)
    eff = rows[2]["thr"] / (2 * rows[1]["thr"])
    print(f"KA N={a.n}, T={a.T}, τ_ref = {tau:.3g} τ; 2 configurations × {a.runs} runs to {a.tmax:g} τ_α "
          f"({steps_per_run} steps each), {a.batch} runs per task")
    print(f"{'workers':>8} {'tasks':>6} {'wall s':>8} {'run-τα/h':>10} {'p-steps/core-s':>15} {'overhead':>9}")
    for w, r in rows.items():
        print(f"{w:>8} {r['tasks']:>6} {r['wall']:>8.1f} {r['thr']:>10.1f} {r['rate']:>15.3g} {100 * r['overhead']:>8.1f}%")
    print(f"scaling efficiency thr(2)/(2 thr(1)) = {eff:.3f}   (target ≥ 0.9)")
    print(f"scheduler overhead at {a.batch} runs/task: {100 * rows[2]['overhead']:.1f} % with 2 workers, "
          f"{100 * rows[1]['overhead']:.1f} % with 1   (target < 5 %)")
    # seed 000's isoconfigurational protocol per state point at the measured rate
    rate = rows[1]["rate"]
    work = 32 * 100 * 10 * 2500 / 0.005 * 4000     # particle-steps: 32 × 100 runs × 10 τ_α, N = 4000
    print("\nseed 000 protocol per state point (32 configurations × 100 runs to 10 τ_α, N = 4000, τ_α ≈ 2500 τ):")
    print(f"{'cores':>6} {'wall time':>14}")
    for cores in (1, 2, 64, 512):
        e = 1.0 if cores == 1 else eff
        secs = work / (rate * cores * e)
        print(f"{cores:>6} {secs / 86400:>11.1f} d   ({secs / 3600:.3g} h)")
    print("(assumes the measured single-core rate and the 2-worker efficiency hold at scale; N = 4000 per "
          "particle-step costs as N = 1000 because the force loop is linear in N)")


if __name__ == "__main__":
    main()
