"""Isoconfigurational ensembles and structure–dynamics correlation (definitions §4).

* :func:`ensemble` — N_IC runs of the built-in MD engine from one configuration, each with
  fresh Maxwell–Boltzmann velocities at T (zero total momentum, rescaled to exactly T as
  LAMMPS ``velocity create`` does), independent seeds, the same integrator and thermostat.
  Streams the per-particle sums needed for the mobility (memory F × N, not F × N × N_IC);
  ``keep_runs=True`` also keeps every run's trajectory in memory.
* :func:`mobility` — long table time, particle, species, ``mobility`` μ_j(t) = (1/N_IC) Σ_runs
  |r_j(t) − r_j(0)| (unwrapped, seed 000 Eq. 29), ``overlap`` q_j(t) = run average of
  Θ(a − |Δr_j|) (inclusive) and ``msd`` (run average of |Δr_j|²).
* :func:`tau_alpha` — per-particle τ_α,j where q_j(t) first drops to 1/e (linear interpolation
  in ln t, as :func:`glassrs.dynamics.tau_alpha`); NaN and ``crossed = False`` if it never does.
* :func:`correlate` — Spearman C_R(X, Y) between structural columns (optionally coarse-grained,
  :func:`glassrs.structure.coarse_grain`) of the initial configuration and the mobility, per
  species and pooled (``"all"``), as a function of t/τ_α and L.
* :func:`rearrangement_structure`, :func:`pr_arrhenius`, :func:`onset_temperature` — P_R(X) over a
  temperature series, its Arrhenius fit per bin ln P_R = ln P0(X) − ΔE(X)/T and the onset
  temperature where the extrapolated lines meet (the 1/T minimising their variance across bins).

Units: reduced units of the model (σ, ε, m, τ); times in τ; T in ε/k_B.

>>> ens = gr.isoconf.ensemble(frame, gr.models.kob_andersen(), T=0.6, n_runs=20, steps=20000, seed=1)
>>> mob = gr.isoconf.mobility(ens)                 # time, particle, species, mobility, overlap, msd
>>> loc = gr.structure.local(frame, model, T=0.6)
>>> cr = gr.isoconf.correlate(loc, mob, ["sop", "s2", "e_loc"], L=[0, 2], frames=frame)
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np
import polars as pl

from glassrs.tables import make_table, params as table_params
from glassrs.trajectory import Frame, Trajectory

__all__ = [
    "Ensemble", "ensemble", "mobility", "tau_alpha", "correlate", "rearrangement_structure",
    "pr_arrhenius", "onset_temperature", "PRArrhenius",
]

ONE_OVER_E = math.exp(-1.0)


# ---------------------------------------------------------------------------------------------
# ensemble
# ---------------------------------------------------------------------------------------------
@dataclass
class Ensemble:
    """An isoconfigurational ensemble (run-summed per-particle quantities).

    Attributes
    ----------
    frame : the common initial configuration.
    times : (F,) output times (τ), ``times[0] = 0``; ``steps`` (F,) the MD steps.
    a : overlap cutoff used for ``sum_overlap`` (σ).
    n_runs : N_IC.
    sum_disp, sum_disp2 : (F, N) Σ_runs |Δr_j(t)| (σ) and Σ_runs |Δr_j(t)|² (σ²).
    sum_overlap : (F, N) int64, Σ_runs Θ(a − |Δr_j(t)|).
    velocities : (N_IC, N, 3) initial velocities of every run.
    seeds : the engine seed of every run.
    runs : the run trajectories (``keep_runs=True``), else None.
    params : the parameters that produced the ensemble (recorded in every derived table).
    """

    frame: Frame
    times: np.ndarray
    steps: np.ndarray
    a: float
    n_runs: int
    sum_disp: np.ndarray
    sum_disp2: np.ndarray
    sum_overlap: np.ndarray
    velocities: np.ndarray
    seeds: list[int]
    runs: list[Trajectory] | None = None
    params: dict = field(default_factory=dict)

    def mobility(self) -> pl.DataFrame:
        """See :func:`mobility`."""
        return mobility(self)


def _run_seeds(seed: int, n_runs: int) -> list[int]:
    """Independent engine seeds (u64) for the runs, from ``numpy.random.SeedSequence(seed)``."""
    return [int(s.generate_state(1, dtype=np.uint64)[0]) for s in np.random.SeedSequence(int(seed)).spawn(n_runs)]


def _displacements(unwrapped: np.ndarray) -> np.ndarray:
    """|r_j(t) − r_j(0)| (F, N) from unwrapped positions (F, N, 3)."""
    return np.sqrt(((unwrapped - unwrapped[0]) ** 2).sum(axis=-1))


def ensemble(frame: Frame | Trajectory, model, T: float, n_runs: int, steps: int | None = None, *,
             times: Sequence[float] | None = None, every: int | None = None, log_base: float = 1.3,
             seed: int = 0, dt: float = 0.005, thermostat: str = "nve", tdamp: float | None = None,
             chain: int = 3, skin: float = 0.3, a: float = 0.3, keep_runs: bool = False,
             n_threads: int | None = None, chunks: int = 8, seeds: Sequence[int] | None = None,
             progress: bool | Callable[[int, int], None] | None = None) -> Ensemble:
    """Run an isoconfigurational ensemble with the built-in engine (definitions §4.1).

    Parameters
    ----------
    frame : the common initial configuration (a Frame, or the first frame of a Trajectory).
        Its own velocities, if any, are ignored: every run draws new ones.
    model : the :class:`glassrs.models.Model` to integrate.
    T : temperature (ε/k_B) of the Maxwell–Boltzmann velocities (and of the thermostat for NVT).
    n_runs : N_IC, the number of runs.
    steps : run length in MD steps. Output frames: ``times`` (τ, rounded to steps of ``dt``; the
        run length is then the last of them), else ``every`` steps, else log-spaced steps
        0, ⌊base^k⌋, …, ``steps`` (``log_base``, default 1.3).
    seed : master seed; run r uses the engine seed ``SeedSequence(seed).spawn(n_runs)[r]``
        (recorded), so the same ``seed`` reproduces the ensemble bit for bit.
    seeds : explicit engine seeds (u64), one per run, instead of ``seed`` (a campaign derives
        them per run, so that any batching of the runs gives the same runs).
    dt : timestep (τ). ``thermostat`` ``"nve"`` (default: unperturbed Newtonian dynamics) or
        ``"nvt"`` (Nosé–Hoover chain as :func:`glassrs.md.run`; ``tdamp`` default 100·dt,
        ``chain`` 3, thermostat variables start at zero in every run). ``skin``, ``chunks``,
        ``n_threads`` as :class:`glassrs.md.Simulation` (results do not depend on ``n_threads``).
    a : overlap cutoff (σ) for the streamed single-particle overlap.
    keep_runs : keep every run's trajectory in memory (``Ensemble.runs``).
    progress : None (default: a rich bar when stderr is a terminal, a stage line from the command
        line), True, False, or a callback ``(done_steps, total_steps)`` (:mod:`glassrs.progress`).
    """
    from glassrs import md

    if isinstance(frame, Trajectory):
        frame = frame[0]
    if not isinstance(frame, Frame):
        raise ValueError(f"frame must be a glassrs Frame or Trajectory, got {type(frame).__name__}")
    T = float(T)
    if not (T > 0 and np.isfinite(T)):
        raise ValueError(f"temperature must be positive, got T={T}")
    if int(n_runs) < 1:
        raise ValueError(f"n_runs must be ≥ 1, got {n_runs}")
    n_runs = int(n_runs)
    if not dt > 0:
        raise ValueError(f"dt must be positive, got {dt}")
    if thermostat not in ("nve", "nvt"):
        raise ValueError(f"unknown thermostat '{thermostat}': expected 'nve' or 'nvt'")
    if not (a > 0 and np.isfinite(a)):
        raise ValueError(f"overlap cutoff a must be positive, got {a}")
    if times is not None:
        out = np.unique(np.r_[0, np.rint(np.asarray(times, float) / dt).astype(np.int64)])
        if out[0] < 0:
            raise ValueError("output times must be non-negative")
        steps = int(out[-1])
    else:
        if steps is None or int(steps) < 1:
            raise ValueError(f"give steps (≥ 1) or times; got steps={steps}")
        steps = int(steps)
        out = md.schedule(steps, every=every) if every is not None else md.schedule(steps, log_block=steps,
                                                                                   log_base=log_base)
    if len(out) < 2:
        raise ValueError("the output schedule needs at least one time after 0")
    if seeds is None:
        seeds = _run_seeds(seed, n_runs)
    else:
        seeds = [int(x) for x in seeds]
        if len(seeds) != n_runs:
            raise ValueError(f"seeds has {len(seeds)} entries for n_runs={n_runs}")
    start = dataclasses.replace(frame, velocities=None)
    n = frame.n_particles
    nf = len(out)
    sum_d = np.zeros((nf, n))
    sum_d2 = np.zeros((nf, n))
    sum_q = np.zeros((nf, n), dtype=np.int64)
    vel0 = np.empty((n_runs, n, 3))
    runs: list[Trajectory] | None = [] if keep_runs else None

    total = n_runs * steps
    from glassrs import progress as _progress

    with _progress.task(f"isoconf ensemble ({n_runs} runs)", total=total, enabled=progress, unit="steps") as bar:
        for r, s in enumerate(seeds):
            bar.set_label(f"isoconf run {r + 1}/{n_runs}")
            sim = md.Simulation(model, start, T=T, dt=dt, ensemble=thermostat, tdamp=tdamp, chain=chain, skin=skin,
                                seed=s, n_threads=n_threads, chunks=chunks)
            vel0[r] = sim.state()["velocities"]
            frames, _ = sim.run(steps, output=out, thermo_every=max(steps, 1), progress=bar.offset(r * steps) if bar.cb else None)
            if len(frames) != nf:
                raise RuntimeError(f"run {r}: the engine returned {len(frames)} frames, expected {nf}")
            bar.update((r + 1) * steps)
            traj = Trajectory.from_frames(frames, dt=dt)
            d = _displacements(traj.unwrapped())
            sum_d += d
            sum_d2 += d * d
            sum_q += d <= a
            if runs is not None:
                runs.append(traj)
        bar.set_label(f"isoconf ensemble ({n_runs} runs)")
    prm = {"kind": "isoconf_ensemble", "model": model.name, "T": T, "n_runs": n_runs, "steps": steps, "dt": float(dt),
           "thermostat": thermostat, "tdamp": (100 * dt if tdamp is None else float(tdamp)) if thermostat == "nvt" else None,
           "chain": int(chain), "skin": float(skin), "seed": int(seed), "run_seeds": seeds, "a": float(a),
           "velocities": "Maxwell-Boltzmann, zero momentum, rescaled to exactly T", "n_particles": n}
    return Ensemble(frame=frame, times=out * float(dt), steps=out.astype(np.int64), a=float(a), n_runs=n_runs,
                    sum_disp=sum_d, sum_disp2=sum_d2, sum_overlap=sum_q, velocities=vel0, seeds=seeds, runs=runs,
                    params=prm)


# ---------------------------------------------------------------------------------------------
# mobility and per-particle τ_α
# ---------------------------------------------------------------------------------------------
def _from_trajectories(runs: Sequence[Trajectory], a: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                                                      Frame]:
    runs = list(runs)
    if not runs:
        raise ValueError("no runs given")
    t0 = runs[0]
    f0 = t0.first
    times = np.asarray(t0.times, dtype=np.float64)
    sum_d = sum_d2 = sum_q = None
    ref0 = None
    for r, t in enumerate(runs):
        if t.n_particles != t0.n_particles or t.species != t0.species or not np.array_equal(t.types, t0.types):
            raise ValueError(f"run {r} ({t.path or '<memory>'}) has a different particle set from run 0")
        tt = np.asarray(t.times, dtype=np.float64)
        if len(tt) != len(times) or not np.allclose(tt, times, rtol=1e-12, atol=1e-12):
            raise ValueError(f"run {r} ({t.path or '<memory>'}) has output times different from run 0: an "
                             "isoconfigurational ensemble needs one schedule")
        u = t.unwrapped()
        if ref0 is None:
            ref0 = u[0]
        else:
            dev = f0.box.min_image(u[0] - ref0)
            bad = np.flatnonzero(np.abs(dev).max(axis=1) > 1e-6)
            if bad.size:
                raise ValueError(f"run {r} does not start from the configuration of run 0 (particle {int(bad[0])} "
                                 f"differs by {np.abs(dev[bad[0]]).max():.3g} σ): not an isoconfigurational ensemble")
        d = _displacements(u)
        if sum_d is None:
            sum_d, sum_d2, sum_q = np.zeros_like(d), np.zeros_like(d), np.zeros(d.shape, dtype=np.int64)
        sum_d += d
        sum_d2 += d * d
        sum_q += d <= a
    return times, sum_d, sum_d2, sum_q, f0


def _system_tau(times: np.ndarray, q: np.ndarray, types: np.ndarray, species: Sequence[str],
                threshold: float) -> dict[str, float]:
    """τ_α of the run- and particle-averaged overlap, for all particles and per species."""
    from glassrs.dynamics import tau_alpha as _tau

    rows = {"species": [], "lag": [], "overlap": []}
    for name, sel in [("all", np.ones(len(types), bool))] + [(s, types == u) for u, s in enumerate(species)]:
        if sel.any():
            rows["species"] += [name] * len(times)
            rows["lag"] += times.tolist()
            rows["overlap"] += q[:, sel].mean(axis=1).tolist()
    tab = pl.DataFrame(rows)
    return {s: _tau(tab, "overlap", threshold, s) for s in tab["species"].unique(maintain_order=True).to_list()}


def mobility(runs: Ensemble | Sequence[Trajectory] | Sequence[Ensemble], *, a: float | None = None,
             threshold: float = ONE_OVER_E) -> pl.DataFrame:
    """Per-particle mobility and overlap of an isoconfigurational ensemble (definitions §4.2).

    ``runs``: an :class:`Ensemble`, a list of run trajectories (all from one configuration, one
    output schedule; unwrapped as in definitions §3.1) or a list of Ensembles (several initial
    configurations: a ``config`` column numbers them).

    Returns a long table: [``config``,] ``time`` (τ), ``particle`` (id, or index), ``species``,
    ``mobility`` μ_j(t) (σ), ``overlap`` q_j(t) (run average of Θ(a − |Δr_j(t)|), |Δr| ≤ a
    counts), ``msd`` (run average of |Δr_j|², σ²). Parameters: ``a``, ``n_runs``,
    ``tau_alpha`` (dict species → τ_α of the particle-averaged q(t) at ``threshold``; "all"
    is the t/τ_α scale used by :func:`correlate`; with several configurations it is the mean of
    their τ_α, each listed in ``tau_alpha_per_config``) and the ensemble's parameters.
    """
    if isinstance(runs, (list, tuple)) and runs and all(isinstance(e, Ensemble) for e in runs):
        singles = [mobility(e, threshold=threshold) for e in runs]
        taus = [table_params(t)["tau_alpha"] for t in singles]
        out = pl.concat([t.with_columns(pl.lit(c, dtype=pl.Int64).alias("config")) for c, t in enumerate(singles)])
        out = out.select(["config", *singles[0].columns])
        p = dict(table_params(singles[0]))
        p.update({"n_configs": len(runs), "tau_alpha_per_config": taus,
                  "run_seeds": [table_params(t).get("run_seeds") for t in singles]})
        allt = [t["all"] for t in taus]
        p["tau_alpha"] = {"all": float(np.nanmean(allt)) if np.isfinite(allt).any() else float("nan")}
        return make_table(out, p)
    if isinstance(runs, Ensemble):
        if a is not None and float(a) != runs.a:
            raise ValueError(f"the ensemble streamed overlaps with a={runs.a}; rerun it (or keep_runs=True and "
                             f"pass ens.runs) for a={a}")
        times, sum_d, sum_d2, sum_q, f0 = runs.times, runs.sum_disp, runs.sum_disp2, runs.sum_overlap, runs.frame
        n_runs, a_used, extra = runs.n_runs, runs.a, dict(runs.params)
    else:
        a_used = 0.3 if a is None else float(a)
        if not (a_used > 0 and np.isfinite(a_used)):
            raise ValueError(f"overlap cutoff a must be positive, got {a_used}")
        runs = list(runs)
        times, sum_d, sum_d2, sum_q, f0 = _from_trajectories(runs, a_used)
        n_runs, extra = len(runs), {"sources": [t.path for t in runs]}
    nf, n = sum_d.shape
    mu = sum_d / n_runs
    q = sum_q / n_runs
    ids = np.arange(n, dtype=np.int64) if f0.ids is None else np.asarray(f0.ids, dtype=np.int64)
    sp = np.asarray(f0.species, dtype=object)[f0.types]
    df = pl.DataFrame({
        "time": np.repeat(np.asarray(times, float), n), "particle": np.tile(ids, nf),
        "species": pl.Series(np.tile(sp, nf), dtype=pl.String),
        "mobility": mu.reshape(-1), "overlap": q.reshape(-1), "msd": (sum_d2 / n_runs).reshape(-1),
    })
    tau = _system_tau(np.asarray(times, float), q, f0.types, f0.species, threshold)
    p = {**extra, "kind": "isoconf_mobility", "a": a_used, "overlap": "inclusive |dr| <= a", "n_runs": n_runs,
         "threshold": threshold, "tau_alpha": tau, "species": list(f0.species)}
    return make_table(df, p)


def tau_alpha(mobility_table: pl.DataFrame, threshold: float = ONE_OVER_E) -> pl.DataFrame:
    """Per-particle τ_α,j: the first time the run-averaged overlap q_j(t) drops to ``threshold``
    (default 1/e) or below, linearly interpolated in ln t between the bracketing times (linear
    in t when the earlier time is 0), as :func:`glassrs.dynamics.tau_alpha`.

    Columns: [``config``,] ``particle``, ``species``, ``tau_alpha`` (τ; NaN when q_j never
    reaches the threshold within the runs), ``crossed`` (bool)."""
    need = {"time", "particle", "species", "overlap"}
    if not need <= set(mobility_table.columns):
        raise ValueError(f"tau_alpha needs a mobility table with columns {sorted(need)}, has {mobility_table.columns}")
    keys = ["config"] if "config" in mobility_table.columns else []
    parts = []
    groups = mobility_table.group_by(keys, maintain_order=True) if keys else [((), mobility_table)]
    for key, sub in groups:
        sub = sub.sort(["time", "particle"])
        t = np.unique(sub["time"].to_numpy())
        nf = len(t)
        if sub.height % nf:
            raise ValueError("the mobility table is not a full time × particle grid")
        n = sub.height // nf
        q = sub["overlap"].to_numpy().reshape(nf, n)
        below = q <= threshold
        crossed = below.any(axis=0)
        j = np.argmax(below, axis=0)
        jm = np.maximum(j - 1, 0)
        cols = np.arange(n)
        t0, t1 = t[jm], t[j]
        q0, q1 = q[jm, cols], q[j, cols]
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.where(q1 != q0, (threshold - q0) / (q1 - q0), 0.0)
            lin = t0 + f * (t1 - t0)
            logi = np.exp(np.log(np.where(t0 > 0, t0, 1.0)) + f * (np.log(np.where(t1 > 0, t1, 1.0))
                                                                   - np.log(np.where(t0 > 0, t0, 1.0))))
        tau = np.where(j == 0, t[0], np.where(t0 <= 0, lin, logi))
        tau = np.where(crossed, tau, np.nan)
        first = sub.head(n)
        d = {"particle": first["particle"], "species": first["species"], "tau_alpha": tau, "crossed": crossed}
        if keys:
            d = {"config": np.full(n, key[0], dtype=np.int64), **d}
        parts.append(pl.DataFrame(d))
    return make_table(pl.concat(parts), {**table_params(mobility_table), "kind": "isoconf_tau_alpha",
                                         "threshold": threshold, "interpolation": "linear in ln t"})


# ---------------------------------------------------------------------------------------------
# C_R(X, μ)
# ---------------------------------------------------------------------------------------------
def _structure_long(structure: pl.DataFrame, columns: Sequence[str], L: Sequence[float], frames,
                    r_cg: float | None, cg_species: Sequence[str] | None, n_threads: int | None) -> pl.DataFrame:
    """frame, particle, species, L, quantity, value."""
    from glassrs import structure as st

    parts = []
    for c in columns:
        base = structure.select("frame", "particle", "species", pl.col(c).cast(pl.Float64).alias("value"))
        if any(x == 0 for x in L):
            parts.append(base.with_columns(pl.lit(0.0).alias("L"), pl.lit(c).alias("quantity")))
        cg = [x for x in L if x > 0]
        if cg:
            if frames is None:
                raise ValueError(f"coarse-graining (L = {cg}) needs the configuration(s): pass frames= (the "
                                 "Trajectory/Frame the structure table was computed on)")
            long = st.coarse_grain(frames, structure, c, L=cg, r_cg=r_cg, species=cg_species, long=True,
                                   n_threads=n_threads)
            parts.append(long.select("frame", "particle", pl.col("species").cast(pl.String), "L",
                                     pl.col(c).alias("value")).with_columns(pl.lit(c).alias("quantity")))
    return pl.concat([p.select("frame", "particle", "species", pl.col("L").cast(pl.Float64), "quantity", "value")
                      for p in parts])


def correlate(structure: pl.DataFrame, mobility_table: pl.DataFrame, columns: Sequence[str] = ("sop",),
              L: Sequence[float] = (0.0,), *, frames: Trajectory | Frame | Sequence[Frame] | None = None,
              y: str = "mobility", tau_alpha: float | None = None, r_cg: float | None = None,
              cg_species: Sequence[str] | None = None, n_threads: int | None = None) -> pl.DataFrame:
    """Spearman C_R(X, Y) between structural columns X of the initial configuration(s) and a
    dynamical column Y (default the mobility μ) of :func:`mobility`, per species and pooled.

    ``structure``: a per-particle table (``frame``, ``particle``, ``species`` and ``columns``,
    e.g. from :func:`glassrs.structure.local`) of the initial configuration. With one
    ensemble it must hold one frame; with several (``config`` column in the mobility table)
    its ``frame`` k matches ``config`` k. ``L``: coarse-graining lengths (σ; 0 = none) through
    :func:`glassrs.structure.coarse_grain` on ``frames`` (needed for L > 0; ``r_cg``,
    ``cg_species`` passed on). ``tau_alpha``: the t/τ_α scale (default: τ_α of the
    particle-averaged ensemble overlap, ``params(mobility_table)["tau_alpha"]["all"]``).

    Returns a long table: ``species`` ("all", then each species), ``L``, ``quantity``, ``time``,
    ``t_over_tau_alpha``, ``c_r``, ``n`` (particles with finite X and Y). Times ≤ 0 are skipped (μ ≡ 0). With
    several configurations the particles of all configurations are ranked together.

    A dynamical table without a ``time`` column (e.g. :func:`tau_alpha` with ``y="tau_alpha"``)
    gives one C_R per species, L and quantity (``time`` and ``t_over_tau_alpha`` null).
    """
    columns = [columns] if isinstance(columns, str) else list(columns)
    for c in ("frame", "particle", "species", *columns):
        if c not in structure.columns:
            raise ValueError(f"structure table has no column '{c}' (columns: {structure.columns})")
    for c in ("particle", y):
        if c not in mobility_table.columns:
            raise ValueError(f"dynamics table has no column '{c}' (columns: {mobility_table.columns})")
    static = "time" not in mobility_table.columns
    Ls = [float(x) for x in np.atleast_1d(L)]
    if any(not (x >= 0 and np.isfinite(x)) for x in Ls):
        raise ValueError(f"L values must be finite and ≥ 0, got {Ls}")
    mp = table_params(mobility_table)
    if static:
        tau, tau_src = (float("nan") if tau_alpha is None else float(tau_alpha)), "not used (no time column)"
    elif tau_alpha is None:
        tau = (mp.get("tau_alpha") or {}).get("all")
        if tau is None or not np.isfinite(tau):
            raise ValueError("the ensemble overlap never reached 1/e (τ_α unknown): run longer or pass tau_alpha=")
        tau_src = "isoconfigurational ensemble q(t) = 1/e"
    else:
        tau, tau_src = float(tau_alpha), "user"
    multi = "config" in mobility_table.columns
    frames_in = structure["frame"].unique().sort().to_list()
    if not multi and len(frames_in) != 1:
        raise ValueError(f"the structure table holds frames {frames_in[:10]}; an ensemble without a 'config' column "
                         "needs the structure of its one initial configuration")
    sl = _structure_long(structure, columns, Ls, frames, r_cg, cg_species, n_threads)
    if static:
        mobility_table = mobility_table.with_columns(pl.lit(None, dtype=pl.Float64).alias("time"))
    else:
        mobility_table = mobility_table.filter(pl.col("time") > 0)
    mob = mobility_table.select(*(["config"] if multi else []), "time", "particle",
                                pl.col(y).cast(pl.Float64).alias("_y"))
    if multi:
        sl = sl.rename({"frame": "config"}).with_columns(pl.col("config").cast(pl.Int64))
        joined = sl.join(mob, on=["config", "particle"], how="inner")
    else:
        joined = sl.drop("frame").join(mob, on="particle", how="inner")
    if joined.height == 0:
        raise ValueError("no particle of the structure table matches the mobility table (particle ids differ?)")
    agg = [pl.col("value").glass.spearman(pl.col("_y")).alias("c_r"),
           (pl.col("value").is_finite() & pl.col("_y").is_finite()).sum().alias("n")]
    per = joined.group_by("species", "L", "quantity", "time").agg(agg)
    pooled = joined.group_by("L", "quantity", "time").agg(agg).with_columns(pl.lit("all").alias("species"))
    out = pl.concat([pooled.select(per.columns), per])
    order = ["all"] + sorted(s for s in out["species"].unique().to_list() if s != "all")
    out = (out.with_columns(pl.col("species").replace_strict({s: i for i, s in enumerate(order)}).alias("_o"))
           .sort("_o", "quantity", "L", "time").drop("_o")
           .with_columns((pl.col("time") / tau).alias("t_over_tau_alpha"))
           .select("species", "L", "quantity", "time", "t_over_tau_alpha", "c_r", "n"))
    return make_table(out, {"kind": "isoconf_correlation", "method": "spearman (average ranks)", "y": y,
                            "columns": columns, "L": Ls, "tau_alpha": tau, "tau_alpha_source": tau_src,
                            "r_cg": r_cg, "cg_species": None if cg_species is None else list(cg_species),
                            "structure": table_params(structure), "mobility": mp})


# ---------------------------------------------------------------------------------------------
# P_R(X), Arrhenius per bin, onset temperature
# ---------------------------------------------------------------------------------------------
def rearrangement_structure(traj: Trajectory, structure: pl.DataFrame, *, window: float = 15.0,
                            p_c: float | None = None, **kwargs) -> pl.DataFrame:
    """Join a per-particle structure table (``frame``, ``particle``, …) of ``traj`` with its
    rearrangement table (:func:`glassrs.dynamics.rearrangements`: ``phop``, ``rearranging``;
    p_c = MSD at the α2 peak unless given) on (frame, particle). Only frames where p_hop is
    defined (the whole window inside the trajectory) remain. Parameters record ``p_c``."""
    from glassrs import dynamics as dyn

    re = dyn.rearrangements(traj, window, p_c=p_c, **kwargs)
    rp = table_params(re)
    out = structure.join(re.select("frame", "particle", "phop", "rearranging"), on=["frame", "particle"], how="inner")
    if out.height == 0:
        raise ValueError("no (frame, particle) of the structure table has a p_hop value: compute the structure on "
                         f"frames whose ±{window / 2:g} window lies inside the trajectory")
    return make_table(out, {**table_params(structure), "p_c": rp["p_c"], "p_c_source": rp["p_c_source"],
                            "window": rp["window"]})


def onset_temperature(ln_p0: Sequence[float], delta_e: Sequence[float]) -> tuple[float, float, float]:
    """The point where the lines y_b(β) = ln P0_b − ΔE_b β (β = 1/T) meet: the β minimising
    Var_b[y_b(β)] (unweighted, across bins b). Var is quadratic in β, so
    β* = Cov(ln P0, ΔE) / Var(ΔE) exactly. Returns (T* = 1/β*, β*, the residual standard
    deviation √Var at β*, in units of ln P)."""
    a = np.asarray(ln_p0, float)
    e = np.asarray(delta_e, float)
    ok = np.isfinite(a) & np.isfinite(e)
    a, e = a[ok], e[ok]
    if len(a) < 2:
        raise ValueError(f"the onset temperature needs at least 2 fitted bins, got {len(a)}")
    ve = float(np.var(e))
    if ve <= 1e-300 * max(1.0, float(np.mean(e * e))):
        raise ValueError("all bins have the same ΔE: the Arrhenius lines are parallel and never meet")
    beta = float(np.mean((a - a.mean()) * (e - e.mean())) / ve)
    spread = float(np.sqrt(max(np.var(a - e * beta), 0.0)))
    return (1.0 / beta if beta != 0 else float("inf")), beta, spread


@dataclass
class PRArrhenius:
    """Result of :func:`pr_arrhenius`.

    pr : long table T, bin, x_low, x_high, x_mid, n, p_r (P_R per temperature and bin).
    fits : per bin: bin, x_low, x_high, x_mid, n_T, ln_p0, ln_p0_err, delta_e, delta_e_err
        (ln P_R = ln_p0 − delta_e / T; energies in ε).
    onset_T, onset_beta, spread : see :func:`onset_temperature` (NaN with fewer than 2 bins).
    """

    pr: pl.DataFrame
    fits: pl.DataFrame
    onset_T: float
    onset_beta: float
    spread: float


def pr_arrhenius(data: Mapping[float, pl.DataFrame], x: str, *, p_c: Mapping[float, float] | float | None = None,
                 bins: int | Sequence[float] = 10, phop: str = "phop", min_count: int = 20,
                 species: str | None = None) -> PRArrhenius:
    """P_R(X) over a temperature series and its Arrhenius analysis (definitions §4.5–4.6).

    ``data`` maps T → a per-particle table with column ``x`` and ``phop`` (e.g. from
    :func:`rearrangement_structure`). ``p_c``: per-T thresholds, one value for all, or None
    (each table's ``params(table)["p_c"]``). ``bins``: a count (equal-width over the pooled X
    of all temperatures, so every T shares the bins) or explicit edges. ``species`` restricts
    to one species.

    For each bin with ``min_count`` particles and P_R > 0 at ≥ 2 temperatures, ln P_R is fitted
    against 1/T with :func:`glassrs.fits.arrhenius` (ΔE = −E). The onset temperature is where the
    extrapolated lines meet (:func:`onset_temperature`).
    """
    from glassrs import fits
    from glassrs.stats import rearrangement_probability

    if len(data) < 2:
        raise ValueError(f"the Arrhenius analysis needs at least 2 temperatures, got {len(data)}")
    temps = sorted(float(t) for t in data)
    tabs = {}
    for t_key, df in data.items():
        T = float(t_key)
        if x not in df.columns or phop not in df.columns:
            raise ValueError(f"T={T:g}: table needs columns '{x}' and '{phop}', has {df.columns}")
        if species is not None:
            df2 = df.filter(pl.col("species") == species)
            if df2.height == 0:
                raise ValueError(f"T={T:g}: no particle of species {species!r}")
        else:
            df2 = df
        if p_c is None:
            pc = table_params(df).get("p_c")
            if pc is None:
                raise ValueError(f"T={T:g}: no p_c given and the table records none (pass p_c=)")
        elif isinstance(p_c, Mapping):
            if T not in {float(k) for k in p_c}:
                raise ValueError(f"no p_c for T={T:g}")
            pc = {float(k): v for k, v in p_c.items()}[T]
        else:
            pc = p_c
        tabs[T] = (df2, float(pc))
    if np.isscalar(bins):
        pooled = np.concatenate([d[x].cast(pl.Float64).to_numpy() for d, _ in tabs.values()])
        edges = np.histogram_bin_edges(pooled[np.isfinite(pooled)], bins=int(bins))
    else:
        edges = np.asarray(bins, float)
    prs = []
    for T in temps:
        df, pc = tabs[T]
        vals = df[x].cast(pl.Float64).to_numpy()
        df = df.filter(pl.Series((vals >= edges[0]) & (vals <= edges[-1])))
        r = rearrangement_probability(df, x, phop=phop, p_c=pc, bins=edges)
        prs.append(r.with_columns(pl.lit(T).alias("T"), pl.lit(pc).alias("p_c")))
    pr = pl.concat(prs).select("T", "p_c", "bin", "x_low", "x_high", "x_mid", "n", "p_r").sort("bin", "T")
    rows = []
    for (b,), sub in pr.filter((pl.col("n") >= min_count) & (pl.col("p_r") > 0)).group_by(["bin"], maintain_order=True):
        if sub["T"].n_unique() < 2:
            continue
        f = fits.arrhenius(sub["T"].to_numpy(), sub["p_r"].to_numpy())
        rows.append({"bin": int(b), "x_low": sub["x_low"][0], "x_high": sub["x_high"][0], "x_mid": sub["x_mid"][0],
                     "n_T": sub.height, "ln_p0": f.params["ln_tau0"], "ln_p0_err": f.stderr["ln_tau0"],
                     "delta_e": -f.params["E"], "delta_e_err": f.stderr["E"]})
    schema = {"bin": pl.Int64, "x_low": pl.Float64, "x_high": pl.Float64, "x_mid": pl.Float64, "n_T": pl.Int64,
              "ln_p0": pl.Float64, "ln_p0_err": pl.Float64, "delta_e": pl.Float64, "delta_e_err": pl.Float64}
    fit_tab = pl.DataFrame(rows, schema=schema).sort("bin")
    if fit_tab.height >= 2:
        onset_T, onset_beta, spread = onset_temperature(fit_tab["ln_p0"].to_numpy(), fit_tab["delta_e"].to_numpy())
    else:
        onset_T = onset_beta = spread = float("nan")
    prm = {"kind": "pr_arrhenius", "x": x, "temperatures": temps, "edges": edges.tolist(), "min_count": min_count,
           "species": species, "onset_T": onset_T, "onset_beta": onset_beta, "spread": spread,
           "fit": "ln P_R = ln P0 - dE/T (glassrs.fits.arrhenius)"}
    return PRArrhenius(pr=make_table(pr, prm), fits=make_table(fit_tab, prm), onset_T=onset_T,
                       onset_beta=onset_beta, spread=spread)
