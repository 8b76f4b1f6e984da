"""``python -m glassrs isoconf TRAJ --T 0.6 --runs 20 --steps 20000 --out mob.parquet``:
an isoconfigurational ensemble from one frame, the per-particle mobility table and,
optionally, C_R(X, μ) against local structure (docs: definitions §4)."""

from __future__ import annotations

from glassrs.cli._common import add_data_options


def _floats(spec: str) -> list[float]:
    try:
        return [float(x) for x in spec.split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"cannot parse '{spec}' as comma-separated numbers") from None


def add_parser(sub) -> None:
    p = sub.add_parser("isoconf", help="isoconfigurational ensemble: mobility, per-particle tau_alpha, C_R (docs: definitions §4)",
                       description="Run N_IC MD runs (built-in engine) from one frame of TRAJ with fresh "
                                   "Maxwell-Boltzmann velocities at T, write the per-particle mobility table (time, "
                                   "particle, species, mobility, overlap, msd) and optionally the per-particle tau_alpha "
                                   "and the Spearman C_R(X, mobility) of local structure X against t/tau_alpha and L.")
    p.add_argument("trajectory", help="trajectory file holding the initial configuration")
    p.add_argument("--frame", type=int, default=-1, help="frame index of the initial configuration (default: last)")
    add_data_options(p, model="kob_andersen", temperature="required",
                     temperature_help="temperature (ε/k_B) of the velocities (and NVT thermostat)", dt_flag="--dt-file")
    p.add_argument("--runs", type=int, default=20, help="number of runs N_IC (default 20)")
    p.add_argument("--steps", type=int, required=True, help="run length in MD steps (log-spaced output)")
    p.add_argument("--dt", type=float, default=0.005,
                   help="MD timestep of the ensemble runs (default 0.005; the file's own is --dt-file)")
    p.add_argument("--thermostat", choices=["nve", "nvt"], default="nve", help="integrator (default nve)")
    p.add_argument("--seed", type=int, default=0, help="master seed (default 0)")
    p.add_argument("--a", type=float, default=0.3, help="overlap cutoff a (σ), default 0.3")
    p.add_argument("--out", required=True, help="output Parquet file: mobility table")
    p.add_argument("--tau-out", default=None, help="also write the per-particle tau_alpha table")
    p.add_argument("--corr-out", default=None, help="also compute and write C_R(X, mobility)")
    p.add_argument("--columns", default="sop,s2,e_loc", help="structural columns for C_R (default sop,s2,e_loc)")
    p.add_argument("--L", default="0,2", help="coarse-graining lengths for C_R (default 0,2)")
    p.add_argument("--closure", choices=["approx", "hnc"], default="approx", help="SOP closure (default approx)")
    p.add_argument("--threads", type=int, default=None, help="threads (default all cores)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    import numpy as np
    import polars as pl
    from rich.console import Console

    import glassrs as gr
    from glassrs.cli._common import get_model, read_trajectory, with_species_params

    con = Console()
    model = get_model(args.model, required=True)
    traj = read_trajectory(args.trajectory, args, model, dt=args.dt_file)
    frame = traj[args.frame]
    ens = gr.isoconf.ensemble(frame, model, T=args.T, n_runs=args.runs, steps=args.steps, dt=args.dt,
                              thermostat=args.thermostat, seed=args.seed, a=args.a, n_threads=args.threads,
                              progress=False if args.no_progress else None)
    mob = with_species_params(gr.isoconf.mobility(ens), traj)
    gr.write_parquet(mob, args.out)
    tau = gr.params(mob)["tau_alpha"]
    con.print("ensemble tau_alpha: " + ", ".join(f"{k} = {v:.5g}" for k, v in tau.items()))
    con.print(f"mobility table written to {args.out} ({mob.height} rows)")
    if args.tau_out:
        ta = with_species_params(gr.isoconf.tau_alpha(mob), traj)
        gr.write_parquet(ta, args.tau_out)
        con.print(f"per-particle tau_alpha: {int(ta['crossed'].sum())}/{ta.height} relaxed; written to {args.tau_out}")
    if args.corr_out:
        if not np.isfinite(tau["all"]):
            raise ValueError("the ensemble overlap never reached 1/e: increase --steps to correlate against t/tau_alpha")
        loc = gr.structure.local(frame, model, T=args.T, closure=args.closure, n_threads=args.threads,
                                 windows=gr.structure.trajectory_windows(traj, n_threads=args.threads))
        loc = loc.with_columns(pl.lit(0, dtype=pl.Int64).alias("frame"))
        cr = gr.isoconf.correlate(loc, mob, [c.strip() for c in args.columns.split(",")], L=_floats(args.L),
                                  frames=frame, n_threads=args.threads)
        cr = with_species_params(cr, traj)
        gr.write_parquet(cr, args.corr_out)
        near = (cr.with_columns((pl.col("t_over_tau_alpha").log() .abs()).alias("_d"))
                .filter(pl.col("species") == "all").sort("_d").group_by("quantity", "L", maintain_order=True).first()
                .sort("quantity", "L"))
        for row in near.iter_rows(named=True):
            con.print(f"C_R({row['quantity']}, mobility) L={row['L']:g} at t/tau_alpha={row['t_over_tau_alpha']:.3g}: "
                      f"{row['c_r']:.4f}")
        con.print(f"C_R table written to {args.corr_out} ({cr.height} rows)")
    return 0
