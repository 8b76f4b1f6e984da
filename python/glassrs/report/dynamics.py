"""Report section: dynamics (docs: definitions §3) — MSD, q(t), F_s(t), χ4(t), α2(t) per species
and run on log-binned lags (:func:`glassrs.report.logbin.log_bin`) with error bands, τ_α against
1/T with the VFT fit and its band, and P(log10 δr) at τ_α.

Error bands and τ_α error bars: the standard error over ``N_BLOCKS`` contiguous blocks of time
origins (each block's table from :func:`glassrs.dynamics.correlations` with those origins,
log-binned on the grid of the whole run). Blocks share targets at long lags, so the bands are a
lower bound on the uncertainty there. The VFT fit and its band: :func:`glassrs.uncertainty.vft_fit`
over the same blocks (the unit: time blocks of origins), at ``VFT_LEVEL``."""

from __future__ import annotations

import math
import os

import numpy as np
import polars as pl

from glassrs.report import _plot
from glassrs.report.logbin import PER_DECADE, log_bin, log_edges

#: blocks of time origins for the error bands (fewer frames than 2 per block: no bands)
N_BLOCKS = 4

#: the VFT fit's intervals: bootstrap resamples, nominal coverage, and the unit (time blocks of one run)
VFT_BOOT, VFT_LEVEL, VFT_UNIT = 400, 0.9, "time blocks of origins"

#: (column, y label, log y, panel title)
QUANTITIES = [("msd", "MSD ⟨Δr²⟩ (σ²)", True, "mean squared displacement"),
              ("overlap", "overlap q(t)", False, "self overlap"),
              ("fs", "F_s(k, t)", False, "self intermediate scattering function"),
              ("chi4", "χ4(t) = N var(q)", False, "dynamic susceptibility"),
              ("alpha2", "α2(t)", False, "non-Gaussian parameter")]
TIME_LABEL = "t (τ)"


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


def _blocks(dyn, traj, n_blocks: int = N_BLOCKS) -> list[pl.DataFrame]:
    """Correlation tables of ``n_blocks`` contiguous blocks of origin frames ([] if too short)."""
    n = len(traj)
    if n < 2 * n_blocks:
        return []
    out = []
    for o in np.array_split(np.arange(n), n_blocks):
        try:
            out.append(dyn.correlations(traj, origins=o, progress=False))
        except (ValueError, RuntimeError):
            return []
    return out


def _bands(binned: pl.DataFrame, blocks: list[pl.DataFrame], edges: np.ndarray) -> pl.DataFrame:
    """``binned`` with a ``<column>_se`` per value column: the standard error over the blocks of
    the block-binned values (NaN where fewer than 2 blocks have the bin)."""
    cols = [c for c, *_ in QUANTITIES if c in binned.columns]
    if len(blocks) < 2:
        return binned.with_columns([pl.lit(float("nan")).alias(f"{c}_se") for c in cols])
    bb = pl.concat([log_bin(b, edges=edges).select("species", "lag_lo", *cols).with_columns(pl.lit(k).alias("_b"))
                    for k, b in enumerate(blocks)])
    se = (bb.group_by("species", "lag_lo")
          .agg([pl.when(pl.col(c).is_not_nan().sum() >= 2)
                .then(pl.col(c).filter(pl.col(c).is_not_nan()).std() / pl.col(c).is_not_nan().sum().sqrt())
                .otherwise(None).alias(f"{c}_se") for c in cols]))
    return binned.join(se, on=["species", "lag_lo"], how="left").fill_null(float("nan"))


