"""Report section: a campaign's results with intervals over independent configurations —
τ_α(T), D, the VFT fit, γ and γ′ of the SOP, C_R(X(L), μ) against t/τ_α, and κ, G against the
parent temperature, and the rearrangement fraction P_R(T) with its Arrhenius fit when the dataset
has it. Present only when the report is built from a campaign dataset."""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from glassrs.report import _plot
from glassrs.report._plot import PALETTE


def _f(x, digits: int = 4) -> str:
    return "—" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.{digits}g}"


def _ci(row) -> str:
    return f"{_f(row['mean'])} [{_f(row['ci_low'])}, {_f(row['ci_high'])}]"


def _fit_rows(fit: pl.DataFrame, keys: list[str], stderr: bool = False) -> list[str]:
    """Markdown rows of a fit table with intervals: the ``keys`` columns, parameter, value,
    [std. error,] the interval, the number of temperatures and the fit's warning."""
    rows = []
    for r in fit.iter_rows(named=True):
        cells = [str(r[k]) for k in keys] + [str(r["parameter"]), _f(r["value"])]
        cells += [_f(r["stderr"])] if stderr else []
        cells += [f"[{_f(r['ci_low'])}, {_f(r['ci_high'])}]", str(r["n_temperatures"]), r["warning"] or ""]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def _errorbar(ax, x, sub, color, label, fmt="o") -> None:
    """Means with their interval (ci_low, ci_high) as asymmetric error bars (none where NaN)."""
    _plot.interval_errorbar(ax, x, *(sub[c].to_numpy() for c in ("mean", "ci_low", "ci_high")), fmt=fmt, color=color,
                            label=label)


def _save(fig, figdir: str, name: str, alt: str) -> list[str]:
    """Save ``fig`` as ``figdir/name`` and return the Markdown lines embedding it."""
    return _plot.save(fig, figdir, name, alt)


def _fit_warnings(fit: pl.DataFrame, what: str) -> list[str]:
    """One warning line per (system, distinct warning) of a reduce fit table."""
    out = []
    seen = set()
    for r in fit.iter_rows(named=True):
        w = r.get("warning")
        if w and (r["system"], w) not in seen:
            seen.add((r["system"], w))
            out += _plot.warning(f"{what}, {r['system']}: {w}.")
    return out


