"""Dipole stiffness κ_ij: glassrs (reused sparse Cholesky, batched PCG) vs scipy CG.

    python benchmarks/bench_elastic.py [--sizes 1000 4000] [--large] [--threads 2]

For each N: a Kob–Andersen inherent structure (random start → push-off → FIRE, cached in
``--cache``), then the time per dipole of
  * scipy: ``scipy.sparse.linalg.cg`` (no preconditioner, rtol 1e-10) on the same CSR matrix,
    one dipole at a time (what a Python user writes);
  * glassrs factorisation: faer sparse Cholesky of the pinned Hessian (once per structure)
    + batched solves; reported amortised over ``--dipoles`` dipoles per structure and the
    marginal per-dipole cost;
  * glassrs CG: block-Jacobi PCG (rtol 1e-10), batches of 16 right-hand sides, rayon.
Ratios are measured in the same run. Also checks that κ agrees between the three.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import scipy.sparse.linalg as sla

import glassrs as gr


REPLICAS = {16000: (4000, (2, 2, 1)), 32000: (4000, (2, 2, 2))}


def inherent_structure(n: int, cache: str) -> gr.Frame:
    path = os.path.join(cache, f"ka_is_{n}.npz")
    if os.path.exists(path):
        d = np.load(path)
        return gr.Frame(positions=d["pos"], types=d["types"], box=gr.Box(d["box"]), species=("A", "B"))
    if n in REPLICAS:
        base, reps = REPLICAS[n]
        print(f"  (N={n}: periodic {reps} replica of the N={base} inherent structure)")
        return replicated(inherent_structure(base, cache), reps)
    ka = gr.models.kob_andersen()
    t = time.perf_counter()
    fr = gr.md.push_off(gr.md.initial_configuration(ka, n, seed=1), ka)
    fr, info = gr.minimize.fire(fr, ka, f_tol=1e-8, max_iter=1_000_000)
    print(f"  (made the N={n} inherent structure in {time.perf_counter() - t:.0f} s, max|F| {info.max_force:.1e})")
    os.makedirs(cache, exist_ok=True)
    np.savez(path, pos=fr.positions, types=fr.types, box=fr.box.matrix)
    return fr


def replicated(base: gr.Frame, reps: tuple[int, int, int]) -> gr.Frame:
    """Periodic replica of an inherent structure (still a minimum: every particle sees the same
    neighbourhood). Used for the large sizes, whose own FIRE quench takes too long here."""
    H = base.box.matrix
    shifts = np.array([[a, b, c] for a in range(reps[0]) for b in range(reps[1]) for c in range(reps[2])], float)
    pos = (base.positions[None, :, :] + (shifts @ H.T)[:, None, :]).reshape(-1, 3)
    types = np.tile(base.types, len(shifts))
    return gr.Frame(positions=pos, types=types, box=gr.Box(H * np.array(reps, float)[None, :]), species=base.species)


def dipole_vector(fr: gr.Frame, i: int, j: int) -> np.ndarray:
    d = fr.box.min_image(fr.positions[j] - fr.positions[i])
    d /= np.linalg.norm(d) * np.sqrt(2)
    b = np.zeros(3 * fr.n_particles)
    b[3 * j:3 * j + 3] = d
    b[3 * i:3 * i + 3] = -d
    return b


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000])
    ap.add_argument("--large", action="store_true",
                    help="also N = 16000, 32000 (glassrs only; replicas of the N=4000 structure)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dipoles", type=int, default=1000, help="dipoles per structure for the amortised cost")
    ap.add_argument("--scipy-dipoles", type=int, default=3)
    ap.add_argument("--cache", default=os.path.join(os.path.expanduser("~"), ".cache", "glassrs-bench"))
    a = ap.parse_args()
    sizes = a.sizes + ([16000, 32000] if a.large else [])
    ka = gr.models.kob_andersen()
    print(f"glassrs {gr.__version__}: dipole stiffness, KA inherent structures, {a.threads} threads")
    rows = []
    for n in sizes:
        fr = inherent_structure(n, a.cache)
        t = time.perf_counter()
        h = gr.elastic.hessian(fr, ka, n_threads=a.threads)
        t_h = time.perf_counter() - t
        pairs = h.pairs()
        rng = np.random.default_rng(0)
        sel = rng.choice(pairs.height, size=min(a.dipoles, pairs.height), replace=False)
        ij = np.c_[pairs["i"].to_numpy()[sel], pairs["j"].to_numpy()[sel]].astype(np.int64)
        row = {"N": n, "hessian_s": t_h}
        t = time.perf_counter()
        auto, nval = h.native.solver_info("auto", 1e-10, 0, a.threads)  # analysis (+ factorisation if chosen)
        t_auto = time.perf_counter() - t
        row["auto"] = auto
        k_ref = None
        if auto == "cholesky":
            row["factor_s"] = t_auto
            row["factor_MB"] = nval * 8 / 1e6
            t = time.perf_counter()
            k_ref = gr.elastic.dipole_stiffness(h, pairs=ij, solver="cholesky", n_threads=a.threads)["kappa"].to_numpy()
            t_solve = time.perf_counter() - t
            row["chol_marginal_ms"] = 1e3 * t_solve / len(ij)
            row["chol_amortised_ms"] = 1e3 * (row["factor_s"] + t_solve) / len(ij)
        n_cg = 32 if n <= 8000 else 16
        t = time.perf_counter()
        kc = gr.elastic.dipole_stiffness(h, pairs=ij[:n_cg], solver="cg", rtol=1e-10, n_threads=a.threads)
        row["cg_ms"] = 1e3 * (time.perf_counter() - t) / n_cg
        row["cg_iter"] = float(kc["iterations"].mean())
        if k_ref is not None:
            row["cg_vs_chol"] = float(np.max(np.abs(kc["kappa"].to_numpy() / k_ref[:n_cg] - 1)))
        if n <= 4000 and a.scipy_dipoles > 0:
            M = h.sparse()
            ks = []
            t = time.perf_counter()
            for i, j in ij[: a.scipy_dipoles]:
                b = dipole_vector(fr, int(i), int(j))
                z, info = sla.cg(M, b, rtol=1e-10, maxiter=100 * M.shape[0])
                if info != 0:
                    raise RuntimeError(f"scipy cg did not converge (info={info})")
                z = (z.reshape(-1, 3) - z.reshape(-1, 3).mean(axis=0)).reshape(-1)
                ks.append(b @ z / (z @ z))
            row["scipy_cg_ms"] = 1e3 * (time.perf_counter() - t) / a.scipy_dipoles
            ref = k_ref[: a.scipy_dipoles] if k_ref is not None else kc["kappa"].to_numpy()[: a.scipy_dipoles]
            row["scipy_vs_glassrs"] = float(np.max(np.abs(np.array(ks) / ref - 1)))
        rows.append(row)
        print(f"N={n}: " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items() if k != "N"),
              flush=True)
    print("\nratios (scipy CG time per dipole / glassrs time per dipole; >1 = glassrs faster)")
    for r in rows:
        if "scipy_cg_ms" in r:
            parts = [f"N={r['N']}: vs CG {r['scipy_cg_ms'] / r['cg_ms']:.1f}x"]
            if "chol_amortised_ms" in r:
                parts.append(f"vs factorisation amortised over {a.dipoles} dipoles {r['scipy_cg_ms'] / r['chol_amortised_ms']:.1f}x")
                parts.append(f"marginal {r['scipy_cg_ms'] / r['chol_marginal_ms']:.1f}x")
            print("  " + ", ".join(parts))
    print("\ntime per dipole vs N (ms): best glassrs method (auto choice in brackets)")
    for r in rows:
        best = min(r["cg_ms"], r.get("chol_amortised_ms", np.inf))
        print(f"  N={r['N']:>6}: {best:9.2f} ms  [{r['auto']}]  (CG {r['cg_ms']:.1f} ms, {r['cg_iter']:.0f} iterations)")


if __name__ == "__main__":
    main()