def _curves(plt, results, figdir: str) -> list[str]:
    """The 2×3 panel of log-binned curves with bands; returns the Markdown lines."""
    from matplotlib.lines import Line2D

    fig, axes = plt.subplots(2, 3, figsize=(13, 7.5))
    axes = axes.ravel()
    species = results[0]["table"]["species"].unique(maintain_order=True).to_list()
    for k, res in enumerate(results):
        b = res["binned"]
        for s, ls in zip(species, _plot.STYLES):
            sub = b.filter(pl.col("species") == s)
            t = sub["lag"].to_numpy()
            for ax, (c, _, logy, _) in zip(axes, QUANTITIES):
                if c not in sub.columns:
                    continue
                y = sub[c].to_numpy()
                se = sub[f"{c}_se"].to_numpy()
                ax.plot(t, y, ls, color=_plot.color(k), lw=1.3, marker="o" if ls == "-" else None, ms=2.5)
                if np.isfinite(se).any():
                    lo, hi = y - se, y + se
                    if logy:
                        lo = np.where(lo > 0, lo, np.nan)
                    ax.fill_between(t, lo, hi, color=_plot.color(k), alpha=0.18, lw=0)
    handles = [Line2D([], [], color=_plot.color(k), lw=1.5, label=res["run"].label) for k, res in enumerate(results)]
    handles += [Line2D([], [], color="0.3", ls=ls, lw=1.2, label=f"species {s}") for s, ls in zip(species, _plot.STYLES)]
    p = results[0]["params"]
    kmean = p.get("k_mean")
    labels = {"overlap": f"overlap q(t), a = {p.get('a', 0.3):g} σ",
              "fs": f"F_s(k, t), |k| ≈ {kmean:.3g} σ⁻¹" if kmean else "F_s(k, t)"}
    for ax, (c, label, logy, title) in zip(axes, QUANTITIES):
        _plot.log_axis(ax, "x")
        if logy:
            _plot.log_axis(ax, "y")
        ax.set_xlabel(TIME_LABEL)
        ax.set_ylabel(labels.get(c, label))
        ax.set_title(f"{title} (±1 s.e. band)")
        _plot.legend(ax, handles, loc="best")
    axes[5].set_axis_off()
    axes[5].text(0.02, 0.98, f"Lags pooled in bins of width 1/{PER_DECADE} decade\n"
                             f"(origins of every lag in a bin pooled, weighted by n_origins).\n"
                             f"Bands: ±1 standard error over {N_BLOCKS} blocks of time origins.\n"
                             "Time unit τ: that of the data (σ√(m/ε) for LJ models).",
                 va="top", ha="left", transform=axes[5].transAxes, fontsize=8)
    return _plot.save(fig, figdir, "dynamics.png", "MSD, q, F_s, χ4 and α2 against t (log-binned lags, ±1 s.e. bands)")


def _vft_data(results) -> pl.DataFrame:
    """One row per time block of origins (the unit) and run with a temperature: T, run, block,
    tau_alpha (q = 1/e, all particles). A run too short for blocks gives its whole-run τ_α as one
    unit (then there is no interval)."""
    rows = []
    for k, res in enumerate(results):
        T = res["run"].temperature
        if not T:
            continue
        taus = res["block_rt"] or [res["rt"]]
        for b, rt in enumerate(taus):
            v = rt.filter(pl.col("species") == "all")["tau_q"]
            rows.append({"T": float(T), "run": k, "block": b, "tau_alpha": v[0] if len(v) else None})
    return pl.DataFrame(rows, schema={"T": pl.Float64, "run": pl.Int64, "block": pl.Int64, "tau_alpha": pl.Float64})


