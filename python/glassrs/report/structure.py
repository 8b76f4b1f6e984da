"""Report section: static structure — g_uv(r) (all frames) with the SOP integration windows,
S_uv(q), P(sop) per species and temperature, the macroscopic and mean SOP against T with their
linear fits (γ, γ′) drawn and labelled when the runs have temperatures."""

from __future__ import annotations

import os

import numpy as np
import polars as pl

from glassrs.report import _plot

#: frames of the per-particle SOP per run (evenly spaced) — keeps the report quick on long trajectories
MAX_FRAMES = 10
#: frames of the global g(r) (which places the windows): all of them up to this many
MAX_RDF_FRAMES = 1000


def _frames(traj, most: int = MAX_FRAMES) -> np.ndarray:
    n = len(traj)
    return np.unique(np.linspace(0, n - 1, min(n, most)).round().astype(int))


def section(runs, figdir: str) -> str:
    plt = _plot.pyplot()
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
            g = gr.structure.rdf(r.trajectory, r_max=min(half, 5.0), dr=0.01,
                                 frames=_frames(r.trajectory, MAX_RDF_FRAMES))
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
    sqs.sort(key=lambda t: runs.index(t[0]))
    pairs = rdfs[0][1]["pair"].unique(maintain_order=True).to_list()
    fig, axes = plt.subplots(2, len(pairs), figsize=(4 * len(pairs), 6.4), squeeze=False)
    for j, pair in enumerate(pairs):
        for k, (r, g) in enumerate(rdfs):
            sub = g.filter(pl.col("pair") == pair)
            axes[0, j].plot(sub["r"], sub["g"], lw=1, color=_plot.color(k), label=r.label)
        for k, (r, s) in enumerate(sqs):
            sub = s.filter(pl.col("pair") == pair)
            axes[1, j].plot(sub["q"], sub["s"], lw=1, color=_plot.color(k), label=r.label)
        axes[0, j].set(title=f"pair distribution function, {pair}", xlabel="r (σ)", ylabel=f"g_{pair}(r)")
        axes[1, j].set(title=f"partial structure factor, {pair}", xlabel="q (σ⁻¹)", ylabel=f"S_{pair}(q)")
        axes[1, j].axhline(0, color="0.7", lw=0.6)
        if pair in windows:
            for m, x in enumerate(windows[pair]):
                axes[0, j].axvline(x, color="k", ls=":", lw=0.9,
                                   label=f"SOP window [{windows[pair][0]:.3f}, {windows[pair][1]:.3f}] σ" if m == 0
                                   else None)
        _plot.legend(axes[0, j], loc="upper right")
        _plot.legend(axes[1, j], loc="upper right")
    lines += ["Partial g_uv(r) (histogram, Δr = 0.01 σ, all frames up to "
              f"{MAX_RDF_FRAMES}) and S_uv(q) (reciprocal-lattice shells, Δq = 0.1 σ⁻¹, 3 frames); "
              "dotted lines: the SOP integration windows.", ""]
    lines += _plot.save(fig, figdir, "structure_gr_sq.png", "g(r) and S(q) with the SOP windows")
    wtxt = ", ".join(f"{k}: [{v[0]:.3f}, {v[1]:.3f}]" for k, v in windows.items())
    lines += [f"SOP (docs: definitions §2.6): closure `approx`, δ = 0.09, windows {wtxt} (from the "
              f"{'lowest-temperature' if runs[order[0]].temperature is not None else 'first'} run, shared by all runs); "
              f"per-particle values on up to {MAX_FRAMES} frames per run.", "",
              "| run | T | frames | ⟨sop⟩ | sop_macro | ⟨s2⟩ | ⟨e_loc⟩ |", "|---|---|---|---|---|---|---|"]
    species = rdfs[0][0].trajectory.species
    fig, axes = plt.subplots(1, len(species), figsize=(4 * len(species), 3.4), squeeze=False)
    rows = []
    for k, (r, loc) in enumerate(sorted(locs, key=lambda t: runs.index(t[0]))):
        p = gr.params(loc)
        el = loc["e_loc"].mean() if loc["e_loc"].null_count() < loc.height else float("nan")
        lines.append(f"| {r.label} | {'' if r.temperature is None else r.temperature} | {p['n_frames']} | "
                     f"{p['sop_mean']:.4f} | {p['sop_macro']:.4f} | {loc['s2'].mean():.4f} | {el:.4f} |")
        rows.append((r.temperature, p["sop_mean"], p["sop_macro"]))
        for j, sp in enumerate(species):
            x = loc.filter(pl.col("species") == sp)["sop"].to_numpy()
            x = x[np.isfinite(x)]
            hi = np.quantile(x, 0.995) if x.size else 1.0
            axes[0, j].hist(x, bins=60, range=(0, hi), density=True, histtype="step", color=_plot.color(k),
                            label=r.label)
            axes[0, j].set(title=f"P(sop), species {sp}", xlabel="sop = 1/|βφ_i| (dimensionless)",
                           ylabel="P(sop)")
    for ax in axes[0]:
        _plot.legend(ax, loc="upper right")
    lines += [""]
    lines += _plot.save(fig, figdir, "structure_psop.png", "P(sop) per species")
    withT = [t for t in rows if t[0] is not None]
    if len(withT) >= 2:
        T = np.array([t[0] for t in withT])
        macro = np.array([t[2] for t in withT])
        mean = np.array([t[1] for t in withT])
        fm = gr.structure.sop_temperature_fit(T, macro)
        fl = gr.structure.sop_temperature_fit(T, mean)
        fig, ax = plt.subplots(figsize=(5.2, 3.8))
        tt = np.linspace(T.min(), T.max(), 50)
        ax.plot(T, macro, "o", color=_plot.color(0), label="sop_macro = 1/|βΦ|")
        ax.plot(tt, fm["sop0"] + fm["gamma"] * tt, "-", lw=1, color=_plot.color(0),
                label=f"fit: γ = {fm['gamma']:.4f} ± {fm['gamma_err']:.2g} k_B/ε")
        ax.plot(T, mean, "s", color=_plot.color(1), label="⟨1/|βφ_i|⟩")
        ax.plot(tt, fl["sop0"] + fl["gamma"] * tt, "--", lw=1, color=_plot.color(1),
                label=f"fit: γ′ = {fl['gamma']:.4f} ± {fl['gamma_err']:.2g} k_B/ε")
        ax.set(xlabel="T (ε/k_B)", ylabel="SOP (dimensionless)", title="structural order parameter against T")
        _plot.legend(ax, loc="best")
        lines += [f"Linear fits (docs: definitions §5.2): γ = {fm['gamma']:.4f} ± {fm['gamma_err']:.4f} (macroscopic), "
                  f"γ′ = {fl['gamma']:.4f} ± {fl['gamma_err']:.4f} (⟨sop⟩).", "",
                  "| quantity | slope (k_B/ε) | std. error | intercept | std. error | temperatures |",
                  "|---|---|---|---|---|---|",
                  f"| γ (macroscopic SOP, sop_macro) | {fm['gamma']:.4g} | {fm['gamma_err']:.2g} | {fm['sop0']:.4g} | {fm['sop0_err']:.2g} | {len(T)} |",
                  f"| γ′ (mean SOP, ⟨sop⟩) | {fl['gamma']:.4g} | {fl['gamma_err']:.2g} | {fl['sop0']:.4g} | "
                  f"{fl['sop0_err']:.2g} | {len(T)} |", ""]
        if len(set(T.tolist())) <= 3:
            lines += _plot.warning(f"SOP(T): a line through {len(set(T.tolist()))} temperatures has "
                                   f"{len(set(T.tolist())) - 2} degree(s) of freedom; the errors of γ and γ′ are "
                                   "unreliable.")
        lines += _plot.save(fig, figdir, "structure_sop_T.png", "SOP against T with the γ and γ′ fits")
    return "\n".join(lines) + "\n"
