"""``python -m glassrs local TRAJ``: per-particle SOP, s2, e_loc, e_pair (docs: definitions §2.3–2.8) to Parquet."""

from __future__ import annotations

from glassrs.cli._common import add_data_options
from glassrs.cli._structure_common import add_frame_options


def add_parser(sub) -> None:
    p = sub.add_parser("local", help="per-particle structural order parameter, s2 and local energies",
                       description="One row per particle and frame: beta_phi, sop = 1/|βφ_i|, s2, e_loc, e_pair. "
                                   "Windows default to the first peak of the global g_uv of the same frames; "
                                   "the table's Parquet metadata records closure, T, windows, δ and the "
                                   "macroscopic SOP.")
    p.add_argument("trajectory", nargs="+",
                   help="a trajectory file (any format glassrs.read knows), or several state points as "
                        "FILE:T=TEMP … or a TOML file listing them (one table with a leading T column; the "
                        "windows of the lowest temperature shared by all unless --windows)")
    p.add_argument("--closure", choices=["approx", "hnc"], default="approx")
    p.add_argument("--windows", default=None, help="integration windows, e.g. 'A-A=0.9:1.45,A-B=0.7:1.25,B-B=0.7:1.4' "
                   "(default: from the g of every frame of the file)")
    p.add_argument("--delta", type=float, default=0.09, help="Gaussian width δ (σ), default 0.09")
    p.add_argument("--dr", type=float, default=0.005, help="grid spacing (σ), default 0.005")
    p.add_argument("--r-s", type=float, default=3.0, help="upper limit of the s2 integral (σ), default 3")
    p.add_argument("--coarse-grain", default=None, metavar="L1,L2,…",
                   help="also add coarse-grained sop columns sop_L… for these lengths (docs: definitions §2.9)")
    add_data_options(p, model="kob_andersen", model_extra="; 'none' skips the energies", temperature="optional",
                     temperature_help="temperature of the state point (ε/k_B; needed for --closure hnc)")
    add_frame_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    import glassrs as gr
    from glassrs.cli._common import get_model, read_trajectory, state_points
    from glassrs.cli._structure_common import parse_windows, write_out

    model = get_model(args.model)
    points = state_points(args.trajectory, args)
    if points is not None:
        return _run_state_points(args, model, points)
    if len(args.trajectory) > 1:
        raise ValueError(f"{len(args.trajectory)} files given without temperatures; give each its own as "
                         f"FILE:T=TEMPERATURE (e.g. {args.trajectory[0]}:T=0.6) or list them in a TOML file")
    traj = read_trajectory(args.trajectory[0], args, model, dt=args.dt)
    df = _local(args, model, traj, args.T, parse_windows(args.windows))
    p = gr.params(df)
    print(f"closure {p['closure']}, windows {p['windows']}, sop_macro = {p['sop_macro']:.6g}, "
          f"<sop> = {p['sop_mean']:.6g}")
    write_out(df, args.out, "local structure")
    return 0


def _local(args, model, traj, T, windows):
    import glassrs as gr
    from glassrs.cli._structure_common import parse_frames, progress_bar

    if windows is None:   # from every frame of the file: a few selected frames rarely resolve B-B
        windows = gr.structure.trajectory_windows(traj, n_threads=args.threads)
    with progress_bar("local SOP") as cb:
        df = gr.structure.local(traj, model, T=T, closure=args.closure, windows=windows,
                                delta=args.delta, dr=args.dr, r_s=args.r_s, frames=parse_frames(args.frames),
                                n_threads=args.threads, progress=cb)
    if args.coarse_grain:
        L = [float(x) for x in args.coarse_grain.split(",")]
        df = gr.structure.coarse_grain(traj, df, "sop", L=L, n_threads=args.threads)
    return df


def _run_state_points(args, model, points) -> int:
    """Several state points: the per-particle table of each (all with the windows of the lowest
    temperature unless --windows, so that a T series compares like with like), stacked with a
    leading T column and a ``point`` column (index of the state point)."""
    import polars as pl

    import glassrs as gr
    from glassrs.cli._common import read_state_points
    from glassrs.cli._structure_common import parse_windows, write_out
    from glassrs.tables import make_table, params
    from glassrs.trajectory import species_params

    trajs = read_state_points(points, args, model)
    order = sorted(range(len(points)), key=lambda k: points[k].T)
    windows = parse_windows(args.windows)
    tables: dict[int, pl.DataFrame] = {}
    for k in order:
        df = _local(args, model, trajs[k], points[k].T, windows)
        if windows is None:
            windows = {pair: tuple(w) for pair, w in params(df)["windows"].items()}
        tables[k] = df
    parts = [tables[k].with_columns(pl.lit(points[k].T, dtype=pl.Float64).alias("T"),
                                    pl.lit(k, dtype=pl.Int64).alias("point")).select("T", "point", *tables[k].columns)
             for k in range(len(points))]
    first = params(tables[order[0]])
    prm = {**first, "state_points": [{"path": p.path, "T": p.T, "dt": p.dt} for p in points],
           "per_point": [params(tables[k]) for k in range(len(points))], **species_params(trajs[0])}
    prm.pop("T", None)
    df = make_table(pl.concat(parts, how="vertical"), prm)
    for k in range(len(points)):
        p = params(tables[k])
        print(f"T = {points[k].T:g} ({points[k].path}): sop_macro = {p['sop_macro']:.6g}, <sop> = {p['sop_mean']:.6g}")
    print(f"closure {first['closure']}, windows {first['windows']} (shared by all state points)")
    write_out(df, args.out, "local structure")
    return 0