def _vft_fit(ax, results) -> list[str]:
    """VFT fit (docs: definitions §5.1) of τ_α(T) for all particles with its band
    (:func:`glassrs.uncertainty.vft_fit`: the per-T mean over time blocks of origins is fitted;
    intervals resample the blocks within each T and refit), drawn on ``ax``; returns the Markdown
    lines (a sentence, a parameter table, warnings)."""
    from glassrs import uncertainty

    data = _vft_data(results).filter(pl.col("tau_alpha").is_finite())
    n_T = data["T"].n_unique()
    if n_T < 3:
        return [f"VFT fit of τ_α(T) skipped: {n_T} temperature{'s' if n_T != 1 else ''} with a finite τ_α "
                "(needs ≥ 3 for its three parameters).", ""]
    res = uncertainty.vft_fit(data, unit=["run", "block"], unit_label=VFT_UNIT, n_boot=VFT_BOOT, level=VFT_LEVEL,
                              seed=0)
    par = {r["parameter"]: r for r in res.parameters.iter_rows(named=True)}
    if not all(math.isfinite(par[k]["value"]) for k in par):
        return [f"VFT fit of τ_α(T) failed: {par['K_VFT']['warning']}", ""]
    f = {k: par[k]["value"] for k in par}
    T = res.T
    pct = f"{100 * VFT_LEVEL:g} %"
    c = res.curve()
    Tg, y = c["T"].to_numpy(), c["tau"].to_numpy()
    ax.plot(1 / Tg, y, "k--", lw=1, label=f"VFT of the block-mean τ_α (all): K = {f['K_VFT']:.3g}, T_VFT = {f['T_VFT']:.3g}")
    lo, hi = c["ci_low"].to_numpy(), c["ci_high"].to_numpy()
    if np.isfinite(lo).any():
        span = np.exp(np.ptp(np.log(y)) + 5.0)  # a band wider than the data's range of τ is clipped to it
        ax.fill_between(1 / Tg, np.maximum(lo, y / span), np.minimum(hi, y * span), color="0.5", alpha=0.25, lw=0,
                        label=f"VFT {pct} band (bootstrap over {res.unit})")
    dof = len(T) - 3
    n_u = int(par["K_VFT"]["n_units"])

    def ci(k):
        return f"{_fmt(par[k]['ci_low'])} – {_fmt(par[k]['ci_high'])}"

    what = (f"the mean τ_α over {res.unit} ({n_u} in all) at each temperature; {pct} intervals: percentile "
            f"bootstrap over the {res.unit}, resampled within each temperature and refitted ({VFT_BOOT} resamples, "
            f"{par['K_VFT']['n_failed']} failed)")
    out: list[str] = []
    if len(T) == 3:
        out += [f"VFT fit (docs: definitions §5.1) of τ_α(T), all particles, through 3 temperatures (exactly "
                f"determined: no residual, so no fit standard errors; ≥ 4 temperatures give them) of {what}: "
                f"K_VFT = {f['K_VFT']:.3g} ({ci('K_VFT')}), T_VFT = {f['T_VFT']:.3g} ({ci('T_VFT')}), "
                f"ln τ0 = {f['ln_tau0']:.3g} ({ci('ln_tau0')}).", ""]
    else:
        out += [f"VFT fit (docs: definitions §5.1) of τ_α(T), all particles, {len(T)} temperatures, of {what}: "
                f"K_VFT = {f['K_VFT']:.3g} ± {par['K_VFT']['stderr']:.2g}, T_VFT = {f['T_VFT']:.3g} ± "
                f"{par['T_VFT']['stderr']:.2g}, ln τ0 = {f['ln_tau0']:.3g} ± {par['ln_tau0']['stderr']:.2g} "
                "(± the fit's standard error).", ""]
    out += [f"| parameter | value | std. error | {pct} CI ({res.unit}) | unit |", "|---|---|---|---|---|"]
    for k, label, unit in (("ln_tau0", "ln τ0", "ln τ"), ("K_VFT", "K_VFT", "—"), ("T_VFT", "T_VFT", "ε/k_B")):
        se = par[k]["stderr"] if dof > 0 else float("nan")
        out.append(f"| {label} | {f[k]:.4g} | {_fmt(float(se))} | {ci(k)} | {unit} |")
    out.append("")
    se_t0 = par["T_VFT"]["stderr"]
    if dof > 0 and math.isfinite(se_t0) and se_t0 > abs(f["T_VFT"]):
        out += _plot.warning(f"VFT: T_VFT = {f['T_VFT']:.3g} ± {se_t0:.2g} is not determined by these data (its "
                             "error exceeds its value): τ_α(T) is as well described by an Arrhenius law here.")
    if dof <= 2:
        out += _plot.warning(f"VFT: {len(T)} temperatures for 3 parameters leave {dof} degree"
                             f"{'s' if dof != 1 else ''} of freedom — the fit "
                             + ("interpolates the points and says nothing about the quality of the VFT form"
                                if dof == 0 else "cannot test the VFT form and its errors are unreliable")
                             + "; more temperatures are needed for a meaningful T_VFT.")
    if "single" in (par["K_VFT"]["warning"] or ""):
        out += _plot.warning(f"VFT: no interval — {par['K_VFT']['warning']} (runs too short for "
                             f"{N_BLOCKS} blocks of origins).")
    out += _plot.warning(f"VFT intervals from {N_BLOCKS} {res.unit} per temperature are percentile intervals "
                         "from few units: narrower than their nominal coverage.") if n_u < 10 * len(T) else []
    return out


