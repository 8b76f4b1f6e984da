"""Fragility of the active Kob–Andersen liquid: K_VFT from a small temperature series
(a long physics check, not part of the test suite).

For each f0 (default 0.5 and 1.0; c = 0.1, τ_p = 1): N = 1000 KA at ρ = 1.2, melt at T = 2,
equilibrate, then a production run per temperature (NVT Nosé–Hoover, τ_damp = 0.5, dt = 0.005).
τ_α is where the overlap (a = 0.3) falls to 1/e. Uncertainty: the production run is cut into
time blocks of origins (``--blocks``); a bootstrap replicate draws, at every temperature, the
mean τ_α of resampled blocks and refits the VFT form τ = τ0 exp[1/(K_VFT (T/T_VFT − 1))]; the
interval of K_VFT is the percentile interval of the replicates (unit: time blocks of one run per
temperature). Paper 002 (SI Table I) gives K_VFT = 0.200 (f0 = 0.5) and 0.156 (f0 = 1.0).

    python benchmarks/active_kvft.py [--f0 0.5 1.0] [--T 0.5 0.55 0.6 0.7 0.8 1.0] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import glassrs as gr

PAPER = {0.5: 0.200, 1.0: 0.156, 1.75: 1e-19}


def steps_for(T: float) -> tuple[int, int]:
    """(equilibration, production) steps: longer at low T (τ_α grows)."""
    if T <= 0.5:
        return 100_000, 200_000
    if T <= 0.6:
        return 50_000, 100_000
    return 30_000, 60_000


def one_state(f0: float, T: float, seed: int, threads: int, n_blocks: int, scale: float = 1.0) -> dict:
    m = gr.models.kob_andersen()
    eq, prod = (int(x * scale) for x in steps_for(T))
    act = gr.md.Activity(f0=f0) if f0 > 0 else None
    t0 = time.perf_counter()
    traj = gr.md.run(m, n=1000, T=T, steps=prod, dt=0.005, seed=seed, melt_T=2.0, melt_steps=4000,
                     equilibrate=eq, tdamp=0.5, every=4000, log_block=4000, log_base=1.3, n_threads=threads,
                     activity=act)
    el = time.perf_counter() - t0
    blocks = gr.dynamics.relaxation_blocks(traj, n_blocks=n_blocks)
    tb = blocks.filter(blocks["species"] == "all")["tau_alpha"].to_numpy()
    tb = tb[np.isfinite(tb)]   # a late block may end before its overlap reaches 1/e
    corr = gr.dynamics.correlations(traj, quantities=["overlap"], kvectors=np.zeros((0, 3)), progress=False)
    tau = gr.dynamics.tau_alpha(corr)
    return {"f0": f0, "T": T, "tau_alpha": float(tau), "tau_blocks": [float(x) for x in tb],
            "production_tau": prod * 0.005, "md_seconds": el}


def vft_with_ci(T: np.ndarray, tau: np.ndarray, blocks: list[np.ndarray], n_boot: int, seed: int) -> dict:
    fit = gr.fits.vft(T, tau)
    rng = np.random.default_rng(seed)
    ks, fails = [], 0
    for _ in range(n_boot):
        t = np.array([np.mean(b[rng.integers(0, len(b), len(b))]) for b in blocks])
        try:
            ks.append(gr.fits.vft(T, t, p0=[fit.params["ln_tau0"], fit.params["K_VFT"], fit.params["T_VFT"]])
                      .params["K_VFT"])
        except (RuntimeError, ValueError):
            fails += 1
    ks = np.array(ks)
    lo, hi = (np.percentile(ks, [2.5, 97.5]) if len(ks) else (np.nan, np.nan))
    return {"K_VFT": fit.params["K_VFT"], "T_VFT": fit.params["T_VFT"], "ln_tau0": fit.params["ln_tau0"],
            "K_ci95": [float(lo), float(hi)], "n_boot": len(ks), "failed_refits": fails,
            "unit": "time blocks of origins (one run per T)"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--f0", type=float, nargs="+", default=[0.5, 1.0])
    ap.add_argument("--T", type=float, nargs="+", default=[0.5, 0.55, 0.6, 0.7, 0.8, 1.0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--blocks", type=int, default=5)
    ap.add_argument("--boot", type=int, default=1000)
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every run length (a quick check: 0.1)")
    ap.add_argument("--json", default=None, help="write the results here")
    args = ap.parse_args()
    out = []
    for f0 in args.f0:
        rows = []
        for k, T in enumerate(args.T):
            r = one_state(f0, T, seed=100 + k, threads=args.threads, n_blocks=args.blocks, scale=args.scale)
            rows.append(r)
            print(f"f0={f0:<5g} T={T:<5g} tau_alpha={r['tau_alpha']:9.3f}  blocks={np.round(r['tau_blocks'], 2)}"
                  f"  ({r['md_seconds']:.0f} s MD)", flush=True)
        T = np.array([r["T"] for r in rows])
        tau = np.array([r["tau_alpha"] for r in rows])
        ok = np.isfinite(tau)
        fit = vft_with_ci(T[ok], tau[ok], [np.array(r["tau_blocks"]) for r, o in zip(rows, ok) if o], args.boot, 0)
        ref = PAPER.get(f0)
        print(f"f0={f0:g}: K_VFT = {fit['K_VFT']:.3f}  95% CI [{fit['K_ci95'][0]:.3f}, {fit['K_ci95'][1]:.3f}]  "
              f"T_VFT = {fit['T_VFT']:.3f}   paper 002: {ref}", flush=True)
        out.append({"f0": f0, "states": rows, "fit": fit, "paper_K_VFT": ref})
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
