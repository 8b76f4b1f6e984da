"""``python -m glassrs simulate``: run the built-in MD engine."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("simulate", help="run the built-in MD engine (NVE / Nosé–Hoover NVT)",
                       description="Simulate a built-in model with the glassrs MD engine: random start, push-off, "
                                   "optional melt and quench, equilibration, production with linear or log-spaced "
                                   "frames. Reduced units (σ, ε, τ).")
    p.add_argument("--model", default="kob_andersen", metavar="NAME[:k=v,...]",
                   help="pair model: kob_andersen (ka), ka_wca, wahnstrom, ipl10, qp:q=12,p=6 (default kob_andersen)")
    p.add_argument("-n", "--n", type=int, default=1000, help="number of particles (default 1000)")
    p.add_argument("-T", "--temperature", type=float, default=0.8, help="temperature (default 0.8)")
    p.add_argument("--density", type=float, default=None, help="number density (default: the model's)")
    p.add_argument("--steps", type=int, default=10_000, help="production steps (default 10000)")
    p.add_argument("--dt", type=float, default=0.005, help="timestep (default 0.005)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--start", choices=["random", "lattice"], default="random")
    p.add_argument("--melt-T", type=float, default=None, help="melt temperature (default: T)")
    p.add_argument("--melt-steps", type=int, default=0)
    p.add_argument("--quench-steps", type=int, default=0, help="linear ramp melt_T → T")
    p.add_argument("--equilibrate", type=int, default=None,
                   help="NVT steps at T before production (default: none, with a warning for a random or lattice "
                        "start; give 0 to say so); the drift of U/N during production is printed")
    p.add_argument("--ensemble", choices=["nvt", "nve"], default="nvt")
    p.add_argument("--tdamp", type=float, default=None, help="thermostat damping time (default 100 dt)")
    p.add_argument("--every", type=int, default=None, help="frame every K steps")
    p.add_argument("--log-block", type=int, default=None, help="log-spaced frames in blocks of K steps")
    p.add_argument("--log-base", type=float, default=1.4)
    p.add_argument("--thermo-every", type=int, default=100)
    p.add_argument("--quench-every", type=int, default=None,
                   help="FIRE-quench every K MD steps; U_IS(t) table written next to --out")
    p.add_argument("--checkpoint", default=None, help="checkpoint file (.npz); an existing one is resumed")
    p.add_argument("--checkpoint-every", type=int, default=None)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--out", required=True,
                   help="trajectory file: .gsd (HOOMD-blue, float64, with frame times), .npz (exact arrays), "
                        ".lammpstrj/.dump or .parquet (long table); every command reads each of them")
    p.add_argument("--thermo", default=None, help="thermodynamic log (.parquet); default: OUT stem + .thermo.parquet")
    p.set_defaults(func=run)


def run(args) -> int:
    import os

    from glassrs import md
    from glassrs.cli._common import get_model
    from glassrs.tables import write_parquet

    model = get_model(args.model, required=True)
    md.check_out_path(args.out, "--out")  # before the simulation, not after it
    if args.thermo:
        md.check_out_path(_thermo_arg(args.thermo), "--thermo")
    traj = md.run(model, n=args.n, T=args.temperature, steps=args.steps, dt=args.dt, seed=args.seed,
                  density=args.density, start=args.start, melt_T=args.melt_T, melt_steps=args.melt_steps,
                  quench_steps=args.quench_steps, equilibrate=args.equilibrate, ensemble=args.ensemble,
                  tdamp=args.tdamp, every=args.every, log_block=args.log_block, log_base=args.log_base,
                  thermo_every=args.thermo_every, quench_every=args.quench_every, checkpoint=args.checkpoint,
                  checkpoint_every=args.checkpoint_every, n_threads=args.threads, progress=True)
    thermo = md.write(traj, args.out, thermo=_thermo_arg(args.thermo))
    stem = os.path.splitext(args.out)[0]
    print(f"{len(traj)} frames written to {args.out}; thermodynamic log in {thermo}")
    d = traj.params.get("production_drift") or {}
    if d.get("change") is not None:
        print(f"U/N drift during production: {d['change']:+.4g} ε over the run (std of U/N {d['std']:.3g} ε)")
    if args.quench_every:
        write_parquet(traj.inherent, stem + ".inherent.parquet")
        print(f"inherent-structure energies in {stem}.inherent.parquet")
    return 0


def _thermo_arg(thermo: str | None) -> str | None:
    """``--thermo`` as a Parquet path (``.parquet`` added when missing); None: beside ``--out``."""
    if not thermo:
        return None
    return thermo if thermo.lower().endswith(".parquet") else thermo + ".parquet"
