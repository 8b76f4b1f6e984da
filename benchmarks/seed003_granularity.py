"""Landscape granularity of seed 003's glass formers: the reduced inherent-structure (IS)
transition rate Γ·t_ballistic·N0/N at matched viscosity (a long physics check, not part of the
test suite).

Paper: Kapteijns, Richard, Bouchbinder, Schrøder, Dyre & Lerner, J. Chem. Phys. 155, 074502
(2021), Sec. III B, Fig. 5(b) and 5(d), Appendix D 2. Its result: at state points of
comparable viscosity the rate orders IPL < mBLJ < SS < SW (Fig. 5b), and for the sticky spheres
(SS) it falls by over two decades from ρ = 0.6 to 0.95 (Fig. 5d). mBLJ is not in glassrs
(``gr.models.preset("seed003-mblj")`` raises), so it is skipped here.

Protocol (per system; presets ``seed003-ipl``, ``seed003-sw``, ``seed003-ss-{0.6,0.7,0.95}``
give the model, density, dt, τ_NH and q_max of the paper's Tables I and III):

1. **State point.** N = 1000 (the paper uses 2000–8000). A cooling chain over the candidate
   temperatures (``--scan``; hottest first, a melt at 2T before the first one, each later T
   starting from the previous end state): ``--eq-t0`` t0 of NVT equilibration, then ``--prod-t0``
   t0 of production, τ_α where F_s(q_max, t) = 0.2 on the largest species (B for IPL and SS,
   A for SW), in units of t0 = a0/√T, a0 = ρ^{-1/3}. The paper picks temperatures whose MSD
   and F_s collapse in t/t0; here the temperature whose τ_α/t0 is closest (in log) to
   ``--target`` is used, among those with ≥ 3 τ_α of production. The scan results and end
   states are cached per (system, T, N, seed) in ``--cache`` (whatever run lengths produced
   them; the rows record them), so the chain can be extended without redoing it; delete the
   directory to start afresh.
2. **Production.** ``--configs`` independent configurations: from the chosen temperature's end
   state, for each configuration ``--gap`` τ_α of NVT MD (so successive configurations are
   decorrelated, F_s < 0.2 between them), then a window of ``--quenches`` frames with one FIRE
   quench (max|F| < ``--f-tol``) every Δ = ``--interval``·t_ballistic, t_ballistic = 0.1 t0:
   the same interval in ballistic units for every system. Δ is made a whole number k of MD
   steps by lowering dt below the preset's where needed (dt = Δ/⌈Δ/dt_preset⌉), as the paper
   does for SS and SW (its footnote 85: quenches every MD step for IPL and mBLJ, every tenth of
   one for SS and SW). A transition is |ΔU_IS| > 10⁻⁵ ε between successive quenches;
   Γ = transitions / window time, reduced rate Γ·t_ballistic·N0/N with N0 = 1000
   (``gr.elastic.is_transition_rate``). Transitions closer together than Δ are missed, so each
   rate is a lower bound, at most 1/Δ = 1/(``--interval``·t_ballistic) (saturation).
3. **Uncertainty.** Mean over configurations with a 90 % percentile bootstrap over
   configurations (``glassrs.campaign.reduce.bootstrap_mean``; the paper's Fig. 5 bars are 90 %
   bootstrap intervals too). With three configurations the bootstrap has few distinct
   resamples: read it as a rough interval. The total number of transitions is printed as well
   (a system with none gives rate 0 and an interval [0, 0]; its Poisson 90 % upper bound,
   2.3 transitions over the total window, is printed).

Measured (N = 1000, Δ = 0.01 t_ballistic, 3 configurations, 90 % bootstrap; τ_α/t0 of the
chosen T; "changes" = quench intervals with a transition / all intervals)::

    system        T  τ_α/t0   changes   Γ·t_b·N0/N   90 % interval
    ipl         0.7    25.0     1/87         1.1    [0, 2.3]
    ss-0.6      1.1    22.0   126/177       71      [61, 81]
    ss-0.7      2.0    25.8    23/117       20      [13, 26]
    ss-0.95     6.8    19.5     2/87         2.3    [1.1, 3.4]
    sw          0.025  10.4    42/57        74      [58, 89]

IPL ≪ SS(0.6) and SS falls monotonically with density (×31 from 0.6 to 0.95, the paper: over
×100), but IPL and SS(0.95) are not told apart (1 and 2 transitions), SS(0.6) and SW are
equal within the intervals (the paper: SS < SW), both change the IS in ≈ 70 % of the
intervals (near the 1/Δ ceiling, so their rates are lower bounds), and SW is at a lower
viscosity than the rest (its next temperature, 0.022, had τ_α/t0 ≈ 77 but was not
equilibrated within the scan). Each window is short (0.3–1.5 t_ballistic per configuration).

Resolution runs (``results/seed003_granularity_resolved.json``): the interval matched to each
rate — 0.002 t_ballistic for the two near the ceiling, 0.04 t_ballistic (the paper's one quench
per MD step for IPL) for the two slow ones — and 100 (SW: 60) quenches per configuration::

    system        T  τ_α/t0     Δ/t_b   changes   Γ·t_b·N0/N   90 % interval
    ss-0.6      1.1    22.0     0.002   128/297      216      [175, 256]
    sw          0.025   8.6     0.002   116/177      328      [319, 336]
    ipl         0.7    25.0     0.04     62/297        5.2    [4.4, 6.1]
    ss-0.95     6.8    29.5     0.04     53/297        4.5    [2.7, 6.1]

With the finer interval SW > SS(0.6) is resolved (the paper's order), and SS falls from 216
(ρ = 0.6) through 20 (0.7, Δ = 0.01) to 4.5 (0.95): ×48. IPL and SS(0.95) stay equal within
their intervals (the paper has IPL an order of magnitude below mBLJ at ~1 per ballistic time,
so ~0.1; here IPL is ≈ 5 at τ_α/t0 = 25 — a less viscous state point than the paper's is the
likely reason, not checked). SW still changes its IS in 66 % of the 0.002 t_b intervals, so its
rate remains a lower bound.

Usage::

    python benchmarks/seed003_granularity.py                     # all five systems, defaults
    python benchmarks/seed003_granularity.py --systems ss-0.6 ss-0.95 --quenches 100
    python benchmarks/seed003_granularity.py --stage scan --scan ipl=0.6,0.55
    python benchmarks/seed003_granularity.py --T ipl=0.55 ss-0.6=0.5 ...   # skip the scan

Writes the table to stdout and everything (scan, per-configuration rows, summary) to ``--json``.
Run it with one thread (``--threads 1``, the default) for reproducible timings.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import time

import numpy as np
import polars as pl

import glassrs as gr
from glassrs.campaign.reduce import bootstrap_mean

#: short name → preset, the largest species (F_s is measured on it), default scan temperatures
SYSTEMS = {
    "ipl": ("seed003-ipl", "B", [0.72, 0.70, 0.68]),
    "ss-0.6": ("seed003-ss-0.6", "B", [1.2, 1.1, 1.0]),
    "ss-0.7": ("seed003-ss-0.7", "B", [2.4, 2.2, 2.0]),
    "ss-0.95": ("seed003-ss-0.95", "B", [8.0, 7.0, 6.8]),
    "sw": ("seed003-sw", "A", [0.030, 0.025, 0.022]),
}
#: quenches per configuration: fewer where a FIRE quench is dear (SW: ≈ 3 s at N = 1000)
QUENCHES = {"ipl": 30, "ss-0.6": 60, "ss-0.7": 40, "ss-0.95": 30, "sw": 20}
THRESHOLD = 1e-5  # ε, extensive; the paper's footnote 85
N0 = 1000


def _parse_map(items: list[str] | None, what: str) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for it in items or []:
        key, eq, vals = it.partition("=")
        if not eq or key not in SYSTEMS:
            raise SystemExit(f"{what}: expected SYSTEM=v1[,v2...] with SYSTEM in {list(SYSTEMS)}, got {it!r}")
        out[key] = [float(v) for v in vals.split(",") if v]
    return out


def _with_velocities(traj) -> gr.Frame:
    f = traj[-1]
    return dataclasses.replace(f, velocities=np.asarray(traj.last_velocities, float))


def _save_state(path: str, frame: gr.Frame) -> None:
    tmp = path + ".tmp.npz"
    np.savez(tmp, positions=frame.positions, images=frame.images, types=frame.types, box=frame.box.matrix, origin=frame.box.origin,
             velocities=frame.velocities, species=np.array(frame.species))
    os.replace(tmp, path)


def _load_state(path: str) -> gr.Frame:
    d = np.load(path)
    return gr.Frame(positions=d["positions"], types=d["types"], box=gr.Box(d["box"], d["origin"]),
                    species=tuple(str(s) for s in d["species"]), images=d["images"], velocities=d["velocities"],
                    step=0, time=0.0)


def tau_fs(traj, preset, species: str) -> dict:
    """τ_α (F_s(q_max) = 0.2 on ``species``) of a trajectory, and τ_α/t0 at its temperature."""
    kv = gr.dynamics.shell_kvectors(traj[0].box, preset.q_max)
    corr = gr.dynamics.correlations(traj, kvectors=kv, quantities=["fs", "msd"], progress=False)
    tau = gr.dynamics.tau_alpha(corr, "fs", threshold=0.2, species=species)
    return {"tau_alpha": tau, "corr": corr}


def scan_system(key: str, temps: list[float], args, cache: dict) -> list[dict]:
    """Cooling chain over ``temps`` (hottest first); cached per (system, T, run lengths)."""
    name, species, _ = SYSTEMS[key]
    p = gr.models.preset(name)
    rows = []
    start = None
    for i, T in enumerate(sorted(temps, reverse=True)):
        ckey = f"{key}|T={T:g}|n={args.n}|seed={args.seed}"  # run lengths are in the row
        state_path = os.path.join(args.cache, f"{key}-T{T:g}-n{args.n}.npz")
        prev_ok = start is not None or i == 0
        if ckey in cache and os.path.exists(state_path) and prev_ok:
            rows.append(cache[ckey])
            start = _load_state(state_path)
            continue
        t0 = p.t0(T)
        eq = int(round(args.eq_t0 * t0 / p.dt))
        prod = int(round(args.prod_t0 * t0 / p.dt))
        every = max(1, int(round(t0 / 2 / p.dt)))  # frames every t0/2
        w = time.perf_counter()
        if start is None:
            traj = gr.md.run(p.model, n=args.n, T=T, density=p.density, dt=p.dt, tdamp=p.tdamp, seed=args.seed,
                             melt_T=2 * T, melt_steps=int(round(20 * p.t0(2 * T) / p.dt)), equilibrate=eq,
                             steps=prod, every=every, n_threads=args.threads)
        else:
            traj = gr.md.run(p.model, T=T, dt=p.dt, tdamp=p.tdamp, seed=args.seed + i, start=start,
                             equilibrate=eq, steps=prod, every=every, n_threads=args.threads)
        md_s = time.perf_counter() - w
        tau = tau_fs(traj, p, species)["tau_alpha"]
        row = {"system": key, "T": T, "tau_alpha": tau, "t0": t0, "tau_over_t0": tau / t0,
               "equilibrate_steps": eq, "production_steps": prod, "dt": p.dt,
               "production_over_tau": prod * p.dt / tau if tau == tau else float("nan"),
               "T_kinetic": float(traj.thermo.filter(pl.col("stage") == "production")["temperature"].mean()),
               "u_per_particle": float(traj.thermo.filter(pl.col("stage") == "production")["potential"].mean()),
               "md_seconds": md_s}
        print(f"  scan {key:8s} T={T:<6g} τ_α={tau:9.3f}  τ_α/t0={tau / t0:8.2f}  "
              f"(production {row['production_over_tau']:.1f} τ_α, {md_s:.0f} s)", flush=True)
        start = _with_velocities(traj)
        _save_state(state_path, start)
        cache[ckey] = row
        rows.append(row)
        _dump(args.cache_json, cache)
    return rows


def choose(rows: list[dict], target: float) -> dict:
    ok = [r for r in rows if r["tau_alpha"] == r["tau_alpha"] and r["production_over_tau"] >= 3]
    if not ok:
        raise SystemExit(f"{rows[0]['system']}: no scanned temperature has a τ_α measured over ≥ 3 τ_α; "
                         "add hotter temperatures or longer runs")
    return min(ok, key=lambda r: abs(math.log(r["tau_over_t0"] / target)))


def production(key: str, T: float, tau: float, start: gr.Frame, args) -> list[dict]:
    """Per-configuration IS transition rates at ``T`` (τ_α = ``tau``) from ``start``."""
    name, _, _ = SYSTEMS[key]
    p = gr.models.preset(name)
    delta = args.interval * p.t_ballistic(T)
    k = max(1, math.ceil(delta / p.dt - 1e-9))
    dt = delta / k
    m = args.quenches_for.get(key, [args.quenches or QUENCHES[key]])[0]
    gap = max(1, int(round(args.gap * tau / p.dt)))
    rows = []
    for c in range(args.configs):
        w = time.perf_counter()
        g = gr.md.run(p.model, T=T, dt=p.dt, tdamp=p.tdamp, seed=1000 * args.seed + c, start=start,
                      equilibrate=0, steps=gap, every=gap, n_threads=args.threads)
        start = _with_velocities(g)
        run = gr.md.run(p.model, T=T, dt=dt, tdamp=p.tdamp, seed=1000 * args.seed + c, start=start,
                        equilibrate=0, steps=(m - 1) * k, every=k, n_threads=args.threads)
        md_s = time.perf_counter() - w
        w = time.perf_counter()
        _, tab = gr.md.inherent_structures(run, p.model, f_tol=args.f_tol, threshold=THRESHOLD,
                                           n_threads=args.threads, temperature=T, n0=N0)
        q_s = time.perf_counter() - w
        rate = gr.elastic.is_transition_rate(tab, temperature=T, density=p.density, threshold=THRESHOLD, n0=N0)
        u = tab["u_is"].to_numpy()
        rows.append({"system": key, "config": c, "T": T, "n_quenches": len(u), "quench_every_steps": k,
                     "dt": dt, "interval": delta, "interval_over_t_ballistic": delta / p.t_ballistic(T),
                     "n_transitions": rate["n_transitions"], "time_span": rate["time_span"],
                     "gamma": rate["gamma"], "gamma_reduced": rate["gamma_reduced"],
                     "fraction_changed": rate["n_transitions"] / (len(u) - 1),
                     "u_is_per_particle_mean": float(np.mean(u)) / args.n,
                     "n_distinct_is": int(len(np.unique(np.round(u / THRESHOLD)))),
                     "md_seconds": md_s, "quench_seconds": q_s})
        print(f"  prod {key:8s} config {c}: {rate['n_transitions']:4d}/{len(u) - 1} changes  "
              f"Γ·t_b·N0/N = {rate['gamma_reduced']:.4g}  ({md_s:.0f} s MD, {q_s:.0f} s FIRE)", flush=True)
        start = _with_velocities(run)
    return rows


def _dump(path: str, obj) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(obj, fh, indent=1, default=float)
    os.replace(tmp, path)


def summarise(rows: list[dict], level: float) -> pl.DataFrame:
    df = pl.DataFrame(rows)
    boot = bootstrap_mean(df, "gamma_reduced", "system", unit="config", n_boot=2000, level=level, seed=0)
    tot = df.group_by("system").agg(pl.col("n_transitions").sum().alias("transitions"),
                                    (pl.col("n_quenches") - 1).sum().alias("intervals"),
                                    pl.col("time_span").sum().alias("span"),
                                    pl.col("T").first(), pl.col("interval_over_t_ballistic").first(),
                                    pl.col("quench_every_steps").first(), pl.col("dt").first())
    return boot.join(tot, on="system")


def print_table(out: dict) -> None:
    """The summary table of a result (``out["summary"]``, ``out["chosen"]``, ``out["params"]``)."""
    a = out["params"]
    order = {k: i for i, k in enumerate(SYSTEMS)}
    rows = sorted(out["summary"], key=lambda r: order.get(r["system"], 99))
    print(f"\nN = {a['n']}, quench interval {a['interval']:g} t_ballistic (rate ≤ {N0 / (a['n'] * a['interval']):g}), "
          f"{a['configs']} configurations, {int(round(a['level'] * 100))} % bootstrap over configurations; "
          f"target τ_α/t0 = {a['target']:g}")
    print(f"{'system':8s} {'T':>6s} {'τ_α/t0':>7s} {'dt (k=steps)':>14s} {'changes':>9s} "
          f"{'Γ·t_b·N0/N':>11s} {'interval':>20s}")
    for r in rows:
        ch = out["chosen"][r["system"]]
        note = ""
        if r["transitions"] == 0:
            tb = gr.models.preset(SYSTEMS[r["system"]][0]).t_ballistic(r["T"])
            note = f"  (none; Poisson 90 % upper bound {2.303 / r['span'] * tb * N0 / a['n']:.3g})"
        print(f"{r['system']:8s} {r['T']:6g} {ch['tau_over_t0']:7.1f} {r['dt']:9.4g} (k={r['quench_every_steps']}) "
              f"{r['transitions']:4d}/{r['intervals']:<4d} {r['mean']:11.4g} "
              f"[{r['ci_low']:8.4g}, {r['ci_high']:8.4g}]{note}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=list(SYSTEMS))
    ap.add_argument("--stage", choices=["scan", "all"], default="all", help="scan only, or scan + production")
    ap.add_argument("--scan", nargs="*", help="candidate temperatures, SYSTEM=T1,T2,... (default: built in)")
    ap.add_argument("--T", nargs="*", help="use these temperatures, SYSTEM=T (τ_α still from the scan cache)")
    ap.add_argument("--target", type=float, default=25.0, help="target τ_α/t0 (default 25)")
    ap.add_argument("--n", type=int, default=1000, help="particles (default 1000)")
    ap.add_argument("--eq-t0", type=float, default=100.0, help="equilibration per scan T, in t0")
    ap.add_argument("--prod-t0", type=float, default=120.0, help="production per scan T, in t0")
    ap.add_argument("--configs", type=int, default=3, help="independent configurations (default 3)")
    ap.add_argument("--gap", type=float, default=2.0, help="MD between configurations, in τ_α (default 2)")
    ap.add_argument("--interval", type=float, default=0.01, help="quench interval in t_ballistic (default 0.01)")
    ap.add_argument("--quenches", type=int, default=None,
                    help="quenches per configuration, every system (default: QUENCHES, 20-60 per system)")
    ap.add_argument("--quenches-for", nargs="*", help="per-system override, SYSTEM=M")
    ap.add_argument("--f-tol", type=float, default=1e-7, help="FIRE max|F| tolerance (default 1e-7)")
    ap.add_argument("--level", type=float, default=0.9, help="bootstrap interval level (default 0.9)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cache", default="seed003_granularity_cache", help="directory for scan states")
    ap.add_argument("--json", default="seed003_granularity.json")
    ap.add_argument("--show", metavar="JSON", help="print the table of a stored result and exit (no simulation)")
    args = ap.parse_args(argv)
    if args.show:
        print_table(json.load(open(args.show)))
        return
    gr.set_num_threads(args.threads)
    os.makedirs(args.cache, exist_ok=True)
    args.cache_json = os.path.join(args.cache, "scan.json")
    cache = json.load(open(args.cache_json)) if os.path.exists(args.cache_json) else {}
    scan_T = _parse_map(args.scan, "--scan")
    fixed_T = {k: v[0] for k, v in _parse_map(args.T, "--T").items()}
    args.quenches_for = {k: [int(v[0])] for k, v in _parse_map(args.quenches_for, "--quenches-for").items()}
    out = {"params": {k: v for k, v in vars(args).items() if k != "quenches_for"} | {"quenches_for": args.quenches_for},
           "scan": {}, "chosen": {}, "configs": []}
    t_all = time.perf_counter()
    for key in args.systems:
        temps = scan_T.get(key, SYSTEMS[key][2])
        if key in fixed_T and fixed_T[key] not in temps:
            temps = sorted(set(temps) | {fixed_T[key]}, reverse=True)
        print(f"{key}: scan T = {temps}", flush=True)
        rows = scan_system(key, temps, args, cache)
        out["scan"][key] = rows
        try:
            ch = next(r for r in rows if r["T"] == fixed_T[key]) if key in fixed_T else choose(rows, args.target)
        except SystemExit as e:
            if args.stage == "all":
                raise
            print(e, flush=True)
            continue
        out["chosen"][key] = ch
        print(f"{key}: T = {ch['T']:g}  τ_α/t0 = {ch['tau_over_t0']:.1f}", flush=True)
        _dump(args.json, out)
        if args.stage == "all":
            start = _load_state(os.path.join(args.cache, f"{key}-T{ch['T']:g}-n{args.n}.npz"))
            out["configs"] += production(key, ch["T"], ch["tau_alpha"], start, args)
            _dump(args.json, out)
    if args.stage == "all":
        out["summary"] = summarise(out["configs"], args.level).to_dicts()
        print_table(out)
        print(f"(total {time.perf_counter() - t_all:.0f} s)")
        _dump(args.json, out)


if __name__ == "__main__":
    main()
