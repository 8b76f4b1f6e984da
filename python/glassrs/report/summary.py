"""Report section: what the data are."""

from __future__ import annotations


def section(runs, figdir: str) -> str:
    lines = ["## Data", "", "| run | T | frames | N | species | box volume | density | time span |",
             "|---|---|---|---|---|---|---|---|"]
    for r in runs:
        t = r.trajectory
        f = t[0]
        if t.has_times:
            times = t.times
            span = f"{times[0]:.6g}–{times[-1]:.6g}"
        else:  # steps are not times
            steps = t.steps
            span = f"unknown (steps {steps[0]}–{steps[-1]}; pass dt)"
        counts = ", ".join(f"{s}:{n}" for s, n in f.counts().items())
        lines.append(f"| {r.label} | {'' if r.temperature is None else r.temperature} | {len(t)} | "
                     f"{f.n_particles} | {counts} | {f.box.volume:.6g} | {f.density:.6g} | "
                     f"{span} |")
    notes = [f"- {r.label}: {r.trajectory.species_note}" for r in runs if getattr(r.trajectory, "species_note", None)]
    if notes:
        lines += ["", "Species names:", *notes]
    return "\n".join(lines) + "\n"
