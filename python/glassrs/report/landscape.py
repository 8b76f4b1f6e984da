"""Report section: the inherent-structure transition rate (docs: definitions §6.6).

Data: the U_IS(t) series of a run (``traj.inherent``, the table :func:`glassrs.md.run` attaches
with ``quench_every=k`` and :func:`glassrs.md.inherent_structures` returns) and, for a campaign
dataset, its ``inherent`` table (one row per quenched structure, U_IS per particle, per
configuration). A transition is a change |ΔU_IS| > threshold (ε, extensive) between successive
quenches and Γ = transitions / elapsed time (:func:`glassrs.elastic.is_transition_rate`, the one
place it is computed). Quenches further apart than the time between transitions miss some: Γ is
then a lower bound set by the quench spacing, and the section says so. Without any U_IS series
the section prints a note saying how to get one.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from glassrs.report import _plot

#: above this fraction of successive quenches with a transition, Γ is limited by the quench spacing
SATURATED = 0.5
#: |ΔU_IS| threshold (ε, extensive) when a table records none (glassrs's default)
THRESHOLD = 1e-5


def _f(x, digits: int = 4) -> str:
    return "—" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.{digits}g}"


def run_series(runs) -> list[dict]:
    """Per run with a U_IS(t) table (``trajectory.inherent``): label, T, the table's times (τ),
    U_IS (ε, extensive), N, density, threshold and :func:`glassrs.elastic.is_transition_rate`
    (None without a temperature)."""
    from glassrs import elastic
    from glassrs.tables import params

    out = []
    for r in runs:
        tab = getattr(r.trajectory, "inherent", None)
        if not isinstance(tab, pl.DataFrame) or tab.height < 2 or "u_is" not in tab.columns:
            continue
        tab = tab.filter(pl.col("time").is_finite()).sort("time")
        thr = float(params(tab).get("threshold", THRESHOLD))
        f0 = r.trajectory[0]
        item = {"label": r.label, "T": r.temperature, "time": tab["time"].to_numpy(), "u": tab["u_is"].to_numpy(),
                "n": f0.n_particles, "density": f0.density, "threshold": thr, "rate": None, "error": None}
        if r.temperature and tab.height >= 2:
            try:
                item["rate"] = elastic.is_transition_rate(item["time"], item["u"], n_particles=item["n"],
                                                          temperature=float(r.temperature), density=item["density"],
                                                          threshold=thr)
            except ValueError as e:
                item["error"] = str(e)
        out.append(item)
    return out


def campaign_rates(ds) -> pl.DataFrame | None:
    """Γ per (system, T_p, configuration) of a campaign's ``inherent`` table (U_IS per particle
    there, so U_IS·N is compared with the extensive threshold); None without the table."""
    if ds is None or "inherent" not in ds:
        return None
    from glassrs import elastic

    systems = {s["name"]: s for s in ds.plan.get("systems", [])}
    inh = ds["inherent"]
    inh = (inh.collect() if isinstance(inh, pl.LazyFrame) else inh).select("system", "T", "config", "time", "u_is")
    rows = []
    for (sysname, T, cfg), sub in inh.sort("system", "T", "config", "time").group_by(
            ["system", "T", "config"], maintain_order=True):
        s = systems.get(sysname)
        sub = sub.filter(pl.col("time").is_finite() & pl.col("u_is").is_finite()).unique("time", keep="first",
                                                                                         maintain_order=True)
        if s is None or sub.height < 2:
            continue
        n = int(s["n"])
        r = elastic.is_transition_rate(sub["time"].to_numpy(), sub["u_is"].to_numpy() * n, n_particles=n,
                                       temperature=float(T), density=float(s["density"]), threshold=THRESHOLD)
        rows.append({"system": sysname, "T": float(T), "config": int(cfg), "n_quenches": sub.height,
                     "n_transitions": r["n_transitions"], "time_span": r["time_span"], "gamma": r["gamma"],
                     "gamma_reduced": r["gamma_reduced"]})
    return pl.DataFrame(rows) if rows else None


def section(runs, figdir: str) -> str:
    lines = ["## Inherent-structure transitions", ""]
    series = run_series(runs)
    ds = getattr(runs[0], "dataset", None) if runs else None
    camp = campaign_rates(ds)
    if not series and camp is None:
        return "\n".join(lines + [
            "No inherent-structure series in these data, so no transition rate is drawn. To get one, quench "
            "along a run — `glassrs.md.run(..., quench_every=k)` (its `.inherent` table) or "
            "`glassrs.md.inherent_structures(traj, model)` — or run a campaign with `[analyses.inherent_structures]`.",
            ""]) + "\n"
    lines += ["A transition is a change |ΔU_IS| > threshold (ε, total energy) between successive quenches; "
              "Γ = transitions / elapsed time (docs: definitions §6.6), and the reduced rate Γ·t_b·N0/N with "
              "t_b = 0.1 a0/√T, N0 = 1000. Quenches further apart than the time between transitions miss "
              "transitions: Γ is a lower bound that converges as the quench interval shrinks.", ""]
    plt = _plot.pyplot()
    warn: list[str] = []
    if series:
        lines += ["| run | T | quenches | quench interval (τ) | transitions | time span (τ) | Γ (1/τ) | Γ t_b N0/N |",
                  "|---|---|---|---|---|---|---|---|"]
        for s in series:
            r = s["rate"] or {}
            dt = float(np.median(np.diff(s["time"])))
            lines.append(f"| {s['label']} | {_f(s['T'])} | {len(s['time'])} | {_f(dt)} | "
                         f"{r.get('n_transitions', '—')} | {_f(r.get('time_span'))} | {_f(r.get('gamma'))} | "
                         f"{_f(r.get('gamma_reduced'))} |")
            if s["rate"] is None:
                warn += _plot.warning(f"{s['label']}: no rate without a temperature (pass T)"
                                      if s["error"] is None else f"{s['label']}: {s['error']}")
            elif s["rate"]["n_transitions"] > SATURATED * (len(s["time"]) - 1):
                warn += _plot.warning(f"{s['label']}: {s['rate']['n_transitions']} of {len(s['time']) - 1} successive "
                                      f"quenches differ — Γ is limited by the quench interval ({dt:.3g} τ); quench "
                                      "more often.")
        lines += ["", *warn]
        warn = []
        fig, ax = plt.subplots(figsize=(5.6, 3.8))
        for k, s in enumerate(series):
            c = _plot.color(k)
            ax.step(s["time"], s["u"] / s["n"], where="post", color=c, lw=1, label=s["label"])
            jump = np.flatnonzero(np.abs(np.diff(s["u"])) > s["threshold"]) + 1
            ax.plot(s["time"][jump], s["u"][jump] / s["n"], "|", color=c, ms=6)
        ax.set_xlabel("t (τ)")
        ax.set_ylabel("U_IS / N (ε)")
        ax.set_title("inherent-structure energy; ticks: transitions")
        _plot.legend(ax, loc="best")
        lines += _plot.save(fig, figdir, "landscape_u_is.png", "U_IS(t) per particle with the transitions marked")
    if camp is not None:
        from glassrs.campaign import reduce as R

        m = R.bootstrap_mean(camp, "gamma", ["system", "T"], unit="config")
        lines += ["Campaign: Γ per configuration (its quenched structures in time order), mean over configurations "
                  "with a 95 % percentile-bootstrap interval over configurations.", "",
                  "| system | T_p | configurations | quenches per configuration | Γ (1/τ) [95 % interval] |",
                  "|---|---|---|---|---|"]
        for r in m.sort("system", "T").iter_rows(named=True):
            q = camp.filter((pl.col("system") == r["system"]) & (pl.col("T") == r["T"]))["n_quenches"]
            lines.append(f"| {r['system']} | {r['T']:g} | {r['n_units']} | {q.min()}–{q.max()} | "
                         f"{_f(r['mean'])} [{_f(r['ci_low'])}, {_f(r['ci_high'])}] |")
        lines.append("")
        sat = camp.filter(pl.col("n_transitions") > SATURATED * (pl.col("n_quenches") - 1))
        if sat.height:
            lines += _plot.warning(f"campaign: in {sat.height} of {camp.height} configurations most successive "
                                   "quenches differ — the structures are quenched too far apart to resolve "
                                   "transitions, so Γ there is the quench frequency, not the transition rate.")
        if int(camp["n_quenches"].max()) < 3:
            lines += _plot.warning("campaign: at most 2 quenches per configuration — one interval each, Γ is 0 or "
                                   "1/Δt; raise `count` in `[analyses.inherent_structures]`.")
    # Γ against 1/T: the run rates and the campaign means
    pts = [(s["T"], s["rate"]["gamma"], s["label"]) for s in series if s["rate"] and s["rate"]["gamma"] > 0]
    if len(pts) + (0 if camp is None else camp["T"].n_unique()) >= 2:
        fig, ax = plt.subplots(figsize=(5.6, 3.8))
        if pts:
            T = np.array([p[0] for p in pts])
            ax.plot(1 / T, [p[1] for p in pts], "o", color=_plot.color(0), label="runs")
        if camp is not None:
            for k, (sysname, sub) in enumerate(m.group_by("system", maintain_order=True)):
                sub = sub.sort("T").filter(pl.col("mean") > 0)
                if sub.height == 0:
                    continue
                _plot.interval_errorbar(ax, 1 / sub["T"].to_numpy(),
                                        *(sub[c].to_numpy() for c in ("mean", "ci_low", "ci_high")), fmt="s-",
                                        color=_plot.color(k + 1),
                                        label=f"campaign {sysname[0] if isinstance(sysname, tuple) else sysname}, "
                                              "95 % CI")
        _plot.log_axis(ax, "y")
        _plot.sub_decade_labels(ax, "y")
        ax.set_xlabel("1/T (k_B/ε)")
        ax.set_ylabel("Γ (transitions per τ)")
        ax.set_title("inherent-structure transition rate")
        _plot.legend(ax, loc="best")
        lines += _plot.save(fig, figdir, "landscape_rate.png", "IS transition rate against 1/T")
    return "\n".join(lines) + "\n"
