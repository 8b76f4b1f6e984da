"""γ′ of Kob–Andersen (ρ = 1.2) every way the text of paper 000 allows, on the embedded data.

The microscopic SOP slope γ′ (⟨(βφ)⁻¹⟩ = ⟨(βφ0)⁻¹⟩ + γ′T) is computed over T = 0.6, 0.7, 0.8,
1.0 (``gr.datasets.kob_andersen``) for every combination of

* the average: ⟨1/|βφ_i|⟩ (the mean of the SOP; glassrs' ``sop_mean``) or 1/⟨|βφ_i|⟩ (the
  inverse of the mean depth — one reading of paper 000 Eq. 25);
* the particles: all, or species A only;
* the windows: per temperature (each T's own global g) or shared (those of T = 0.6);
* the frames: every frame, 20 evenly spread frames, or the first frame only;
* the closure: ``approx`` (c = g − 1, paper 000 App. I) or ``hnc``;
* the normalisation of g^i: by the partial density ρ_v with weights ρ_v (glassrs), or literally
  Eqs. 6–7 of paper 000 — g^i normalised by the total ρ (→ x_v at large r) and
  βφ_i = −ρ Σ_v x_v ∫4πr² c^i g^i dr (computed here in numpy from ``gr.structure.local_g``
  on 5 frames per temperature; the ρ_v variant is recomputed the same way as a check).

and γ (macroscopic, 1/|βΦ|) for reference. Prints a Markdown table and writes JSON
(``--out``). Run: ``python benchmarks/gamma_prime_conventions.py [--out gamma_prime.json]``
(about ten minutes on two cores once the dataset is cached).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import polars as pl

import glassrs as gr

TEMPS = (0.6, 0.7, 0.8, 1.0)
SEED = 0.038    # paper 000 Table I, LJ ρ = 1.2: γ = 0.045, γ′ = 0.038


def slope(T, y) -> tuple[float, float]:
    f = gr.fits.linear(np.asarray(T, float), np.asarray(y, float))
    return f["slope"], f.stderr["slope"]


def averages(loc: pl.DataFrame) -> dict[str, float]:
    a = loc.filter(pl.col("species") == "A")
    return {"<1/|bphi|> all": float(loc["sop"].mean()), "<1/|bphi|> A": float(a["sop"].mean()),
            "1/<|bphi|> all": float(1 / loc["beta_phi"].abs().mean()),
            "1/<|bphi|> A": float(1 / a["beta_phi"].abs().mean())}


def numpy_sop(traj, frames, windows, T, closure, norm, model, dr=0.005):
    """βφ_i from the Gaussian-smoothed g^i of glassrs.structure.local_g, integrated in numpy with
    the trapezoid rule over the grid points inside each window (1e-9·dr tolerance)."""
    sp = list(traj.species)
    counts = np.bincount(traj.types, minlength=len(sp))
    out = []
    for k in frames:
        f = traj[int(k)]
        V = f.box.volume
        rho, rho_v, x = f.n_particles / V, counts / V, counts / f.n_particles
        lg = gr.structure.local_g(traj, np.arange(f.n_particles), frame=int(k), dr=dr, r_max=2.6)
        r = np.sort(lg["r"].unique().to_numpy())
        G = lg["g"].to_numpy().reshape(f.n_particles, len(sp), len(r))
        bp = np.zeros(f.n_particles)
        for u in range(len(sp)):
            iu = np.flatnonzero(f.types == u)
            for v in range(len(sp)):
                lo, hi = windows[f"{sp[min(u, v)]}-{sp[max(u, v)]}"]
                m = (r >= lo - 1e-9 * dr) & (r <= hi + 1e-9 * dr)
                g = G[iu, v][:, m] * (1.0 if norm == "rho_v" else rho_v[v] / rho)
                rr = r[m]
                with np.errstate(divide="ignore", invalid="ignore"):
                    c = g - 1 if closure == "approx" else -model.eval(u, v, rr)[0] / T + g - 1 - np.log(g)
                    fgr = np.where(g < 1e-10, 0.0, 4 * np.pi * rr ** 2 * c * g)
                w = rho_v[v] if norm == "rho_v" else rho * x[v]
                bp[iu] += -w * np.trapezoid(fgr, rr, axis=1)
        out.append(pl.DataFrame({"frame": np.full(f.n_particles, int(k)), "species": np.asarray(sp)[f.types],
                                 "beta_phi": bp, "sop": 1 / np.abs(bp)}))
    return pl.concat(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    t0 = time.time()
    ka = gr.models.kob_andersen()
    trajs = dict(gr.datasets.kob_andersen_series(TEMPS, progress=False))
    trajs = {T: trajs[T] for T in TEMPS}
    win_T = {T: gr.structure.find_windows(gr.structure.rdf(trajs[T], r_max=4.0, dr=0.01)) for T in TEMPS}
    windows = {"per T": win_T, "shared (T=0.6)": {T: win_T[0.6] for T in TEMPS}}
    print("windows per T:", json.dumps(win_T), flush=True)
    rows = []
    for closure in ("approx", "hnc"):
        for wname, wins in windows.items():
            series: dict[str, dict[str, list[float]]] = {}
            macro = []
            for T in TEMPS:
                tr = trajs[T]
                loc = gr.structure.local(tr, ka, T=T, closure=closure, windows=wins[T], e_pair=False)
                macro.append(gr.params(loc)["sop_macro"])
                n = len(tr)
                for fname, idx in (("all", np.arange(n)),
                                   ("20 spread", np.unique(np.linspace(0, n - 1, 20).round().astype(int))),
                                   ("first", np.array([0]))):
                    sub = loc.filter(pl.col("frame").is_in(idx.tolist()))
                    for avg, val in averages(sub).items():
                        series.setdefault(fname, {}).setdefault(avg, []).append(val)
            g, ge = slope(TEMPS, macro)
            rows.append({"closure": closure, "windows": wname, "normalisation": "rho_v (glassrs)", "frames": "all",
                         "average": "1/|bPhi| (gamma, macroscopic)", "value": g, "stderr": ge,
                         "values_per_T": macro})
            for fname, d in series.items():
                for avg, vals in d.items():
                    s, se = slope(TEMPS, vals)
                    rows.append({"closure": closure, "windows": wname, "normalisation": "rho_v (glassrs)",
                                 "frames": fname, "average": avg, "value": s, "stderr": se, "values_per_T": vals})
            print(f"{closure} {wname} done ({time.time() - t0:.0f} s)", flush=True)
    # literal Eqs. 6-7 (total-ρ normalisation) against the glassrs normalisation, numpy, 5 frames per T
    for closure in ("approx", "hnc"):
        for wname, wins in windows.items():
            for norm in ("rho_v", "rho"):
                vals: dict[str, list[float]] = {}
                for T in TEMPS:
                    tr = trajs[T]
                    idx = np.unique(np.linspace(0, len(tr) - 1, 5).round().astype(int))
                    tab = numpy_sop(tr, idx, wins[T], T, closure, norm, ka)
                    if norm == "rho_v" and T == TEMPS[0]:   # the numpy integration reproduces glassrs
                        ref = gr.structure.local(tr, ka, T=T, closure=closure, windows=wins[T], frames=idx,
                                                 e_pair=False)
                        err = float(np.max(np.abs(ref["beta_phi"].to_numpy() / tab["beta_phi"].to_numpy() - 1)))
                        print(f"numpy vs glassrs βφ_i ({closure}, {wname}): max rel. difference {err:.2e}")
                        assert err < 1e-8
                    for avg, val in averages(tab).items():
                        vals.setdefault(avg, []).append(val)
                for avg, v in vals.items():
                    s, se = slope(TEMPS, v)
                    rows.append({"closure": closure, "windows": wname,
                                 "normalisation": "rho_v (glassrs)" if norm == "rho_v" else "total rho (Eqs. 6-7)",
                                 "frames": "5 spread", "average": avg, "value": s, "stderr": se, "values_per_T": v})
        print(f"numpy {closure} done ({time.time() - t0:.0f} s)", flush=True)
    print("\n| closure | windows | g^i normalisation | frames | average | γ′ (k_B/ε) | ± |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['closure']} | {r['windows']} | {r['normalisation']} | {r['frames']} | {r['average']} | "
              f"{r['value']:.4f} | {r['stderr']:.4f} |")
    close = [r for r in rows if "gamma" not in r["average"] and abs(r["value"] - SEED) <= 2 * max(r["stderr"], 1e-3)]
    print(f"\nwithin 2 standard errors of {SEED}: {len(close)} of {len(rows)}")
    for r in close:
        print("  ", r["closure"], r["windows"], r["normalisation"], r["frames"], r["average"], round(r["value"], 4))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump({"temperatures": TEMPS, "windows": win_T, "rows": rows, "seconds": time.time() - t0}, fh, indent=1)


if __name__ == "__main__":
    main()
