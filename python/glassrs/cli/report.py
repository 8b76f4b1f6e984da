"""``python -m glassrs report [TRAJ]``: a report with figures (default: the embedded dataset)."""

from __future__ import annotations

from glassrs.cli._common import add_data_options


def add_parser(sub) -> None:
    p = sub.add_parser("report", help="a report with figures on a trajectory, a campaign dataset, or the "
                                      "embedded default campaign",
                       description="Write a report (Markdown + PNG figures) about a trajectory file or a campaign "
                                   "dataset folder. With neither, runs the embedded default campaign (Kob–Andersen, "
                                   "N = 1000, four temperatures × three configurations, isoconfigurational "
                                   "ensembles; a few minutes on 2 cores, once: cached) and reports on it.")
    p.add_argument("trajectory", nargs="?", help="trajectory file or campaign dataset folder (default: the "
                                                 "embedded default campaign)")
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

    from glassrs.cli._common import get_model, read_trajectory
    from glassrs.report import make_report

    model = get_model(args.model)
    data = None
    if args.trajectory is not None and os.path.isdir(args.trajectory):
        data = args.trajectory   # a campaign dataset: the plan says model, species, T and dt
    elif args.trajectory is not None:
        data = read_trajectory(args.trajectory, args, model, dt=args.dt)
        if not data.has_times:
            print(f"note: {args.trajectory} has no frame times (none stored in the file, no --dt): the dynamics "
                  "section is skipped; pass --dt with the MD timestep", file=sys.stderr)
    elif args.species or args.model or args.T is not None or args.dt is not None:
        raise ValueError("--species, --model, --T and --dt describe a trajectory file; the embedded dataset "
                         "needs none of them")
    path = make_report(data, out=args.out, dt=args.dt, model=model, temperature=args.T,
                       inherent_structures=getattr(args, "inherent_structures", False),
                       extra=("correlations",) if getattr(args, "isoconf", False) else ())
    print(f"report written to {path}")
    return 0
