"""Report section: dynamics (docs: definitions §3) — MSD, q(t), χ4(t), α2(t), F_s(t) per species and run,
τ_α against 1/T, and P(log10 δr) at τ_α."""

from __future__ import annotations

import math
import os

import numpy as np


def _fmt(x) -> str:
    return "—" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.4g}"


def _diffusion(dyn, table):
    sub = table.filter(table["species"] == "all").sort("lag")
    lag, msd = sub["lag"].to_numpy(), sub["msd"].to_numpy()
    sel = (msd >= 1.0) & (lag <= 0.5 * lag.max())
    if sel.sum() < 3:
        return None, "MSD < 1 σ² over the first half of the lags: no diffusive range"
    d, _ = dyn.diffusion_constant(table, float(lag[sel][0]), float(lag[sel][-1]))
    return d, f"fit of MSD over [{lag[sel][0]:.4g}, {lag[sel][-1]:.4g}]"


def section(runs, figdir: str) -> str:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from glassrs import dynamics as dyn

    lines = ["## Dynamics", ""]
    results = []
    for r in runs:
        try:
            tab = dyn.correlations(r.trajectory, progress=False)
        except (ValueError, RuntimeError) as e:
            lines.append(f"- {r.label}: dynamics not computed: {e}")
            continue
        results.append((r, tab))
    if not results:
        return "\n".join(lines + ["", "No run could be analysed.", ""])

    quantities = [("msd", "MSD (σ²)", True), ("overlap", "q(t)", False), ("chi4", "χ4(t)", False),
                  ("alpha2", "α2(t)", False), ("fs", "F_s(k, t)", False)]
    fig, axes = plt.subplots(2, 3, figsize=(13, 7.5))
    axes = axes.ravel()
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(results)))
    styles = ["-", "--", ":", "-."]
    species = results[0][1]["species"].unique(maintain_order=True).to_list()
    for (r, tab), col in zip(results, colors):
        for s, ls in zip(species, styles):
            sub = tab.filter(tab["species"] == s).sort("lag")
            sub = sub.filter(sub["lag"] > 0)
            for ax, (c, label, logy) in zip(axes, quantities):
                ax.plot(sub["lag"].to_numpy(), sub[c].to_numpy(), ls, color=col,
                        label=f"{r.label} {s}" if c == "msd" else None)
    for ax, (c, label, logy) in zip(axes, quantities):
        ax.set_xscale("log")
        if logy:
            ax.set_yscale("log")
        ax.set_xlabel("lag τ")
        ax.set_ylabel(label)
    axes[0].legend(fontsize=7)

    # τ_α against 1/T
    taus = []
    for r, tab in results:
        rt = dyn.relaxation_times(tab)
        taus.append((r, rt))
    ax = axes[5]
    fit_lines: list[str] = []
    with_t = [(r.temperature, rt) for r, rt in taus if r.temperature]
    if with_t:
        for s, ls in zip(species, styles):
            x = [1 / T for T, _ in with_t]
            y = [rt.filter(rt["species"] == s)["tau_q"][0] for _, rt in with_t]
            ax.plot(x, y, "o" + ls, label=s)
        vft_line = _vft_fit(ax, with_t)
        if vft_line:
            fit_lines.append(vft_line)
        ax.set_yscale("log")
        ax.set_xlabel("1/T")
        ax.set_ylabel("τ_α (overlap)")
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, "τ_α vs 1/T:\nno temperatures known", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    fig.tight_layout()
    path = os.path.join(figdir, "dynamics.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    lines += [f"![dynamics]({os.path.basename(path)})", ""] + fit_lines

    # P(log10 δr) at τ_α
    fig, ax = plt.subplots(figsize=(6, 4))
    plotted = False
    for (r, tab), col in zip(results, colors):
        tau = dyn.tau_alpha(tab)
        if not math.isfinite(tau):
            continue
        lp = dyn.log_displacements(r.trajectory, lags=[tau], progress=False)
        for s, ls in zip(species, styles):
            sub = lp.filter(lp["species"] == s)
            ax.plot(sub["log10_dr"].to_numpy(), sub["p"].to_numpy(), ls, color=col, label=f"{r.label} {s}")
            plotted = True
    if plotted:
        ax.set_xlabel("log10 δr")
        ax.set_ylabel("P(log10 δr) at τ_α")
        ax.legend(fontsize=7)
        fig.tight_layout()
        p2 = os.path.join(figdir, "dynamics_logdr.png")
        fig.savefig(p2, dpi=110)
        lines += [f"![P(log10 dr) at tau_alpha]({os.path.basename(p2)})", ""]
    else:
        lines += ["P(log10 δr): the overlap never drops to 1/e in these runs (τ_α not reached).", ""]
    plt.close(fig)

    lines += ["| run | T | species | τ_α (q = 1/e) | τ_α (F_s = 1/e) | D | t* (α2 peak) | α2(t*) | MSD(t*) = p_c |",
              "|---|---|---|---|---|---|---|---|---|"]
    notes = []
    for (r, tab), (_, rt) in zip(results, taus):
        d, note = _diffusion(dyn, tab)
        notes.append(f"{r.label}: D from {note}.")
        for row in rt.iter_rows(named=True):
            s = row["species"]
            try:
                t_star, a2, m = dyn.alpha2_peak(tab, s)
            except ValueError:
                t_star = a2 = m = None
            lines.append(f"| {r.label} | {'' if r.temperature is None else r.temperature} | {s} | {_fmt(row['tau_q'])} | "
                         f"{_fmt(row['tau_fs'])} | {_fmt(d) if s == 'all' else ''} | {_fmt(t_star)} | {_fmt(a2)} | {_fmt(m)} |")
    from glassrs.tables import params
    p = params(results[0][1])
    lines += ["", f"Overlap a = {p['a']}, F_s at |k| ≈ {_fmt(p['k_mean'])} ({p['n_k']} vectors; {p['k_source']}); "
              f"α2 pooled over particles and origins; all origins. " + " ".join(notes), ""]
    return "\n".join(lines)


def _vft_fit(ax, with_t) -> str:
    """VFT fit (docs: definitions §5.1) of τ_α(T) for all particles, drawn on ``ax``; returns a Markdown line."""
    from glassrs import fits

    pts = [(T, rt.filter(rt["species"] == "all")["tau_q"][0]) for T, rt in with_t]
    pts = [(T, t) for T, t in pts if t is not None and math.isfinite(t)]
    if len({T for T, _ in pts}) < 3:
        return (f"VFT fit of τ_α(T) skipped: {len({T for T, _ in pts})} temperatures with a finite τ_α "
                "(needs ≥ 3 for its three parameters).\n")
    T, tau = map(np.asarray, zip(*pts))
    try:
        import warnings
        with warnings.catch_warnings():  # 3 points: no covariance (reported as such below)
            warnings.simplefilter("ignore")
            f = fits.vft(T, tau)
    except (RuntimeError, ValueError) as e:
        return f"VFT fit of τ_α(T) failed: {e}\n"
    Tg = np.linspace(T.min(), T.max(), 100)
    ax.plot(1 / Tg, np.exp(f(Tg)), "k--", lw=0.8, label="VFT (all)")
    n_T = len(set(T.tolist()))
    if n_T == 3 and len(T) == 3:
        return (f"VFT fit (docs: definitions §5.1) of τ_α(T), all particles, through 3 temperatures (exactly "
                f"determined: no residual, so no uncertainties; ≥ 4 temperatures give them): "
                f"K_VFT = {f['K_VFT']:.3g}, T_VFT = {f['T_VFT']:.3g}, ln τ0 = {f['ln_tau0']:.3g}.\n")
    return (f"VFT fit (docs: definitions §5.1) of τ_α(T), all particles, {len(T)} temperatures: "
            f"K_VFT = {f['K_VFT']:.3g} ± {f.stderr['K_VFT']:.2g}, T_VFT = {f['T_VFT']:.3g} ± "
            f"{f.stderr['T_VFT']:.2g}, ln τ0 = {f['ln_tau0']:.3g} ± {f.stderr['ln_tau0']:.2g}.\n")
