"""The report: Markdown + PNG figures about one or several trajectories.

``make_report(path_or_None, out=...)``. Without a path it uses the embedded Kob–Andersen
dataset (``glassrs.datasets``): a temperature series of trajectories. Each section is a
module in this package exposing ``section(runs, figdir) -> str`` (Markdown), where
``runs`` is a list of :class:`Run` (label, temperature or None, trajectory). Sections that
cannot run on the given data return a short explanation instead of failing the report.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass

from glassrs.trajectory import Trajectory

SECTIONS = ["summary", "structure", "dynamics", "elastic"]


@dataclass
class Run:
    label: str
    temperature: float | None
    trajectory: Trajectory


def _runs(path: str | None, dt: float | None) -> list[Run]:
    if path is not None:
        import glassrs as gr
        return [Run(os.path.basename(path), None, gr.read(path, dt=dt))]
    try:
        from glassrs import datasets
    except ImportError as e:  # the engine is not built yet
        raise RuntimeError(
            "the embedded default dataset needs the built-in MD engine (glassrs.datasets), which this "
            "build does not provide yet; pass a trajectory file: python -m glassrs report TRAJ") from e
    return [Run(f"T={T:g}", T, traj) for T, traj in datasets.kob_andersen_series()]


def make_report(path: str | None, out: str = "glassrs-report", dt: float | None = None,
                inherent_structures: bool = False) -> str:
    """Write ``out/report.md`` and figures in ``out/``; return the report path.

    ``inherent_structures``: sections that need quenched structures (elasticity) run only then."""
    runs = _runs(path, dt)
    for r in runs:
        r.inherent_structures = inherent_structures
    os.makedirs(out, exist_ok=True)
    parts = ["# glassrs report", ""]
    for name in SECTIONS:
        mod = importlib.import_module(f"glassrs.report.{name}")
        parts.append(mod.section(runs, out))
    text = "\n".join(parts) + "\n"
    dest = os.path.join(out, "report.md")
    tmp = dest + ".tmp"
    with open(tmp, "w") as fh:
        fh.write(text)
    os.replace(tmp, dest)
    return dest
