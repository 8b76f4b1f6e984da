"""Report section: mesoscopic elasticity of inherent structures (docs: definitions §6).

Runs only when inherent structures are requested: ``section(runs, figdir,
inherent_structures=True)`` or a run carrying ``inherent_structures = True`` (the report CLI
sets it from its flag). For every run with a temperature it quenches a few frames with FIRE
(parent temperature T_p = the run's T), then reports κ(T_p) and G(T_p) with ``LEVEL`` percentile
bootstrap intervals over the inherent structures of the run (:func:`glassrs.uncertainty.elastic`,
unit ``structure``; the dipoles of one structure are never resampled), P(κ_ij), their relative
change with 1/T_p, and — when the dynamics module provides τ_α — the mesoelastic fit
ln(τ_α/t0) = (ℓ̃a0)² κ/T + ln t̃.
"""

from __future__ import annotations

import math
import os

import numpy as np
import polars as pl


#: nominal coverage and bootstrap resamples of the κ(T_p), G(T_p) intervals
LEVEL, N_BOOT = 0.9, 2000
PCT = f"{100 * LEVEL:g} %"


def _fmt(x) -> str:
    return "" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.4g}"


def _model(run):
    from glassrs.report import model_of
    m = getattr(run.trajectory, "model", None)
    return m if m is not None else model_of(run)


def _tau_alpha(run):
    """τ_α of a run from the dynamics module if it is available, else None."""
    try:
        from glassrs import dynamics as dyn
        tab = dyn.correlations(run.trajectory, progress=False)
        tau = float(dyn.tau_alpha(tab))
        return tau if math.isfinite(tau) else None
    except Exception:  # dynamics not built, or too short a run: the fit is skipped
        return None