def section(runs, figdir: str) -> str:
    ds = getattr(runs[0], "dataset", None) if runs else None
    if ds is None:
        return ""
    plt = _plot.pyplot()
    from glassrs.campaign import reduce as R

    plan = ds.plan
    lines = ["## Campaign results (intervals over configurations)", ""]
    for s in plan.get("systems", []):
        lines.append(f"- **{s['name']}**: model {s['model']}, N = {s['n']}, T = {s['temperatures']}, "
                     f"{s['configurations']} independent configurations per temperature, dt = {s['dt']} τ, "
                     f"{s['thermostat'].upper()}.")
    lines += ["", "Intervals are 95 % percentile-bootstrap intervals over the independent units named in each "
                  "table (whole configurations, never the particles of one configuration). With few units they "
                  "are too narrow (≈ 85 % coverage with 5 configurations).", ""]

    if "relaxation" in ds:
        rel = ds["relaxation"]
        tau = R.tau_alpha(rel)
        D = R.tau_alpha(rel, column="D")
        lines += ["### Relaxation time and diffusion", "",
                  "| system | T | species | τ_α (q = 1/e), τ | D, σ²/τ | configurations |", "|---|---|---|---|---|---|"]
        j = tau.join(D, on=["system", "T", "species"], suffix="_D")
        for r in j.sort("system", "T", "species", descending=[False, True, False]).iter_rows(named=True):
            lines.append(f"| {r['system']} | {r['T']:g} | {r['species']} | {_ci(r)} | "
                         f"{_f(r['mean_D'])} [{_f(r['ci_low_D'])}, {_f(r['ci_high_D'])}] | {r['n_units']} |")
        lines.append("")
        fig, ax = plt.subplots(figsize=(6, 4.2))
        species = tau["species"].unique(maintain_order=True).to_list()
        for k, sp in enumerate(species):
            sub = tau.filter(pl.col("species") == sp).sort("T")
            _errorbar(ax, 1 / sub["T"].to_numpy(), sub, PALETTE[k % 8], f"τ_α {sp}")
        fit = R.vft(rel)
        lines += ["### VFT fit of τ_α(T) (all particles)", "",
                  "| system | parameter | value | std. error | 95 % interval | temperatures | note |",
                  "|---|---|---|---|---|---|---|"]
        lines += _fit_rows(fit, ["system"], stderr=True)
        lines.append("")
        lines += _fit_warnings(fit, "VFT")
        for sysname in fit["system"].unique().to_list():
            p = {r["parameter"]: r["value"] for r in fit.filter(pl.col("system") == sysname).iter_rows(named=True)}
            if all(math.isfinite(p.get(k, math.nan)) for k in ("ln_tau0", "K_VFT", "T_VFT")):
                Ts = tau.filter(pl.col("system") == sysname)["T"].to_numpy()
                Tg = np.linspace(Ts.min(), Ts.max(), 200)
                ax.plot(1 / Tg, np.exp(p["ln_tau0"] + p["T_VFT"] / (p["K_VFT"] * (Tg - p["T_VFT"]))), "k--", lw=1,
                        label=f"VFT {sysname}: K = {p['K_VFT']:.3g}, T_VFT = {p['T_VFT']:.3g}")
        _plot.log_axis(ax, "y")
        ax.set_xlabel("1/T (k_B/ε)")
        ax.set_ylabel("τ_α (τ)")
        ax.set_title("τ_α(1/T): mean over configurations, 95 % intervals")
        ax.legend(fontsize=7)
        lines += _save(fig, figdir, "campaign_tau.png", "tau_alpha(1/T)")

    if "structure_summary" in ds:
        g = R.sop_gamma(ds["structure_summary"])
        lines += ["### Structural order parameter against T", "",
                  "γ: slope of (βΦ)⁻¹ = 1/|βΦ| (macroscopic SOP) against T; γ′: slope of ⟨1/|βφ_i|⟩ (mean of the "
                  "microscopic SOP); windows shared by all temperatures (from the lowest).", "",
                  "| system | parameter | value | 95 % interval | temperatures | note |", "|---|---|---|---|---|---|"]
        lines += _fit_rows(g, ["system"])
        lines.append("")
        lines += _fit_warnings(g, "SOP(T)")
        lines += _sop_plot(plt, R, ds["structure_summary"], g, figdir)

    if "correlation" in ds:
        cr = R.correlation(ds["correlation"]).filter(pl.col("species") == "all")
        quantities = cr["quantity"].unique(maintain_order=True).to_list()
        temps = sorted(cr["T"].unique().to_list(), reverse=True)
        fig, axes = plt.subplots(1, len(quantities), figsize=(5.2 * len(quantities), 4), squeeze=False)
        Ls = sorted(cr["L"].unique().to_list())
        for ax, q in zip(axes[0], quantities):
            for kT, T in enumerate(temps):
                for kL, L in enumerate(Ls):
                    sub = cr.filter((pl.col("quantity") == q) & (pl.col("T") == T) & (pl.col("L") == L)) \
                        .sort("t_over_tau_alpha")
                    x = sub["t_over_tau_alpha"].to_numpy()
                    ax.plot(x, sub["mean"].to_numpy(), ["-", "--", ":", "-."][kL % 4], color=PALETTE[kT % 8],
                            marker="o", ms=3, label=f"T={T:g}, L={L:g}")
                    ax.fill_between(x, sub["ci_low"].to_numpy(), sub["ci_high"].to_numpy(), color=PALETTE[kT % 8],
                                    alpha=0.15, lw=0)
            _plot.log_axis(ax, "x")
            ax.axhline(0, color="grey", lw=0.5)
            ax.set_xlabel("t / τ_α")
            ax.set_ylabel(f"C_R({q}(L), μ)")
            ax.set_title(f"Spearman C_R of {q} with the mobility (all particles)")
            ax.legend(fontsize=6, ncol=2)
        best = cr.sort("mean", descending=True).head(1).row(0, named=True) if cr.height else None
        lines += ["### Structure–dynamics correlation (isoconfigurational ensembles)", "",
                  *_save(fig, figdir, "campaign_cr.png", "C_R against t/tau_alpha")]
        if best:
            lines += [f"Largest mean C_R: {best['quantity']} at L = {best['L']:g}, T = {best['T']:g}, "
                      f"t/τ_α = {best['t_over_tau_alpha']:.3g}: {_ci(best)} over {best['n_units']} configurations.",
                      ""]

    if "inherent" in ds:
        el = R.elastic(ds["inherent"])
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
        for ax, q, unit in zip(axes, ("G", "kappa"), ("G (ε/σ³)", "κ (ε/σ²)")):
            for k, sysname in enumerate(el["system"].unique(maintain_order=True).to_list()):
                sub = el.filter((pl.col("quantity") == q) & (pl.col("system") == sysname)).sort("T")
                _errorbar(ax, 1 / sub["T"].to_numpy(), sub, PALETTE[k % 8], sysname, fmt="o-")
            ax.set_xlabel("1/T_p (k_B/ε)")
            ax.set_ylabel(unit)
            ax.legend(fontsize=7)
        axes[0].set_title("athermal shear modulus of inherent structures")
        axes[1].set_title("mean dipole stiffness")
        lines += ["### Elasticity of inherent structures", "", *_save(fig, figdir, "campaign_elastic.png", "G and kappa"),
                  "| system | T_p | quantity | mean [95 % interval] | inherent structures |", "|---|---|---|---|---|"]
        for r in el.sort("system", "quantity", "T").iter_rows(named=True):
            lines.append(f"| {r['system']} | {r['T']:g} | {r['quantity']} | {_ci(r)} | {r['n_units']} |")
        lines.append("")

    if "rearrangements" in ds:
        lines += _rearrangements(plt, R, ds["rearrangements"], figdir)
    return "\n".join(lines) + "\n"


