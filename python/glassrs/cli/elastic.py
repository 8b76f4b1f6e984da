"""``python -m glassrs elastic TRAJ``: Hessian-based elasticity of inherent structures."""

from __future__ import annotations

from glassrs.cli._common import add_data_options


def add_parser(sub) -> None:
    p = sub.add_parser("elastic", help="shear modulus G and dipole stiffness κ of inherent structures",
                       description="For each selected frame (an inherent structure, or quenched first with "
                                   "--minimize): the athermal shear modulus G (non-affine, docs: definitions §6.3) and the dipole "
                                   "stiffness κ_ij of sampled interacting pairs. Writes one row per dipole "
                                   "(frame, i, j, species, r, kappa) to --out; prints G and mean κ per frame.")
    p.add_argument("trajectory", help="trajectory file (any format glassrs.read knows, or .npz from simulate)")
    add_data_options(p, model="kob_andersen")
    p.add_argument("--every", type=int, default=1, help="use every K-th frame")
    p.add_argument("--max-frames", type=int, default=None, help="at most this many frames")
    p.add_argument("--minimize", action="store_true", help="quench each frame with FIRE first")
    p.add_argument("--pairs", default="1000", help="dipoles per frame: a number (sampled) or 'all' (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the pair sampling")
    p.add_argument("--planes", default="all", help="shear planes for G: 'xy', 'xy,yz' or 'all' (default)")
    p.add_argument("--solver", default="auto", choices=["auto", "cg", "cholesky"])
    p.add_argument("--force-tol", type=float, default=1e-6, help="largest residual force accepted as a minimum")
    p.add_argument("--local", action="store_true", help="write per-particle local κ_i instead of per-dipole rows")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--out", required=True, help="output table (.parquet)")
    p.set_defaults(func=run)


def run(args) -> int:
    import polars as pl
    from glassrs import elastic, progress
    from glassrs.cli._common import get_model, read_trajectory
    from glassrs.tables import make_table, write_parquet
    from glassrs.trajectory import species_params

    model = get_model(args.model, required=True)
    traj = read_trajectory(args.trajectory, args, model, dt=args.dt)
    idx = list(range(0, len(traj), max(1, args.every)))[: args.max_frames]
    pairs = None if args.pairs == "all" else int(args.pairs)
    planes = "all" if args.planes == "all" else args.planes.split(",")
    tables, rows = [], []
    with progress.task("elasticity", total=len(idx), unit="frames") as prog:
        for k in idx:
            fr = traj[k]
            if args.minimize:
                from glassrs.minimize import fire
                fr, _ = fire(fr, model, n_threads=args.threads)
            h = elastic.hessian(fr, model, force_tol=args.force_tol, n_threads=args.threads)
            g = elastic.shear_modulus(h, planes=planes, solver=args.solver, n_threads=args.threads)
            kap = elastic.dipole_stiffness(h, pairs=pairs, seed=args.seed + k, solver=args.solver,
                                           n_threads=args.threads)
            t = elastic.local_kappa(kap, fr) if args.local else kap
            tables.append(t.with_columns(pl.lit(k, dtype=pl.Int64).alias("frame")))
            rows.append((k, g.G, g.born, float(kap["kappa"].mean()), kap.height, g.solver))
            prog.advance()
    out = make_table(pl.concat(tables, how="vertical"),
                     {"kind": "local_kappa" if args.local else "dipole_stiffness", "model": model.name,
                      "trajectory": args.trajectory, "frames": idx, "pairs": args.pairs, "seed": args.seed,
                      "minimize": args.minimize, "force_tol": args.force_tol,
                      "G": {str(r[0]): r[1] for r in rows}, "born": {str(r[0]): r[2] for r in rows},
                      "solver": rows[0][5] if rows else None, **species_params(traj)})
    write_parquet(out, args.out)
    for k, G, born, km, nd, solver in rows:
        print(f"frame {k}: G = {G:.6g}  (Born {born:.6g})  <κ> = {km:.6g} over {nd} dipoles  [{solver}]")
    print(f"wrote {out.height} rows to {args.out}")
    return 0
