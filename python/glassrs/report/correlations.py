"""Report section (optional, ``python -m glassrs report --isoconf``): structure–dynamics
correlation from isoconfigurational ensembles (docs: definitions §4) — C_R(X, μ) against t/τ_α for
X = sop, s2, e_loc at L = 0 and a coarse-grained L, one ensemble per run with a temperature.

It runs MD (``N_RUNS`` runs of up to ``MAX_STEPS`` steps per temperature from the last frame of
each run), so it is not in the default section list."""

from __future__ import annotations

import math
import os

import numpy as np
import polars as pl

N_RUNS = 10
MAX_STEPS = 20_000
DT = 0.005
L_CG = 2.0
QUANTITIES = ("sop", "s2", "e_loc")


def _run_one(r, model, n_runs: int, max_steps: int):
    import glassrs as gr
    from glassrs import dynamics as dyn

    traj = r.trajectory
    tab = dyn.correlations(traj, kvectors=np.zeros((0, 3)), progress=False)
    tau = dyn.tau_alpha(tab)
    steps = max_steps if not math.isfinite(tau) else int(min(max_steps, max(200, math.ceil(3 * tau / DT))))
    frame = traj[len(traj) - 1]
    ens = gr.isoconf.ensemble(frame, model, T=r.temperature, n_runs=n_runs, steps=steps, dt=DT, seed=1,
                              progress=False)
    mob = gr.isoconf.mobility(ens)
    loc = gr.structure.local(frame, model, T=r.temperature, windows=gr.structure.trajectory_windows(r.trajectory)
                             ).with_columns(pl.lit(0, dtype=pl.Int64).alias("frame"))
    cr = gr.isoconf.correlate(loc, mob, list(QUANTITIES), L=[0.0, L_CG], frames=frame)
    return cr, steps, gr.params(mob)["tau_alpha"]["all"]


def section(runs, figdir: str, n_runs: int = N_RUNS, max_steps: int = MAX_STEPS) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from glassrs.report import model_of

    lines = ["## Structure–dynamics correlation (isoconfigurational ensembles)", ""]
    usable = []
    for r in runs:
        if r.temperature is None:
            lines.append(f"- {r.label}: no temperature known, no ensemble run (needs T for the velocities).")
            continue
        model = model_of(r)
        try:
            model.type_map(r.trajectory.species)
        except ValueError:
            lines.append(f"- {r.label}: species {list(r.trajectory.species)} are not those of the model "
                         f"'{model.name}' (species {list(model.species)}).")
            continue
        usable.append(r)
    results = []
    for r in usable:
        try:
            results.append((r, *_run_one(r, model_of(r), n_runs, max_steps)))
        except (ValueError, RuntimeError) as e:
            lines.append(f"- {r.label}: not computed: {e}")
    if not results:
        return "\n".join(lines + ["", "No ensemble could be run.", ""])
    fig, axes = plt.subplots(1, len(QUANTITIES), figsize=(4.3 * len(QUANTITIES), 3.8), sharey=True)
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(results)))
    for ax, q in zip(np.atleast_1d(axes), QUANTITIES):
        for (r, cr, _, _), col in zip(results, colors):
            for L, ls in ((0.0, "--"), (L_CG, "-")):
                sub = cr.filter((pl.col("species") == "all") & (pl.col("quantity") == q) & (pl.col("L") == L)).sort("time")
                ax.plot(sub["t_over_tau_alpha"].to_numpy(), sub["c_r"].to_numpy(), ls, color=col,
                        label=f"{r.label}, L={L:g}")
        ax.set_xscale("log")
        ax.axhline(0, color="0.7", lw=0.8)
        ax.set_xlabel("t / τ_α")
        ax.set_title(f"C_R({q}, μ)")
    np.atleast_1d(axes)[0].set_ylabel("Spearman C_R")
    np.atleast_1d(axes)[0].legend(fontsize=7)
    fig.tight_layout()
    path = os.path.join(figdir, "correlations.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    lines += [f"![correlations]({os.path.basename(path)})", "",
              f"{n_runs} runs per temperature (NVE, fresh Maxwell–Boltzmann velocities) from the last frame of "
              f"each run; all particles pooled; dashed L = 0, solid L = {L_CG:g} σ.", "",
              "| run | steps | τ_α (ensemble) | quantity | L | max C_R | at t/τ_α | C_R at t≈τ_α |",
              "|---|---|---|---|---|---|---|---|"]
    for r, cr, steps, tau in results:
        for q in QUANTITIES:
            for L in (0.0, L_CG):
                sub = cr.filter((pl.col("species") == "all") & (pl.col("quantity") == q) & (pl.col("L") == L)).sort("time")
                c = sub["c_r"].to_numpy()
                x = sub["t_over_tau_alpha"].to_numpy()
                if not np.isfinite(c).any():
                    continue
                j = int(np.nanargmax(c))
                k = int(np.argmin(np.abs(np.log(x))))
                lines.append(f"| {r.label} | {steps} | {tau:.4g} | {q} | {L:g} | {c[j]:.3f} | {x[j]:.3g} | {c[k]:.3f} |")
    lines.append("")
    return "\n".join(lines)
