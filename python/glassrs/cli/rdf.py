"""``python -m glassrs rdf TRAJ``: partial g_uv(r) (and optionally S_uv(q)) to Parquet."""

from __future__ import annotations

from glassrs.cli._common import add_data_options
from glassrs.cli._structure_common import add_frame_options


def add_parser(sub) -> None:
    p = sub.add_parser("rdf", help="partial radial distribution functions g_uv(r) (docs: definitions §2.1)",
                       description="Partial g_uv(r) averaged over frames; columns pair, r, g. With --sq, "
                                   "the partial S_uv(q) on the reciprocal lattice instead (pair, q, s, n_vectors).")
    p.add_argument("trajectory", help="LAMMPS dump, GSD, extended XYZ, or the .npz/.parquet trajectories glassrs writes")
    p.add_argument("--r-max", type=float, default=None, help="largest r (σ); default half the smallest box height")
    p.add_argument("--dr", type=float, default=0.01, help="bin width (σ), default 0.01")
    p.add_argument("--sq", action="store_true", help="compute S_uv(q) instead of g_uv(r)")
    p.add_argument("--q-max", type=float, default=12.0, help="with --sq: largest |q| (σ⁻¹), default 12")
    p.add_argument("--dq", type=float, default=0.1, help="with --sq: shell width (σ⁻¹), default 0.1")
    add_data_options(p, model_extra="; used only to name and check the species")
    add_frame_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    import glassrs as gr
    from glassrs.cli._common import get_model, read_trajectory
    from glassrs.cli._structure_common import parse_frames, progress_bar, write_out

    traj = read_trajectory(args.trajectory, args, get_model(args.model), dt=args.dt)
    frames = parse_frames(args.frames)
    with progress_bar("S(q)" if args.sq else "g(r)") as cb:
        if args.sq:
            df = gr.structure.sq(traj, q_max=args.q_max, dq=args.dq, frames=frames, n_threads=args.threads,
                                 progress=cb)
        else:
            df = gr.structure.rdf(traj, r_max=args.r_max, dr=args.dr, frames=frames, n_threads=args.threads,
                                  progress=cb)
    write_out(df, args.out, "S(q)" if args.sq else "g(r)")
    return 0
