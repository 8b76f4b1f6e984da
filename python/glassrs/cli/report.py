"""``python -m glassrs report [TRAJ]``: a report with figures (default: the embedded dataset)."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("report", help="analyse a trajectory (or the embedded default dataset) into a report",
                       description="Write a report (Markdown + PNG figures) about a trajectory. With no "
                                   "trajectory, uses the embedded Kob–Andersen dataset.")
    p.add_argument("trajectory", nargs="?", help="trajectory file (default: embedded Kob–Andersen data)")
    p.add_argument("--out", default="glassrs-report", help="output directory (default: glassrs-report)")
    p.add_argument("--dt", type=float, default=None, help="MD timestep to convert steps to times")
    p.add_argument("--inherent-structures", action="store_true",
                   help="also quench frames to inherent structures and report their elasticity (κ, G)")
    p.set_defaults(func=run)


def run(args) -> int:
    from glassrs.report import make_report

    path = make_report(args.trajectory, out=args.out, dt=args.dt,
                       inherent_structures=getattr(args, "inherent_structures", False))
    print(f"report written to {path}")
    return 0
