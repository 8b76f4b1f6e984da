"""Run a campaign plan on ``dask.distributed``: the task graph, the manifest, resume.

* **Graph.** :func:`tasks_of` turns a validated plan into tasks with explicit dependencies
  (see :mod:`glassrs.campaign.tasks` for what each does). Every task has a *key*: a hash of
  the plan entries it reads, the package version and the keys of the tasks it depends on.
* **Manifest.** ``DIR/manifest.json`` records the plan, the package version, the seed and, per
  task, its key, status, files with their sha256 and wall time. Only the client writes it,
  atomically, after each task; a task counts as done only when its manifest entry says so,
  its key is the current one and every file it wrote exists with the recorded hash.
* **Resume.** Running a plan again executes only tasks that are not done: nothing after a
  complete run; a deleted or corrupt file reruns its task (and the tasks downstream of it,
  whose inputs changed); a changed plan entry changes the keys of exactly the tasks that read
  it and of their dependents — those rerun, the others are kept. Files of tasks that are no
  longer part of the plan are moved to ``DIR/.stale/`` (never silently mixed into the data).
* **Faults.** Dask reschedules the tasks of a worker that dies (SIGKILL, node loss); tasks are
  deterministic, so the dataset equals an undisturbed run's. A task that raises is recorded as
  failed with its message; independent tasks go on; at the end :class:`CampaignError` lists
  the failures. Ctrl-C on the client cancels the remaining tasks and stops cleanly; only whole
  files are ever under final names.
* **Execution.** ``client=None`` starts an embedded ``LocalCluster`` of worker *processes*
  sized to the machine (``workers`` processes, one task each at a time, rayon threads per
  task = cores // workers, set explicitly); an address or a ``distributed.Client`` runs the
  same plan on an existing cluster (the output directory must then be on a file system every
  worker sees).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from glassrs.campaign import plan as plan_mod
from glassrs.campaign import tasks as T_
from glassrs.campaign.tasks import t_label

MANIFEST = "manifest.json"
FORMAT = 1


class CampaignError(RuntimeError):
    """Some tasks of a campaign failed; ``failures`` maps task id → error message."""

    def __init__(self, failures: Mapping[str, str], blocked: int = 0):
        self.failures = dict(failures)
        self.blocked = blocked
        first = next(iter(self.failures.items()))
        super().__init__(f"{len(self.failures)} task(s) failed ({blocked} not run because they depend on them); "
                         f"first: {first[0]}: {first[1]}")

    def __reduce__(self):
        return (type(self), (self.failures, self.blocked))


@dataclass
class Task:
    """One unit of work: ``id`` names it (kind/system/T/config/batch), ``spec`` is what the worker
    receives, ``deps`` are the ids it needs, ``params`` the plan entries it reads."""

    id: str
    kind: str
    spec: dict
    deps: list[str]
    params: Any
    key: str = ""
    cost: float = 0.0   # projected single-thread seconds (cost model), for status and ordering


@dataclass
class Summary:
    """What one call of :func:`run` did."""

    out: str
    executed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    #: tasks recomputed with an unchanged key whose files differ from the recorded ones (should be empty)
    nondeterministic: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0
    dashboard: str | None = None


# -- cost model (single-core seconds), for status projections before anything has run -----------

MD_SECONDS_PER_PARTICLE_STEP = 6.0e-7   # KA NVT, one core of the 2-core CI machine (measured in campaigns)
ANALYSIS_FACTOR = 0.15                  # analyses as a fraction of the production's MD time
FIRE_STEPS_PER_QUENCH = 4000
HESSIAN_SECONDS_PER_PARTICLE = 2.0e-3


def _md_cost(n: int, steps: float) -> float:
    return MD_SECONDS_PER_PARTICLE_STEP * n * steps


# -- the graph --------------------------------------------------------------------------------------

def _tid(kind: str, system: str, T: float | None = None, config: int | None = None, batch: int | None = None) -> str:
    parts = [kind, system]
    if T is not None:
        parts.append(f"T={t_label(T)}")
    if config is not None:
        parts.append(f"config={config}")
    if batch is not None:
        parts.append(f"batch={batch}")
    return "/".join(parts)


def _fname(tid: str) -> str:
    """A file-name-safe, unique token for a task id (used in part-<token>.parquet)."""
    return tid.split("/", 1)[0] + "-" + hashlib.sha256(tid.encode()).hexdigest()[:10]


def tasks_of(plan: Mapping, tau_guess: Mapping[tuple[str, float], float] | None = None) -> dict[str, Task]:
    """All tasks of a validated plan, in dependency order (a dict keyed by task id)."""
    from glassrs import __version__

    an = plan["analyses"]
    out: dict[str, Task] = {}

    def add(kind, system, T=None, config=None, batch=None, deps=(), params=None, extra=None, cost=0.0):
        tid = _tid(kind, system["name"], T, config, batch)
        spec = {"kind": kind, "task": _fname(tid), "id": tid, "system": system, "T": T, "config": config,
                "batch": batch, "seed": plan["seed"], "analyses": an, **(extra or {})}
        out[tid] = Task(tid, kind, spec, list(deps), params, cost=cost)
        return tid

    for s in plan["systems"]:
        base = {k: s[k] for k in ("model", "model_params", "n", "density", "composition", "dt", "tdamp")}
        n = s["n"]
        temps = sorted(s["temperatures"], reverse=True)
        prods_low = []
        for T in temps:
            guess = {float(t): float(v) for t, v in (s.get("tau_alpha_guess") or [])}
            tg = (tau_guess or {}).get((s["name"], T), guess.get(T, 10.0))
            pilot = None
            if T_.needs_tau(s, an):
                pilot = add("pilot", s, T, params={**base, "pilot": s["pilot"], "eq": s["equilibration"],
                                                   "thermostat": s["thermostat"]},
                            # the doubling runs add up to about 4 runs of length max(pilot.steps, τ_α/dt)
                            cost=_md_cost(n, s["pilot"]["equilibrate_steps"] + s["equilibration"]["melt_steps"]
                                          + 4 * max(s["pilot"]["steps"], tg / s["dt"])))
            eq = s["equilibration"]
            eq_steps = eq["steps"] if eq.get("steps") is not None else eq["tau_alpha"] * tg / s["dt"]
            pr = s["production"]
            pr_steps = pr["steps"] if pr.get("steps") is not None else pr["tau_alpha"] * tg / s["dt"]
            for c in range(s["configurations"]):
                e = add("equilibrate", s, T, c, deps=[pilot] if pilot and eq.get("tau_alpha") is not None else [],
                        params={**base, "eq": eq}, cost=_md_cost(n, eq_steps + eq["melt_steps"]))
                need_prod = any(k in an for k in ("dynamics", "structure", "inherent_structures"))
                prod = None
                if need_prod:
                    prod = add("production", s, T, c,
                               deps=[e] + ([pilot] if pilot and pr.get("tau_alpha") is not None else []),
                               params={"production": pr, "thermostat": s["thermostat"], "dynamics": an.get("dynamics"),
                                       "structure": an.get("structure")},
                               cost=_md_cost(n, pr_steps) * (1 + ANALYSIS_FACTOR))
                    if T == min(temps):
                        prods_low.append(prod)
                if T_.isoconf_at(an, T):
                    iso = an["isoconf"]
                    batches = []
                    for b, lo in enumerate(range(0, iso["runs"], iso["batch"])):
                        hi = min(iso["runs"], lo + iso["batch"])
                        batches.append(add("isoconf", s, T, c, b, deps=[e, pilot],
                                           params={"iso": {k: iso[k] for k in ("times", "a")}, "runs": [lo, hi],
                                                   "thermostat": s["thermostat"]},
                                           extra={"runs": [lo, hi]},
                                           cost=_md_cost(n, (hi - lo) * max(iso["times"]) * tg / s["dt"])))
                    add("isoconf_reduce", s, T, c, deps=[*batches, _tid("structure", s["name"], T, c), e],
                        params={"iso": {k: iso[k] for k in ("runs", "L", "columns")}}, cost=5.0)
                if "inherent_structures" in an:
                    ist = an["inherent_structures"]
                    per_config = int(math.ceil(ist["count"] / s["configurations"]))
                    for b, lo in enumerate(range(0, per_config, ist["batch"])):
                        hi = min(per_config, lo + ist["batch"])
                        # the task quenches picks lo..hi-1 of per_config frames evenly spaced in the run
                        add("inherent", s, T, c, b, deps=[prod], params={"ist": ist},
                            extra={"picks": [lo, hi, per_config]},
                            cost=(hi - lo) * (_md_cost(n, FIRE_STEPS_PER_QUENCH)
                                              + HESSIAN_SECONDS_PER_PARTICLE * n * (1 + ist["kappa_pairs"] / 50)))
        if "structure" in an and an["structure"]["local"]:
            w = add("windows", s, deps=prods_low, params={"structure": an["structure"]}, cost=1.0)
            for T in temps:
                for c in range(s["configurations"]):
                    add("structure", s, T, c, deps=[w, _tid("production", s["name"], T, c)],
                        params={"structure": an["structure"]}, cost=2e-4 * n * an["structure"]["frames"])
    # keys, in dependency order (a task's key covers its dependencies' keys)
    order = _toposort(out)
    for tid in order:
        t = out[tid]
        blob = json.dumps({"kind": t.kind, "params": t.params, "spec_T": t.spec["T"], "config": t.spec["config"],
                           "batch": t.spec["batch"], "extra": {k: t.spec.get(k) for k in ("runs", "picks")},
                           "seed": plan["seed"], "version": __version__, "format": FORMAT,
                           "deps": [out[d].key for d in t.deps]}, sort_keys=True, default=str)
        t.key = hashlib.sha256(blob.encode()).hexdigest()[:20]
    return {tid: out[tid] for tid in order}


def _toposort(tasks: Mapping[str, Task]) -> list[str]:
    seen, order = set(), []

    def visit(t, stack=()):
        if t in seen:
            return
        if t in stack:
            raise ValueError(f"internal: dependency cycle through {t}")
        for d in tasks[t].deps:
            if d not in tasks:
                raise ValueError(f"internal: task {t} depends on unknown task {d}")
            visit(d, stack + (t,))
        seen.add(t)
        order.append(t)

    for t in tasks:
        visit(t)
    return order


# -- manifest -----------------------------------------------------------------------------------------

def read_manifest(out: str) -> dict:
    path = os.path.join(out, MANIFEST)
    if not os.path.exists(path):
        return {}
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: unreadable campaign manifest ({e}); move it away to start afresh") from None


def write_manifest(out: str, manifest: dict) -> None:
    os.makedirs(out, exist_ok=True)
    body = json.dumps(manifest, indent=1, sort_keys=True, default=str).encode()
    T_._atomic(out, MANIFEST, lambda p: open(p, "wb").write(body))


def is_done(out: str, entry: Mapping | None, key: str, verify: bool = True) -> bool:
    """A task is done when its manifest entry is ``done`` with the current key and every file
    it wrote exists with the recorded sha256."""
    if not entry or entry.get("status") != "done" or entry.get("key") != key:
        return False
    for rel, digest in entry.get("files", {}).items():
        p = os.path.join(out, rel)
        if not os.path.exists(p):
            return False
        if verify and T_.sha256(p) != digest:
            return False
    return True


def _clean(out: str, tasks: Mapping[str, Task], manifest: dict) -> list[str]:
    """Remove leftover temporary files; move files that belong to no current task to .stale/."""
    keep = {rel for t, e in manifest.get("tasks", {}).items() if t in tasks for rel in e.get("files", {})}
    moved = []
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for top in os.listdir(out) if os.path.isdir(out) else []:
        if top.startswith(".") or top == MANIFEST:
            continue
        base = os.path.join(out, top)
        if not os.path.isdir(base):
            continue
        for dp, _, fs in os.walk(base):
            for f in fs:
                p = os.path.join(dp, f)
                rel = os.path.relpath(p, out)
                if f.startswith(".") and f.endswith(".tmp"):
                    os.unlink(p)
                elif rel not in keep:
                    dst = os.path.join(out, ".stale", stamp, rel)
                    os.makedirs(os.path.dirname(dst), exist_ok=True)
                    shutil.move(p, dst)
                    moved.append(rel)
    return moved


# -- execution ---------------------------------------------------------------------------------------

def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def _client(client, workers: int | None, threads_per_task: int | None, quiet: bool):
    """Yield (distributed.Client, rayon threads per task, dashboard link)."""
    from distributed import Client, LocalCluster

    if client is None:
        cores = _cores()
        w = max(1, min(workers or cores, cores))
        tpt = threads_per_task or max(1, cores // w)
        cluster = LocalCluster(n_workers=w, threads_per_worker=1, processes=True, dashboard_address=":0",
                               silence_logs=50, memory_limit=0)
        c = Client(cluster)
        try:
            yield c, tpt, c.dashboard_link
        finally:
            c.close()
            cluster.close()
    elif isinstance(client, str):
        c = Client(client)
        try:
            yield c, threads_per_task or 1, c.dashboard_link
        finally:
            c.close()
    else:
        yield client, threads_per_task or 1, getattr(client, "dashboard_link", None)


def run(plan: str | os.PathLike | Mapping, out: str | os.PathLike, *, client=None, workers: int | None = None,
        threads_per_task: int | None = None, progress: bool | None = None, verify: bool = True,
        retries: int = 2, on_event: Callable[[str, str], None] | None = None) -> Summary:
    """Run (or resume) the campaign ``plan`` into the dataset folder ``out``.

    Parameters
    ----------
    plan : a TOML file or the same dict (validated first; :class:`PlanError` before anything runs).
    out : output folder (created). Running again resumes: done tasks are skipped.
    client : None (embedded LocalCluster of ``workers`` processes, default one per core), a
        scheduler address ``"tcp://host:8786"``, or a ``distributed.Client``.
    threads_per_task : rayon threads inside each task (default: cores // workers for the embedded
        cluster, 1 on an external cluster — give each Dask worker as many threads as cores).
    progress : the progress over tasks (:mod:`glassrs.progress`): None (default: a rich bar when stderr
        is a terminal, a stage line from the command line), True or False.
    verify : check the sha256 of every done task's files before skipping it.
    retries : Dask retries of a task that raised (tasks lost with a dead worker are rescheduled
        by Dask regardless).
    on_event : optional callback ``(task_id, status)`` with status ``"done"``/``"failed"``.

    Returns a :class:`Summary` (executed, skipped, failed task ids, wall time). Raises
    :class:`CampaignError` if any task failed (after the others finished).
    """
    from glassrs import __version__

    source = None if isinstance(plan, Mapping) else os.fspath(plan)
    p = plan_mod.load(plan)
    out = os.fspath(out)
    os.makedirs(out, exist_ok=True)
    manifest = read_manifest(out)
    tasks = tasks_of(p, _tau_guess(out, manifest))
    old = manifest.get("tasks", {})
    entries = {tid: old[tid] for tid in tasks if tid in old}
    manifest = {"format": FORMAT, "plan": p, "plan_hash": plan_mod.plan_hash(p), "plan_source": source,
                "version": __version__, "seed": p["seed"], "tasks": entries}
    _clean(out, tasks, {"tasks": entries})
    # A task reruns when it is not done. Its dependents rerun only when their key changed (a
    # changed plan entry changes the keys downstream); a task recomputed with an unchanged key
    # reproduces its files bit for bit, which is checked against the recorded hashes.
    todo = [tid for tid, t in tasks.items() if not is_done(out, entries.get(tid), t.key, verify)]
    summary = Summary(out=out, skipped=[tid for tid in tasks if tid not in set(todo)])
    for tid in todo:
        prev = entries.get(tid) or {}
        entries[tid] = {"kind": tasks[tid].kind, "key": tasks[tid].key, "status": "pending", "files": {},
                        "previous_files": prev.get("files", {}) if prev.get("key") == tasks[tid].key else {}}
    write_manifest(out, manifest)
    if not todo:
        return summary
    t0 = time.perf_counter()
    from glassrs import progress as _progress

    show = (sys.stderr.isatty() and not _progress.settings()["quiet"]) if progress is None else bool(progress)
    with _client(client, workers, threads_per_task, not show) as (c, tpt, dash):
        summary.dashboard = dash
        if show:
            from rich.console import Console
            Console(stderr=True).print(f"[bold]glassrs campaign[/]: {len(todo)} tasks to run, {len(summary.skipped)} "
                                       f"done; Dask dashboard: {dash}")
        _execute(c, tasks, todo, out, manifest, summary, tpt, retries, progress, on_event)
    summary.seconds = time.perf_counter() - t0
    if summary.failed:
        blocked = sum(1 for tid in todo if manifest["tasks"][tid]["status"] == "blocked")
        raise CampaignError(summary.failed, blocked)
    return summary


def _execute(c, tasks, todo, out, manifest, summary, tpt, retries, progress, on_event) -> None:
    from distributed import as_completed

    entries = manifest["tasks"]
    futures: dict[str, Any] = {}
    by_future: dict[Any, str] = {}
    # what each task hands downstream in memory: the equilibrated configuration (plain arrays)
    for tid in todo:
        t = tasks[tid]
        up = {}
        for d in t.deps:
            if d in futures and tasks[d].kind == "equilibrate":
                up["equilibrate"] = futures[d]
        deps = [futures[d] for d in t.deps if d in futures]
        f = c.submit(_run_task, t.spec, out, up, tpt, deps, key=f"{tid}#{t.key}", pure=False, retries=retries,
                     priority=-list(tasks).index(tid))
        futures[tid] = f
        by_future[f] = tid
    bar = _Bar(len(todo), progress)
    try:
        for f in as_completed(list(futures.values())):
            tid = by_future[f]
            e = entries[tid]
            if f.status == "error":
                err = f.exception()
                e.update(status="failed", error=f"{type(err).__name__}: {err}")
                if on_event:
                    on_event(tid, "failed")
            elif f.status == "cancelled":
                e.update(status="cancelled")
            else:
                r = f.result()
                prev = e.pop("previous_files", {})
                changed = sorted(k for k, v in r["files"].items() if k in prev and prev[k] != v)
                if changed:  # same key, different bytes: a non-reproducible task; say so, keep the new files
                    summary.nondeterministic[tid] = changed
                e.update(status="done", files=r["files"], seconds=r["seconds"], error=None)
                summary.executed.append(tid)
                if on_event:
                    on_event(tid, "done")
            write_manifest(out, manifest)
            bar.advance(tid, e["status"])
        # a task whose dependency failed errors with the dependency's exception: it is "blocked"
        for tid in todo:
            e = entries[tid]
            if e["status"] == "failed":
                if any(entries.get(d, {}).get("status") in ("failed", "blocked") for d in tasks[tid].deps):
                    e.update(status="blocked", error=None)
                else:
                    summary.failed[tid] = e["error"]
        write_manifest(out, manifest)
    except KeyboardInterrupt:
        for f in futures.values():
            f.cancel()
        for tid in todo:
            if entries[tid]["status"] == "pending":
                entries[tid]["status"] = "cancelled"
        write_manifest(out, manifest)
        raise
    finally:
        bar.close()


def _run_task(spec: dict, out: str, upstream: dict, n_threads: int, deps: list) -> dict:
    """The function Dask runs (``deps`` only orders the task after its dependencies)."""
    return T_.execute(spec, out, upstream, n_threads)


class _Bar:
    """The campaign's progress over tasks (:mod:`glassrs.progress`: a bar on a terminal with the
    last finished task, a stage line from the command line, nothing with ``progress=False``)."""

    def __init__(self, total: int, progress: bool | None):
        from glassrs import progress as _progress

        self._cm = _progress.task("campaign", total=total, enabled=progress, unit="tasks")
        self._task = self._cm.__enter__()

    def advance(self, tid: str, status: str) -> None:
        self._task.set_status(f"{status}: {tid}")
        self._task.advance()

    def close(self) -> None:
        import sys
        self._cm.__exit__(*sys.exc_info())


def _tau_guess(out: str, manifest: Mapping) -> dict:
    """Reference τ_α of state points already measured (improves cost projections)."""
    import polars as pl

    d = os.path.join(out, "tau_reference")
    if not os.path.isdir(d):
        return {}
    try:
        df = pl.scan_parquet(os.path.join(d, "**", "*.parquet"), hive_partitioning=True,
                             hive_schema={"system": pl.String, "T": pl.Float64}).collect()
    except Exception:  # a partial dataset: projections fall back to the default guess
        return {}
    return {(r["system"], r["T"]): r["tau_alpha"] for r in df.iter_rows(named=True)}
