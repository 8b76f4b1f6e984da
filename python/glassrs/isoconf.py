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
    "Ensemble", "ensemble", "mobility", "tau_alpha", "correlate", "correlate_ci", "rearrangement_structure",
    "pr_arrhenius", "onset_temperature", "PRArrhenius", "chi4", "histogram",
    "autocorrelation", "propagator", "Propagator", "conditional_distribution",
    "microscopic_barriers", "MicroscopicBarriers", "displacement_field",
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
    sum_vector : (F, N, 3) Σ_runs Δr_j(t) (σ), for :func:`displacement_field`.
    cage_radius : the cage radii per species pair when the displacements are cage-relative
        (Δr_j − mean of Δr over j's neighbours in ``frame``), else None (plain displacements).
    velocities : (N_IC, N, 3) initial velocities of every run.
    seeds : the engine seed of every run.
    runs : the run trajectories (``keep_runs=True``), else None.
    params : the parameters that produced the ensemble (recorded in every derived table).
    run_count, run_count2 : (F, 1 + n_species) int64, Σ_runs C_r(t) and Σ_runs C_r(t)², where
        C_r(t) is the number of particles of the selection ("all", then each species) with
        |Δr| ≤ a in run r — the streamed sums behind :func:`chi4` (None for ensembles built
        without them, e.g. by an older version).
    run_count3, run_count4 : (F, 1 + n_species) float64, Σ_runs (C_r − c̄)³ and Σ_runs (C_r − c̄)⁴
        about the shift ``run_count_shift`` c̄ = the counts of the first run (for the standard
        error of χ4; None as above).
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
    sum_vector: np.ndarray | None = None
    cage_radius: dict | None = None
    run_count: np.ndarray | None = None
    run_count2: np.ndarray | None = None
    run_count3: np.ndarray | None = None
    run_count4: np.ndarray | None = None
    run_count_shift: np.ndarray | None = None

    def mobility(self) -> pl.DataFrame:
        """See :func:`mobility`."""
        return mobility(self)


def _run_seeds(seed: int, n_runs: int) -> list[int]:
    """Independent engine seeds (u64) for the runs, from ``numpy.random.SeedSequence(seed)``."""
    return [int(s.generate_state(1, dtype=np.uint64)[0]) for s in np.random.SeedSequence(int(seed)).spawn(n_runs)]


def _displacements(unwrapped: np.ndarray, cage=None) -> tuple[np.ndarray, np.ndarray]:
    """(|Δr_j(t)| (F, N), Δr_j(t) (F, N, 3)) from unwrapped positions (F, N, 3), Δr_j(t) =
    r_j(t) − r_j(0); cage-relative (:func:`glassrs.dynamics.cage_relative_positions`) when the
    cage matrix of frame 0 is given."""
    if cage is not None:
        from glassrs.dynamics import cage_relative_positions
        unwrapped = cage_relative_positions(unwrapped, cage)
    vec = unwrapped - unwrapped[0]
    return np.sqrt((vec ** 2).sum(axis=-1)), vec


#: largest system for which the runs of an ensemble advance as concurrent replicas by default
REPLICA_MAX_N = 20_000


def _replicas(replicas: int | None, n_runs: int, n: int) -> int:
    """Runs advancing at once (see :func:`ensemble`)."""
    if replicas is None:
        from glassrs.parallel import get_num_threads
        return max(1, min(n_runs, get_num_threads())) if n <= REPLICA_MAX_N else 1
    if isinstance(replicas, bool) or not isinstance(replicas, (int, np.integer)) or replicas < 1:
        raise ValueError(f"replicas must be a positive number of concurrent runs, got {replicas!r}")
    return int(min(replicas, n_runs))


def _cage(frame: Frame, cage_relative: bool | None, cage_radius) -> tuple[object, dict | None]:
    """The cage matrix of ``frame`` and its radii when cage-relative (default: in 2D), else (None, None)."""
    if cage_relative is None:
        cage_relative = frame.box.dim == 2
    if not cage_relative:
        return None, None
    from glassrs.dynamics import cage_matrix, cage_radii
    radii = cage_radii(Trajectory.from_frames([frame]), cage_radius)
    return cage_matrix(frame, radii), radii


class _RunCounts:
    """Streamed per-run overlap counts C_r(t) per selection (all, then each species): exact
    int64 Σ C and Σ C², and Σ (C − c̄)³, Σ (C − c̄)⁴ about the first run's counts c̄ (float64)."""

    def __init__(self, types: np.ndarray, n_species: int):
        self.sel = [np.ones(len(types), bool)] + [types == u for u in range(n_species)]
        self.s1 = self.s2 = self.s3 = self.s4 = self.shift = None

    def add(self, overlap: np.ndarray) -> None:
        """``overlap``: (F, N) bool, Θ(a − |Δr_j(t)|) of one run."""
        c = np.column_stack([overlap[:, m].sum(axis=1) for m in self.sel]).astype(np.int64)
        if self.s1 is None:
            self.shift = c.astype(np.float64)
            self.s1, self.s2 = np.zeros_like(c), np.zeros_like(c)
            self.s3, self.s4 = np.zeros(c.shape), np.zeros(c.shape)
        self.s1 += c
        self.s2 += c * c
        d = c - self.shift
        self.s3 += d ** 3
        self.s4 += d ** 4


def ensemble(frame: Frame | Trajectory, model, T: float, n_runs: int, steps: int | None = None, *,
             times: Sequence[float] | None = None, every: int | None = None, log_base: float = 1.3,
             seed: int = 0, dt: float = 0.005, thermostat: str = "nve", tdamp: float | None = None,
             chain: int = 3, skin: float = 0.3, a: float = 0.3, keep_runs: bool = False,
             n_threads: int | None = None, chunks: int = 8, seeds: Sequence[int] | None = None,
             progress: bool | Callable[[int, int], None] | None = None, cage_relative: bool | None = None,
             cage_radius: float | Mapping[str, float] | None = None, replicas: int | None = None,
             activity=None) -> Ensemble:
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
    replicas : how many runs advance at once, each on one engine thread (they are independent, so
        this parallelises over runs instead of over the particles of one small system). Default:
        the process thread count (:func:`glassrs.get_num_threads`) for systems of at most
        20 000 particles — where that measured faster — else 1 (runs one after another, each
        on ``n_threads``). Results are bitwise identical whatever the choice (recorded as
        ``params["replicas"]``).
    cage_relative : measure displacements relative to the cage of the initial configuration,
        Δr_j − (1/|n_j|) Σ_{k∈n_j} Δr_k, n_j the neighbours of j within ``cage_radius`` (a number
        or a mapping "u-v" → σ; default: the first minima of the g_uv of the initial frame, a
        one-frame estimate — pass the radii for production work). Default: True in 2D (where
        collective long-wavelength motion swamps plain displacements), False in 3D.
    activity : a :class:`glassrs.md.Activity` for an active liquid. Every run has the same active
        particles (chosen by its ``select_seed``) and its own propulsion noise (the sign stream is
        seeded from the run's engine seed). Recorded as ``params["activity"]``.
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
    cage, radii = _cage(start, cage_relative, cage_radius)
    n = frame.n_particles
    nf = len(out)
    sum_v = np.zeros((nf, n, 3))
    sum_d = np.zeros((nf, n))
    sum_d2 = np.zeros((nf, n))
    sum_q = np.zeros((nf, n), dtype=np.int64)
    counts = _RunCounts(np.asarray(frame.types), len(frame.species))
    vel0 = np.empty((n_runs, n, 3))
    runs: list[Trajectory] | None = [] if keep_runs else None

    total = n_runs * steps
    from glassrs import progress as _progress

    n_rep = _replicas(replicas, n_runs, n)

    def one_run(r: int, s: int, cb) -> tuple[np.ndarray, list]:
        sim = md.Simulation(model, start, T=T, dt=dt, ensemble=thermostat, tdamp=tdamp, chain=chain, skin=skin,
                            seed=s, n_threads=n_threads if n_rep == 1 else 1, chunks=chunks, activity=activity)
        v = sim.state()["velocities"]
        frames, _ = sim.run(steps, output=out, thermo_every=max(steps, 1), progress=cb)
        if len(frames) != nf:
            raise RuntimeError(f"run {r}: the engine returned {len(frames)} frames, expected {nf}")
        return v, frames

    def add(r: int, v: np.ndarray, frames: list) -> None:
        """Sums in run order, whatever order the runs finished in (bitwise reproducible)."""
        nonlocal sum_d, sum_d2
        vel0[r] = v
        traj = Trajectory.from_frames(frames, dt=dt)
        d, vec = _displacements(traj.unwrapped(), cage)
        sum_v[...] += vec
        sum_d += d
        sum_d2 += d * d
        sum_q[...] += d <= a
        counts.add(d <= a)
        if runs is not None:
            runs.append(traj)

    with _progress.task(f"isoconf ensemble ({n_runs} runs)", total=total, enabled=progress, unit="steps") as bar:
        if n_rep == 1:
            for r, s in enumerate(seeds):
                bar.set_label(f"isoconf run {r + 1}/{n_runs}")
                v, frames = one_run(r, s, bar.offset(r * steps) if bar.cb else None)
                bar.update((r + 1) * steps)
                add(r, v, frames)
        else:
            # concurrent replicas, one engine thread each (the GIL is released while they run);
            # a stop flag checked in their progress callbacks ends them on Ctrl-C or an error
            import threading
            from concurrent.futures import ThreadPoolExecutor

            stop = threading.Event()

            def watch(done, total):
                if stop.is_set():
                    raise KeyboardInterrupt("isoconf ensemble stopped")

            with ThreadPoolExecutor(max_workers=n_rep) as pool:
                futures = [pool.submit(one_run, r, s, watch) for r, s in enumerate(seeds)]
                try:
                    for r, fut in enumerate(futures):
                        bar.set_label(f"isoconf runs ({n_rep} at a time) {r + 1}/{n_runs}")
                        v, frames = fut.result()
                        bar.update((r + 1) * steps)
                        add(r, v, frames)
                except BaseException:
                    stop.set()
                    for fut in futures:
                        fut.cancel()
                    raise
        bar.set_label(f"isoconf ensemble ({n_runs} runs)")
    prm = {"kind": "isoconf_ensemble", "model": model.name, "T": T, "n_runs": n_runs, "steps": steps, "dt": float(dt),
           "replicas": n_rep,
           "thermostat": thermostat, "tdamp": (100 * dt if tdamp is None else float(tdamp)) if thermostat == "nvt" else None,
           "chain": int(chain), "skin": float(skin), "seed": int(seed), "run_seeds": seeds, "a": float(a),
           "velocities": "Maxwell-Boltzmann, zero momentum, rescaled to exactly T", "n_particles": n,
           "displacements": "cage-relative" if cage is not None else "plain", "cage_radius": radii,
           "activity": None if activity is None else activity.params(n, float(dt))}
    return Ensemble(frame=frame, times=out * float(dt), steps=out.astype(np.int64), a=float(a), n_runs=n_runs,
                    sum_disp=sum_d, sum_disp2=sum_d2, sum_overlap=sum_q, velocities=vel0, seeds=seeds, runs=runs,
                    params=prm, sum_vector=sum_v, cage_radius=radii, run_count=counts.s1, run_count2=counts.s2,
                    run_count3=counts.s3, run_count4=counts.s4, run_count_shift=counts.shift)


# ---------------------------------------------------------------------------------------------
# mobility and per-particle τ_α
# ---------------------------------------------------------------------------------------------
def _from_trajectories(runs: Sequence[Trajectory], a: float, counts: "_RunCounts | None" = None,
                       cage_relative: bool | None = None, cage_radius=None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, Frame, dict | None]:
    runs = list(runs)
    if not runs:
        raise ValueError("no runs given")
    t0 = runs[0]
    f0 = t0.first
    times = np.asarray(t0.times, dtype=np.float64)
    sum_d = sum_d2 = sum_q = None
    ref0 = None
    cage, radii = _cage(f0, cage_relative, cage_radius)
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
        d, _ = _displacements(u, cage)
        if sum_d is None:
            sum_d, sum_d2, sum_q = np.zeros_like(d), np.zeros_like(d), np.zeros(d.shape, dtype=np.int64)
        sum_d += d
        sum_d2 += d * d
        sum_q += d <= a
        if counts is not None:
            counts.add(d <= a)
    return times, sum_d, sum_d2, sum_q, f0, radii


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
             threshold: float = ONE_OVER_E, cage_relative: bool | None = None,
             cage_radius: float | Mapping[str, float] | None = None) -> pl.DataFrame:
    """Per-particle mobility and overlap of an isoconfigurational ensemble (definitions §4.2).

    ``runs``: an :class:`Ensemble`, a list of run trajectories (all from one configuration, one
    output schedule; unwrapped as in definitions §3.1) or a list of Ensembles (several initial
    configurations: a ``config`` column numbers them).

    Returns a long table: [``config``,] ``time`` (τ), ``particle`` (id, or index), ``species``,
    ``mobility`` μ_j(t) (σ), ``overlap`` q_j(t) (run average of Θ(a − |Δr_j(t)|), |Δr| ≤ a
    counts), ``msd`` (run average of |Δr_j|², σ²). Parameters: ``a``, ``n_runs``,
    ``tau_alpha`` (dict species → τ_α of the particle-averaged q(t) at ``threshold``; "all"
    is the t/τ_α scale used by :func:`correlate`; with several configurations it is the mean of
    their τ_α, each listed in ``tau_alpha_per_config``) and the ensemble's parameters, among them
    ``displacements`` ("plain" or "cage-relative") and ``cage_radius``.

    ``cage_relative``, ``cage_radius``: for a list of run trajectories, as in :func:`ensemble`
    (default: cage-relative in 2D); an :class:`Ensemble` already streamed its choice.
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
        if cage_relative is not None and bool(cage_relative) != (runs.cage_radius is not None):
            raise ValueError("the ensemble streamed " + ("cage-relative" if runs.cage_radius is not None else "plain")
                             + " displacements; rerun it with cage_relative=" + str(bool(cage_relative)))
        times, sum_d, sum_d2, sum_q, f0 = runs.times, runs.sum_disp, runs.sum_disp2, runs.sum_overlap, runs.frame
        n_runs, a_used, extra = runs.n_runs, runs.a, dict(runs.params)
    else:
        a_used = 0.3 if a is None else float(a)
        if not (a_used > 0 and np.isfinite(a_used)):
            raise ValueError(f"overlap cutoff a must be positive, got {a_used}")
        runs = list(runs)
        times, sum_d, sum_d2, sum_q, f0, radii = _from_trajectories(runs, a_used, None, cage_relative, cage_radius)
        n_runs, extra = len(runs), {"sources": [t.path for t in runs],
                                    "displacements": "cage-relative" if radii is not None else "plain",
                                    "cage_radius": radii}
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


def displacement_field(ens: Ensemble, time: float) -> pl.DataFrame:
    """The isoconfigurational average of the displacement vectors at the output time nearest to
    ``time`` (τ): ⟨Δr_j(t)⟩_runs, cage-relative when the ensemble is (the neighbour-relative
    displacement field of a propensity map). Columns: ``particle``, ``species``, ``x``, ``y``,
    ``z`` (positions of the initial configuration, σ), ``dx``, ``dy``, ``dz`` (σ), ``norm``
    (|⟨Δr_j⟩|, σ). Parameters: the time used and the ensemble's parameters."""
    if ens.sum_vector is None:
        raise ValueError("this ensemble has no displacement vectors (made by an older glassrs); rerun it")
    k = int(np.argmin(np.abs(np.asarray(ens.times) - float(time))))
    v = ens.sum_vector[k] / ens.n_runs
    f0 = ens.frame
    ids = np.arange(f0.n_particles, dtype=np.int64) if f0.ids is None else np.asarray(f0.ids, dtype=np.int64)
    return make_table({"particle": ids, "species": np.asarray(f0.species, dtype=object)[f0.types].astype(str),
                       "x": f0.positions[:, 0], "y": f0.positions[:, 1], "z": f0.positions[:, 2],
                       "dx": v[:, 0], "dy": v[:, 1], "dz": v[:, 2], "norm": np.linalg.norm(v, axis=1)},
                      {**ens.params, "kind": "isoconf_displacement_field", "time": float(ens.times[k])})


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
# isoconfigurational χ4 and distributions of μ_j and τ_α,j
# ---------------------------------------------------------------------------------------------
def _chi4_one(times: np.ndarray, counts: "_RunCounts", n_runs: int, sel_sizes: Sequence[int],
              names: Sequence[str]) -> dict[str, list]:
    """Rows (time, species, n_runs, overlap, chi4, chi4_stderr) of one ensemble from its streamed counts."""
    rows: dict[str, list] = {"time": [], "species": [], "n_runs": [], "overlap": [], "chi4": [], "chi4_stderr": []}
    nr = int(n_runs)
    for s, (name, ns) in enumerate(zip(names, sel_sizes)):
        if ns == 0:
            continue
        for k, t in enumerate(times):
            a1, a2 = int(counts.s1[k, s]), int(counts.s2[k, s])
            # N[⟨q²⟩ − ⟨q⟩²] = (n ΣC² − (ΣC)²) / (n² N), exactly in Python integers
            chi = (nr * a2 - a1 * a1) / (nr * nr * ns)
            sh = counts.shift[k, s]
            d1 = a1 - nr * sh
            d2 = a2 - 2.0 * sh * a1 + nr * sh * sh
            m = d1 / nr
            m2 = chi * ns
            m4 = (counts.s4[k, s] - 4 * m * counts.s3[k, s] + 6 * m * m * d2 - 3 * nr * m ** 4) / nr
            se = math.sqrt(max(m4 - m2 * m2, 0.0) / nr) / ns if nr > 1 else float("nan")
            rows["time"].append(float(t))
            rows["species"].append(name)
            rows["n_runs"].append(nr)
            rows["overlap"].append(a1 / (nr * ns))
            rows["chi4"].append(chi)
            rows["chi4_stderr"].append(se)
    return rows


def _ensemble_counts(e: "Ensemble") -> "_RunCounts":
    if e.run_count is None or e.run_count2 is None:
        raise ValueError("this ensemble carries no per-run overlap sums (built without them, e.g. merged from a "
                         "campaign's per-particle sums): rerun gr.isoconf.ensemble, or pass the run trajectories")
    c = _RunCounts(np.asarray(e.frame.types), len(e.frame.species))
    c.s1, c.s2 = e.run_count, e.run_count2
    if e.run_count3 is None or e.run_count4 is None or e.run_count_shift is None:
        nanf = np.full(e.run_count.shape, np.nan)   # no error estimate without the moment sums
        c.s3, c.s4, c.shift = nanf, nanf, np.zeros(e.run_count.shape)
    else:
        c.s3, c.s4, c.shift = e.run_count3, e.run_count4, e.run_count_shift
    return c


def chi4(runs: "Ensemble | Sequence[Trajectory] | Sequence[Ensemble]", *, a: float | None = None,
         level: float = 0.95, n_boot: int = 1000, seed: int = 0) -> pl.DataFrame:
    """Isoconfigurational χ4(t) = N [⟨q²⟩ − ⟨q⟩²] (definitions §4.8), q(t) the particle-averaged
    overlap of one run (|Δr_j(t)| ≤ a, inclusive), ⟨⟩ over the runs of the ensemble, N the
    particles of the selection ("all", then each species).

    Streamed: an :class:`Ensemble` carries, per output time and selection, the exact integer sums
    Σ_runs C_r and Σ_runs C_r² of the overlap counts C_r = N q_r (and the third and fourth moment
    sums for the error), so no run is kept. A list of run trajectories is reduced one run at a
    time the same way (``a`` default 0.3 σ). A list of Ensembles (several initial configurations)
    gives the mean of their χ4 with an interval over configurations.

    Returns a long table: ``time`` (τ), ``species``, ``n_runs``, ``overlap`` ⟨q⟩, ``chi4``
    (dimensionless), ``chi4_stderr``, ``ci_low``, ``ci_high``, ``n_units``, ``unit``. With one
    ensemble the unit is the run: ``chi4_stderr`` = √((m4 − m2²)/n_runs)/N (m_k the central
    moments of C_r over runs; large-sample standard error of a variance) and the interval is
    χ4 ± z·stderr at ``level``. With several ensembles the unit is the configuration:
    ``chi4`` is the mean over configurations, ``chi4_stderr`` their standard deviation / √n and
    the interval a percentile bootstrap over configurations (``n_boot``, ``seed``).
    """
    from scipy.stats import norm

    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if isinstance(runs, (list, tuple)) and runs and all(isinstance(e, Ensemble) for e in runs):
        singles = [chi4(e, level=level) for e in runs]
        keys = singles[0].select("time", "species")
        for c, t in enumerate(singles[1:], 1):
            if t.height != keys.height or not t.select("time", "species").equals(keys):
                raise ValueError(f"ensemble {c} has output times or species different from ensemble 0")
        vals = np.stack([t["chi4"].to_numpy() for t in singles])       # (n_cfg, rows)
        q = np.stack([t["overlap"].to_numpy() for t in singles])
        ncfg = vals.shape[0]
        mean = vals.mean(axis=0)
        if ncfg > 1:
            se = vals.std(axis=0, ddof=1) / math.sqrt(ncfg)
            rng = np.random.default_rng(seed)
            boot = vals[rng.integers(0, ncfg, (int(n_boot), ncfg))].mean(axis=1)
            lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2], axis=0)
        else:
            se = lo = hi = np.full(mean.shape, np.nan)
        out = keys.with_columns(pl.Series("n_runs", np.sum([t["n_runs"].to_numpy() for t in singles], axis=0)),
                                pl.Series("overlap", q.mean(axis=0)), pl.Series("chi4", mean),
                                pl.Series("chi4_stderr", se), pl.Series("ci_low", lo), pl.Series("ci_high", hi),
                                pl.lit(ncfg, dtype=pl.Int64).alias("n_units"), pl.lit("configurations").alias("unit"))
        return make_table(out, {**table_params(singles[0]), "n_configs": ncfg, "level": level, "n_boot": int(n_boot),
                                "seed": int(seed), "unit": "configurations",
                                "interval": "percentile bootstrap over configurations"})
    if isinstance(runs, Ensemble):
        if a is not None and float(a) != runs.a:
            raise ValueError(f"the ensemble streamed overlaps with a={runs.a}; rerun it for a={a}")
        counts = _ensemble_counts(runs)
        times, n_runs, f0, a_used, extra = np.asarray(runs.times, float), runs.n_runs, runs.frame, runs.a, dict(runs.params)
    else:
        a_used = 0.3 if a is None else float(a)
        if not (a_used > 0 and np.isfinite(a_used)):
            raise ValueError(f"overlap cutoff a must be positive, got {a_used}")
        runs = list(runs)
        if not runs:
            raise ValueError("no runs given")
        counts = _RunCounts(np.asarray(runs[0].types), len(runs[0].species))
        times, *_, f0, _radii = _from_trajectories(runs, a_used, counts)
        n_runs, extra = len(runs), {"sources": [t.path for t in runs]}
    sizes = [len(f0.types)] + [int(np.sum(f0.types == u)) for u in range(len(f0.species))]
    rows = _chi4_one(np.asarray(times, float), counts, n_runs, sizes, ["all", *f0.species])
    z = float(norm.ppf(0.5 + level / 2))
    se = np.asarray(rows["chi4_stderr"])
    c = np.asarray(rows["chi4"])
    out = pl.DataFrame({**rows, "ci_low": c - z * se, "ci_high": c + z * se})
    out = out.with_columns(pl.lit(int(n_runs), dtype=pl.Int64).alias("n_units"), pl.lit("runs").alias("unit"))
    return make_table(out, {**extra, "kind": "isoconf_chi4", "a": a_used, "overlap": "inclusive |dr| <= a",
                            "n_runs": int(n_runs), "level": level, "unit": "runs",
                            "interval": "normal, large-sample standard error of the variance over runs",
                            "streamed": True, "species": list(f0.species)})