def section(runs, figdir: str) -> str:
    plt = _plot.pyplot()
    from glassrs import dynamics as dyn
    from glassrs.tables import params

    lines = ["## Dynamics", ""]
    results = []
    for r in runs:
        try:
            tab = dyn.correlations(r.trajectory, progress=False)
        except (ValueError, RuntimeError) as e:
            lines.append(f"- {r.label}: dynamics not computed: {e}")
            continue
        edges = log_edges(tab.filter(pl.col("lag") > 0)["lag"].to_numpy()) if (tab["lag"] > 0).any() else None
        if edges is None:
            lines.append(f"- {r.label}: dynamics not computed: a single frame (no lag > 0)")
            continue
        blocks = _blocks(dyn, r.trajectory)
        binned = _bands(log_bin(tab, edges=edges), blocks, edges)
        results.append({"run": r, "table": tab, "params": params(tab), "binned": binned, "blocks": blocks})
    if not results:
        return "\n".join(lines + ["", "No run could be analysed.", ""])
    if len(lines) > 2:
        lines.append("")
    lines += [f"Curves against the lag t on log-binned lags: {PER_DECADE} bins per decade, every lag of the "
              "frame schedule in a bin pooled with its origins (weights n_origins; χ4 is the pooled within-lag "
              "variance). Bands: ±1 standard error over "
              f"{N_BLOCKS} contiguous blocks of time origins (blocks share targets at long lags: a lower bound).", ""]
    lines += _curves(plt, results, figdir)

    # τ_α against 1/T
    species = results[0]["table"]["species"].unique(maintain_order=True).to_list()
    for res in results:
        res["rt"] = dyn.relaxation_times(res["table"])
        taus = res["block_rt"] = [dyn.relaxation_times(b) for b in res["blocks"]]
        se = {}
        for s in species:
            v = np.array([t.filter(pl.col("species") == s)["tau_q"][0] for t in taus], dtype=float)
            v = v[np.isfinite(v)]
            se[s] = float(v.std(ddof=1) / math.sqrt(v.size)) if v.size >= 2 else float("nan")
        res["tau_se"] = se
    with_t = [(res["run"].temperature, res["rt"]) for res in results if res["run"].temperature]
    if with_t:
        fig, ax = plt.subplots(figsize=(5.6, 4.2))
        for k, (s, mk) in enumerate(zip(species, _plot.MARKERS)):
            pts = [(1 / res["run"].temperature, res["rt"].filter(pl.col("species") == s)["tau_q"][0],
                    res["tau_se"][s]) for res in results if res["run"].temperature]
            x, y, e = (np.array(v, dtype=float) for v in zip(*pts))
            ax.errorbar(x, y, yerr=np.where(np.isfinite(e), e, 0), fmt=mk, color=_plot.color(k), capsize=3,
                        label=f"τ_α, species {s}")
        fit_lines = _vft_fit(ax, results)
        _plot.log_axis(ax, "y")
        ax.set_xlabel("1/T (k_B/ε)")
        ax.set_ylabel("τ_α (τ), from q(τ_α) = 1/e")
        ax.set_title("τ_α against 1/T (error bars: ±1 s.e. over origin blocks)")
        _plot.legend(ax, loc="best")
        lines += ["### Relaxation time against temperature", ""]
        lines += _plot.save(fig, figdir, "dynamics_tau.png",
                            f"τ_α against 1/T with the VFT fit and its {100 * VFT_LEVEL:g} % band (bootstrap over "
                            f"{VFT_UNIT})")
        lines += fit_lines
    else:
        lines += ["τ_α against 1/T: no temperatures known (give each run its temperature, e.g. FILE:T=0.6).", ""]

    # P(log10 δr) at τ_α
    fig, ax = plt.subplots(figsize=(6, 4))
    plotted = False
    for k, res in enumerate(results):
        tau = dyn.tau_alpha(res["table"])
        if not math.isfinite(tau):
            continue
        lp = dyn.log_displacements(res["run"].trajectory, lags=[tau], progress=False)
        for s, ls in zip(species, _plot.STYLES):
            sub = lp.filter(lp["species"] == s)
            ax.plot(sub["log10_dr"].to_numpy(), sub["p"].to_numpy(), ls, color=_plot.color(k),
                    label=f"{res['run'].label}, {s}")
            plotted = True
    if plotted:
        ax.set_xlabel("log10(δr / σ)")
        ax.set_ylabel("P(log10 δr) at t = τ_α")
        ax.set_title("distribution of single-particle displacements at τ_α")
        _plot.legend(ax, loc="best", ncol=2 if len(results) > 2 else 1)
        lines += ["### Displacement distribution at τ_α", ""]
        lines += _plot.save(fig, figdir, "dynamics_logdr.png", "P(log10 δr) at τ_α")
    else:
        plt.close(fig)
        lines += ["P(log10 δr): the overlap never drops to 1/e in these runs (τ_α not reached).", ""]

    lines += ["### Relaxation times, diffusion and non-Gaussianity", "",
              "| run | T | species | τ_α (q = 1/e) | τ_α (F_s = 1/e) | D | t* (α2 peak) | α2(t*) | MSD(t*) = p_c "
              "| τ_α (q) s.e. (origin blocks) |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    notes = []
    for res in results:
        r, tab = res["run"], res["table"]
        d, note = _diffusion(dyn, tab)
        notes.append(f"{r.label}: D from {note}.")
        binned = res["binned"]
        for row in res["rt"].iter_rows(named=True):
            s = row["species"]
            try:  # the α2 peak on the log-binned curve (the raw per-lag maximum is a noise spike)
                t_star, a2, m = dyn.alpha2_peak(binned, s)
            except ValueError:
                t_star = a2 = m = None
            lines.append(f"| {r.label} | {'' if r.temperature is None else r.temperature} | {s} | {_fmt(row['tau_q'])} | "
                         f"{_fmt(row['tau_fs'])} | {_fmt(d) if s == 'all' else ''} | {_fmt(t_star)} | {_fmt(a2)} | "
                         f"{_fmt(m)} | {_fmt(res['tau_se'][s])} |")
    p = results[0]["params"]
    lines += ["", f"Overlap a = {p['a']}, F_s at |k| ≈ {_fmt(p['k_mean'])} ({p['n_k']} vectors; {p['k_source']}); "
              f"α2 pooled over particles and origins; all origins; t*, α2(t*) and MSD(t*) read on the log-binned "
              "curve. " + " ".join(notes), ""]
    return "\n".join(lines)
