"""``python -m glassrs campaign run|status|plans``: campaigns on Dask, written as one dataset.

* ``campaign run PLAN.toml --out DIR [--scheduler ADDR] [--workers N]`` runs (or resumes) a plan;
  without ``--scheduler`` on an embedded LocalCluster of worker processes sized to the machine.
* ``campaign status DIR|PLAN.toml [--json]``: tasks done/pending/failed per kind, time per task
  kind and the projected remaining time (measured means where tasks have run, else the
  single-core cost model; divided by the number of cores given with ``--cores``).
* ``campaign plans``: the plans shipped with glassrs (copy one with ``--copy NAME DEST``).
"""

from __future__ import annotations

import json
import os
import shutil
import sys


def add_parser(sub) -> None:
    p = sub.add_parser("campaign", help="run a campaign plan on Dask (state points × configurations × analyses)",
                       description="Campaigns: a TOML plan of systems, temperatures, configurations and "
                                   "analyses, run as fine-grained tasks on dask.distributed and written as one "
                                   "hive-partitioned Parquet dataset (read it with glassrs.campaign.open).")
    cs = p.add_subparsers(dest="campaign_command", metavar="SUBCOMMAND")
    r = cs.add_parser("run", help="run or resume a plan", description="Run (or resume) a campaign plan into DIR. "
                      "Completed tasks are skipped; a changed plan reruns exactly the tasks it affects.")
    r.add_argument("plan", help="campaign plan (TOML), or the name of a shipped plan (see 'campaign plans')")
    r.add_argument("--out", required=True, help="dataset folder (created; resumed when it exists)")
    r.add_argument("--scheduler", default=None, metavar="ADDR",
                   help="address of a running Dask scheduler (e.g. tcp://host:8786); default: an embedded "
                        "LocalCluster")
    r.add_argument("--workers", type=int, default=None,
                   help="worker processes of the embedded LocalCluster (default: one per core)")
    r.add_argument("--threads-per-task", type=int, default=None,
                   help="rayon threads inside each task (default: cores // workers; 1 on an external cluster)")
    r.add_argument("--no-verify", action="store_true", help="skip the sha256 check of completed tasks' files")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=run)
    s = cs.add_parser("status", help="task status and projected cost of a dataset or a plan")
    s.add_argument("source", help="dataset folder, plan file, or the name of a shipped plan")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.add_argument("--cores", type=int, default=None,
                   help="cores to project the remaining time on (default: this machine's)")
    s.set_defaults(func=status)
    t = cs.add_parser("target", help="propose the temperature where τ_α reaches a target (VFT), optionally run it",
                      description="Fit VFT to the configuration-mean τ_α(T) of a system of a campaign dataset, "
                                  "solve τ_α(T) = TAU, print T with its bootstrap interval over configurations, "
                                  "and with --run add T to that system and run the campaign again (only the new "
                                  "tasks, and those that depend on the lowest temperature, run).")
    t.add_argument("dataset", help="campaign dataset folder")
    t.add_argument("--system", default=None, help="system name (default: the first of the plan)")
    t.add_argument("--tau-alpha", type=float, required=True, help="target τ_α (time units τ)")
    t.add_argument("--species", default="all", help="species whose τ_α is targeted (default all)")
    t.add_argument("--run", action="store_true", help="add the proposed temperature and run the campaign")
    t.add_argument("--digits", type=int, default=3, help="significant digits of the proposed T (default 3)")
    t.set_defaults(func=target)
    pl_ = cs.add_parser("plans", help="list the plans shipped with glassrs")
    pl_.add_argument("--copy", nargs=2, metavar=("NAME", "DEST"), help="copy a shipped plan to DEST to edit it")
    pl_.set_defaults(func=plans)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _plan_path(name: str) -> str:
    from glassrs.campaign import shipped_plan

    return name if os.path.exists(name) else shipped_plan(name)


def run(args) -> int:
    import glassrs as gr

    plan = _plan_path(args.plan)
    s = gr.campaign.run(plan, args.out, client=args.scheduler, workers=args.workers,
                        threads_per_task=args.threads_per_task, verify=not args.no_verify,
                        progress=False if args.quiet else None)
    print(f"campaign {args.out}: {len(s.executed)} tasks run, {len(s.skipped)} already done "
          f"({s.seconds:.1f} s)" + (f"; dashboard was {s.dashboard}" if s.dashboard else ""))
    if s.nondeterministic:
        print(f"warning: {len(s.nondeterministic)} recomputed tasks wrote files that differ from the recorded ones: "
              f"{sorted(s.nondeterministic)[:5]}", file=sys.stderr)
    return 0


