"""A campaign plan: what to simulate and what to compute, as a TOML file or the same dict.

A plan names one or more **systems** (a model with its parameters, N, density, composition),
their **temperatures**, the number of independent **configurations** per temperature, the MD
protocol (melt, equilibration, production — lengths in MD steps *or* in units of τ_α), and the
**analyses** to run. Everything is checked before anything runs: unknown keys, wrong types and
impossible values are reported together in one :class:`PlanError` naming each key (as a path
such as ``systems[0].production.tau_alpha``) and what was expected.

Example (``python -m glassrs campaign run plan.toml --out data/``)::

    name = "ka-small"
    seed = 2024

    [[systems]]
    name = "ka"                       # partition name: letters, digits, - and _
    model = "kob_andersen"            # any glassrs.models name; parameters in model_params
    n = 1000
    density = 1.2                     # default: the model's
    temperatures = [0.8, 0.6]
    configurations = 4
    dt = 0.005                        # MD timestep (τ)
    thermostat = "nvt"                # production and isoconfigurational runs: "nvt" | "nve"
    tdamp = 0.5                       # Nosé–Hoover damping time (τ)
    equilibration = { melt_T = 2.0, melt_steps = 4000, tau_alpha = 20 }   # or steps = ...
    production = { tau_alpha = 10, frames_per_block = 20 }                # or steps = ...

    [analyses.structure]              # g(r), S(q), windows from the lowest T, local SOP, s2, e_loc
    [analyses.dynamics]               # MSD, overlap, χ4, F_s, α2, τ_α, D, α2 peak, p_hop
    [analyses.isoconf]                # runs per configuration, times in t/τ_α, C_R(X(L), μ)
    runs = 16
    times = [0.3, 1.0, 3.0]
    [analyses.inherent_structures]    # FIRE + Hessian per quench: G and κ
    count = 8

Lengths in units of τ_α use the **reference τ_α** of the state point, estimated on the fly by
a pilot run (melt → short equilibration → runs of doubling length until the overlap falls to
1/e; recorded in the ``tau_reference`` quantity).
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import re
import tomllib
from typing import Any, Callable, Mapping

__all__ = ["PlanError", "load", "validate", "plan_hash", "model_of", "shipped_plan", "shipped_plans", "DEFAULTS"]


class PlanError(ValueError):
    """A campaign plan is malformed; ``problems`` lists every (key, message) found."""

    def __init__(self, problems: list[tuple[str, str]], source: str | None = None):
        self.problems = list(problems)
        self.source = source
        head = f"{source}: " if source else ""
        lines = "\n".join(f"  {k}: {m}" for k, m in self.problems)
        super().__init__(f"{head}invalid campaign plan ({len(self.problems)} problem"
                         f"{'s' if len(self.problems) != 1 else ''}):\n{lines}")

    def __reduce__(self):
        return (type(self), (self.problems, self.source))


# -- field checks ---------------------------------------------------------------------------------

def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


def pos_int(v):
    return None if _is_int(v) and v >= 1 else "expected a positive integer"


def nonneg_int(v):
    return None if _is_int(v) and v >= 0 else "expected a non-negative integer"


def pos_num(v):
    return None if _is_num(v) and v > 0 else "expected a positive finite number"


def nonneg_num(v):
    return None if _is_num(v) and v >= 0 else "expected a finite number ≥ 0"


def boolean(v):
    return None if isinstance(v, bool) else "expected true or false"


def string(v):
    return None if isinstance(v, str) and v else "expected a non-empty string"


def one_of(*options):
    def check(v):
        return None if v in options else f"expected one of {list(options)}"
    return check


def list_of(item: Callable, *, min_len: int = 1, unique: bool = False, sorted_: bool = False):
    def check(v):
        if not isinstance(v, list) or len(v) < min_len:
            return f"expected a list of at least {min_len} item{'s' if min_len != 1 else ''}"
        for k, x in enumerate(v):
            m = item(x)
            if m:
                return f"item {k}: {m}"
        if unique and len(set(v)) != len(v):
            return "expected distinct values"
        if sorted_ and v != sorted(v):
            return "expected increasing values"
        return None
    return check


def activity_table(v):
    """An active liquid's self-propulsion: a table with f0 (ε/σ, ≥ 0), fraction (0, 1] and
    tau_p (τ, > 0); see glassrs.md.Activity."""
    if not isinstance(v, dict):
        return "expected a table with f0, and optionally fraction and tau_p"
    extra = set(v) - {"f0", "fraction", "tau_p"}
    if extra:
        return f"unknown key(s) {sorted(extra)}: expected f0, fraction, tau_p"
    if "f0" not in v or not _is_num(v["f0"]) or v["f0"] < 0:
        return "f0 (the propulsion force, ε/σ) must be a number ≥ 0"
    if "fraction" in v and not (_is_num(v["fraction"]) and 0 < v["fraction"] <= 1):
        return "fraction must be a number in (0, 1]"
    if "tau_p" in v and not (_is_num(v["tau_p"]) and v["tau_p"] > 0):
        return "tau_p (the persistence time, τ) must be a positive number"
    return None


# -- the plan's shape: key → (check, default); a nested dict is a table ---------------------------

REQUIRED = object()

SYSTEM = {
    "name": (string, REQUIRED),
    "model": (string, REQUIRED),
    "model_params": (lambda v: None if isinstance(v, dict) else "expected a table of parameters", {}),
    "n": (pos_int, REQUIRED),
    "density": (pos_num, None),
    "composition": (list_of(nonneg_num), None),
    "temperatures": (list_of(pos_num, unique=True), REQUIRED),
    "configurations": (pos_int, REQUIRED),
    "dt": (pos_num, 0.005),
    "thermostat": (one_of("nvt", "nve"), "nvt"),
    "tdamp": (pos_num, 0.5),
    # self-propulsion (active Kob–Andersen protocol); absent: a passive liquid
    "activity": (activity_table, None),
    "equilibration": {
        "melt_T": (pos_num, 2.0),
        "melt_steps": (nonneg_int, 4000),
        "steps": (nonneg_int, None),
        "tau_alpha": (pos_num, None),
    },
    "production": {
        "steps": (pos_int, None),
        "tau_alpha": (pos_num, None),
        "frames_per_block": (pos_int, 20),
        "blocks": (pos_int, 10),
    },
    # rough τ_α per temperature, [[T, tau], ...]: only for cost projections before anything has run
    "tau_alpha_guess": (list_of(lambda v: None if isinstance(v, list) and len(v) == 2 and all(_is_num(x) and x > 0
                                                                                         for x in v)
                                else "expected a pair [T, tau_alpha] of positive numbers"), None),
    "pilot": {
        "equilibrate_steps": (nonneg_int, 2000),
        "steps": (pos_int, 2000),
        "max_steps": (pos_int, 2_000_000),
    },
}

ANALYSES = {
    "structure": {
        "rdf": (boolean, True),
        "r_max": (pos_num, None),
        "dr": (pos_num, 0.01),
        "sq": (boolean, True),
        "q_max": (pos_num, 12.0),
        "local": (boolean, True),
        "closure": (one_of("approx", "hnc"), "approx"),
        "frames": (pos_int, 4),
    },
    "dynamics": {
        "a": (pos_num, 0.3),
        "phop": (boolean, False),
        "window": (pos_num, 15.0),
    },
    "isoconf": {
        "runs": (pos_int, 16),
        "batch": (pos_int, 8),
        "times": (list_of(pos_num, unique=True, sorted_=True), [0.1, 0.3, 1.0, 3.0]),
        "L": (list_of(nonneg_num, unique=True), [0.0, 1.0, 2.0]),
        "columns": (list_of(one_of("sop", "s2", "e_loc", "beta_phi")), ["sop"]),
        "temperatures": (list_of(pos_num, unique=True), None),   # default: every temperature
        "a": (pos_num, 0.3),
    },
    "inherent_structures": {
        "count": (pos_int, 8),
        "batch": (pos_int, 4),
        "kappa_pairs": (nonneg_int, 200),
        "shear_modulus": (boolean, True),
        "f_tol": (pos_num, 1e-10),
    },
}

TOP = {
    "name": (string, "campaign"),
    "seed": (nonneg_int, 0),
    "systems": REQUIRED,
    "analyses": ANALYSES,
}

#: The defaults a plan starts from (for documentation and ``glassrs campaign init``).
DEFAULTS = {"analyses": {k: {f: d for f, (c, d) in v.items()} for k, v in ANALYSES.items()}}

#: Neighbour range of the local structure with its defaults (r_s = 3 σ plus 5δ, δ = 0.09 σ).
LOCAL_REACH = 3.0 + 5 * 0.09

_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*$")


def _table(value: Any, shape: dict, path: str, problems: list, *, fill: bool = True) -> dict:
    """Check ``value`` against ``shape``; return it with defaults filled in."""
    if not isinstance(value, Mapping):
        problems.append((path or "plan", "expected a table"))
        return {}
    out = {}
    for key in value:
        if key not in shape:
            near = [k for k in shape if k.replace("_", "") == str(key).replace("_", "").lower()]
            hint = f" (did you mean '{near[0]}'?)" if near else f"; known keys: {sorted(shape)}"
            problems.append((f"{path}.{key}" if path else str(key), f"unknown key{hint}"))
    for key, spec in shape.items():
        where = f"{path}.{key}" if path else key
        if isinstance(spec, dict):
            if key in value:
                out[key] = _table(value[key], spec, where, problems)
            elif fill:
                out[key] = _table({}, spec, where, problems)
            continue
        if spec is REQUIRED:
            continue
        check, default = spec
        if key in value and value[key] is None and default is None:
            out[key] = None   # an optional entry left unset (a normalised plan spells it out)
        elif key in value:
            v = value[key]
            m = check(v)
            if m:
                problems.append((where, f"{m}, got {v!r}"))
            out[key] = v
        elif default is REQUIRED:
            problems.append((where, "required key is missing"))
        else:
            out[key] = copy.deepcopy(default)
    return out


def _analyses(value: Any, problems: list) -> dict:
    """Analyses are opt-in: a table present (even empty) switches the analysis on."""
    if value is None:
        problems.append(("analyses", "required table is missing: give at least one of "
                                     f"{sorted(ANALYSES)} (e.g. [analyses.dynamics])"))
        return {}
    if not isinstance(value, Mapping):
        problems.append(("analyses", "expected a table"))
        return {}
    out = {}
    for key, v in value.items():
        if key not in ANALYSES:
            problems.append((f"analyses.{key}", f"unknown analysis; known: {sorted(ANALYSES)}"))
            continue
        out[key] = _table(v, ANALYSES[key], f"analyses.{key}", problems)
    if not out and not any(k == "analyses" for k, _ in problems):
        problems.append(("analyses", f"no analysis requested; give at least one of {sorted(ANALYSES)}"))
    return out


def _system(value: Any, k: int, problems: list) -> dict:
    path = f"systems[{k}]"
    s = _table(value, SYSTEM, path, problems)
    if not s:
        return s
    if isinstance(s.get("name"), str) and not _NAME.match(s["name"]):
        problems.append((f"{path}.name", f"expected letters, digits, '.', '-' or '_', not starting with '.' (it names folders), got {s['name']!r}"))
    model = None
    if isinstance(s.get("model"), str) and isinstance(s.get("model_params"), dict):
        try:
            model = model_of(s)
        except (ValueError, TypeError) as e:
            problems.append((f"{path}.model", str(e)))
    for stage in ("equilibration", "production"):
        st = s.get(stage, {})
        both = st.get("steps") is not None and st.get("tau_alpha") is not None
        none = st.get("steps") is None and st.get("tau_alpha") is None
        if both or none:
            problems.append((f"{path}.{stage}", "give exactly one of 'steps' (MD steps) or 'tau_alpha' "
                                                "(a multiple of the state point's τ_α)"))
    comp = s.get("composition")
    if model is not None:
        if comp is not None and isinstance(comp, list) and len(comp) != len(model.species):
            problems.append((f"{path}.composition", f"expected {len(model.species)} fractions for species "
                                                    f"{list(model.species)}, got {len(comp)}"))
        rho = s.get("density") or model.density
        n = s.get("n")
        if _is_int(n) and n >= 1 and _is_num(rho) and rho > 0:
            side = (n / rho) ** (1 / 3)
            if side < 2 * model.max_cutoff:
                problems.append((f"{path}.n", f"{n} particles at density {rho:g} give a box of side {side:.3g} σ, "
                                              f"less than twice the model cutoff {model.max_cutoff:.3g}: use more "
                                              "particles"))
    pr = s.get("production", {})
    if _is_int(pr.get("frames_per_block")) and _is_int(pr.get("blocks")):
        if pr["frames_per_block"] < 2:
            problems.append((f"{path}.production.frames_per_block", "expected at least 2 frames per block"))
    return s


def model_of(system: Mapping):
    """The :class:`glassrs.models.Model` of a (validated) system entry."""
    from glassrs import models

    params = system.get("model_params") or {}
    spec = system["model"] + (":" + ",".join(f"{k}={v}" for k, v in params.items()) if params else "")
    return models.get(spec)


def validate(plan: Mapping, source: str | None = None) -> dict:
    """Check a plan dict and return it normalised (defaults filled in). Raises
    :class:`PlanError` listing every problem."""
    problems: list[tuple[str, str]] = []
    if not isinstance(plan, Mapping):
        raise PlanError([("plan", f"expected a table (dict), got {type(plan).__name__}")], source)
    top = {k: v for k, v in plan.items() if k not in ("systems", "analyses")}
    out = _table(top, {k: v for k, v in TOP.items() if k not in ("systems", "analyses")}, "", problems)
    systems = plan.get("systems")
    if not isinstance(systems, list) or not systems:
        problems.append(("systems", "expected a non-empty list of systems ([[systems]] in TOML)"))
        systems = []
    out["systems"] = [_system(s, k, problems) for k, s in enumerate(systems)]
    names = [s.get("name") for s in out["systems"] if isinstance(s.get("name"), str)]
    if len(set(names)) != len(names):
        problems.append(("systems", f"system names must be distinct, got {names}"))
    out["analyses"] = _analyses(plan.get("analyses"), problems)
    st = out["analyses"].get("structure")
    if st and st.get("local"):
        reach = LOCAL_REACH
        for k, sy in enumerate(out["systems"]):
            try:
                rho = sy.get("density") or model_of(sy).density
            except (KeyError, TypeError, ValueError):
                continue
            if not (_is_int(sy.get("n")) and sy["n"] >= 1 and _is_num(rho) and rho > 0):
                continue
            half = 0.5 * (sy["n"] / rho) ** (1 / 3)
            if half <= reach:
                problems.append((f"systems[{k}].n", f"the local structure needs half the box side > {reach:g} σ "
                                                     f"(s2 range 3 σ + 5δ); {sy['n']} particles at density {rho:g} "
                                                     f"give {half:.3g} σ: use more particles"))
    iso = out["analyses"].get("isoconf")
    if iso and _is_int(iso.get("runs")) and _is_int(iso.get("batch")) and iso["batch"] > iso["runs"]:
        iso["batch"] = iso["runs"]
    if iso and isinstance(iso.get("temperatures"), list):
        known = {t for sy in out["systems"] for t in (sy.get("temperatures") or []) if _is_num(t)}
        missing = [t for t in iso["temperatures"] if t not in known]
        if missing:
            problems.append(("analyses.isoconf.temperatures", f"{missing} are not temperatures of any system "
                                                               f"(they have {sorted(known)})"))
    if iso and "structure" not in out["analyses"]:
        problems.append(("analyses.isoconf", "needs [analyses.structure] (the columns it correlates with the "
                                              "mobility come from the local structure)"))
    if iso and "structure" in out["analyses"] and not out["analyses"]["structure"].get("local", True):
        problems.append(("analyses.structure.local", "must be true when [analyses.isoconf] is requested"))
    if problems:
        raise PlanError(problems, source)
    return out


def load(plan: str | os.PathLike | Mapping) -> dict:
    """A validated plan from a TOML file path or a dict."""
    if isinstance(plan, Mapping):
        return validate(plan)
    path = os.fspath(plan)
    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such campaign plan") from None
    except tomllib.TOMLDecodeError as e:
        raise PlanError([("plan", f"not valid TOML: {e}")], path) from None
    return validate(raw, path)


def plan_hash(plan: Mapping) -> str:
    """A stable content hash of a normalised plan."""
    return hashlib.sha256(json.dumps(plan, sort_keys=True).encode()).hexdigest()[:16]


PLANS_DIR = os.path.join(os.path.dirname(__file__), "plans")


def shipped_plans() -> dict[str, str]:
    """The plans shipped with glassrs: name → first comment line."""
    out = {}
    for f in sorted(os.listdir(PLANS_DIR)):
        if f.endswith(".toml"):
            with open(os.path.join(PLANS_DIR, f)) as fh:
                first = fh.readline().lstrip("# ").strip()
            out[f[:-5]] = first
    return out


def shipped_plan(name: str) -> str:
    """Path of a shipped plan (``"ka-default"``, ``"seed000-ka"``; a ``.toml`` suffix is allowed)."""
    stem = name[:-5] if name.endswith(".toml") else name
    path = os.path.join(PLANS_DIR, stem + ".toml")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{name}: neither a file nor a shipped plan (shipped: {sorted(shipped_plans())})")
    return path
