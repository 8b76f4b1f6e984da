"""Options and helpers shared by every command that reads a trajectory.

The one implementation of ``--species``, ``--model``, ``--T`` and ``--dt``, and of turning
them into a model and a trajectory:

* ``--species A,B`` (type 1 → A, type 2 → B) or ``--species 1=A,2=B`` names the file's types;
* ``--model NAME[:k=v,...]`` picks a built-in pair model (``kob_andersen``, ``ka_wca``,
  ``wahnstrom``, ``ipl10``, ``qp:q=12,p=6``; see :func:`glassrs.models.get`). Without
  ``--species``, a file's numeric types 1..n are named after the model's species in order
  and the command says so ("types 1,2 → A,B (from model kob_andersen)");
* ``--T`` the temperature (reduced units ε/k_B) where a command needs one;
* ``--dt`` the MD timestep of the file (time units τ): times = step × dt. A LAMMPS dump
  without ``ITEM: TIME`` has no times without it, and the commands that report times
  (dynamics, τ_α, D, p_hop, IS transition rates) stop with a message saying so;
* several state points (``report``, ``dynamics``, ``local``): ``run06.dump:T=0.6
  run07.dump:T=0.7 …`` or a TOML file listing them (:mod:`glassrs.statepoints`), read by
  :func:`state_points` and :func:`read_state_points`.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

    from glassrs.models import Model
    from glassrs.trajectory import Trajectory

MODEL_HELP = ("pair model NAME[:k=v,...]: kob_andersen (ka), ka_wca, wahnstrom, ipl10, qp:q=12,p=6; "
              "names numeric types 1..n after its species in order unless --species is given")


def add_data_options(p: argparse.ArgumentParser, *, model: str | None = None, model_extra: str = "",
                     temperature: str | None = None, temperature_help: str | None = None,
                     dt_flag: str | None = "--dt") -> None:
    """Add ``--species``, ``--model``, optionally ``--T`` and the file timestep option.

    ``model``: default model name (None: no model unless given). ``temperature``: None (no
    ``--T``), ``"optional"`` or ``"required"``. ``dt_flag``: the name of the option holding the
    file's MD timestep (``--dt``; a command whose ``--dt`` means something else passes
    another name, e.g. ``--dt-file``), or None for none.
    """
    p.add_argument("--species", default=None, metavar="NAMES",
                   help="names for the file's types: 'A,B' (type 1 → A, type 2 → B, …) or '1=A,2=B' "
                        "(file label = name; LAMMPS type numbers or GSD/XYZ type names) (default: from "
                        "--model, else the labels in the file)")
    p.add_argument("--dim", type=int, choices=(2, 3), default=None,
                   help="spatial dimension of the data: 2 for a LAMMPS 'dimension 2' dump or a 2D extended XYZ "
                        "(z must be the same for every particle and is ignored) (default: 3, or what a GSD/.npz "
                        "file records)")
    dflt = f" (default {model})" if model else " (default: none)"
    p.add_argument("--model", default=model, metavar="NAME[:k=v,...]", help=MODEL_HELP + dflt + model_extra)
    if temperature is not None:
        p.add_argument("--T", type=float, default=None, required=temperature == "required",
                       help=temperature_help or "temperature of the state point (ε/k_B)")
    if dt_flag:
        p.add_argument(dt_flag, type=float, default=None, metavar="DT",
                       help="MD timestep of the file (time units): times = step × DT; needed for times when "
                            "a LAMMPS dump has no ITEM: TIME")


def parse_species(spec: str | None) -> list[str] | dict | None:
    """``"A,B"`` → ["A", "B"]; ``"1=A,2=B"`` → {"1": "A", "2": "B"} (keys are the file's labels
    as text: LAMMPS type numbers or GSD/XYZ type names); None → None."""
    if spec is None:
        return None
    items = [x.strip() for x in spec.split(",")]
    if not items or any(not x for x in items):
        raise ValueError(f"cannot parse --species '{spec}'; expected names like A,B or a mapping like 1=A,2=B")
    if any("=" in x for x in items):
        out: dict = {}
        for x in items:
            lab, eq, name = (s.strip() for s in x.partition("="))
            if not eq or not lab or not name:
                raise ValueError(f"cannot parse '{x}' in --species '{spec}'; expected LABEL=NAME, e.g. 1=A")
            out[lab] = name
        return out
    return items


def get_model(spec: str | None, *, required: bool = False) -> "Model | None":
    """The model named by ``--model`` (:func:`glassrs.models.get`); None for no/``none`` model
    unless ``required``."""
    from glassrs import models

    if spec is None or spec.strip().lower() == "none":
        if required:
            raise ValueError(f"this command needs a pair model: pass --model (available: {models.available()})")
        return None
    return models.get(spec)


def read_trajectory(path: str, args: argparse.Namespace, model: "Model | None" = None, *,
                    dt: float | None = None, quiet: bool = False) -> "Trajectory":
    """Open ``path`` with the command's ``--species`` and ``model`` (and timestep ``dt``), and
    print how the types were named when they were renamed (``.npz`` files written by
    ``simulate`` go through :func:`glassrs.read` too: they name their species)."""
    import glassrs as gr

    species = parse_species(getattr(args, "species", None))
    kw: dict = {"dt": dt, "species": species, "model": model}
    if getattr(args, "format", None):
        kw["format"] = args.format
    if getattr(args, "dim", None):
        kw["dim"] = args.dim
    traj = gr.read(path, **kw)
    if not quiet:
        note = species_note(traj)
        if note:
            print(note)
    return traj


STATE_POINTS_HELP = ("trajectory file(s); several state points as FILE:T=TEMP (e.g. run06.dump:T=0.6 "
                     "run07.dump:T=0.7, optionally FILE:T=0.6,dt=0.002) or a TOML file listing them "
                     "([[point]] tables with path, T, optional dt and label; docs: Command line)")


def state_points(paths: "list[str]", args: argparse.Namespace) -> "list | None":
    """The :class:`glassrs.statepoints.StatePoint` list named by the positional arguments, or
    None when none of them is a state point (``FILE:T=…`` or a ``.toml`` file). Every argument
    must then be one (a plain file among them has no temperature), and ``--T`` does not apply."""
    from glassrs import statepoints

    spec = [statepoints.is_spec(p) for p in paths]
    if not any(spec):
        return None
    if not all(spec):
        plain = paths[spec.index(False)]
        raise ValueError(f"{plain}: no temperature; with several state points give every file its own as "
                         f"{plain}:T=TEMPERATURE (or list them in a TOML file)")
    if getattr(args, "T", None) is not None:
        raise ValueError("--T does not apply to state points: each file has its own temperature (FILE:T=…)")
    return statepoints.expand(paths)


def read_state_points(points: list, args: argparse.Namespace, model: "Model | None" = None, *,
                      quiet: bool = False) -> "list[Trajectory]":
    """Open the state points' files with the command's ``--species``, ``model`` and ``--dt`` (a
    point's own dt wins) and print how the types were named (once per distinct naming)."""
    from glassrs import statepoints

    trajs = statepoints.read(points, dt=getattr(args, "dt", None), species=parse_species(getattr(args, "species", None)),
                             model=model)
    if not quiet:
        for note in dict.fromkeys(filter(None, (species_note(t) for t in trajs))):
            print(note)
    return trajs


def species_note(traj: "Trajectory") -> str | None:
    """:attr:`Trajectory.species_note` in CLI words: "types 1,2 → A,B (from model
    kob_andersen)" or "… (from --species)"; None when the file's own names are kept."""
    note = getattr(traj, "species_note", None)
    return note.replace("(from species=)", "(from --species)") if note else None


def require_times(traj: "Trajectory") -> None:
    """Raise the trajectory's own ``ValueError`` (saying to pass ``--dt``) when its frame times
    are unknown — before a command that reports times starts computing."""
    if not traj.has_times:
        traj.times  # raises, with the message saying how to fix it


def with_species_params(df: "pl.DataFrame", traj) -> "pl.DataFrame":
    """``df`` with the trajectory's type naming (:func:`glassrs.trajectory.species_params`)
    added to its recorded parameters."""
    from glassrs.tables import make_table, params
    from glassrs.trajectory import species_params

    extra = species_params(traj)
    return make_table(df, {**params(df), **extra}) if extra else df
