"""State points: several trajectories, each with its temperature, analysed together.

The temperature panels (τ_α(T) and its VFT fit, the SOP against T and its slope γ) need
several runs with known temperatures. A state point is a trajectory file, its temperature
(ε/k_B) and optionally its own MD timestep; they are given either

* on the command line, one argument per file: ``run06.dump:T=0.6 run07.dump:T=0.7`` (also
  ``run06.dump:T=0.6,dt=0.002`` for a file's own timestep), or
* in a small TOML file (paths relative to the TOML file)::

      # glassrs state points: one [[point]] table per trajectory
      dt = 0.005              # optional: MD timestep of every file (time units)
      [[point]]
      path = "run06.dump"
      T = 0.6
      [[point]]
      path = "run07.dump"
      T = 0.7
      dt = 0.002              # optional: this file's own timestep
      label = "T = 0.7"       # optional: its name in tables and figures (default: the file name)

Several files at one temperature are independent runs of that state point (``dynamics``
averages them). A point's own ``dt`` wins over the file-wide one and over the command's
``--dt`` / ``dt=``. API: :func:`parse`, :func:`load_toml`, :func:`expand` and :func:`read`;
:func:`glassrs.report.make_report` takes the same list.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Sequence

if TYPE_CHECKING:
    from glassrs.models import Model
    from glassrs.trajectory import Trajectory

__all__ = ["StatePoint", "parse", "load_toml", "expand", "is_spec", "read", "labels"]

#: the keys of one state point (command-line form and TOML [[point]] tables)
POINT_KEYS = ("T", "dt")
TOML_POINT_KEYS = ("path", "T", "dt", "label")

_PATH_WITH_PARAMS = re.compile(r"^(?P<path>.+?):(?P<kv>[A-Za-z_]\w*=[^:]*)$")


@dataclass(frozen=True)
class StatePoint:
    """One trajectory file of a state point.

    ``path``: the trajectory file; ``T``: its temperature (ε/k_B); ``dt``: its MD timestep
    (time units; None: the command's ``--dt`` / ``dt=``, or the times stored in the file);
    ``label``: its name in tables and figures (None: the file name)."""

    path: str
    T: float
    dt: float | None = None
    label: str | None = None


def positive(value, what: str, where: str) -> float:
    """``value`` as a positive finite float; ``ValueError`` naming ``where`` and ``what`` otherwise."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {what} = {value!r} is not a number") from None
    if isinstance(value, bool) or not (v > 0 and math.isfinite(v)):
        raise ValueError(f"{where}: {what} = {value!r} must be a positive finite number")
    return v


def is_spec(arg: str) -> bool:
    """True when ``arg`` names a state point (``PATH:T=…``) or a TOML list of them, rather than a
    plain trajectory file (an existing file whose name contains ``:T=`` stays a file)."""
    arg = os.fspath(arg)
    if arg.lower().endswith(".toml"):
        return True
    return not os.path.exists(arg) and _PATH_WITH_PARAMS.match(arg) is not None


def parse(arg: str) -> StatePoint:
    """``"run06.dump:T=0.6"`` (or ``"run06.dump:T=0.6,dt=0.002"``) → a :class:`StatePoint`.

    ``ValueError`` naming the argument for a missing ``T=``, an unknown key or a value that is
    not a positive number."""
    m = _PATH_WITH_PARAMS.match(os.fspath(arg))
    if m is None:
        raise ValueError(f"'{arg}': expected PATH:T=TEMPERATURE (e.g. run06.dump:T=0.6, optionally "
                         f"run06.dump:T=0.6,dt=0.005)")
    kv: dict[str, str] = {}
    for item in m["kv"].split(","):
        key, eq, value = (s.strip() for s in item.partition("="))
        if not eq or not key or not value:
            raise ValueError(f"'{arg}': cannot parse '{item}'; expected KEY=VALUE with KEY one of {list(POINT_KEYS)}")
        if key not in POINT_KEYS:
            raise ValueError(f"'{arg}': unknown key '{key}'; a state point takes {list(POINT_KEYS)}")
        if key in kv:
            raise ValueError(f"'{arg}': '{key}' given twice")
        kv[key] = value
    if "T" not in kv:
        raise ValueError(f"'{arg}': no temperature; expected PATH:T=TEMPERATURE (e.g. run06.dump:T=0.6)")
    return StatePoint(m["path"], positive(kv["T"], "T", f"'{arg}'"),
                      None if "dt" not in kv else positive(kv["dt"], "dt", f"'{arg}'"))


