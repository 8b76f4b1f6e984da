"""The tasks of a campaign: plain functions run inside Dask workers.

Each task receives a *spec* (a small dict of plain values: its kind, the system entry of the
plan, T, config, batch, the analyses, the campaign seed) and the output directory, computes,
writes its files atomically (temporary name + rename; the process umask decides the mode),
and returns ``{"files": {relative path: sha256}, "seconds": wall time, "value": …}``. Inputs
produced by earlier tasks are read from the dataset (configurations and trajectories as exact
float64 ``.npz`` archives under ``state/``; tables as Parquet), or passed in as plain numpy
arrays when the upstream task ran in the same campaign run — never as pickled Rust objects.

Seeds derive from (campaign seed, system, T, config, stream, run) through
``numpy.random.SeedSequence``, so a task recomputed after a crash, or with its runs batched
differently, gives bit-identical output. MD force loops use fixed chunks, so results do not
depend on the number of threads either.

Protocol per configuration (reduced units of the model):

* ``pilot`` (per state point, when lengths are given in τ_α or isoconfigurational runs are
  requested): melt at ``melt_T`` → ``pilot.equilibrate_steps`` NVT at T → runs of
  ``pilot.steps``, doubling until the overlap (a = 0.3) falls to 1/e within a run; that τ_α is
  the state point's reference τ_α (``tau_reference``).
* ``equilibrate``: random insertion → soft push-off → melt → NVT at T for ``equilibration.steps``
  (or ``equilibration.tau_alpha`` × τ_ref). The final positions and velocities are the
  configuration every later task of this (system, T, config) starts from.
* ``production``: from that configuration, ``production.steps`` (or ``tau_alpha`` × τ_ref) in the
  plan's thermostat, frames on a block-log schedule (``blocks`` blocks, ``frames_per_block``
  log-spaced frames each: many time origins); then dynamics (correlations, τ_α, D, α2 peak, p_hop)
  and g(r), S(q) on those frames.
* ``windows`` (per system): integration windows from the configuration-averaged g_uv at the
  system's lowest temperature, shared by all temperatures (recommended for γ fits).
* ``structure``: local SOP, s2, e_loc on ``structure.frames`` evenly spaced production frames
  (frame 0 = the isoconfigurational start).
* ``isoconf`` (per batch of runs): runs from the configuration with fresh Maxwell–Boltzmann
  velocities, output at ``times`` × τ_ref; streamed per-particle sums.
* ``isoconf_reduce``: mobility μ_j(t) from all batches and the Spearman C_R(X(L), μ(t)).
* ``inherent`` (per batch): FIRE quenches of production frames, then the Hessian, the athermal
  shear modulus G (xy plane) and the mean dipole stiffness κ of sampled interacting pairs.
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
import time
import zlib
from typing import Any, Callable

import numpy as np
import polars as pl

from glassrs.campaign import schema
from glassrs.campaign.plan import model_of

# -- seeds, paths, atomic writes --------------------------------------------------------------------

STREAMS = {"pilot": 1, "equilibrate": 2, "production": 3, "isoconf": 4, "inherent": 5, "active": 6}


def seed_for(campaign_seed: int, system: str, T: float, config: int, stream: str, run: int = 0) -> int:
    """The engine seed (u64) of one (system, T, config, stream, run), from SeedSequence."""
    entropy = [int(campaign_seed), zlib.crc32(system.encode()), int(round(float(T) * 1e9)), int(config),
               STREAMS[stream], int(run)]
    return int(np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0])


def t_label(T: float) -> str:
    """The folder spelling of a temperature: the shortest repr of the float (0.8 → "0.8")."""
    return repr(float(T))


def partition(quantity: str, system: str, T: float | None = None, config: int | None = None) -> str:
    """Relative folder of a partition of ``quantity`` (or of ``state``)."""
    parts = [quantity, f"system={system}"]
    if T is not None:
        parts.append(f"T={t_label(T)}")
    if config is not None:
        parts.append(f"config={int(config)}")
    return os.path.join(*parts)


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _atomic(root: str, rel: str, write: Callable[[str], None]) -> tuple[str, str]:
    """Write ``root/rel`` through a temporary file in the same folder, then rename; return
    (rel, sha256). A killed task leaves only a hidden ``.*.tmp`` file, never a partial final file."""
    final = os.path.join(root, rel)
    d = os.path.dirname(final)
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=d)
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        digest = sha256(tmp)
        os.replace(tmp, final)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return rel, digest


def write_table(root: str, quantity: str, task: str, df: pl.DataFrame, system: str, T: float | None = None,
                config: int | None = None) -> tuple[str, str]:
    """Write ``df`` as ``<quantity>/system=/T=/config=/part-<task>.parquet`` with the quantity's
    typed schema (columns selected and cast in schema order; partition values live in the path)."""
    cols = schema.columns(quantity)
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"internal: {quantity} table lacks columns {missing} (has {df.columns})")
    out = df.select([pl.col(c).cast(t) for c, t in cols.items()])
    rel = os.path.join(partition(quantity, system, T, config), f"part-{task}.parquet")
    return _atomic(root, rel, lambda p: out.write_parquet(p, statistics=False))


def save_state(root: str, rel: str, **arrays) -> tuple[str, str]:
    """Exact float64 arrays in ``state/...`` (atomic)."""

    def write(p):
        with open(p, "wb") as fh:
            np.savez(fh, **arrays)
    return _atomic(root, rel, write)


def load_state(root: str, rel: str) -> dict[str, np.ndarray]:
    with np.load(os.path.join(root, rel), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def state_rel(system: str, T: float, config: int, what: str) -> str:
    return os.path.join(partition("state", system, T, config), f"{what}.npz")


def read_quantity(root: str, quantity: str, system: str, T: float | None = None, config: int | None = None) -> pl.DataFrame:
    """All files of one partition of ``quantity`` (every ``part-*.parquet`` below its folder)."""
    d = os.path.join(root, partition(quantity, system, T, config))
    files = sorted(os.path.join(dp, f) for dp, _, fs in os.walk(d) for f in fs
                   if f.startswith("part-") and f.endswith(".parquet"))
    if not files:
        raise FileNotFoundError(f"{d}: no {quantity} data (has its task run?)")
    return pl.concat([pl.read_parquet(f) for f in files])


# -- helpers shared by the tasks ------------------------------------------------------------------

def _frame_from_state(st: dict, velocities: bool = True):
    from glassrs.box import Box
    from glassrs.md import _wrap
    from glassrs.trajectory import Frame

    box = Box(st["box"], st["origin"])
    w, img = _wrap(st["positions"], box)
    return Frame(positions=w, types=st["types"], box=box, species=tuple(str(s) for s in st["species"]),
                 step=0, time=0.0, images=img, velocities=st["velocities"] if velocities else None)


def tau_reference(root: str, system: str, T: float) -> float:
    df = read_quantity(root, "tau_reference", system, T)
    return float(df["tau_alpha"][0])


def _steps(stage: dict, key_steps: str, tau_ref: float | None, dt: float) -> int:
    if stage.get(key_steps) is not None:
        return int(stage[key_steps])
    return max(1, int(math.ceil(float(stage["tau_alpha"]) * float(tau_ref) / dt)))


def needs_tau(system: dict, analyses: dict) -> bool:
    """Whether a state point of ``system`` needs the pilot τ_α."""
    return (system["equilibration"].get("tau_alpha") is not None
            or system["production"].get("tau_alpha") is not None or "isoconf" in analyses)


def isoconf_at(analyses: dict, T: float) -> bool:
    """Whether isoconfigurational ensembles run at temperature ``T``."""
    iso = analyses.get("isoconf")
    return bool(iso) and (iso.get("temperatures") is None or T in iso["temperatures"])


def _thermo_rows(traj) -> pl.DataFrame:
    th = traj.thermo
    return th.select("stage", "step", "time", "temperature", "potential", "kinetic", "pressure", "conserved")


def activity_of(spec: dict, config: int):
    """The :class:`glassrs.md.Activity` of a system (None when passive): the active particles of
    configuration ``config`` are chosen with their own seed, the same for all its stages and runs."""
    from glassrs import md

    s = spec["system"]
    a = s.get("activity")
    if not a or not a.get("f0"):
        return None
    return md.Activity(f0=float(a["f0"]), fraction=float(a.get("fraction", 0.1)), tau_p=float(a.get("tau_p", 1.0)),
                       select_seed=seed_for(spec["seed"], s["name"], spec["T"], config, "active"))


# -- the tasks ------------------------------------------------------------------------------------

def pilot(spec: dict, root: str, upstream: dict) -> dict:
    from glassrs import dynamics, md

    s, T = spec["system"], spec["T"]
    model, dt, p, eq = model_of(s), s["dt"], s["pilot"], s["equilibration"]
    seed = seed_for(spec["seed"], s["name"], T, 0, "pilot")
    traj = md.run(model, n=s["n"], T=T, steps=0, dt=dt, seed=seed, density=s["density"],
                  composition=s["composition"], melt_T=eq["melt_T"], melt_steps=eq["melt_steps"],
                  equilibrate=p["equilibrate_steps"], tdamp=s["tdamp"], thermo_every=1000,
                  activity=activity_of(spec, 0))
    frame = traj[0]
    frame.velocities = traj.last_velocities
    length, used = int(p["steps"]), 0
    while True:
        block = max(2, length // 4)
        run = md.run(model, T=T, steps=length, dt=dt, seed=seed, start=frame, ensemble=s["thermostat"],
                     tdamp=s["tdamp"], log_block=block, log_base=1.4, every=block, thermo_every=length,
                     activity=activity_of(spec, 0))
        used += length
        corr = dynamics.correlations(run, kvectors=np.zeros((0, 3)), progress=False)
        tau = dynamics.tau_alpha(corr)
        if math.isfinite(tau):
            break
        if 2 * length > int(p["max_steps"]):
            raise ValueError(f"pilot run of {s['name']} at T={T:g}: the overlap did not fall to 1/e within "
                             f"{length} steps ({length * dt:g} τ); raise systems.pilot.max_steps or give lengths "
                             "in steps")
        frame = run[-1]
        frame.velocities = run.last_velocities
        length *= 2
    files = [write_table(root, "tau_reference", spec["task"], pl.DataFrame(
        {"tau_alpha": [tau], "pilot_steps": [used], "dt": [dt], "n_frames": [len(run)]}), s["name"], T)]
    return {"files": dict(files), "value": tau}


def equilibrate(spec: dict, root: str, upstream: dict) -> dict:
    from glassrs import md

    s, T, c = spec["system"], spec["T"], spec["config"]
    model, dt, eq = model_of(s), s["dt"], s["equilibration"]
    tau = tau_reference(root, s["name"], T) if eq.get("tau_alpha") is not None else None
    steps = _steps(eq, "steps", tau, dt)
    traj = md.run(model, n=s["n"], T=T, steps=0, dt=dt, seed=seed_for(spec["seed"], s["name"], T, c, "equilibrate"),
                  density=s["density"], composition=s["composition"], melt_T=eq["melt_T"],
                  melt_steps=eq["melt_steps"], equilibrate=steps, tdamp=s["tdamp"], thermo_every=100,
                  activity=activity_of(spec, c))
    f = traj[0]
    st = {"positions": f.unwrapped_positions(), "velocities": np.asarray(traj.last_velocities, float),
          "types": f.types, "species": np.array(f.species), "box": f.box.native, "origin": f.box.origin}
    files = [write_table(root, "thermo", spec["task"], _thermo_rows(traj).filter(pl.col("stage") != "production"),
                         s["name"], T, c),
             save_state(root, state_rel(s["name"], T, c, "equilibrated"), **st)]
    return {"files": dict(files), "value": st}


def _configuration(root: str, spec: dict, upstream: dict) -> dict:
    """The equilibrated configuration: from the upstream task's arrays, else from the dataset."""
    st = (upstream.get("equilibrate") or {}).get("value")
    if st is None:
        s = spec["system"]
        st = load_state(root, state_rel(s["name"], spec["T"], spec["config"], "equilibrated"))
    return st