def section(runs, figdir: str, *, inherent_structures: bool | None = None, n_structures: int = 4,
            n_pairs: int = 500, seed: int = 0) -> str:
    flag = inherent_structures if inherent_structures is not None else any(
        getattr(r, "inherent_structures", False) for r in runs)
    if not flag:
        return ""
    from glassrs import elastic, uncertainty
    from glassrs.minimize import fire_batch

    lines = ["## Elasticity of inherent structures", "",
             f"FIRE quenches of up to {n_structures} frames per run (parent temperature T_p = run temperature); "
             f"κ_ij of {n_pairs} sampled interacting pairs per structure (docs: definitions §6.4); G averaged over the six simple-shear "
             f"planes. Intervals: {PCT} percentile bootstrap over the inherent structures of each run "
             "(glassrs.uncertainty.elastic; a structure's dipoles are never resampled; with one structure there is "
             "no interval).", "",
             f"| run | T_p | structures | dipoles | ⟨κ⟩ (ε/σ²) | κ {PCT} CI | G (ε/σ³) | G {PCT} CI | solver |",
             "|---|---|---|---|---|---|---|---|---|"]
    results = []
    for r in runs:
        traj = r.trajectory
        model = _model(r)
        idx = np.unique(np.linspace(0, len(traj) - 1, min(n_structures, len(traj))).round().astype(int))
        try:
            frames, _ = fire_batch([elastic.with_model_species(traj[int(k)], model) for k in idx], model)
            per, summ = elastic.kappa_ensemble(frames, model, parent_temperature=r.temperature, n_pairs=n_pairs,
                                               seed=seed, n_boot=N_BOOT, ci=LEVEL)
            kap = [elastic.dipole_stiffness(f, model, pairs=n_pairs, seed=seed + k) for k, f in enumerate(frames)]
            Tp = float("nan") if r.temperature is None else float(r.temperature)
            iv = uncertainty.elastic(per.with_columns(pl.lit(Tp, pl.Float64).alias("T")), unit="structure",
                                     n_boot=N_BOOT, level=LEVEL, seed=seed)
        except Exception as e:  # a section never breaks the report
            lines.append(f"| {r.label} | {_fmt(r.temperature)} | — | — | {type(e).__name__}: {e} | | | | |")
            continue
        s = summ.row(0, named=True)
        for q in iv.iter_rows(named=True):  # the intervals over structures
            s.update({q["quantity"]: q["mean"], f"{q['quantity']}_lo": q["ci_low"], f"{q['quantity']}_hi": q["ci_high"],
                      "unit": q["unit"]})
        results.append((r, s, np.concatenate([k["kappa"].to_numpy() for k in kap])))
        lines.append(f"| {r.label} | {_fmt(r.temperature)} | {s['n_structures']} | {s['n_dipoles']} | {_fmt(s['kappa'])} | "
                     f"{_fmt(s['kappa_lo'])}–{_fmt(s['kappa_hi'])} | {_fmt(s['G'])} | {_fmt(s['G_lo'])}–{_fmt(s['G_hi'])} | "
                     f"{per['solver'][0]} |")
    lines.append("")
    if not results:
        return "\n".join(lines) + "\n"
    from glassrs.report import _plot
    plt = _plot.pyplot()

    fig, ax = plt.subplots(figsize=(5, 3.6))
    for c, (r, s, k) in enumerate(results):
        k = k[k > 0]
        bins = np.logspace(np.log10(k.min()), np.log10(k.max()), 30)
        h, e = np.histogram(k, bins=bins, density=True)
        ax.plot(np.sqrt(e[1:] * e[:-1]), np.where(h > 0, h, np.nan), "o-", ms=3, color=_plot.color(c), label=r.label)
    _plot.log_axis(ax, "x")
    _plot.log_axis(ax, "y")
    ax.set_xlabel("κ_ij (ε/σ²)")
    ax.set_ylabel("P(κ_ij) (σ²/ε)")
    ax.set_title("distribution of dipole stiffnesses")
    _plot.legend(ax, loc="best")
    lines += _plot.save(fig, figdir, "elastic_p_kappa.png", "P(κ_ij)", dpi=120)

    with_t = [(r.temperature, s) for r, s, _ in results if r.temperature]
    if len(with_t) >= 2:
        with_t.sort(key=lambda x: -x[0])
        T = np.array([t for t, _ in with_t])
        unit_name = with_t[0][1]["unit"]
        fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.6))
        for c, (ax, q, unit, title) in enumerate(zip(axes, ("kappa", "G"), ("⟨κ⟩ (ε/σ²)", "G (ε/σ³)"),
                                                     ("mean dipole stiffness", "athermal shear modulus"))):
            y = np.array([s[q] for _, s in with_t], dtype=float)
            lo = np.array([s[f"{q}_lo"] for _, s in with_t], dtype=float)
            hi = np.array([s[f"{q}_hi"] for _, s in with_t], dtype=float)
            n_u = sorted({int(s["n_structures"]) for _, s in with_t})
            _plot.interval_errorbar(ax, 1 / T, y, lo, hi, fmt="o-", color=_plot.color(c),
                                    label=f"{q}, {PCT} CI over {unit_name} ({'/'.join(map(str, n_u))} per T_p)")
            ax.set_xlabel("1/T_p (k_B/ε)")
            ax.set_ylabel(unit)
            ax.set_title(f"{title} of inherent structures")
            _plot.legend(ax, loc="best")
        lines += _plot.save(fig, figdir, "elastic_kappa_G_vs_Tp.png",
                            f"κ and G against 1/T_p ({PCT} percentile bootstrap intervals over {unit_name})", dpi=120)
        taus = [(r.temperature, _tau_alpha(r), s["kappa"], r.trajectory[0].density) for r, s, _ in results if r.temperature]
        taus = [t for t in taus if t[1] is not None]
        fits = None
        try:
            from glassrs import fits
        except ImportError:
            pass
        if fits is not None and len(taus) >= 3:
            Tf, tau, kap, rho = (np.array(v, dtype=float) for v in zip(*taus))
            try:
                res = fits.mesoelastic(Tf, tau, kap, density=float(rho[0]))
                lines += ["Mesoelastic fit ln(τ_α/t0) = (ℓ̃a0)² κ/T + ln t̃ (docs: definitions §5.5), "
                          f"{len(Tf)} parent temperatures:", "",
                          "| parameter | value | std. error |", "|---|---|---|"]
                for k, label in (("t_tilde", "t̃"), ("ell_tilde", "ℓ̃"), ("ln_t", "ln t̃"), ("ell2", "(ℓ̃a0)² (σ²)")):
                    lines.append(f"| {label} | {res[k]:.4g} | {res.stderr[k]:.2g} |")
                lines.append("")
                if len(Tf) == 3:
                    lines += _plot.warning("mesoelastic fit: 3 parent temperatures for 2 parameters leave 1 degree "
                                           "of freedom; its errors are unreliable.")
                lines += _mesoelastic_plot(plt, Tf, tau, kap, float(rho[0]), res, figdir)
            except Exception as e:
                lines += _plot.warning(f"Mesoelastic fit not possible: {e}")
        else:
            lines += _plot.warning("Mesoelastic fit skipped: it needs τ_α (dynamics) at three or more temperatures.")
    return "\n".join(lines) + "\n"


def _mesoelastic_plot(plt, T, tau, kappa, density: float, res, figdir: str) -> list[str]:
    """ln(τ_α/t0) against κ/T with the fitted line (t0 = a0/√T, a0 = ρ^(−1/3))."""
    from glassrs.report import _plot

    a0 = density ** (-1.0 / 3.0)
    x = kappa / T
    y = np.log(tau / (a0 / np.sqrt(T)))
    fig, ax = plt.subplots(figsize=(5, 3.8))
    ax.plot(x, y, "o", color=_plot.color(0), label="runs (τ_α from q = 1/e)")
    xx = np.linspace(x.min(), x.max(), 50)
    ax.plot(xx, res["ln_t"] + res["ell2"] * xx, "k--", lw=1,
            label=f"fit: (ℓ̃a0)² = {res['ell2']:.3g} σ², ln t̃ = {res['ln_t']:.3g}")
    for xi, yi, Ti in zip(x, y, T):
        ax.annotate(f"T={Ti:g}", (xi, yi), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax.set_xlabel("κ/T_p (1/σ²)")
    ax.set_ylabel("ln(τ_α/t0), t0 = a0/√T")
    ax.set_title("mesoelastic plot")
    _plot.legend(ax, loc="best")
    return _plot.save(fig, figdir, "elastic_mesoelastic.png", "mesoelastic plot: ln(τ_α/t0) against κ/T", dpi=120)
