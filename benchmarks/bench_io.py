"""Reading a LAMMPS text dump: glassrs vs a plain NumPy reader and ase.io.read, in one run.

The dump is a Kob–Andersen-like system, N=4000 (80:20 types), ρ=1.2, 100 frames of
`dump custom ... id type x y z` written once into a temporary directory with LAMMPS' default
number format (%g); positions are random in the box (the parser does not care).

Each contender goes from the file name to every frame's positions in memory, sorted by atom id:
* glassrs : gr.read(path) (index scan) + traj.positions() (all frames, (F, N, 3) float64)
* numpy   : a plain reader — header lines with readline, atom lines with np.loadtxt
            (max_rows=N) per frame, sorted by id
* ase     : ase.io.read(path, index=":", format="lammps-dump-text"), positions of every Atoms

The file is in the page cache for all (it was just written and every contender reads it once
before timing). Best of --repeat runs, interleaved round-robin; wall and CPU time reported
(set RAYON_NUM_THREADS=1 for a single-thread comparison).

Usage: python benchmarks/bench_io.py [--frames 100] [--repeat 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np


def write_dump(path: str, n: int = 4000, frames: int = 100, rho: float = 1.2, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    L = (n / rho) ** (1 / 3)
    ids = np.arange(1, n + 1)
    types = np.where(ids <= int(0.8 * n), 1, 2)
    with open(path, "w") as out:
        for k in range(frames):
            order = rng.permutation(n)  # LAMMPS writes atoms in processor order, not by id
            x = rng.random((n, 3)) * L
            out.write(f"ITEM: TIMESTEP\n{1000 * k}\nITEM: NUMBER OF ATOMS\n{n}\nITEM: BOX BOUNDS pp pp pp\n"
                      f"0 {L:g}\n0 {L:g}\n0 {L:g}\nITEM: ATOMS id type x y z\n")
            np.savetxt(out, np.column_stack([ids, types, x])[order], fmt="%d %d %g %g %g")


def read_glassrs(path: str) -> np.ndarray:
    import glassrs as gr

    return gr.read(path).positions()


def read_numpy(path: str) -> np.ndarray:
    frames = []
    with open(path) as f:
        while f.readline():  # ITEM: TIMESTEP
            f.readline()
            f.readline()
            n = int(f.readline())
            for _ in range(4):  # ITEM: BOX BOUNDS + 3 lines
                f.readline()
            f.readline()  # ITEM: ATOMS id type x y z
            a = np.loadtxt(f, max_rows=n)
            frames.append(a[np.argsort(a[:, 0]), 2:5])
    return np.stack(frames)


def read_ase(path: str) -> np.ndarray:
    import ase.io

    images = ase.io.read(path, index=":", format="lammps-dump-text")
    return np.stack([a.get_positions() for a in images])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", default=None, help="directory to keep the generated dump in")
    a = ap.parse_args()
    d = a.keep or tempfile.mkdtemp(prefix="glassrs-bench-io-")
    path = os.path.join(d, "ka.lammpstrj")
    if not os.path.exists(path):
        t0 = time.perf_counter()
        write_dump(path, a.n, a.frames)
        print(f"wrote {path} ({os.path.getsize(path) / 1e6:.1f} MB) in {time.perf_counter() - t0:.1f} s")

    contenders = {"glassrs": read_glassrs, "numpy": read_numpy}
    try:
        import ase.io  # noqa: F401
        contenders["ase"] = read_ase
    except ImportError:
        print("ase not installed: skipped")
    # warm-up + agreement check
    ref = read_glassrs(path)
    for name, fn in contenders.items():
        if name != "glassrs":
            got = fn(path)
            err = float(np.abs(got - ref).max())
            assert got.shape == ref.shape and err < 1e-12 * 1e3, (name, got.shape, err)
            print(f"{name:8s} agrees with glassrs: max |Δx| = {err:.1e}")
    best = {k: float("inf") for k in contenders}
    cpu = {k: float("inf") for k in contenders}
    for r in range(a.repeat):
        for name, fn in contenders.items():
            c0, t0 = time.process_time(), time.perf_counter()
            fn(path)
            best[name] = min(best[name], time.perf_counter() - t0)
            cpu[name] = min(cpu[name], time.process_time() - c0)
    threads = os.environ.get("RAYON_NUM_THREADS", f"all ({os.cpu_count()})")
    print(f"\nLAMMPS dump, N={a.n}, {a.frames} frames, id type x y z; glassrs threads: {threads}; "
          f"best of {a.repeat}, seconds (CPU = process time summed over threads)")
    for name in best:
        print(f"  {name:8s} wall {best[name]:7.3f} ({best[name] / a.frames * 1e3:5.2f} ms/frame)   CPU {cpu[name]:7.3f}")
    print("Ratios (peer time / glassrs time):")
    for name in best:
        if name != "glassrs":
            print(f"  {name}/glassrs = {best[name] / best['glassrs']:.1f} (wall), "
                  f"{cpu[name] / cpu['glassrs']:.1f} (CPU)")
    print("Targets: numpy ≥ 3×, ase ≥ 10×.")


if __name__ == "__main__":
    main()
