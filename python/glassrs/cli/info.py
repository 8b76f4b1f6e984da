"""``python -m glassrs info TRAJ``: a summary of a trajectory."""

from __future__ import annotations

from glassrs.cli._common import add_data_options


def add_parser(sub) -> None:
    p = sub.add_parser("info", help="summarise a trajectory (frames, N, species, box, density, times)",
                       description="Print a summary of a trajectory file: frames, particles, species counts, "
                                   "box, density, time span and the columns found.")
    p.add_argument("trajectory", help="LAMMPS dump, GSD, extended XYZ, or the .npz/.parquet trajectories glassrs writes")
    add_data_options(p, model_extra="; used only to name and check the species")
    p.add_argument("--format", default=None, choices=["lammps", "gsd", "extxyz", "npz", "parquet"],
                   help="file format (default: guessed from the file name)")
    p.set_defaults(func=run)


def run(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from glassrs.cli._common import get_model, read_trajectory, species_note

    traj = read_trajectory(args.trajectory, args, get_model(args.model), dt=args.dt, quiet=True)
    f = traj[0]
    t = Table(title=f"glassrs info: {args.trajectory}", show_header=False)
    t.add_row("frames", str(len(traj)))
    t.add_row("particles", str(f.n_particles))
    t.add_row("species", ", ".join(f"{s}: {n}" for s, n in f.counts().items()))
    note = species_note(traj)
    if note:
        t.add_row("species names", note)
    b = f.box
    t.add_row("box", repr(b))
    t.add_row("dimension", f"{b.dim}D" + (" (read with --dim 2)" if b.dim == 2 else ""))
    t.add_row("volume" if b.dim == 3 else "area", f"{b.volume:.6g}")
    t.add_row("density N/V" if b.dim == 3 else "density N/A", f"{f.density:.6g}")
    if traj.has_times:
        times = traj.times
        t.add_row("time span", f"{times[0]:.6g} … {times[-1]:.6g} ({len(times)} frames)")
    else:
        steps = traj.steps
        t.add_row("steps", f"{steps[0]} … {steps[-1]} ({len(steps)} frames; no times: pass --dt)")
    cols = getattr(traj._source, "columns", None)
    if cols:
        t.add_row("columns", " ".join(cols))
    flags = [name for name in ("unwrapped", "images", "velocities") if getattr(f, name) is not None]
    t.add_row("per-particle data", ", ".join(["positions"] + flags))
    Console().print(t)
    return 0