def histogram(table: pl.DataFrame, column: str, *, bins: int | Sequence[float] = 40, log10: bool = False,
              times: Sequence[float] | float | None = None, unit: str = "config", level: float = 0.95,
              n_boot: int = 1000, seed: int = 0) -> pl.DataFrame:
    """Distribution P(X) of a per-particle column, per species and pooled ("all"): P(μ) from a
    :func:`mobility` table (``column="mobility"``, per ``time``), P(τ_α,j) from :func:`tau_alpha`
    (``column="tau_alpha"``), or any other.

    ``bins``: a count (equal width over the finite values of all selections and times, so every
    curve shares the bins) or explicit edges; ``log10=True`` histograms log10 X instead (X > 0).
    ``times``: for a table with a ``time`` column, the available times nearest to these
    (default all). Non-finite values (e.g. τ_α,j of a particle that never relaxed) are dropped
    and counted in ``n_dropped``; values outside explicit edges are dropped too.

    Returns: [``time``,] ``species``, ``bin``, ``x_low``, ``x_high``, ``x_mid`` (in X, or log10 X),
    ``count``, ``p`` (density with unit area over the bins: 1/unit of X, or per decade),
    ``ci_low``, ``ci_high``, ``n_units``, ``unit``, ``n_dropped``. The interval is a percentile
    bootstrap of p over the independent units of column ``unit`` (configurations by default) —
    NaN when the table holds a single one (the particles of one configuration are not independent).
    """
    if column not in table.columns or "species" not in table.columns:
        raise ValueError(f"histogram needs columns 'species' and '{column}', has {table.columns}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    df = table
    has_t = "time" in df.columns
    if has_t:
        avail = np.unique(df["time"].to_numpy())
        if times is not None:
            want = [float(x) for x in np.atleast_1d(times)]
            pick = sorted({float(avail[np.argmin(np.abs(avail - w))]) for w in want})
            df = df.filter(pl.col("time").is_in(pick))
    x = df[column].cast(pl.Float64).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        xv = np.where(x > 0, np.log10(np.where(x > 0, x, 1.0)), np.nan) if log10 else x
    ok = np.isfinite(xv)
    if not ok.any():
        raise ValueError(f"column '{column}' has no finite{' positive' if log10 else ''} value")
    edges = (np.histogram_bin_edges(xv[ok], bins=int(bins)) if np.isscalar(bins) else np.asarray(bins, float))
    if edges.ndim != 1 or len(edges) < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError("bins must be a positive count or increasing edges")
    nb = len(edges) - 1
    b = np.searchsorted(edges, xv, side="right") - 1
    b[(xv == edges[-1])] = nb - 1
    inside = ok & (b >= 0) & (b < nb)
    units = df[unit].to_numpy() if unit in df.columns else np.zeros(df.height, dtype=np.int64)
    ulist, uidx = np.unique(units, return_inverse=True)
    nu = len(ulist)
    tcol = df["time"].to_numpy() if has_t else np.zeros(df.height)
    sp = df["species"].cast(pl.String).to_numpy()
    names = ["all"] + sorted(set(sp.tolist()))
    width = np.diff(edges)
    rng = np.random.default_rng(seed)
    draw = rng.integers(0, nu, (int(n_boot), nu)) if nu > 1 else None
    parts = []
    for t in (np.unique(tcol) if has_t else [0.0]):
        tm = tcol == t
        for name in names:
            m = tm & (np.ones(len(sp), bool) if name == "all" else sp == name)
            if not m.any():
                continue
            n_drop = int((m & ~inside).sum())
            sel = m & inside
            per = np.zeros((nu, nb))
            np.add.at(per, (uidx[sel], b[sel]), 1.0)
            cnt = per.sum(axis=0)
            tot = cnt.sum()
            p = cnt / (tot * width) if tot > 0 else np.full(nb, np.nan)
            if draw is not None:
                bc = per[draw].sum(axis=1)                                  # (n_boot, nb)
                with np.errstate(invalid="ignore", divide="ignore"):
                    bp = bc / (bc.sum(axis=1, keepdims=True) * width)
                lo, hi = np.nanquantile(bp, [(1 - level) / 2, (1 + level) / 2], axis=0)
            else:
                lo = hi = np.full(nb, np.nan)
            d = {"species": [name] * nb, "bin": np.arange(nb, dtype=np.int64), "x_low": edges[:-1],
                 "x_high": edges[1:], "x_mid": 0.5 * (edges[1:] + edges[:-1]), "count": cnt.astype(np.int64),
                 "p": p, "ci_low": lo, "ci_high": hi, "n_units": np.full(nb, nu, dtype=np.int64),
                 "unit": ["configurations" if unit == "config" else unit] * nb,
                 "n_dropped": np.full(nb, n_drop, dtype=np.int64)}
            if has_t:
                d = {"time": np.full(nb, float(t)), **d}
            parts.append(pl.DataFrame(d))
    return make_table(pl.concat(parts), {**table_params(table), "kind": "histogram", "column": column,
                                         "log10": bool(log10), "edges": edges.tolist(), "level": level,
                                         "n_boot": int(n_boot), "seed": int(seed), "unit": unit if unit in table.columns
                                         else f"{unit} (absent: one unit)",
                                         "interval": "percentile bootstrap over units"})


# ---------------------------------------------------------------------------------------------
# time evolution of a structural field: C_S(t), G(S, S0, t), ⟨S(t)⟩_{S0}
# ---------------------------------------------------------------------------------------------
def _frame_times(table: pl.DataFrame, frames: np.ndarray, times) -> tuple[np.ndarray, str]:
    """Time (τ) of each structure frame: from a Trajectory, a per-frame sequence, the table's
    ``time`` column, or the frame index itself."""
    if isinstance(times, Trajectory):
        t = np.asarray(times.times, float)
        if frames.max() >= len(t):
            raise ValueError(f"the structure table has frame {int(frames.max())}; the trajectory has {len(t)} frames")
        return t[frames], "trajectory times"
    if times is not None:
        t = np.asarray(times, float).ravel()
        if frames.max() >= len(t):
            raise ValueError(f"times has {len(t)} entries; the structure table has frame {int(frames.max())}")
        return t[frames], "user times"
    if "time" in table.columns:
        ft = table.group_by("frame").agg(pl.col("time").first()).sort("frame")
        return ft["time"].cast(pl.Float64).to_numpy()[np.searchsorted(ft["frame"].to_numpy(), frames)], "time column"
    return frames.astype(float), "frame index (no times given)"


def _grid(table: pl.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """frames (F,), particle ids (N,), species name per particle (N,), values (F, N) (NaN when absent)."""
    for c in ("frame", "particle", "species", column):
        if c not in table.columns:
            raise ValueError(f"the structure table has no column '{c}' (columns: {table.columns})")
    d = table.select("frame", "particle", pl.col("species").cast(pl.String), pl.col(column).cast(pl.Float64))
    frames = np.unique(d["frame"].to_numpy())
    pid = d["particle"].to_numpy()
    ids, first = np.unique(pid, return_index=True)
    sp = d["species"].to_numpy()[first]
    X = np.full((len(frames), len(ids)), np.nan)
    fi = np.searchsorted(frames, d["frame"].to_numpy())
    pi = np.searchsorted(ids, pid)
    X[fi, pi] = d[column].to_numpy()
    return frames, ids, sp, X


def _group_lags(dt: np.ndarray, span: float, tol: float = 1e-9) -> tuple[np.ndarray, np.ndarray]:
    """Distinct lags of the (non-negative) differences ``dt`` merged within tol × span: (lags, group id)."""
    u = np.unique(dt)
    if len(u) == 0:
        return u, np.zeros(0, np.int64)
    new = np.r_[True, np.diff(u) > tol * max(span, 1e-300)]
    gid_u = np.cumsum(new) - 1
    lags = u[new]
    return lags, gid_u[np.searchsorted(u, dt)]


def _blocks(n_origins: int, n_blocks: int) -> np.ndarray:
    """Block index (0..n_blocks−1) of each origin (in time order): contiguous, as equal as possible."""
    nb = max(1, min(int(n_blocks), n_origins))
    return (np.arange(n_origins) * nb) // max(n_origins, 1)


def _pearson_matrix(X: np.ndarray) -> np.ndarray:
    """Pearson correlation over particles (columns) between every pair of frames (rows); pairwise
    complete when values are missing (NaN)."""
    M = np.isfinite(X)
    if M.all():
        Z = X - X.mean(axis=1, keepdims=True)
        Z /= np.sqrt((Z * Z).mean(axis=1, keepdims=True))
        return (Z @ Z.T) / X.shape[1]
    Xc = np.where(M, X - np.nanmean(np.where(M, X, np.nan), axis=1, keepdims=True), 0.0)
    Mf = M.astype(float)
    n = Mf @ Mf.T
    sx = Xc @ Mf.T
    sy = sx.T
    sxx = (Xc * Xc) @ Mf.T
    syy = sxx.T
    sxy = Xc @ Xc.T
    with np.errstate(invalid="ignore", divide="ignore"):
        return (n * sxy - sx * sy) / np.sqrt((n * sxx - sx * sx) * (n * syy - sy * sy))


def _unit_summary(vals: np.ndarray, level: float) -> tuple[float, float, float, float, int]:
    """Mean, standard error, normal interval and count of the finite per-unit values."""
    from scipy.stats import norm

    v = vals[np.isfinite(vals)]
    if v.size == 0:
        return (float("nan"),) * 4 + (0,)
    m = float(v.mean())
    if v.size < 2:
        return m, float("nan"), float("nan"), float("nan"), int(v.size)
    se = float(v.std(ddof=1) / math.sqrt(v.size))
    z = float(norm.ppf(0.5 + level / 2))
    return m, se, m - z * se, m + z * se, int(v.size)


def autocorrelation(table: pl.DataFrame, column: str, *, times: Trajectory | Sequence[float] | None = None,
                    n_blocks: int = 4, level: float = 0.95, lag_tol: float = 1e-9) -> pl.DataFrame:
    """Lifetime of a per-particle structural field (definitions §4.7; paper 001 Eq. 9):
    C_X(t) = ⟨Pearson_i(X_i(t′), X_i(t′ + t))⟩_{t′} for any column X (softness, sop, s2, …).

    ``table``: per-particle rows (``frame``, ``particle``, ``species``, ``column``; e.g.
    :func:`glassrs.structure.local` or :func:`glassrs.structure.local_softness` on several
    frames; optional ``config`` column for several independent configurations). The Pearson
    correlation is taken over the particles of each selection ("all", then each species) present
    at both times (pairwise complete), for every pair of frames t′ ≤ t′ + t, and averaged over the
    origins t′ with the same lag (lags of equal time merged within ``lag_tol`` × span).
    ``times``: the trajectory the frames index (its times), or one time per frame index; default
    the table's ``time`` column, else the frame index.

    Uncertainty: the origins of one trajectory are correlated, so they are not the unit. With a
    ``config`` column the unit is the configuration (each configuration's origin average is one
    value); otherwise the origins are split into ``n_blocks`` contiguous time blocks and each
    block's average is one value. ``stderr`` = std of the unit values / √(units), the interval
    mean ± z·stderr at ``level`` (NaN with a single unit at that lag).

    Returns: ``species``, ``lag`` (time units), ``n_origins``, ``c`` (dimensionless; 1 at lag 0),
    ``stderr``, ``ci_low``, ``ci_high``, ``n_units``, ``unit``.
    """
    from scipy.stats import norm

    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    z = float(norm.ppf(0.5 + level / 2))
    groups = table.partition_by("config", maintain_order=True, as_dict=False) if "config" in table.columns else [table]
    per_unit: list[dict] = []  # one per configuration: species → (lag keys, pearson sums, counts, block ids)
    all_dt = []
    prepared = []
    for g in groups:
        frames, ids, sp, X = _grid(g, column)
        t, t_src = _frame_times(g, frames, times)
        if np.any(np.diff(t) <= 0):
            raise ValueError("frame times must increase strictly with the frame index")
        o, k = np.triu_indices(len(frames))
        prepared.append((frames, sp, X, t, o, k))
        all_dt.append(t[k] - t[o])
    dt_all = np.concatenate(all_dt)
    lags, _ = _group_lags(dt_all, float(dt_all.max()) if dt_all.size else 0.0, lag_tol)
    span = float(dt_all.max()) if dt_all.size else 0.0
    names = ["all"] + sorted(set(np.concatenate([p[1] for p in prepared]).tolist()))
    multi = len(prepared) > 1
    rows = []
    for name in names:
        unit_vals: list[np.ndarray] = []
        n_orig = np.zeros(len(lags), np.int64)
        for frames, sp, X, t, o, k in prepared:
            sel = np.ones(len(sp), bool) if name == "all" else sp == name
            if not sel.any():
                continue
            R = _pearson_matrix(X[:, sel])
            r = R[o, k]
            dt = t[k] - t[o]
            gid = np.searchsorted(lags, dt - lag_tol * max(span, 1e-300))
            gid = np.clip(gid, 0, len(lags) - 1)
            ok = np.isfinite(r)
            n_orig += np.bincount(gid[ok], minlength=len(lags))
            if multi:
                s_ = np.bincount(gid[ok], weights=r[ok], minlength=len(lags))
                c_ = np.bincount(gid[ok], minlength=len(lags))
                with np.errstate(invalid="ignore", divide="ignore"):
                    unit_vals.append(s_ / c_)
            else:
                blk = _blocks(len(frames), n_blocks)[o]
                for b in np.unique(blk):
                    m = ok & (blk == b)
                    s_ = np.bincount(gid[m], weights=r[m], minlength=len(lags))
                    c_ = np.bincount(gid[m], minlength=len(lags))
                    with np.errstate(invalid="ignore", divide="ignore"):
                        unit_vals.append(s_ / c_)
            if not multi:
                s_all = np.bincount(gid[ok], weights=r[ok], minlength=len(lags))
        if not unit_vals:
            continue
        U = np.stack(unit_vals)
        for j, lag in enumerate(lags):
            m, se, lo, hi, nu = _unit_summary(U[:, j], level)
            if not multi and n_orig[j]:  # the estimate is the plain average over all origins
                m = float(s_all[j] / n_orig[j])
                lo, hi = m - z * se, m + z * se
            rows.append({"species": name, "lag": float(lag), "n_origins": int(n_orig[j]), "c": m, "stderr": se,
                         "ci_low": lo, "ci_high": hi, "n_units": nu,
                         "unit": "configurations" if multi else "time blocks of origins"})
    schema = {"species": pl.String, "lag": pl.Float64, "n_origins": pl.Int64, "c": pl.Float64, "stderr": pl.Float64,
              "ci_low": pl.Float64, "ci_high": pl.Float64, "n_units": pl.Int64, "unit": pl.String}
    out = pl.DataFrame(rows, schema=schema)
    return make_table(out, {**table_params(table), "kind": "structure_autocorrelation", "column": column,
                            "correlation": "Pearson over particles (pairwise complete), averaged over origins",
                            "times": t_src, "n_blocks": None if multi else int(n_blocks), "level": level,
                            "unit": "configurations" if multi else "time blocks of origins",
                            "lag_grouping": f"time difference, tol {lag_tol} x span"})


@dataclass
class Propagator:
    """Result of :func:`propagator`.

    g : long table species, lag, s0_bin, s0_low, s0_high, s0_mid, bin, s_low, s_high, s_mid,
        count, g — G(S, S0, t): per lag and S0 bin, the density of S(t) (unit area over the S bins,
        1/unit of S) of the particles that started in the S0 bin and stayed within
        ``max_displacement`` of their origin position.
    mean : species, lag, s0_bin, s0_low, s0_high, s0_mid, n (particle-origin pairs), mean_s
        ⟨S(t)⟩_{S0}, stderr, ci_low, ci_high, n_units, unit.
    """

    g: pl.DataFrame
    mean: pl.DataFrame


def propagator(table: pl.DataFrame, column: str, traj: Trajectory, *, s0_bins: int | Sequence[float] = 8,
               bins: int | Sequence[float] = 40, max_displacement: float = 0.5, path: str = "max",
               lags: Sequence[float] | float | None = None, n_blocks: int = 4, level: float = 0.95,
               lag_tol: float = 1e-9) -> Propagator:
    """Propagator G(S, S0, t) of a per-particle column S and the conditional mean ⟨S(t)⟩_{S0}
    (definitions §4.7; paper 001 Fig. 4b, c).

    ``table``: per-particle rows (``frame``, ``particle``, ``species``, ``column``) on frames of
    ``traj`` (``frame`` is the trajectory's frame index, ``particle`` its particle id). For every
    origin frame t′ and later frame t′ + t of the table, the particles with S_i(t′) in an S0 bin
    that have moved less than ``max_displacement`` (σ, strictly) are kept: with ``path="max"``
    (default) the largest |r_i(s) − r_i(t′)| over all trajectory frames t′ ≤ s ≤ t′ + t counts
    (the particle never left the sphere); with ``path="end"`` only |Δr_i(t)|. Displacements are
    unwrapped (definitions §3).

    ``s0_bins``, ``bins``: counts (equal width over all finite values of the column) or edges, for
    S0 and S(t). ``lags``: the available lags nearest to these (default all). Errors of the mean:
    the origins are split into ``n_blocks`` contiguous time blocks (the unit); stderr = std of the
    block means / √(blocks), interval mean ± z·stderr.
    """
    from scipy.stats import norm

    if path not in ("max", "end"):
        raise ValueError(f"path must be 'max' or 'end', got {path!r}")
    if not (max_displacement > 0):
        raise ValueError(f"max_displacement must be positive, got {max_displacement}")
    frames, ids, sp, X = _grid(table, column)
    t_all = np.asarray(traj.times, float)
    if frames.min() < 0 or frames.max() >= len(traj):
        raise ValueError(f"the structure table has frames {int(frames.min())}..{int(frames.max())}; the trajectory "
                         f"has {len(traj)}")
    tids = traj.first.ids if traj.first.ids is not None else np.arange(traj.n_particles, dtype=np.int64)
    order = np.argsort(tids)
    pos = np.searchsorted(tids[order], ids)
    if np.any(pos >= len(tids)) or np.any(tids[order][np.minimum(pos, len(tids) - 1)] != ids):
        raise ValueError("some particle ids of the structure table are not in the trajectory")
    cols = order[pos]
    u = traj.unwrapped()[:, cols]          # (F_traj, N, 3) in the table's particle order
    t = t_all[frames]
    o_idx, k_idx = np.triu_indices(len(frames), 1)
    dt = t[k_idx] - t[o_idx]
    span = float(dt.max()) if dt.size else 0.0
    glags, gid = _group_lags(dt, span, lag_tol)
    if lags is not None:
        want = sorted({int(np.argmin(np.abs(glags - float(w)))) for w in np.atleast_1d(lags)})
    else:
        want = list(range(len(glags)))
    fin = X[np.isfinite(X)]
    if fin.size == 0:
        raise ValueError(f"column '{column}' has no finite value")
    e0 = np.histogram_bin_edges(fin, bins=int(s0_bins)) if np.isscalar(s0_bins) else np.asarray(s0_bins, float)
    e1 = np.histogram_bin_edges(fin, bins=int(bins)) if np.isscalar(bins) else np.asarray(bins, float)
    n0, n1 = len(e0) - 1, len(e1) - 1

    def bin_of(v, e):
        b = np.searchsorted(e, v, side="right") - 1
        b = np.where(v == e[-1], len(e) - 2, b)
        return np.where(np.isfinite(v) & (b >= 0) & (b < len(e) - 1), b, -1)

    B0 = bin_of(X, e0)
    B1 = bin_of(X, e1)
    blk_of_origin = _blocks(len(frames), n_blocks)
    names = ["all"] + sorted(set(sp.tolist()))
    sel_of = {nm: (np.ones(len(sp), bool) if nm == "all" else sp == nm) for nm in names}
    # per (lag, selection): counts (n0, n1), sums per block
    nblk = int(blk_of_origin.max()) + 1
    H = {(j, nm): np.zeros((n0, n1)) for j in want for nm in names}
    S = {(j, nm): np.zeros((nblk, n0)) for j in want for nm in names}
    C = {(j, nm): np.zeros((nblk, n0)) for j in want for nm in names}
    wanted = set(want)
    for a_ in range(len(frames)):
        pairs = np.flatnonzero((o_idx == a_) & np.isin(gid, list(wanted)))
        if pairs.size == 0:
            continue
        f0 = int(frames[a_])
        f_last = int(frames[k_idx[pairs].max()])
        d = np.sqrt(((u[f0:f_last + 1] - u[f0]) ** 2).sum(axis=-1))   # (frames, N)
        if path == "max":
            d = np.maximum.accumulate(d, axis=0)
        for p in pairs:
            kk = k_idx[p]
            stay = d[int(frames[kk]) - f0] < max_displacement
            b0, b1, v = B0[a_], B1[kk], X[kk]
            j = int(gid[p])
            for nm in names:
                m = stay & sel_of[nm] & (b0 >= 0) & np.isfinite(v)
                if not m.any():
                    continue
                mh = m & (b1 >= 0)
                np.add.at(H[(j, nm)], (b0[mh], b1[mh]), 1.0)
                blk = blk_of_origin[a_]
                S[(j, nm)][blk] += np.bincount(b0[m], weights=v[m], minlength=n0)
                C[(j, nm)][blk] += np.bincount(b0[m], minlength=n0)
    z = float(norm.ppf(0.5 + level / 2))
    grows, mrows = [], []
    w1 = np.diff(e1)
    for j in want:
        for nm in names:
            h = H[(j, nm)]
            tot = h.sum(axis=1, keepdims=True)
            with np.errstate(invalid="ignore", divide="ignore"):
                g = h / (tot * w1)
            for b in range(n0):
                grows.append(pl.DataFrame({"species": nm, "lag": float(glags[j]), "s0_bin": b, "s0_low": e0[b],
                                           "s0_high": e0[b + 1], "s0_mid": 0.5 * (e0[b] + e0[b + 1]),
                                           "bin": np.arange(n1, dtype=np.int64), "s_low": e1[:-1], "s_high": e1[1:],
                                           "s_mid": 0.5 * (e1[1:] + e1[:-1]), "count": h[b].astype(np.int64),
                                           "g": g[b]}))
                cnt = C[(j, nm)][:, b]
                tot_n = cnt.sum()
                mean = S[(j, nm)][:, b].sum() / tot_n if tot_n else float("nan")
                with np.errstate(invalid="ignore", divide="ignore"):
                    bm = S[(j, nm)][:, b] / cnt
                bm = bm[cnt > 0]
                se = float(bm.std(ddof=1) / math.sqrt(bm.size)) if bm.size > 1 else float("nan")
                mrows.append({"species": nm, "lag": float(glags[j]), "s0_bin": b, "s0_low": float(e0[b]),
                              "s0_high": float(e0[b + 1]), "s0_mid": float(0.5 * (e0[b] + e0[b + 1])),
                              "n": int(tot_n), "mean_s": float(mean), "stderr": se, "ci_low": mean - z * se,
                              "ci_high": mean + z * se, "n_units": int(bm.size), "unit": "time blocks of origins"})
    prm = {**table_params(table), "kind": "propagator", "column": column, "max_displacement": float(max_displacement),
           "path": path, "s0_edges": e0.tolist(), "edges": e1.tolist(), "n_blocks": int(n_blocks), "level": level,
           "unit": "time blocks of origins", "normalisation": "unit area over S per S0 bin"}
    gtab = pl.concat(grows).with_columns(pl.col("s0_bin").cast(pl.Int64))
    return Propagator(g=make_table(gtab, prm), mean=make_table(pl.DataFrame(mrows), prm))


def conditional_distribution(table: pl.DataFrame, x: str, *, phop: str = "phop", p_c: float | None = None,
                             bins: int | Sequence[float] = 30, unit: str = "config", level: float = 0.95,
                             n_boot: int = 1000, seed: int = 0) -> pl.DataFrame:
    """P(X) of all particles and P(X|R) of the rearranging ones (p_hop > p_c), as paper 001
    Fig. 5a (X = softness): per species and pooled, on shared bins.

    ``table``: per-particle rows with ``species``, ``x`` and ``phop`` (e.g.
    :func:`rearrangement_structure`: X at the frame where p_hop is measured); ``p_c`` default
    ``params(table)["p_c"]``. Returns ``species``, ``bin``, ``x_low``, ``x_high``, ``x_mid``,
    ``p_all``, ``p_rearranging`` (densities with unit area, 1/unit of X), ``count_all``,
    ``count_rearranging``, their intervals ``*_ci_low``/``*_ci_high`` (percentile bootstrap
    over the units in column ``unit``, NaN with one unit), ``n_units``, ``unit``; parameters
    record p_c and, per selection, the fraction of rearranging particles above the peak of P(X)
    (``fraction_above_peak``).
    """
    if x not in table.columns or phop not in table.columns:
        raise ValueError(f"table needs columns '{x}' and '{phop}', has {table.columns}")
    if p_c is None:
        p_c = table_params(table).get("p_c")
        if p_c is None:
            raise ValueError("no p_c given and the table records none (pass p_c=)")
    r = table.filter(pl.col(phop) > float(p_c))
    if r.height == 0:
        raise ValueError(f"no particle has {phop} > p_c = {p_c:g}")
    allv = table[x].cast(pl.Float64).to_numpy()
    edges = (np.histogram_bin_edges(allv[np.isfinite(allv)], bins=int(bins)) if np.isscalar(bins)
             else np.asarray(bins, float))
    ha = histogram(table, x, bins=edges, unit=unit, level=level, n_boot=n_boot, seed=seed)
    hr = histogram(r, x, bins=edges, unit=unit, level=level, n_boot=n_boot, seed=seed)
    out = ha.select("species", "bin", "x_low", "x_high", "x_mid", pl.col("p").alias("p_all"),
                    pl.col("count").alias("count_all"), pl.col("ci_low").alias("p_all_ci_low"),
                    pl.col("ci_high").alias("p_all_ci_high"), "n_units", "unit").join(
        hr.select("species", "bin", pl.col("p").alias("p_rearranging"), pl.col("count").alias("count_rearranging"),
                  pl.col("ci_low").alias("p_rearranging_ci_low"), pl.col("ci_high").alias("p_rearranging_ci_high")),
        on=["species", "bin"], how="left").sort("species", "bin")
    frac = {}
    for (nm,), sub in out.group_by(["species"], maintain_order=True):
        pk = float(sub["x_mid"][int(np.argmax(sub["p_all"].to_numpy()))])
        cr = sub["count_rearranging"].fill_null(0).to_numpy()
        frac[nm] = float(cr[sub["x_low"].to_numpy() >= pk].sum() / max(cr.sum(), 1))
    return make_table(out, {**table_params(table), "kind": "conditional_distribution", "x": x, "p_c": float(p_c),
                            "edges": edges.tolist(), "fraction_above_peak": frac, "unit": table_params(ha)["unit"],
                            "level": level})


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


def _ensemble_tau(mobility_table: pl.DataFrame) -> float:
    """τ_α of the particle-averaged ensemble overlap recorded with a mobility table (the t/τ_α
    scale of C_R); ``ValueError`` when the overlap never reached 1/e."""
    tau = (table_params(mobility_table).get("tau_alpha") or {}).get("all")
    if tau is None or not np.isfinite(tau):
        raise ValueError("the ensemble overlap never reached 1/e (τ_α unknown): run longer or pass tau_alpha=")
    return float(tau)


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
        tau, tau_src = _ensemble_tau(mobility_table), "isoconfigurational ensemble q(t) = 1/e"
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
def correlate_ci(structure: pl.DataFrame, mobility_table: pl.DataFrame, columns: Sequence[str] = ("sop",),
                 L: Sequence[float] = (0.0,), *, frames: Trajectory | Sequence[Frame] | None = None,
                 y: str = "mobility", tau_alpha: float | None = None, n_boot: int = 1000, level: float = 0.95,
                 seed: int = 0, r_cg: float | None = None, cg_species: Sequence[str] | None = None,
                 n_threads: int | None = None) -> pl.DataFrame:
    """C_R(X, Y) with an interval over independent configurations (definitions §4.4).

    The ensembles of several initial configurations (a mobility table with a ``config`` column,
    :func:`mobility` of a list of ensembles; ``structure`` with one ``frame`` per configuration,
    frame k ↔ config k) give one C_R per configuration, species, L, quantity and time
    (:func:`correlate` of that configuration alone, ranks within it). The result is their mean
    with a percentile bootstrap interval over the configurations
    (:func:`glassrs.campaign.reduce.bootstrap_mean`, ``n_boot``, ``level``, ``seed``) — the
    reduction campaigns use — never over the particles of one configuration. ``frames`` (for
    coarse-graining, L > 0): the initial configurations, one per config. ``tau_alpha``: the t/τ_α
    scale shared by all configurations (default: the mobility table's, the mean of the
    configurations' τ_α).

    Returns: species, L, quantity, time, t_over_tau_alpha, mean (the mean C_R), ci_low, ci_high,
    n_units, unit ("configurations"). :func:`correlate` gives the pooled-rank C_R instead.
    """
    from glassrs.campaign.reduce import bootstrap_mean

    if "config" not in mobility_table.columns:
        raise ValueError("correlate_ci needs the ensembles of several configurations (a 'config' column: "
                         "mobility() of a list of ensembles); for one configuration use correlate()")
    configs = mobility_table["config"].unique().sort().to_list()
    if len(configs) < 2:
        raise ValueError(f"correlate_ci: an interval over configurations needs at least 2, got {len(configs)}")
    static = "time" not in mobility_table.columns
    if tau_alpha is None and not static:
        tau_alpha = _ensemble_tau(mobility_table)
    if frames is not None and len(frames) != len(configs):
        raise ValueError(f"frames: {len(frames)} initial configurations for {len(configs)} configs")
    parts = []
    for k, c in enumerate(configs):
        st = structure.filter(pl.col("frame") == c)
        if st.height == 0:
            raise ValueError(f"structure table has no frame {c} (the initial configuration of config {c})")
        mob = mobility_table.filter(pl.col("config") == c).drop("config")
        part = correlate(st, mob, columns, L, frames=None if frames is None else [frames[k]], y=y,
                         tau_alpha=tau_alpha, r_cg=r_cg, cg_species=cg_species, n_threads=n_threads)
        parts.append(part.with_columns(pl.lit(c, dtype=pl.Int64).alias("config")))
    per = pl.concat(parts)
    by = ["species", "L", "quantity"] + ([] if static else ["time", "t_over_tau_alpha"])
    out = bootstrap_mean(per, "c_r", by, unit="config", n_boot=n_boot, level=level, seed=seed)
    order = {s: k for k, s in enumerate(per["species"].unique(maintain_order=True).to_list())}
    out = out.sort(pl.col("species").replace_strict(order, return_dtype=pl.Int64), *by[1:])
    return make_table(out, {"kind": "correlation_ci", "y": y, "columns": list(columns), "L": [float(x) for x in L],
                            "tau_alpha": tau_alpha, "n_configs": len(configs), "n_boot": int(n_boot),
                            "level": level, "seed": int(seed), "unit": "configurations",
                            "interval": "percentile bootstrap of the mean over configurations"})


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


@dataclass
class MicroscopicBarriers:
    """Result of :func:`microscopic_barriers`.

    bins : per X bin with a P_R Arrhenius fit: bin, x_mid, delta_sop Δ = x_mid − sop0,
        inv_delta_sop, delta_e, delta_e_err (ε), ln_p0, used (Δ > 0).
    parameters : parameter (sop0, gamma_prime, A, B, B_over_A, gamma_prime_T_VFT), value, stderr
        (of the fit that gives it; NaN for ratios), ci_low, ci_high, n_units, unit, n_failed, warning.
    pr : the :class:`PRArrhenius` of the point estimate.
    """

    bins: pl.DataFrame
    parameters: pl.DataFrame
    pr: PRArrhenius


def _micro_chain(data, x, p_c, edges, min_count, species, sop0, T_VFT):
    pr = pr_arrhenius(data, x, p_c=p_c, bins=edges, min_count=min_count, species=species)
    from glassrs import fits

    if sop0 is None:
        Ts = sorted(float(t) for t in data)
        means = []
        for T in Ts:
            df = {float(k): v for k, v in data.items()}[T]
            if species is not None:
                df = df.filter(pl.col("species") == species)
            means.append(float(df[x].cast(pl.Float64).drop_nans().drop_nulls().mean()))
        line = fits.linear(np.array(Ts), np.array(means))
        s0, gp, s0_err, gp_err = (line.params["intercept"], line.params["slope"], line.stderr["intercept"],
                                  line.stderr["slope"])
    else:
        s0, gp, s0_err, gp_err = float(sop0), float("nan"), float("nan"), float("nan")
    f = pr.fits
    delta = f["x_mid"].to_numpy() - s0
    used = delta > 0
    if used.sum() < 2:
        raise ValueError(f"fewer than 2 fitted bins have x_mid > sop0 = {s0:.4g}")
    de = f["delta_e"].to_numpy()
    err = f["delta_e_err"].to_numpy()
    sig = err[used] if np.all(np.isfinite(err[used]) & (err[used] > 0)) else None
    r = fits.linear(1.0 / delta[used], de[used], sigma=sig)
    A, B = r.params["intercept"], r.params["slope"]
    val = {"sop0": s0, "gamma_prime": gp, "A": A, "B": B, "B_over_A": B / A,
           "gamma_prime_T_VFT": gp * T_VFT if T_VFT is not None else float("nan")}
    se = {"sop0": s0_err, "gamma_prime": gp_err, "A": r.stderr["intercept"], "B": r.stderr["slope"],
          "B_over_A": float("nan"), "gamma_prime_T_VFT": gp_err * T_VFT if T_VFT is not None else float("nan")}
    bins = f.select("bin", "x_mid").with_columns(pl.Series("delta_sop", delta),
                                                 pl.Series("inv_delta_sop", np.where(used, 1.0 / np.where(used, delta, 1), np.nan)),
                                                 pl.Series("delta_e", de), pl.Series("delta_e_err", err),
                                                 pl.Series("ln_p0", f["ln_p0"].to_numpy()), pl.Series("used", used))
    return val, se, bins, pr


def microscopic_barriers(data: Mapping[float, pl.DataFrame], x: str = "sop", *, sop0: float | None = None,
                         T_VFT: float | None = None, p_c: Mapping[float, float] | float | None = None,
                         bins: int | Sequence[float] = 10, min_count: int = 20, species: str | None = None,
                         unit: str = "config", n_boot: int = 200, level: float = 0.95,
                         seed: int = 0) -> MicroscopicBarriers:
    """Microscopic A, B of paper 000 (Figs. 5, 6a; Table II): the P_R Arrhenius barriers ΔE(X)
    of :func:`pr_arrhenius` per bin of X = (βφ)⁻¹ fitted as ΔE = A + B / Δ((βφ)⁻¹), with
    Δ((βφ)⁻¹) = X − ⟨(βφ0)⁻¹⟩ at the bin centre.

    ``data``, ``x``, ``p_c``, ``bins``, ``min_count``, ``species``: as :func:`pr_arrhenius` (T →
    per-particle table with ``x`` and ``phop``). ``sop0`` = ⟨(βφ0)⁻¹⟩: default the intercept of
    the line ⟨X⟩(T) = ⟨(βφ0)⁻¹⟩ + γ′T through the mean X of each table (which also gives γ′).
    ``T_VFT`` (ε/k_B, e.g. from :func:`glassrs.fits.macroscopic_barriers`) adds γ′T_VFT, to set
    against B/A (Fig. 6a). Bins with Δ ≤ 0 are left out. The line is weighted by the Arrhenius
    standard errors of ΔE; A and B are in ε and ε (B/Δ is an energy; Δ is dimensionless).

    Intervals: percentile bootstrap over the independent units of column ``unit``
    (configurations): per temperature the units are resampled with replacement, P_R, its
    Arrhenius fits, sop0 and the line are recomputed on the same bins. Without the column (or
    with one unit at some T) there is no interval.
    """
    if len(data) < 2:
        raise ValueError(f"need at least 2 temperatures, got {len(data)}")
    data = {float(k): v for k, v in data.items()}
    if np.isscalar(bins):
        pooled = np.concatenate([d.filter(pl.col("species") == species)[x].cast(pl.Float64).to_numpy()
                                 if species is not None else d[x].cast(pl.Float64).to_numpy() for d in data.values()])
        edges = np.histogram_bin_edges(pooled[np.isfinite(pooled)], bins=int(bins))
    else:
        edges = np.asarray(bins, float)
    if p_c is None:
        p_c = {T: table_params(d).get("p_c") for T, d in data.items()}
        if any(v is None for v in p_c.values()):
            raise ValueError("no p_c given and a table records none (pass p_c=)")
    val, se, btab, pr = _micro_chain(data, x, p_c, edges, min_count, species, sop0, T_VFT)
    names = list(val)
    warn = []
    has_units = all(unit in d.columns for d in data.values())
    units = {T: np.unique(d[unit].to_numpy()) for T, d in data.items()} if has_units else {}
    draws, failed = [], 0
    if not has_units:
        warn.append(f"no '{unit}' column: no interval")
    elif any(len(u) < 2 for u in units.values()):
        warn.append("a single unit at some temperature: no interval")
    elif n_boot:
        rng = np.random.default_rng(int(seed))
        parts = {T: {u: d.filter(pl.col(unit) == u) for u in units[T]} for T, d in data.items()}
        import warnings as _w
        with _w.catch_warnings():
            _w.simplefilter("ignore")
            for _ in range(int(n_boot)):
                res = {}
                for T, us in units.items():
                    pick = us[rng.integers(0, len(us), len(us))]
                    res[T] = make_table(pl.concat([parts[T][u] for u in pick]), table_params(data[T]))
                try:
                    vb, *_ = _micro_chain(res, x, p_c, edges, min_count, species, sop0, T_VFT)
                except (ValueError, RuntimeError, TypeError, ArithmeticError, np.linalg.LinAlgError):
                    failed += 1
                    continue
                draws.append([vb[k] for k in names])
        if failed > 0.1 * n_boot:
            warn.append(f"{failed} of {n_boot} bootstrap refits failed")
    if draws:
        lo, hi = np.quantile(np.array(draws), [(1 - level) / 2, (1 + level) / 2], axis=0)
    else:
        lo = hi = np.full(len(names), np.nan)
    n_units = int(sum(len(u) for u in units.values())) if has_units else len(data)
    label = ("configurations" if unit == "config" else unit) if has_units else "none (one table per T)"
    w = "; ".join(warn) or None
    ptab = pl.DataFrame({"parameter": names, "value": [float(val[k]) for k in names],
                         "stderr": [float(se[k]) for k in names], "ci_low": lo, "ci_high": hi, "n_units": n_units,
                         "unit": label, "n_failed": failed, "warning": w}, schema_overrides={"warning": pl.String})
    prm = {"kind": "microscopic_barriers", "x": x, "edges": edges.tolist(), "min_count": min_count, "species": species,
           "sop0": val["sop0"], "sop0_source": "user" if sop0 is not None else "intercept of <x>(T)",
           "T_VFT": T_VFT, "model": "dE = A + B / (x_mid - sop0), weighted by 1/dE_err^2", "unit": label,
           "n_boot": int(n_boot), "level": level, "seed": int(seed), "warning": w}
    return MicroscopicBarriers(bins=make_table(btab, prm), parameters=make_table(ptab, prm), pr=pr)
