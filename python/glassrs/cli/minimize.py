"""``python -m glassrs minimize``: FIRE inherent structures of a trajectory's frames."""

from __future__ import annotations

from glassrs.cli._common import add_data_options


def add_parser(sub) -> None:
    p = sub.add_parser("minimize", help="FIRE inherent structures of every frame (energies table)",
                       description="Quench frames of a trajectory to their inherent structures with FIRE "
                                   "(LAMMPS min_style fire settings, max|F| < f_tol) in parallel over frames.")
    p.add_argument("trajectory", help="trajectory file (.npz from simulate, or any format glassrs.read knows)")
    add_data_options(p, model="kob_andersen", temperature="optional",
                     temperature_help="parent temperature (ε/k_B): also report the IS transition rate Γ and its "
                                      "reduced form; needs frame times (--dt)")
    p.add_argument("--every", type=int, default=1, help="quench every K-th frame")
    p.add_argument("--f-tol", type=float, default=1e-10)
    p.add_argument("--max-iter", type=int, default=100_000)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--out", required=True, help="table of IS energies (.parquet)")
    p.add_argument("--out-frames", default=None, help="also write the IS configurations (.npz/.gsd/.lammpstrj)")
    p.set_defaults(func=run)


def run(args) -> int:
    from glassrs import md
    from glassrs.cli._common import get_model, read_trajectory, require_times
    from glassrs.tables import write_parquet
    from glassrs.trajectory import Trajectory

    model = get_model(args.model, required=True)
    traj = read_trajectory(args.trajectory, args, model, dt=args.dt)
    if args.T is not None:
        require_times(traj)  # Γ is a rate per unit time
    frames, table = md.inherent_structures(traj, model, every=args.every, f_tol=args.f_tol,
                                           max_iter=args.max_iter, n_threads=args.threads, temperature=args.T)
    write_parquet(table, args.out)
    print(f"{len(frames)} inherent structures; energies in {args.out}")
    if args.out_frames:
        md.write(Trajectory.from_frames(frames, dt=traj.dt), args.out_frames)
        print(f"configurations in {args.out_frames}")
    return 0