def _sop_plot(plt, R, summary, g: pl.DataFrame, figdir: str) -> list[str]:
    """SOP(T): configuration means with 95 % intervals and the γ, γ′ lines, labelled."""
    fig, ax = plt.subplots(figsize=(5.6, 4))
    for k, (col, slope, icpt, label) in enumerate((("sop_macro", "gamma", "gamma_intercept", "(βΦ)⁻¹ (macroscopic)"),
                                                   ("sop_mean", "gamma_prime", "gamma_prime_intercept",
                                                    "⟨(βφ_i)⁻¹⟩ (mean)"))):
        m = R.bootstrap_mean(summary.filter(pl.col("species") == "all"), col, ["system", "T"], unit="config")
        for j, sysname in enumerate(m["system"].unique(maintain_order=True).to_list()):
            sub = m.filter(pl.col("system") == sysname).sort("T")
            c = PALETTE[(2 * j + k) % 8]
            _errorbar(ax, sub["T"].to_numpy(), sub, c, f"{label}, {sysname}", fmt=_plot.MARKERS[k])
            p = {r["parameter"]: r["value"] for r in g.filter(pl.col("system") == sysname).iter_rows(named=True)}
            if math.isfinite(p.get(slope, math.nan)) and math.isfinite(p.get(icpt, math.nan)):
                Ts = sub["T"].to_numpy()
                tt = np.linspace(Ts.min(), Ts.max(), 50)
                name = "γ" if slope == "gamma" else "γ′"
                ax.plot(tt, p[icpt] + p[slope] * tt, "--" if k else "-", color=c, lw=1,
                        label=f"{name} = {p[slope]:.4f} k_B/ε")
    ax.set_xlabel("T (ε/k_B)")
    ax.set_ylabel("SOP (dimensionless)")
    ax.set_title("SOP against T: means over configurations, 95 % intervals")
    _plot.legend(ax, loc="best")
    return _save(fig, figdir, "campaign_sop_T.png", "SOP against T with the γ and γ′ fits")


def _rearrangements(plt, R, rea, figdir: str) -> list[str]:
    """P_R(T) (fraction of particle-frames with p_hop > p_c) with its Arrhenius fit."""
    frac = R.rearrangement_fraction(rea)
    fit = R.rearrangement_arrhenius(rea)
    lines = ["### Rearrangements", "",
             "P_R: fraction of particle-frames with p_hop > p_c, per configuration; mean over configurations, "
             "95 % intervals. Arrhenius fit ln P_R = ln P0 − ΔE/T.", "",
             "| system | T | species | p_c (σ²) | P_R [95 % interval] | configurations |", "|---|---|---|---|---|---|"]
    for r in frac.sort("system", "species", "T").iter_rows(named=True):
        lines.append(f"| {r['system']} | {r['T']:g} | {r['species']} | {_f(r['p_c'])} | {_ci(r)} | {r['n_units']} |")
    lines += ["", "| system | species | parameter | value | 95 % interval | temperatures | note |",
              "|---|---|---|---|---|---|---|"]
    lines += _fit_rows(fit, ["system", "species"])
    lines.append("")
    lines += _fit_warnings(fit, "P_R Arrhenius")
    fig, ax = plt.subplots(figsize=(5.6, 4))
    for k, ((sysname, sp), sub) in enumerate(frac.group_by(["system", "species"], maintain_order=True)):
        sub = sub.sort("T")
        c = PALETTE[k % 8]
        _errorbar(ax, 1 / sub["T"].to_numpy(), sub, c, f"{sysname} {sp}")
        p = {r["parameter"]: r["value"] for r in fit.filter((pl.col("system") == sysname) & (pl.col("species") == sp))
             .iter_rows(named=True)}
        if math.isfinite(p.get("ln_P0", math.nan)) and math.isfinite(p.get("Delta_E", math.nan)):
            Ts = sub["T"].to_numpy()
            x = np.linspace(1 / Ts.max(), 1 / Ts.min(), 50)
            ax.plot(x, np.exp(p["ln_P0"] - p["Delta_E"] * x), "--", color=c, lw=1,
                    label=f"Arrhenius, ΔE = {p['Delta_E']:.3g} ε")
    _plot.log_axis(ax, "y")
    ax.set_xlabel("1/T (k_B/ε)")
    ax.set_ylabel("P_R (fraction of particles)")
    ax.set_title("rearrangement fraction against 1/T")
    _plot.legend(ax, loc="best")
    return lines + _save(fig, figdir, "campaign_pr.png", "P_R against 1/T with its Arrhenius fit")
