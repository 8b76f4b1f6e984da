"""Report section: what the data are."""

from __future__ import annotations


def section(runs, figdir: str) -> str:
    lines = ["## Data", "", "| run | T | frames | N | species | box volume | density | time span |",
             "|---|---|---|---|---|---|---|---|"]
    for r in runs:
        t = r.trajectory
        f = t[0]
        times = t.times
        counts = ", ".join(f"{s}:{n}" for s, n in f.counts().items())
        lines.append(f"| {r.label} | {'' if r.temperature is None else r.temperature} | {len(t)} | "
                     f"{f.n_particles} | {counts} | {f.box.volume:.6g} | {f.density:.6g} | "
                     f"{times[0]:.6g}–{times[-1]:.6g} |")
    return "\n".join(lines) + "\n"
