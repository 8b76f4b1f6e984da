"""``python -m glassrs report [TRAJ]``: a report with figures (default: the embedded dataset)."""

from __future__ import annotations

from glassrs.cli._common import add_data_options


def add_parser(sub) -> None:
    p = sub.add_parser("report", help="a report with figures on a trajectory, a campaign dataset, or the "
                                      "embedded default campaign",
                       description="Write a report — one self-contained HTML page (report.html, figures embedded) and "
                                   "the same text as Markdown (report.md) next to its PNG figures — about a "
                                   "trajectory file, several state points or a campaign dataset folder. With neither, runs the embedded default campaign (Kob–Andersen, "
                                   "N = 1000, four temperatures × three configurations, isoconfigurational "
                                   "ensembles; a few minutes on 2 cores, once: cached) and reports on it.")
    p.add_argument("trajectory", nargs="*",
                   help="a trajectory file, several state points (FILE:T=TEMP … or a TOML file listing them: "
                        "τ_α(T), VFT and SOP(T) panels), or a campaign dataset folder (default: the embedded "
                        "default campaign)")
    p.add_argument("--out", default="glassrs-report", help="output directory (default: glassrs-report)")
    add_data_options(p, model_extra="; the sections' default is kob_andersen", temperature="optional",
                     temperature_help="temperature of the run (ε/k_B): parent temperature of the elasticity "
                                      "section, needed by --isoconf")
    p.add_argument("--inherent-structures", action="store_true",
                   help="also quench frames to inherent structures and report their elasticity (κ, G)")
    p.add_argument("--isoconf", action="store_true",
                   help="add the isoconfigurational C_R section (runs MD ensembles per temperature: slow)")
    p.set_defaults(func=run)


def run(args) -> int:
    import os
    import sys

    from glassrs.cli._common import get_model, read_state_points, read_trajectory, state_points
    from glassrs.report import make_report

    model = get_model(args.model)
    data = None
    paths = list(args.trajectory)
    points = state_points(paths, args) if paths else None
    if points is not None:
        from glassrs import statepoints
        from glassrs.report import Run

        trajs = read_state_points(points, args, model)
        data = [Run(label, p.T, t, model) for label, p, t in zip(statepoints.labels(points), points, trajs)]
        untimed = [p.path for p, t in zip(points, trajs) if not t.has_times]
        if untimed:
            print(f"note: {', '.join(untimed)}: no frame times (none stored in the file, no --dt or dt=): the "
                  "dynamics of these runs is skipped; pass --dt with the MD timestep", file=sys.stderr)
    elif len(paths) > 1:
        raise ValueError(f"{len(paths)} files given without temperatures; for several state points give each "
                         f"its own as FILE:T=TEMPERATURE (e.g. {paths[0]}:T=0.6) or list them in a TOML file")
    elif paths and os.path.isdir(paths[0]):
        data = paths[0]   # a campaign dataset: the plan says model, species, T and dt
    elif paths:
        data = read_trajectory(paths[0], args, model, dt=args.dt)
        if not data.has_times:
            print(f"note: {paths[0]} has no frame times (none stored in the file, no --dt): the dynamics "
                  "section is skipped; pass --dt with the MD timestep", file=sys.stderr)
    elif args.species or args.model or args.T is not None or args.dt is not None:
        raise ValueError("--species, --model, --T and --dt describe a trajectory file; the embedded dataset "
                         "needs none of them")
    path = make_report(data, out=args.out, dt=args.dt, model=model, temperature=args.T,
                       inherent_structures=getattr(args, "inherent_structures", False),
                       extra=("correlations",) if getattr(args, "isoconf", False) else ())
    import os.path as op
    print(f"report written to {op.join(op.dirname(path), 'report.html')} (Markdown: {path})")
    return 0