def load_toml(path: str | os.PathLike) -> list[StatePoint]:
    """The state points of a TOML file (format in the module docstring). Paths are relative to
    the TOML file. ``ValueError`` naming the file, the point and the key for anything malformed."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such state-point file") from None
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"{path}: not valid TOML ({e})") from None
    unknown = [k for k in raw if k not in ("point", "dt")]
    if unknown:
        raise ValueError(f"{path}: unknown key '{unknown[0]}'; a state-point file has [[point]] tables and "
                         "optionally dt")
    default_dt = None if "dt" not in raw else positive(raw["dt"], "dt", path)
    points = raw.get("point")
    if not isinstance(points, list) or not points or not all(isinstance(p, dict) for p in points):
        raise ValueError(f"{path}: no [[point]] tables; expected one per trajectory, e.g.\n"
                         "[[point]]\npath = \"run06.dump\"\nT = 0.6")
    base = os.path.dirname(os.path.abspath(path))
    out = []
    for k, p in enumerate(points):
        where = f"{path}, point {k + 1}"
        bad = [key for key in p if key not in TOML_POINT_KEYS]
        if bad:
            raise ValueError(f"{where}: unknown key '{bad[0]}'; a point takes {list(TOML_POINT_KEYS)}")
        for key in ("path", "T"):
            if key not in p:
                raise ValueError(f"{where}: missing '{key}'")
        if not isinstance(p["path"], str) or not p["path"]:
            raise ValueError(f"{where}: path = {p['path']!r} must be a file name")
        label = p.get("label")
        if label is not None and not isinstance(label, str):
            raise ValueError(f"{where}: label = {label!r} must be a string")
        dt = positive(p["dt"], "dt", where) if "dt" in p else default_dt
        out.append(StatePoint(os.path.join(base, p["path"]), positive(p["T"], "T", where), dt, label))
    return out


def expand(args: Iterable[str | os.PathLike | StatePoint]) -> list[StatePoint]:
    """State points from command-line style arguments: a ``.toml`` file gives its points, a
    ``PATH:T=…`` argument one point, a :class:`StatePoint` itself. ``ValueError`` for a plain
    path (it has no temperature)."""
    out: list[StatePoint] = []
    for a in args:
        if isinstance(a, StatePoint):
            out.append(a)
        elif os.fspath(a).lower().endswith(".toml"):
            out.extend(load_toml(a))
        else:
            out.append(parse(os.fspath(a)))
    if not out:
        raise ValueError("no state points given")
    return out


def labels(points: Sequence[StatePoint]) -> list[str]:
    """Names of the points in tables and figures: the given label, else the file name (the path
    as given when two files share a name)."""
    base = [os.path.basename(p.path) for p in points]
    return [p.label if p.label else (b if base.count(b) == 1 else p.path) for p, b in zip(points, base)]


def read(points: Sequence[StatePoint], *, dt: float | None = None, species=None,
         model: "Model | None" = None) -> list["Trajectory"]:
    """Open every point's file with :func:`glassrs.read` (its own ``dt`` when it has one, else
    ``dt``; ``species`` and ``model`` as there) and return the trajectories in order.
    Errors name the file."""
    import glassrs as gr

    # the readers' errors name the file already
    return [gr.read(p.path, dt=p.dt if p.dt is not None else dt, species=species, model=model) for p in points]
