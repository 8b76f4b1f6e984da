"""The report: one self-contained HTML page (``report.html``, figures embedded) and the same
text as Markdown (``report.md``, next to its PNG figures) about one or several trajectories.

``make_report(path_or_None, out=...)``: ``path`` is a trajectory file, a campaign dataset folder
(:mod:`glassrs.campaign`), or None for the embedded default — the shipped ``ka-default``
campaign, run once on an embedded Dask LocalCluster and cached (a second report is instant). Each section is a
module in this package exposing ``section(runs, figdir) -> str`` (Markdown), where
``runs`` is a list of :class:`Run` (label, temperature or None, trajectory). Sections that
cannot run on the given data return a short explanation instead of failing the report.
The page is rendered from the Markdown by :func:`glassrs.report.html.render`; curves against
time are log-binned by :func:`glassrs.report.logbin.log_bin`.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from glassrs.trajectory import Trajectory

if TYPE_CHECKING:
    from glassrs.models import Model

SECTIONS = ["summary", "structure", "dynamics", "elastic", "landscape", "rearrangements", "campaign"]
#: sections that run extra simulations; enabled per call (``extra=``, CLI ``--isoconf``)
OPTIONAL_SECTIONS = ["correlations"]


@dataclass
class Run:
    """One state point: a label, its temperature (ε/k_B, or None), the trajectory and the pair
    model it was simulated with (None: Kob–Andersen, the sections' default)."""

    label: str
    temperature: float | None
    trajectory: Trajectory
    model: "Model | None" = None


def model_of(run: Run) -> "Model":
    """The run's pair model (Kob–Andersen when the run names none)."""
    from glassrs import models
    m = getattr(run, "model", None)
    return m if m is not None else models.kob_andersen()


def _runs(path, dt: float | None, model=None, temperature: float | None = None, species=None) -> list[Run]:
    if isinstance(path, Trajectory):
        return [Run(os.path.basename(path.path or "trajectory"), temperature, path, model)]
    if path is None:
        return campaign_runs(default_campaign())
    if isinstance(path, (list, tuple)):
        return _state_point_runs(path, dt, model, temperature, species)
    if os.path.isdir(path):
        return campaign_runs(path)
    import glassrs as gr
    return [Run(os.path.basename(path), temperature, gr.read(path, dt=dt, species=species, model=model), model)]


def _state_point_runs(items, dt, model, temperature, species) -> list[Run]:
    """Runs from a list of :class:`Run`, :class:`glassrs.statepoints.StatePoint` or
    ``(path or Trajectory, T)`` pairs."""
    from glassrs import statepoints

    if not items:
        raise ValueError("make_report: an empty list of state points")
    if temperature is not None:
        raise ValueError("make_report: temperature= does not apply to a list of state points (each has its own T)")
    out: list[Run | None] = [None] * len(items)
    points = []
    for k, it in enumerate(items):
        if isinstance(it, Run):
            out[k] = it
        elif isinstance(it, statepoints.StatePoint):
            points.append((k, it))
        elif isinstance(it, tuple) and len(it) == 2:
            T = statepoints.positive(it[1], "T", f"make_report: state point {k}")
            if isinstance(it[0], Trajectory):
                out[k] = Run(os.path.basename(it[0].path or f"trajectory {k}"), T, it[0], model)
            else:
                points.append((k, statepoints.StatePoint(os.fspath(it[0]), T)))
        else:
            raise TypeError(f"make_report: state point {k} is {it!r}; expected a Run, a StatePoint or a "
                            "(path or Trajectory, T) pair")
    if points:
        sp = [p for _, p in points]
        trajs = statepoints.read(sp, dt=dt, species=species, model=model)
        for (k, p), label, t in zip(points, statepoints.labels(sp), trajs):
            out[k] = Run(label, p.T, t, model)
    return out


def default_campaign(progress: bool | None = None) -> str:
    """Run the shipped ``ka-default`` campaign (once) into the cache and return its folder.
    A second call finds every task done and returns at once."""
    from glassrs import campaign, datasets

    plan = campaign.load_plan(campaign.shipped_plan("ka-default"))
    out = os.path.join(datasets.cache_dir(), f"campaign-ka-default-{campaign.plan.plan_hash(plan)}")
    campaign.run(plan, out, progress=progress)
    return out


def campaign_runs(path: str) -> list[Run]:
    """One Run per (system, T) of a campaign dataset: the production trajectory of its first
    configuration (for the per-trajectory sections), with the dataset attached for the campaign
    section's reductions over all configurations."""
    from glassrs import campaign
    from glassrs.campaign import tasks

    ds = campaign.open(path)
    runs = []
    for s in ds.plan["systems"]:
        model = campaign.plan.model_of(s)
        for T in sorted(s["temperatures"], reverse=True):
            rel = tasks.state_rel(s["name"], T, 0, "production")
            if not os.path.exists(os.path.join(path, rel)):
                continue
            r = Run(f"{s['name']} T={T:g}", T, tasks.production_trajectory(path, s, T, 0), model)
            r.dataset = ds
            runs.append(r)
    if not runs:
        raise ValueError(f"{path}: the campaign has no production trajectories to report on (run it first: "
                         "python -m glassrs campaign run PLAN --out DIR)")
    return runs


def make_report(path: "str | Trajectory | Sequence | None", out: str = "glassrs-report", dt: float | None = None,
                inherent_structures: bool = False, extra: tuple[str, ...] = (), *, model=None,
                temperature: float | None = None, species=None) -> str:
    """Write ``out/report.html`` (self-contained: figures embedded), ``out/report.md`` and the
    figures (PNG) in ``out/``; return the path of the Markdown report (the HTML page is next to it).

    ``path``: a trajectory file (read with ``dt``, ``species`` and ``model`` as in
    :func:`glassrs.read`), a Trajectory already open, a campaign dataset folder, None for the
    embedded dataset, or several state points — a list of
    :class:`glassrs.statepoints.StatePoint` (e.g. from ``glassrs.statepoints.load_toml``),
    ``(path or Trajectory, T)`` pairs or :class:`Run` objects — for the temperature panels
    (τ_α(T) with its VFT fit, SOP(T) with γ); a point's own ``dt`` wins over ``dt``.
    ``model``: the pair model of the data (default Kob–Andersen); ``temperature``: the run's
    temperature (ε/k_B), needed by the sections that use T (elasticity's parent temperature,
    the isoconfigurational section). Without times (no ``dt`` and none in the file) the
    dynamics section says how to fix it instead of reporting steps as times.
    ``inherent_structures``: sections that need quenched structures (elasticity) run only then.
    ``extra``: names from ``OPTIONAL_SECTIONS`` to add (e.g. ``("correlations",)``, which runs MD
    ensembles)."""
    unknown = [e for e in extra if e not in OPTIONAL_SECTIONS]
    if unknown:
        raise ValueError(f"unknown optional report sections {unknown}; available: {OPTIONAL_SECTIONS}")
    runs = _runs(path, dt, model, temperature, species)
    for r in runs:
        r.inherent_structures = inherent_structures
    os.makedirs(out, exist_ok=True)
    parts = ["# glassrs report", ""]
    from glassrs import progress

    for name in [*SECTIONS, *extra]:
        mod = importlib.import_module(f"glassrs.report.{name}")
        with progress.task(f"report: {name} ({len(runs)} run{'s' if len(runs) != 1 else ''})") as stage:
            parts.append(mod.section(runs, out))
            if not parts[-1].strip():
                stage.discard()  # a section with nothing to do (not requested, not applicable)
    text = "\n".join(parts) + "\n"
    from glassrs.io._common import atomic_path
    from glassrs.report import html

    dest = os.path.join(out, "report.md")
    with atomic_path(dest) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    page = html.render(text, out)
    with atomic_path(os.path.join(out, "report.html")) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.write(page)
    return dest
