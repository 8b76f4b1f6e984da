"""Report section: the probability of rearrangement P_R(X) against a structural quantity X and its
Arrhenius/onset analysis (docs: definitions §4.5–4.6; seed 000 Fig. 5, seed 001 Fig. 2).

For every run with a temperature and times: p_hop on a window Δt shared by all runs
(:func:`glassrs.dynamics.rearrangements`, p_c = MSD at the α2 peak of that run), the local SOP
(X = ``sop`` = 1/|βφ_i|, :func:`glassrs.structure.local` with one set of windows — those of the
lowest temperature) on frames where p_hop is defined, joined by
:func:`glassrs.isoconf.rearrangement_structure`; then :func:`glassrs.isoconf.pr_arrhenius`
bins X with edges shared by all temperatures (equal counts of the pooled X), fits ln P_R = ln P0 − ΔE/T per bin and finds the
onset temperature T* where the extrapolated lines meet (:func:`glassrs.isoconf.onset_temperature`):
above T* the bins stop being Arrhenius with a common crossing. Needs at least two temperatures.
P_R of one trajectory has no interval here: its particles are not independent units.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from glassrs.report import _plot

#: p_hop window Δt (τ) unless the shortest run is too short for it (then a third of its span)
WINDOW = 15.0
#: frames per run on which the structure is computed (spread over those with a p_hop value)
N_FRAMES = 8
#: X bins (equal width over the pooled X of all runs) and the particles a bin needs per T
BINS = 8
MIN_COUNT = 20
#: fraction of the pooled X left out on each side (the far tails)
TAIL = 0.005
X = "sop"


def _f(x, digits: int = 4) -> str:
    return "—" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.{digits}g}"


def window_for(runs) -> float:
    """The shared p_hop window (τ): ``WINDOW``, or a third of the shortest run's span."""
    spans = [float(r.trajectory.times[-1] - r.trajectory.times[0]) for r in runs]
    return min(WINDOW, min(spans) / 3.0)


def structure_tables(runs, window: float, n_frames: int = N_FRAMES) -> tuple[dict, list[str]]:
    """T → per-particle table (frame, particle, species, sop, …, phop, rearranging) and notes."""
    from glassrs import dynamics as dyn
    from glassrs import isoconf, structure

    ref = min(runs, key=lambda r: r.temperature)
    windows = structure.trajectory_windows(ref.trajectory)
    data, notes = {}, []
    for r in sorted(runs, key=lambda r: -r.temperature):
        traj = r.trajectory
        try:
            re = dyn.rearrangements(traj, window)
            frames = np.unique(re["frame"].to_numpy())
            sel = frames[np.unique(np.linspace(0, len(frames) - 1, min(n_frames, len(frames))).round().astype(int))]
            loc = structure.local(traj, T=r.temperature, windows=windows, frames=sel.tolist())
            from glassrs.tables import params
            data[float(r.temperature)] = isoconf.rearrangement_structure(traj, loc, window=window,
                                                                         p_c=params(re)["p_c"])
        except (ValueError, RuntimeError) as e:
            notes.append(f"{r.label}: no P_R ({e})")
    return data, notes


def quantile_edges(data: dict, x: str, bins: int) -> np.ndarray:
    """Bin edges of X with equal counts of the X of all temperatures pooled (shape (≤ bins + 1,)),
    from its ``TAIL`` to its 1 − ``TAIL`` quantile: X is skewed, so equal-width bins would leave the
    tail bins nearly empty, and the few particles of the far tail would stretch the last bin."""
    pooled = np.concatenate([df[x].cast(pl.Float64).to_numpy() for df in data.values()])
    pooled = pooled[np.isfinite(pooled)]
    return np.unique(np.quantile(pooled, np.linspace(TAIL, 1.0 - TAIL, int(bins) + 1)))