def _hms(seconds: float) -> str:
    s = int(round(seconds))
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return (f"{d}d " if d else "") + f"{h:02d}:{m:02d}:{s:02d}"


def status(args) -> int:
    import polars as pl

    import glassrs as gr
    from glassrs.campaign.runner import _cores

    src = args.source if os.path.isdir(args.source) else _plan_path(args.source)
    st = gr.campaign.status(src)
    cores = args.cores or _cores()
    by = (st.group_by("kind", maintain_order=True)
          .agg(pl.len().alias("tasks"), (pl.col("status") == "done").sum().alias("done"),
               (pl.col("status") == "pending").sum().alias("pending"),
               pl.col("status").is_in(["failed", "blocked"]).sum().alias("failed"),
               pl.col("seconds").mean().alias("mean_seconds"),
               pl.col("projected_seconds").filter(pl.col("status") != "done").sum().alias("remaining_core_seconds")))
    remaining = float(st.filter(pl.col("status") != "done")["projected_seconds"].sum())
    if args.json:
        print(json.dumps({"source": args.source, "cores": cores, "remaining_core_seconds": remaining,
                          "remaining_seconds_on_cores": remaining / cores,
                          "kinds": by.to_dicts(),
                          "failed": st.filter(pl.col("status") == "failed").select("task", "error").to_dicts()},
                         indent=1, default=str))
        return 0
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"campaign {args.source}")
    for c in ("kind", "tasks", "done", "pending", "failed/blocked", "mean time/task", "remaining (1 core)"):
        t.add_column(c, justify="left" if c == "kind" else "right", no_wrap=True)
    for r in by.iter_rows(named=True):
        t.add_row(r["kind"], str(r["tasks"]), str(r["done"]), str(r["pending"]), str(r["failed"]),
                  "—" if r["mean_seconds"] is None else f"{r['mean_seconds']:.2f} s", _hms(r["remaining_core_seconds"]))
    con = Console()
    con.print(t)
    con.print(f"projected remaining: {_hms(remaining)} core time = {_hms(remaining / cores)} on {cores} cores "
              "(measured means of done tasks where available, else the single-core cost model)")
    for r in st.filter(pl.col("status") == "failed").iter_rows(named=True):
        con.print(f"[red]failed[/] {r['task']}: {r['error']}")
    return 0


def target(args) -> int:
    import copy

    import glassrs as gr

    ds = gr.campaign.open(args.dataset)
    plan = copy.deepcopy(ds.plan)
    name = args.system or plan["systems"][0]["name"]
    systems = [s for s in plan["systems"] if s["name"] == name]
    if not systems:
        raise ValueError(f"no system '{name}' in {args.dataset} (systems: {[s['name'] for s in plan['systems']]})")
    r = gr.campaign.reduce.target_temperature(ds["relaxation"], name, args.tau_alpha, species=args.species).row(
        0, named=True)
    if not r["T"] == r["T"]:  # NaN
        raise ValueError(f"no temperature reaches τ_α = {args.tau_alpha:g} on the VFT fit of {name} "
                         f"({r['warning'] or 'fit failed'})")
    T = float(f"{r['T']:.{args.digits}g}")
    where = "extrapolated beyond" if r["extrapolated"] else "within"
    print(f"{name}: τ_α = {args.tau_alpha:g} at T = {r['T']:.5g} [{r['ci_low']:.5g}, {r['ci_high']:.5g}] "
          f"(VFT K = {r['K_VFT']:.4g}, T_VFT = {r['T_VFT']:.4g}; {where} the measured τ_α range "
          f"{r['tau_min']:.4g}–{r['tau_max']:.4g}; interval over {r['n_units']} {r['unit']}); proposed T = {T:g}")
    if args.run:
        system = systems[0]
        if T in system["temperatures"]:
            print(f"T = {T:g} is already a temperature of {name}")
            return 0
        system["temperatures"] = sorted([*system["temperatures"], T], reverse=True)
        s = gr.campaign.run(plan, args.dataset)
        print(f"campaign {args.dataset}: {len(s.executed)} tasks run for T = {T:g}; the dataset's plan (manifest) "
              f"now lists it — add {T:g} to {name}'s temperatures in your plan file too")
    return 0


def plans(args) -> int:
    from glassrs.campaign import shipped_plan, shipped_plans

    if args.copy:
        name, dest = args.copy
        shutil.copyfile(shipped_plan(name), dest)
        print(f"{name} copied to {dest}")
        return 0
    for name, doc in shipped_plans().items():
        print(f"{name:16s} {doc}")
    return 0