def _block_log(steps: int, blocks: int, per_block: int) -> tuple[int, float]:
    block = max(2, int(math.ceil(steps / blocks)))
    base = max(1.01, block ** (1.0 / max(1, per_block - 1)))
    return block, base


def production(spec: dict, root: str, upstream: dict) -> dict:
    from glassrs import dynamics, md, structure

    s, T, c, an = spec["system"], spec["T"], spec["config"], spec["analyses"]
    model, dt, pr = model_of(s), s["dt"], s["production"]
    tau = tau_reference(root, s["name"], T) if pr.get("tau_alpha") is not None else None
    steps = _steps(pr, "steps", tau, dt)
    block, base = _block_log(steps, pr["blocks"], pr["frames_per_block"])
    start = _frame_from_state(_configuration(root, spec, upstream))
    traj = md.run(model, T=T, steps=steps, dt=dt, seed=seed_for(spec["seed"], s["name"], T, c, "production"),
                  start=start, ensemble=s["thermostat"], tdamp=s["tdamp"], log_block=block, log_base=base,
                  every=block, thermo_every=max(1, steps // 200), activity=activity_of(spec, c))
    name, task = s["name"], spec["task"]
    files = [write_table(root, "thermo", task, _thermo_rows(traj), name, T, c),
             save_state(root, state_rel(name, T, c, "production"), positions=traj.unwrapped(), steps=traj.steps,
                        types=traj.types, species=np.array(traj.species), box=traj[0].box.native,
                        origin=traj[0].box.origin, dt=np.array(dt))]
    if "dynamics" in an:
        d = an["dynamics"]
        corr = dynamics.correlations(traj, a=d["a"], progress=False)
        files.append(write_table(root, "dynamics", task, corr, name, T, c))
        files.append(write_table(root, "relaxation", task, _relaxation(corr, steps * dt), name, T, c))
        if d["phop"]:
            reb = dynamics.rearrangements(traj, window=d["window"], table=corr, progress=False)
            files.append(write_table(root, "rearrangements", task, _rearrangement_counts(reb, traj), name, T, c))
    if "structure" in an:
        st = an["structure"]
        if st["rdf"] or st["local"]:
            files.append(write_table(root, "rdf", task, structure.rdf(traj, r_max=st["r_max"], dr=st["dr"]),
                                     name, T, c))
        if st["sq"]:
            files.append(write_table(root, "sq", task, structure.sq(traj, q_max=st["q_max"],
                                                                    frames=_even(len(traj), 4)), name, T, c))
    return {"files": dict(files), "value": None}


def _even(n_frames: int, k: int) -> list[int]:
    return sorted(set(np.linspace(0, n_frames - 1, min(k, n_frames)).round().astype(int).tolist()))


def _relaxation(corr: pl.DataFrame, span: float) -> pl.DataFrame:
    from glassrs import dynamics

    rows = []
    for sp in corr["species"].unique(maintain_order=True).to_list():
        tau = dynamics.tau_alpha(corr, species=sp)
        tfs = dynamics.tau_alpha(corr, "fs", species=sp) if corr["fs"].is_not_nan().any() else float("nan")
        try:
            t_star, a2, m_star = dynamics.alpha2_peak(corr, species=sp)
        except ValueError:
            t_star = a2 = m_star = float("nan")
        # D from the diffusive regime: lags beyond max(τ_α, α2 peak) up to half the run
        t_lo = np.nanmax([tau, t_star, 0.0])
        try:
            D = dynamics.diffusion_constant(corr, t_lo, 0.5 * span, species=sp)[0] if math.isfinite(t_lo) else math.nan
        except ValueError:
            D = float("nan")
        rows.append({"species": sp, "tau_alpha": tau, "tau_fs": tfs, "D": D, "alpha2_peak_time": t_star,
                     "alpha2_peak": a2, "msd_at_peak": m_star})
    return pl.DataFrame(rows)


def _rearrangement_counts(reb: pl.DataFrame, traj) -> pl.DataFrame:
    from glassrs.tables import params

    p_c = float(params(reb)["p_c"])
    times = np.asarray(traj.times, float)
    per = reb.group_by("frame", "species").agg(pl.len().alias("n"), pl.col("rearranging").sum().alias("n_rearranging"))
    tot = reb.group_by("frame").agg(pl.len().alias("n"), pl.col("rearranging").sum().alias("n_rearranging")) \
        .with_columns(pl.lit("all").alias("species")).select(per.columns)
    out = pl.concat([tot, per]).sort("frame", "species")
    return out.with_columns(pl.col("frame").map_elements(lambda k: float(times[k]), return_dtype=pl.Float64)
                            .alias("time"), pl.lit(p_c).alias("p_c"))


def production_trajectory(root: str, s: dict, T: float, c: int):
    """The production trajectory of (system ``s``, T, config ``c``) as stored by :func:`production`
    (the keys of :func:`glassrs.md.save_npz`, so :func:`glassrs.md.load_npz` reads it)."""
    from glassrs.md import load_npz

    return load_npz(os.path.join(root, state_rel(s["name"], T, c, "production")))


def windows(spec: dict, root: str, upstream: dict) -> dict:
    from glassrs import structure
    from glassrs.tables import make_table

    s = spec["system"]
    t_low = min(s["temperatures"])
    g = read_quantity(root, "rdf", s["name"], t_low)  # every configuration at the lowest T
    mean = g.group_by("pair", "r", maintain_order=True).agg(pl.col("g").mean()).sort("pair", "r")
    w = structure.find_windows(make_table(mean, {"kind": "rdf"}))
    df = pl.DataFrame({"pair": list(w), "r_lo": [float(v[0]) for v in w.values()],
                       "r_hi": [float(v[1]) for v in w.values()], "from_T": t_low})
    files = [write_table(root, "windows", spec["task"], df, s["name"])]
    return {"files": dict(files), "value": None}


def _windows(root: str, name: str) -> dict:
    df = read_quantity(root, "windows", name)
    return {r["pair"]: (r["r_lo"], r["r_hi"]) for r in df.iter_rows(named=True)}


def structure_task(spec: dict, root: str, upstream: dict) -> dict:
    from glassrs import structure
    from glassrs.tables import params

    s, T, c, st = spec["system"], spec["T"], spec["config"], spec["analyses"]["structure"]
    model = model_of(s)
    traj = production_trajectory(root, s, T, c)
    loc = structure.local(traj, model, T=T, closure=st["closure"], windows=_windows(root, s["name"]),
                          frames=_even(len(traj), st["frames"]))
    p = params(loc)
    summ = (pl.concat([loc.with_columns(pl.lit("all").alias("species")), loc])
            .group_by("species", maintain_order=True)
            .agg(pl.col("sop").mean().alias("sop_mean"), pl.col("s2").mean().alias("s2_mean"),
                 pl.col("e_loc").mean().alias("e_loc_mean"))
            .with_columns(pl.lit(float(p["sop_macro"])).alias("sop_macro")))
    files = [write_table(root, "local", spec["task"], loc, s["name"], T, c),
             write_table(root, "structure_summary", spec["task"], summ, s["name"], T, c)]
    return {"files": dict(files), "value": None}


def isoconf_batch(spec: dict, root: str, upstream: dict) -> dict:
    from glassrs import isoconf

    s, T, c, iso = spec["system"], spec["T"], spec["config"], spec["analyses"]["isoconf"]
    model, dt = model_of(s), s["dt"]
    tau = tau_reference(root, s["name"], T)
    lo, hi = spec["runs"]
    seeds = [seed_for(spec["seed"], s["name"], T, c, "isoconf", r) for r in range(lo, hi)]
    frame = _frame_from_state(_configuration(root, spec, upstream), velocities=False)
    ens = isoconf.ensemble(frame, model, T, n_runs=hi - lo, times=[t * tau for t in iso["times"]], seeds=seeds,
                           dt=dt, thermostat=s["thermostat"], tdamp=s["tdamp"], a=iso["a"], progress=False,
                           activity=activity_of(spec, c))
    nf, n = ens.sum_disp.shape
    ids = np.arange(n, dtype=np.int64)
    df = pl.DataFrame({"batch": spec["batch"], "time": np.repeat(ens.times, n), "particle": np.tile(ids, nf),
                       "sum_disp": ens.sum_disp.ravel(), "sum_disp2": ens.sum_disp2.ravel(),
                       "sum_overlap": ens.sum_overlap.ravel(), "n_runs": hi - lo})
    files = [write_table(root, "isoconf_batches", spec["task"], df, s["name"], T, c)]
    return {"files": dict(files), "value": None}


def isoconf_reduce(spec: dict, root: str, upstream: dict) -> dict:
    from glassrs import isoconf

    s, T, c, iso = spec["system"], spec["T"], spec["config"], spec["analyses"]["isoconf"]
    tau = tau_reference(root, s["name"], T)
    b = read_quantity(root, "isoconf_batches", s["name"], T, c)
    tot = b.group_by("time", "particle").agg(pl.col("sum_disp").sum(), pl.col("sum_disp2").sum(),
                                             pl.col("sum_overlap").sum(), pl.col("n_runs").sum()).sort("time", "particle")
    times = tot["time"].unique().sort().to_numpy()
    n = tot["particle"].n_unique()
    n_runs = int(tot["n_runs"][0])
    if n_runs != iso["runs"]:
        raise ValueError(f"{s['name']} T={T:g} config {c}: the batches hold {n_runs} runs, the plan asks for "
                         f"{iso['runs']}")
    shape = (len(times), n)
    frame = _frame_from_state(_configuration(root, spec, upstream), velocities=False)
    ens = isoconf.Ensemble(frame=frame, times=times, steps=np.rint(times / s["dt"]).astype(np.int64), a=iso["a"],
                           n_runs=n_runs, sum_disp=tot["sum_disp"].to_numpy().reshape(shape),
                           sum_disp2=tot["sum_disp2"].to_numpy().reshape(shape),
                           sum_overlap=tot["sum_overlap"].to_numpy().reshape(shape),
                           velocities=np.zeros((0, n, 3)), seeds=[], params={"tau_reference": tau})
    mob = isoconf.mobility(ens).with_columns((pl.col("time") / tau).alias("t_over_tau_alpha"))
    loc = read_quantity(root, "local", s["name"], T, c).filter(pl.col("frame") == 0)
    cr = isoconf.correlate(loc, mob, iso["columns"], L=iso["L"], frames=frame, tau_alpha=tau)
    files = [write_table(root, "mobility", spec["task"], mob, s["name"], T, c),
             write_table(root, "correlation", spec["task"], cr, s["name"], T, c)]
    return {"files": dict(files), "value": None}


def inherent(spec: dict, root: str, upstream: dict) -> dict:
    from glassrs import elastic, minimize

    s, T, c, ist = spec["system"], spec["T"], spec["config"], spec["analyses"]["inherent_structures"]
    model = model_of(s)
    traj = production_trajectory(root, s, T, c)
    lo, hi, total = spec["picks"]
    # `total` frames evenly spaced over the run after its first frame (the isoconfigurational start)
    frames = np.linspace(1, len(traj) - 1, total).round().astype(int) if len(traj) > 1 else np.zeros(total, int)
    rows = []
    for k in frames[lo:hi].tolist():
        fr, info = minimize.fire(traj[k], model, f_tol=ist["f_tol"])
        h = elastic.hessian(fr, model)
        G = elastic.shear_modulus(h, planes="all").G if ist["shear_modulus"] else float("nan")
        kappa, npairs = float("nan"), 0
        if ist["kappa_pairs"] > 0:
            kt = elastic.dipole_stiffness(h, pairs=ist["kappa_pairs"],
                                          seed=seed_for(spec["seed"], s["name"], T, c, "inherent", k) % (2**31))
            kappa, npairs = float(kt["kappa"].mean()), kt.height
        rows.append({"batch": spec["batch"], "index": k, "time": float(traj.times[k]),
                     "u_is": float(info.energy) / fr.n_particles, "G": float(G), "kappa": kappa, "n_pairs": npairs,
                     "fire_iterations": int(info.iterations)})
    files = [write_table(root, "inherent", spec["task"], pl.DataFrame(rows), s["name"], T, c)]
    return {"files": dict(files), "value": None}


KINDS: dict[str, Callable[[dict, str, dict], dict]] = {
    "pilot": pilot, "equilibrate": equilibrate, "production": production, "windows": windows,
    "structure": structure_task, "isoconf": isoconf_batch, "isoconf_reduce": isoconf_reduce, "inherent": inherent,
}


def execute(spec: dict, root: str, upstream: dict[str, Any] | None = None, n_threads: int | None = None) -> dict:
    """Run one task in this process (a Dask worker, or inline): set the rayon threads, time it,
    and return its files, value and wall time. Exceptions propagate with glassrs's own
    (picklable) types; the message is prefixed with the task id."""
    from glassrs.parallel import threads

    t0 = time.perf_counter()
    try:
        with threads(n_threads):
            out = KINDS[spec["kind"]](spec, root, dict(upstream or {}))
    except Exception as e:  # name the task in the message, keep the exception type
        if e.args and isinstance(e.args[0], str) and not e.args[0].startswith(f"[{spec['task']}]"):
            e.args = (f"[{spec['task']}] {e.args[0]}", *e.args[1:])
        raise
    out["seconds"] = time.perf_counter() - t0
    return out
