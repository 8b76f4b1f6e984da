"""``python -m glassrs dynamics TRAJ --out x.parquet``: MSD, overlap, χ4, F_s, α2 per lag."""

from __future__ import annotations

from glassrs.cli._common import add_data_options


def add_parser(sub) -> None:
    p = sub.add_parser("dynamics", help="time correlations: MSD, overlap q, chi4, F_s, alpha2 (docs: definitions §3)",
                       description="Compute MSD, overlap, χ4, F_s(k) and α2 per species and for all particles at "
                                   "every lag of the frame schedule, in one pass, and write a long table "
                                   "(species, lag, n_origins, msd, overlap, chi4, fs, alpha2). Prints τ_α, D and "
                                   "the α2 peak. Optionally writes p_hop rearrangements. Needs frame times: "
                                   "--dt unless the file stores them (LAMMPS ITEM: TIME).")
    p.add_argument("trajectory", nargs="+",
                   help="trajectory file(s); several plain files = independent runs of one state point; several "
                        "state points as FILE:T=TEMP … or a TOML file listing them (files at one T are averaged; "
                        "the table gets a T column and τ_α is printed per T)")
    p.add_argument("--out", required=True, help="output Parquet file")
    add_data_options(p, model_extra="; used only to name and check the species")
    p.add_argument("--a", type=float, default=0.3, help="overlap cutoff a (σ), default 0.3")
    p.add_argument("--k", type=float, default=None,
                   help="F_s wave number (σ⁻¹); default: first peak of S_AA estimated from the data")
    p.add_argument("--dk", type=float, default=0.1, help="half width of the k shell (default 0.1)")
    p.add_argument("--nk", type=int, default=24, help="max number of wave vectors (default 24)")
    p.add_argument("--origins", type=int, default=None, help="number of evenly spaced time origins (default: all frames)")
    p.add_argument("--max-lag", type=float, default=None, help="largest lag (time units)")
    p.add_argument("--memory-mb", type=float, default=1024.0, help="memory budget for streaming (default 1024 MB)")
    p.add_argument("--phop-out", default=None, help="also write the p_hop rearrangement table to this Parquet file")
    p.add_argument("--window", type=float, default=15.0, help="p_hop window Δt (time units, default 15)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    from rich.console import Console

    import glassrs as gr
    from glassrs import dynamics as dyn
    from glassrs.cli._common import get_model, read_trajectory, require_times, state_points, with_species_params

    model = get_model(args.model)
    points = state_points(args.trajectory, args)
    if points is not None:
        return _run_state_points(args, model, points)
    trajs = [read_trajectory(path, args, model, dt=args.dt) for path in args.trajectory]
    for t in trajs:
        require_times(t)  # lags, τ_α, D and p_hop windows are times: no silent steps
    progress = False if args.no_progress else None
    table = dyn.correlations(trajs if len(trajs) > 1 else trajs[0], a=args.a, k=args.k, dk=args.dk, nk=args.nk,
                             origins=args.origins, max_lag=args.max_lag, max_memory_mb=args.memory_mb,
                             progress=progress)
    table = with_species_params(table, trajs[0])
    gr.write_parquet(table, args.out)
    con = Console(stderr=False)
    rt = dyn.relaxation_times(table)
    for row in rt.iter_rows(named=True):
        con.print(f"{row['species']:>4}: tau_alpha(q) = {row['tau_q']:.6g}, tau_alpha(F_s) = {row['tau_fs']:.6g}")
    try:
        t_star, a2, msd_star = dyn.alpha2_peak(table)
        con.print(f" all: alpha2 peak t* = {t_star:.6g} (alpha2 = {a2:.4g}), MSD(t*) = {msd_star:.6g}")
    except ValueError as e:
        con.print(f"alpha2 peak: {e}")
        msd_star = None
    if args.phop_out:
        if len(trajs) > 1:
            raise ValueError("--phop-out needs a single trajectory")
        reb = dyn.rearrangements(trajs[0], window=args.window, p_c=msd_star, table=table, max_memory_mb=args.memory_mb,
                                 progress=progress)
        reb = with_species_params(reb, trajs[0])
        gr.write_parquet(reb, args.phop_out)
        con.print(f"p_hop table written to {args.phop_out} (p_c = {gr.params(reb)['p_c']:.6g})")
    con.print(f"dynamics table written to {args.out} ({table.height} rows)")
    return 0


def _run_state_points(args, model, points) -> int:
    """Several state points: one correlation table per temperature (the files at one T averaged as
    independent runs), stacked with a leading T column; τ_α printed per T."""
    import polars as pl
    from rich.console import Console

    import glassrs as gr
    from glassrs import dynamics as dyn
    from glassrs.cli._common import read_state_points, require_times, with_species_params
    from glassrs.tables import make_table, params

    if args.phop_out:
        raise ValueError("--phop-out needs a single trajectory, not several state points")
    trajs = read_state_points(points, args, model)
    for t in trajs:
        require_times(t)
    by_T: dict[float, list] = {}
    for p, t in zip(points, trajs):
        by_T.setdefault(p.T, []).append(t)
    progress = False if args.no_progress else None
    parts, per_T = [], {}
    for T in sorted(by_T):
        ts = by_T[T]
        tab = dyn.correlations(ts if len(ts) > 1 else ts[0], a=args.a, k=args.k, dk=args.dk, nk=args.nk,
                               origins=args.origins, max_lag=args.max_lag, max_memory_mb=args.memory_mb,
                               progress=progress)
        per_T[T] = tab
        parts.append(tab.with_columns(pl.lit(T, dtype=pl.Float64).alias("T")).select("T", *tab.columns))
    first = per_T[min(per_T)]
    prm = {**params(first), "state_points": [{"path": p.path, "T": p.T, "dt": p.dt} for p in points],
           "temperatures": sorted(by_T), "per_T": {f"{T:g}": params(tab) for T, tab in per_T.items()}}
    table = with_species_params(make_table(pl.concat(parts, how="vertical"), prm), trajs[0])
    gr.write_parquet(table, args.out)
    con = Console(stderr=False)
    for T, tab in per_T.items():
        for row in dyn.relaxation_times(tab).iter_rows(named=True):
            con.print(f"T = {T:g} {row['species']:>4}: tau_alpha(q) = {row['tau_q']:.6g}, "
                      f"tau_alpha(F_s) = {row['tau_fs']:.6g}")
    con.print(f"dynamics table written to {args.out} ({table.height} rows, {len(per_T)} temperatures)")
    return 0
