"""Report section: static structure — g_uv(r), S_uv(q), P(sop) per species and temperature,
the macroscopic SOP vs T with its linear fit (γ) when the runs have temperatures."""

from __future__ import annotations

import os

import numpy as np
import polars as pl

#: frames analysed per run (evenly spaced) — keeps the report quick on long trajectories
MAX_FRAMES = 10


def _frames(traj) -> np.ndarray:
    n = len(traj)
    return np.unique(np.linspace(0, n - 1, min(n, MAX_FRAMES)).round().astype(int))


def section(runs, figdir: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import glassrs as gr

    lines = ["## Static structure", ""]
    from glassrs.report import model_of

    model = None
    try:
        model = model_of(runs[0]) if runs else None
        for r in runs:
            model.type_map(r.trajectory.species)
    except ValueError:
        model = None
    rdfs, sqs, locs = [], [], []
    windows = None
    # windows from the lowest-temperature run (or the first) so that a T series shares them
    order = sorted(range(len(runs)), key=lambda k: (runs[k].temperature is None, runs[k].temperature or 0.0))
    for k in order:
        r = runs[k]
        idx = _frames(r.trajectory)
        try:
            half = r.trajectory[0].box.max_cutoff
            g = gr.structure.rdf(r.trajectory, r_max=min(half, 5.0), dr=0.01, frames=idx)
            s = gr.structure.sq(r.trajectory, q_max=15.0, dq=0.1, frames=idx[:3])
            if windows is None:
                # every frame: the first minimum of a minority pair (B-B) needs them (definitions §2.5)
                windows = gr.structure.find_windows(gr.structure.rdf(r.trajectory, r_max=min(half, 4.0), dr=0.01))
            loc = gr.structure.local(r.trajectory, model, T=r.temperature, closure="approx", windows=windows,
                                     frames=idx, e_pair=False)
        except ValueError as e:
            lines.append(f"- {r.label}: structure skipped ({e})")
            continue
        rdfs.append((r, g))
        sqs.append((r, s))
        locs.append((r, loc))
    if not rdfs:
        return "\n".join(lines) + "\n"
    rdfs.sort(key=lambda t: runs.index(t[0]))
    pairs = rdfs[0][1]["pair"].unique(maintain_order=True).to_list()
    fig, axes = plt.subplots(2, len(pairs), figsize=(4 * len(pairs), 6), squeeze=False)
    for j, pair in enumerate(pairs):
        for r, g in rdfs:
            sub = g.filter(pl.col("pair") == pair)
            axes[0, j].plot(sub["r"], sub["g"], lw=1, label=r.label)
        for r, s in sqs:
            sub = s.filter(pl.col("pair") == pair)
            axes[1, j].plot(sub["q"], sub["s"], lw=1, label=r.label)
        axes[0, j].set(title=f"g_{pair}(r)", xlabel="r (σ)")
        axes[1, j].set(title=f"S_{pair}(q)", xlabel="q (σ⁻¹)")
        if pair in windows:
            for x in windows[pair]:
                axes[0, j].axvline(x, color="k", ls=":", lw=0.8)
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(figdir, "structure_gr_sq.png"), dpi=110)
    plt.close(fig)
    lines += ["Partial g_uv(r) (histogram, Δr = 0.01 σ) and S_uv(q) (reciprocal-lattice shells, Δq = 0.1 σ⁻¹); "
              "dotted lines: the SOP integration windows.", "", "![g(r) and S(q)](structure_gr_sq.png)", ""]
    wtxt = ", ".join(f"{k}: [{v[0]:.3f}, {v[1]:.3f}]" for k, v in windows.items())
    lines += [f"SOP (docs: definitions §2.6): closure `approx`, δ = 0.09, windows {wtxt} (from the "
              f"{'lowest-temperature' if runs[order[0]].temperature is not None else 'first'} run, shared by all runs).", "",
              "| run | T | frames | ⟨sop⟩ | sop_macro | ⟨s2⟩ | ⟨e_loc⟩ |", "|---|---|---|---|---|---|---|"]
    species = rdfs[0][0].trajectory.species
    fig, axes = plt.subplots(1, len(species), figsize=(4 * len(species), 3.2), squeeze=False)
    rows = []
    for r, loc in sorted(locs, key=lambda t: runs.index(t[0])):
        p = gr.params(loc)
        el = loc["e_loc"].mean() if loc["e_loc"].null_count() < loc.height else float("nan")
        lines.append(f"| {r.label} | {'' if r.temperature is None else r.temperature} | {p['n_frames']} | "
                     f"{p['sop_mean']:.4f} | {p['sop_macro']:.4f} | {loc['s2'].mean():.4f} | {el:.4f} |")
        rows.append((r.temperature, p["sop_mean"], p["sop_macro"]))
        for j, sp in enumerate(species):
            x = loc.filter(pl.col("species") == sp)["sop"].to_numpy()
            x = x[np.isfinite(x)]
            hi = np.quantile(x, 0.995) if x.size else 1.0
            axes[0, j].hist(x, bins=60, range=(0, hi), density=True, histtype="step", label=r.label)
            axes[0, j].set(title=f"P(sop), species {sp}", xlabel="sop = 1/|βφ_i|")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(figdir, "structure_psop.png"), dpi=110)
    plt.close(fig)
    lines += ["", "![P(sop)](structure_psop.png)", ""]
    withT = [t for t in rows if t[0] is not None]
    if len(withT) >= 2:
        T = np.array([t[0] for t in withT])
        macro = np.array([t[2] for t in withT])
        mean = np.array([t[1] for t in withT])
        fm = gr.structure.sop_temperature_fit(T, macro)
        fl = gr.structure.sop_temperature_fit(T, mean)
        fig, ax = plt.subplots(figsize=(4.5, 3.2))
        ax.plot(T, macro, "o", label="sop_macro = 1/|βΦ|")
        ax.plot(T, mean, "s", label="⟨1/|βφ_i|⟩")
        tt = np.linspace(T.min(), T.max(), 50)
        ax.plot(tt, fm["sop0"] + fm["gamma"] * tt, "-", lw=1)
        ax.plot(tt, fl["sop0"] + fl["gamma"] * tt, "--", lw=1)
        ax.set(xlabel="T", ylabel="SOP")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(os.path.join(figdir, "structure_sop_T.png"), dpi=110)
        plt.close(fig)
        lines += [f"Linear fits (docs: definitions §5.2): γ = {fm['gamma']:.4f} ± {fm['gamma_err']:.4f} (macroscopic), "
                  f"γ′ = {fl['gamma']:.4f} ± {fl['gamma_err']:.4f} (⟨sop⟩).", "",
                  "![SOP vs T](structure_sop_T.png)", ""]
    return "\n".join(lines) + "\n"