def section(runs, figdir: str, *, x: str = X, bins: int = BINS, min_count: int = MIN_COUNT) -> str:
    lines = ["## Rearrangements against structure: P_R(X) and the onset temperature", ""]
    usable = [r for r in runs if r.temperature and r.trajectory.has_times and len(r.trajectory) >= 5]
    temps = {float(r.temperature) for r in usable}
    if len(temps) < 2:
        why = ("the runs have no temperatures (pass FILE:T=… or temperature=)" if not any(r.temperature for r in runs)
               else "it needs runs at two or more temperatures, with times")
        return "\n".join(lines + [f"No P_R(X) Arrhenius analysis: {why}.", ""]) + "\n"
    # one run per temperature (the first), so each T has one p_c and one structure table
    per_T = {}
    for r in usable:
        per_T.setdefault(float(r.temperature), r)
    usable = list(per_T.values())
    window = window_for(usable)
    from glassrs import isoconf

    data, notes = structure_tables(usable, window)
    for n in notes:
        lines += _plot.warning(n)
    if len(data) < 2:
        return "\n".join(lines + ["No P_R(X) Arrhenius analysis: fewer than two temperatures have p_hop values.",
                                  ""]) + "\n"
    edges = quantile_edges(data, x, bins)
    try:
        res = isoconf.pr_arrhenius(data, x, bins=edges, min_count=min_count)
    except ValueError as e:
        return "\n".join(lines + _plot.warning(f"P_R(X) analysis not possible: {e}")) + "\n"
    lines += [f"X = {x} (1/|βφ_i|, dimensionless; windows of T = {min(data):g}); p_hop window Δt = {window:.3g} τ; "
              "a particle rearranges when p_hop > p_c, p_c = MSD at the α2 peak of its run (σ²). "
              f"{len(edges) - 1} bins of X shared by all temperatures (equal counts of the pooled X, its outer {100 * TAIL:g} % on each side left out); a bin is fitted where it holds ≥ {min_count} particles "
              "and P_R > 0 at two or more temperatures. P_R of one trajectory has no interval (its particles are "
              "not independent).", "",
              "| T | p_c (σ²) | particle-frames | P_R overall |", "|---|---|---|---|"]
    for T, df in sorted(data.items(), reverse=True):
        from glassrs.tables import params
        lines.append(f"| {T:g} | {_f(params(df)['p_c'])} | {df.height} | {_f(float(df['rearranging'].mean()))} |")
    lines += ["", "Arrhenius fits ln P_R = ln P0 − ΔE/T per bin of X (standard errors of the least-squares fit):", "",
              "| bin | X range | temperatures | ΔE (ε) | ± | ln P0 | ± |", "|---|---|---|---|---|---|---|"]
    for r in res.fits.iter_rows(named=True):
        lines.append(f"| {r['bin']} | {r['x_low']:.4g}–{r['x_high']:.4g} | {r['n_T']} | {_f(r['delta_e'])} | "
                     f"{_f(r['delta_e_err'], 2)} | {_f(r['ln_p0'])} | {_f(r['ln_p0_err'], 2)} |")
    lines.append("")
    loose = res.fits.filter(pl.col("delta_e_err") > pl.col("delta_e").abs())
    if loose.height:
        lines += _plot.warning(f"in {loose.height} of {res.fits.height} bins the standard error of ΔE exceeds ΔE: "
                               "the temperatures do not determine those barriers (nor, then, the onset).")
    nT = len(data)
    if nT == 2:
        lines += _plot.warning("P_R Arrhenius fits through 2 temperatures have 0 degrees of freedom: no errors, "
                               "and the onset temperature rests on two points per bin.")
    if math.isfinite(res.onset_T):
        lines += [f"Onset temperature (where the extrapolated Arrhenius lines meet): T* = {res.onset_T:.4g} ε/k_B "
                  f"(1/T* = {res.onset_beta:.4g}); spread of the lines there {res.spread:.3g} in ln P_R.", ""]
        above = sorted(T for T in data if T > res.onset_T)
        if res.onset_T <= 0 or res.onset_T < min(data):
            lines += _plot.warning(f"the lines meet at T* = {res.onset_T:.4g}, below the measured temperatures: no "
                                   "onset of Arrhenius behaviour is resolved.")
        elif above:
            lines += _plot.warning(f"T* = {res.onset_T:.4g} lies inside the measured range: the run(s) at T = "
                                   f"{', '.join(f'{T:g}' for T in above)} are above the onset, where the Arrhenius "
                                   "form is not expected to hold, yet they are in the fits.")
    else:
        lines += _plot.warning(f"no onset temperature: {res.fits.height} bin(s) could be fitted (2 needed).")
    lines += _plot_pr(res, figdir)
    return "\n".join(lines) + "\n"


def _plot_pr(res, figdir: str) -> list[str]:
    """P_R(X) per T, and ln P_R against 1/T per X bin with the fitted lines and the onset."""
    plt = _plot.pyplot()
    pr = res.pr.filter(pl.col("n") >= 1)
    temps = sorted(pr["T"].unique().to_list(), reverse=True)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.9))
    ax = axes[0]
    for k, T in enumerate(temps):
        sub = pr.filter((pl.col("T") == T) & (pl.col("p_r") > 0)).sort("x_mid")
        ax.plot(sub["x_mid"].to_numpy(), sub["p_r"].to_numpy(), _plot.MARKERS[k % 8] + "-", ms=4,
                color=_plot.color(k), label=f"T = {T:g}")
    _plot.log_axis(ax, "y")
    _plot.sub_decade_labels(ax, "y")
    ax.set_xlabel(f"X = {_xname(res)} (dimensionless)")
    ax.set_ylabel("P_R(X) (fraction rearranging)")
    ax.set_title("probability of rearrangement against structure")
    _plot.legend(ax, loc="best")
    ax = axes[1]
    b_all = [1 / t for t in temps]
    beta_lo, beta_hi = min(b_all), max(b_all)
    onset = res.onset_beta if math.isfinite(res.onset_beta) and res.onset_beta > 0 else None
    lo = min(beta_lo, onset) if onset else beta_lo
    grid = np.linspace(lo * 0.98, beta_hi * 1.02, 50)
    for k, r in enumerate(res.fits.iter_rows(named=True)):
        sub = pr.filter((pl.col("bin") == r["bin"]) & (pl.col("p_r") > 0)).sort("T")
        c = _plot.PALETTE[k % 8]
        ax.plot(1 / sub["T"].to_numpy(), np.log(sub["p_r"].to_numpy()), _plot.MARKERS[k % 8], color=c, ms=4,
                label=f"X ∈ [{r['x_low']:.3g}, {r['x_high']:.3g}]: ΔE = {r['delta_e']:.3g} ε")
        ax.plot(grid, r["ln_p0"] - r["delta_e"] * grid, "--", color=c, lw=0.8)
    if onset:
        ax.axvline(onset, color="grey", ls=":", lw=1, label=f"onset 1/T* (T* = {res.onset_T:.3g})")
    ax.set_xlabel("1/T (k_B/ε)")
    ax.set_ylabel("ln P_R")
    ax.set_title("Arrhenius plot per X bin, lines extrapolated to the onset")
    _plot.legend(ax, loc="best", fontsize=6)
    return _plot.save(fig, figdir, "rearrangements_pr.png", "P_R(X) per T and the Arrhenius/onset plot")


def _xname(res) -> str:
    from glassrs.tables import params
    return str(params(res.pr).get("x", X))
