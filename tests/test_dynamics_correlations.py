"""gr.dynamics.correlations: analytic cases, an independent numpy implementation, lag grouping,
origins, unwrapping, streaming (chunk invariance) and the τ_α / D / t* analysis helpers."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import polars as pl
import pytest

import glassrs as gr
from _dynamics_data import random_walk

D = gr.dynamics
NOK = np.zeros((0, 3))


def _sel(table, species="all"):
    return table.filter(pl.col("species") == species).sort("lag")


def _frames_from(unw, box, types, steps=None, times=None, store="wrapped", species=("A", "B")):
    out = []
    for f in range(len(unw)):
        img = np.floor(box.fractional(unw[f])).astype(np.int64)
        kw = {"images": img} if store == "images" else ({"unwrapped": unw[f]} if store == "xu" else {})
        out.append(gr.Frame(positions=box.wrap(unw[f]), types=types, box=box, species=species,
                            step=None if steps is None else int(steps[f]),
                            time=None if times is None else float(times[f]), **kw))
    return out


# ------------------------------------------------------------------ numpy reference
def reference(unw, types, times_key, times, kv, a=0.3, dim=3, origins=None):
    """Straightforward per-pair loops; groups pairs by exact key difference."""
    nf, n, _ = unw.shape
    groups = defaultdict(list)
    for i0 in (range(nf) if origins is None else origins):
        for j in range(i0, nf):
            groups[times_key[j] - times_key[i0]].append((i0, j))
    out = {}
    for sname, mask in [("all", np.ones(n, bool)), ("A", types == 0), ("B", types == 1)]:
        rows = []
        for key in sorted(groups):
            prs = groups[key]
            r2s, r4s, qs, fss = [], [], [], []
            for i0, j in prs:
                d = unw[j, mask] - unw[i0, mask]
                r2 = np.sum(d * d, axis=1)
                r2s.append(r2.mean())
                r4s.append((r2 * r2).mean())
                qs.append(np.mean(np.sqrt(r2) <= a))
                fss.append(np.mean(np.cos(d @ kv.T)) if len(kv) else np.nan)  # no wave vectors: F_s not computed (NaN)
            i0, j = prs[0]
            msd, m4, q = np.mean(r2s), np.mean(r4s), np.mean(qs)
            c = 0.6 if dim == 3 else 0.5
            rows.append((times[j] - times[i0], len(prs), msd, q, mask.sum() * (np.mean(np.square(qs)) - q * q),
                         np.mean(fss), c * m4 / msd**2 - 1 if msd > 0 else np.nan))
        out[sname] = np.array(rows)
    return out


def _compare(table, ref):
    for s, rows in ref.items():
        sub = _sel(table, s)
        got = np.column_stack([sub[c].to_numpy() for c in ["lag", "n_origins", "msd", "overlap", "chi4", "fs", "alpha2"]])
        np.testing.assert_allclose(got[:, :2], rows[:, :2], rtol=1e-12)
        np.testing.assert_allclose(got[:, 2:], rows[:, 2:], rtol=1e-10, atol=1e-13)


def test_matches_numpy_reference_block_log():
    steps = np.array([0, 1, 2, 4, 8, 16, 32, 33, 34, 36, 40, 48, 64, 65, 66, 68, 72, 80, 96]) * 50
    traj, unw = random_walk(n=40, steps=steps, sigma=0.1, seed=4)
    kv = D.shell_kvectors(traj.box, 6.0, dk=0.4, nk=10)
    table = D.correlations(traj, kvectors=kv, progress=False)
    _compare(table, reference(unw, traj.types, steps, traj.times, kv))
    assert gr.params(table)["lag_grouping"] == "timestep difference"


def test_chunked_streaming_is_identical():
    traj, unw = random_walk(n=53, n_frames=20, sigma=0.1, seed=5)
    kv = D.shell_kvectors(traj.box, 6.0, dk=0.4, nk=8)
    whole = D.correlations(traj, kvectors=kv, progress=False)
    calls = []
    chunked = D.correlations(traj, kvectors=kv, chunk_particles=7, progress=lambda d, t: calls.append((d, t)))
    for c in ["msd", "overlap", "chi4", "fs", "alpha2"]:
        np.testing.assert_allclose(chunked[c].to_numpy(), whole[c].to_numpy(), rtol=1e-12, atol=1e-15)
    assert calls and calls[-1][0] == calls[-1][1]          # progress reached the total
    # forces 1-particle chunks (1e-3 MB, used here before the budget covered the pair blocks, is now
    # refused up front as too small to hold one particle and one origin's pairs)
    tiny = D.correlations(traj, kvectors=kv, max_memory_mb=1e-2, progress=False)
    assert gr.params(tiny)["particle_chunks"] == 53
    np.testing.assert_allclose(tiny["chi4"].to_numpy(), whole["chi4"].to_numpy(), rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="max_memory_mb=0.001 is too small"):
        D.correlations(traj, kvectors=kv, max_memory_mb=1e-3, progress=False)
    for lo, hi in [(0, 7), (7, 30), (30, 53)]:
        np.testing.assert_array_equal(D._unwrapped_chunk(traj, lo, hi), traj.unwrapped()[:, lo:hi])


def test_ballistic_msd_is_v2_t2():
    rng = np.random.default_rng(0)
    n, nf, dtf = 200, 15, 0.1
    u = rng.normal(size=(n, 3))
    v = 0.7 * u / np.linalg.norm(u, axis=1)[:, None]      # |v| = 0.7 for every particle
    box = gr.Box.cube(6.0)
    x0 = rng.random((n, 3)) * 6.0
    t = np.arange(nf) * dtf
    unw = x0[None] + t[:, None, None] * v[None]
    types = np.r_[np.zeros(150, int), np.ones(50, int)]
    traj = gr.Trajectory.from_frames(_frames_from(unw, box, types, steps=np.arange(nf) * 10), dt=dtf / 10)
    table = D.correlations(traj, k=5.0, progress=False)
    for s in ["all", "A", "B"]:
        sub = _sel(table, s)
        lag = sub["lag"].to_numpy()
        np.testing.assert_allclose(sub["msd"].to_numpy(), 0.49 * lag**2, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(sub["alpha2"].to_numpy()[1:], -0.4, atol=1e-12)   # constant |Δr|: 3/5 − 1
        np.testing.assert_allclose(sub["overlap"].to_numpy(), (0.7 * lag <= 0.3).astype(float))
        np.testing.assert_allclose(sub["chi4"].to_numpy(), 0.0, atol=1e-12)


def test_random_walk_diffusion_gaussian_and_fs():
    """MSD = 6Dt, α2 → 0, F_s = exp(−k²Dt) for a Gaussian walk; tolerances are 5 standard errors
    of the estimators for N independent particles (one origin)."""
    n, sigma = 20000, 0.05
    traj, unw = random_walk(n=n, n_frames=9, length=30.0, sigma=sigma, seed=6)
    dt_frame = 100 * traj.dt
    Dc = sigma**2 / (2 * dt_frame)
    k = 7.0
    table = D.correlations(traj, k=k, dk=0.05, nk=40, origins=[0], progress=False)
    sub = _sel(table)
    lag, msd, a2, fs = (sub[c].to_numpy()[1:] for c in ["lag", "msd", "alpha2", "fs"])
    kn = gr.params(table)["k_mean"]
    se_msd = math.sqrt(6 / 9) / math.sqrt(n)
    np.testing.assert_array_less(np.abs(msd / (6 * Dc * lag) - 1), 5 * se_msd)
    np.testing.assert_array_less(np.abs(a2), 5 * math.sqrt(0.533 / n))
    np.testing.assert_array_less(np.abs(fs - np.exp(-kn**2 * Dc * lag)), 5 / math.sqrt(n))
    # D from the fit over the whole range
    d_fit, d_err = D.diffusion_constant(table, lag[0], lag[-1])
    assert abs(d_fit - Dc) < 5 * se_msd * Dc
    assert d_err > 0


def test_frozen_system():
    rng = np.random.default_rng(1)
    box = gr.Box.cube(5.0)
    x = rng.random((30, 3)) * 5
    types = np.r_[np.zeros(20, int), np.ones(10, int)]
    unw = np.repeat(x[None], 6, axis=0)
    traj = gr.Trajectory.from_frames(_frames_from(unw, box, types, steps=np.arange(6)), dt=1.0)
    table = D.correlations(traj, k=6.0, dk=0.3, progress=False)
    assert np.all(table["overlap"].to_numpy() == 1.0)
    assert np.all(table["chi4"].to_numpy() == 0.0)
    assert np.all(table["msd"].to_numpy() == 0.0)
    np.testing.assert_allclose(table["fs"].to_numpy(), 1.0, rtol=1e-14)
    assert table["alpha2"].is_nan().all()          # 0/0: undefined without motion
    assert D.tau_alpha(table) != D.tau_alpha(table)  # NaN: never relaxes


def test_two_dimensional_alpha2():
    """The dimension is the box's: a 2D box gives the 2D α2; the same flat data in a 3D box
    stay 3D (no guess from coordinates), and a contradicting dim= is an error."""
    rng = np.random.default_rng(2)
    n, nf = 100, 8
    box = gr.Box.orthorhombic([6.0, 6.0])
    ang = rng.random(n) * 2 * np.pi
    v = 0.3 * np.column_stack([np.cos(ang), np.sin(ang), np.zeros(n)])
    x0 = np.column_stack([rng.random((n, 2)) * 6, np.zeros(n)])
    unw = x0[None] + np.arange(nf)[:, None, None] * v[None]
    traj = gr.Trajectory.from_frames(_frames_from(unw, box, np.zeros(n, int), steps=np.arange(nf), species=("A",)), dt=1.0)
    table = D.correlations(traj, kvectors=NOK, progress=False, cage_relative=False)
    assert gr.params(table)["dim"] == 2 and gr.params(table)["displacements"] == "plain"
    np.testing.assert_allclose(_sel(table)["alpha2"].to_numpy()[1:], -0.5, atol=1e-12)   # ⟨r⁴⟩/(2⟨r²⟩²) − 1
    assert set(table["species"].to_list()) == {"all", "A"}
    flat3d = gr.Trajectory.from_frames(_frames_from(unw, gr.Box.orthorhombic([6.0, 6.0, 6.0]), np.zeros(n, int),
                                                    steps=np.arange(nf), species=("A",)), dt=1.0)
    t3 = D.correlations(flat3d, kvectors=NOK, progress=False)
    assert gr.params(t3)["dim"] == 3
    np.testing.assert_allclose(_sel(t3)["alpha2"].to_numpy()[1:], 0.6 - 1, atol=1e-12)   # 3⟨r⁴⟩/(5⟨r²⟩²) − 1
    with pytest.raises(ValueError, match="property of the box"):
        D.correlations(flat3d, kvectors=NOK, progress=False, dim=2)


def test_float_times_grouped_despite_noise():
    traj, unw = random_walk(n=20, n_frames=12, sigma=0.1, seed=7)
    times = np.array([k * 0.1 for k in range(12)])
    times[5] = 0.1 + 0.2 + 0.2   # 0.5000000000000001
    box, types = traj.box, traj.types
    tr = gr.Trajectory.from_frames(_frames_from(unw, box, types, times=times))
    table = D.correlations(tr, kvectors=NOK, progress=False)
    sub = _sel(table)
    assert sub.height == 12
    assert sub["n_origins"].to_list() == list(range(12, 0, -1))
    assert "time difference" in gr.params(table)["lag_grouping"]
    _compare(table, reference(unw, types, np.arange(12), times, NOK))   # keys: frame index ∝ time


def test_origins_subsampling_and_max_lag():
    traj, unw = random_walk(n=20, n_frames=21, sigma=0.1, seed=8)
    table = D.correlations(traj, kvectors=NOK, origins=5, max_lag=5.0, progress=False)
    sub = _sel(table)
    assert sub["lag"].max() == pytest.approx(5.0)
    assert sub["n_origins"].max() == 5
    # origins 0, 5, 10, 15, 20: lag 5.0 (10 frames) only from 0, 5, 10
    assert sub.filter(pl.col("lag") == 5.0)["n_origins"].item() == 3
    _compare(table.filter(pl.col("lag") <= 5.0),
             {s: r[r[:, 0] <= 5.0 + 1e-12] for s, r in
              reference(unw, traj.types, traj.steps, traj.times, NOK, origins=[0, 5, 10, 15, 20]).items()})


def test_unwrapping_sources_agree_and_jump_error():
    traj, unw = random_walk(n=30, n_frames=10, sigma=0.1, seed=9)
    kw = dict(kvectors=NOK, progress=False)
    base = D.correlations(traj, **kw)
    for store in ["images", "xu"]:
        tr, _ = random_walk(n=30, n_frames=10, sigma=0.1, seed=9, store=store)
        other = D.correlations(tr, **kw)
        np.testing.assert_allclose(other["msd"].to_numpy(), base["msd"].to_numpy(), rtol=1e-12, atol=1e-15)
    # a particle jumps by (0.45, 0.45, 0.45) L between two wrapped frames: its minimum-image step
    # (0.78 L) exceeds half the box height, so the wrapped path is ambiguous
    jump = unw.copy()
    jump[5:, 3, :] += 0.45 * traj.box.lengths[0]
    wrapped = gr.Trajectory.from_frames(_frames_from(jump, traj.box, traj.types, steps=traj.steps), dt=traj.dt)
    with pytest.raises(ValueError, match=r"particle 3 .*between frames 4 and 5.*half the box height"):
        D.correlations(wrapped, **kw)
    with pytest.raises(ValueError, match="particle 3"):   # same message through the chunked path
        D.correlations(wrapped, chunk_particles=2, **kw)
    for store in ["images", "xu"]:
        ok = gr.Trajectory.from_frames(_frames_from(jump, traj.box, traj.types, steps=traj.steps, store=store), dt=traj.dt)
        t = D.correlations(ok, **kw)
        assert _sel(t, "all")["msd"].to_numpy()[-1] > 0


def test_several_runs_pool_origins_for_chi4():
    t1, u1 = random_walk(n=30, n_frames=8, sigma=0.15, seed=10)
    t2, u2 = random_walk(n=30, n_frames=8, sigma=0.15, seed=11)
    table = D.correlations([t1, t2], kvectors=NOK, progress=False)
    assert gr.params(table)["n_runs"] == 2
    # reference: both runs' origins pooled in one average
    for s, mask in [("all", np.ones(30, bool)), ("B", t1.types == 1)]:
        sub = _sel(table, s)
        for row in sub.iter_rows(named=True):
            m = int(round(row["lag"] / (100 * t1.dt)))
            qs = [np.mean(np.linalg.norm(u[j + m, mask] - u[j, mask], axis=1) <= 0.3) for u in (u1, u2) for j in range(8 - m)]
            assert row["n_origins"] == len(qs)
            assert row["chi4"] == pytest.approx(mask.sum() * (np.mean(np.square(qs)) - np.mean(qs) ** 2), rel=1e-10, abs=1e-13)
    t3, _ = random_walk(n=31, n_frames=8, seed=12)
    with pytest.raises(ValueError, match="different particle set"):
        D.correlations([t1, t3], kvectors=NOK, progress=False)


def test_tau_alpha_interpolates_in_log_time():
    lags = np.array([0.0, 1.0, 2.0, 4.0, 8.0, 16.0])
    q = np.array([1.0, 0.9, 0.7, 0.5, 0.3, 0.1])
    tab = pl.DataFrame({"species": ["all"] * 6, "lag": lags, "overlap": q, "fs": q ** 2,
                        "msd": lags * 6 * 0.25 + 0.1, "alpha2": [np.nan, 0.1, 0.3, 0.2, 0.1, 0.0]})
    c = 1 / math.e
    f = (c - 0.5) / (0.3 - 0.5)
    assert D.tau_alpha(tab) == pytest.approx(math.exp(math.log(4) + f * (math.log(8) - math.log(4))), rel=1e-14)
    assert D.tau_alpha(tab, "fs", 0.2) == pytest.approx(math.exp(math.log(4) + (0.2 - 0.25) / (0.09 - 0.25) * math.log(2)))
    assert D.tau_alpha(tab, threshold=0.95) == pytest.approx(0.5)        # bracket starts at lag 0: linear
    assert math.isnan(D.tau_alpha(tab, threshold=0.01))
    rt = D.relaxation_times(tab)
    assert rt["tau_q"][0] == pytest.approx(D.tau_alpha(tab))
    assert D.diffusion_constant(tab, 1.0, 16.0, dim=3)[0] == pytest.approx(0.25, rel=1e-12)
    assert D.alpha2_peak(tab) == (2.0, 0.3, pytest.approx(2 * 1.5 + 0.1))
    with pytest.raises(ValueError, match="need at least 3"):
        D.diffusion_constant(tab, 1.0, 2.0)


def test_shell_kvectors_and_first_peak():
    box = gr.Box.cube(9.4)
    kv = D.shell_kvectors(box, 7.25, dk=0.1, nk=None)
    kn = np.linalg.norm(kv, axis=1)
    assert np.all(np.abs(kn - 7.25) < 0.1)
    # no ±k duplicates, all are reciprocal-lattice vectors
    n = kv * 9.4 / (2 * np.pi)
    np.testing.assert_allclose(n, np.round(n), atol=1e-9)
    assert len({tuple(np.round(x).astype(int)) for x in n} & {tuple(-np.round(x).astype(int)) for x in n}) == 0
    sub = D.shell_kvectors(box, 7.25, dk=0.1, nk=12)
    assert len(sub) == 12 and np.array_equal(sub, D.shell_kvectors(box, 7.25, dk=0.1, nk=12))
    with pytest.raises(ValueError, match="increase dk"):
        D.shell_kvectors(gr.Box.cube(2.0), 1.0, dk=0.01)
    # S(q) of a simple-cubic crystal (lattice constant 1) peaks at |q| = 2π exactly: the Bragg
    # shell holds only |q| = 2π vectors, its neighbours (empty or tiny S) bracket it
    g = np.stack(np.meshgrid(*[np.arange(6)] * 3, indexing="ij"), -1).reshape(-1, 3) + 0.5
    fr = gr.Frame(positions=g.astype(float), types=np.zeros(len(g), int), box=gr.Box.cube(6.0), species=("A",))
    k = D.first_peak_k(gr.Trajectory.from_frames([fr]), q_range=(4.0, 8.0))
    assert abs(k - 2 * np.pi) < 0.25


def test_bad_input_messages():
    traj, _ = random_walk(n=10, n_frames=4)
    with pytest.raises(ValueError, match="alpha2_average"):
        D.correlations(traj, alpha2_average="x", kvectors=NOK)
    with pytest.raises(ValueError, match="origin frames must lie"):
        D.correlations(traj, origins=[7], kvectors=NOK)
    with pytest.raises(ValueError, match="overlap cutoff"):
        D.correlations(traj, a=-1.0, kvectors=NOK)


class _LazySource:
    """A frame source that builds frames on demand (like a file reader) and counts loads."""

    def __init__(self, traj):
        self._frames = [traj[k] for k in range(len(traj))]
        self.path = "lazy.dump"
        self.loads = 0

    def __len__(self):
        return len(self._frames)

    def load(self, k):
        self.loads += 1
        f = self._frames[k]
        return gr.Frame(positions=f.positions.copy(), types=f.types, box=f.box, species=f.species, step=f.step)


def test_streaming_from_lazy_source_in_bounded_chunks():
    traj, _ = random_walk(n=64, n_frames=15, sigma=0.1, seed=13)
    src = _LazySource(traj)
    lazy = gr.Trajectory(src, dt=traj.dt)
    kv = D.shell_kvectors(traj.box, 6.0, dk=0.4, nk=6)
    ref = D.correlations(traj, kvectors=kv, progress=False)
    # budget for ~16 particles per chunk: F × (48 + 16 n_k) bytes per particle
    budget_mb = 16 * 15 * (48 + 16 * 6) / 2**20
    assert len(D._chunks(64, 15, budget_mb, None, 6)) == 4
    got = D.correlations(lazy, kvectors=kv, max_memory_mb=budget_mb, progress=False)
    for c in ["msd", "overlap", "chi4", "fs", "alpha2"]:
        np.testing.assert_allclose(got[c].to_numpy(), ref[c].to_numpy(), rtol=1e-12, atol=1e-15)
    assert src.loads >= 4 * 15      # each chunk re-reads the frames instead of holding them all


def test_interrupt_from_progress_callback():
    traj, _ = random_walk(n=30, n_frames=40, sigma=0.1, seed=14)

    def stop(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        D.correlations(traj, kvectors=NOK, progress=stop)


def test_quantity_selection_computes_only_what_is_asked():
    traj, unw = random_walk(n=80, n_frames=20, sigma=0.1, seed=21)
    kv = D.shell_kvectors(traj.box, 6.0, 0.3, nk=4)
    full = D.correlations(traj, kvectors=kv, progress=False)
    for q in (["msd"], ["overlap", "chi4"], ["fs"], ["alpha2", "msd"]):
        part = D.correlations(traj, kvectors=kv, quantities=q, progress=False)
        assert part.columns == ["species", "lag", "n_origins"] + [c for c in D.QUANTITIES if c in q]
        assert gr.params(part)["quantities"] == [c for c in D.QUANTITIES if c in q]
        for c in q:
            if gr.params(part)["method"][c] == gr.params(full)["method"][c]:
                np.testing.assert_array_equal(part[c].to_numpy(), full[c].to_numpy())
            else:   # the MSD alone is an FFT; with the direct pass running anyway it is summed there
                np.testing.assert_allclose(part[c].to_numpy(), full[c].to_numpy(), rtol=1e-12, atol=0)
    # without F_s no wave vectors are set up (k is never estimated)
    msd = D.correlations(traj, quantities="msd", progress=False)
    assert gr.params(msd)["n_k"] == 0
    with pytest.raises(ValueError, match="subset of"):
        D.correlations(traj, quantities=["msd", "rdf"], progress=False)
    with pytest.raises(ValueError, match="no column 'fs'"):
        D.tau_alpha(msd, "fs")


def test_fft_path_equals_the_direct_sums():
    """On a linear schedule with every frame an origin, MSD and F_s come from FFT
    autocorrelations: equal to the direct pair sums (MSD to 1e-12 relative, F_s — bounded by 1 —
    to 1e-12 absolute), also per species and with max_lag and several runs; the other columns
    stay direct and the choice is recorded."""
    runs = [random_walk(n=150, n_frames=40, sigma=0.1, seed=s, store="xu")[0] for s in (31, 32)]
    kv = D.shell_kvectors(runs[0].box, 6.0, 0.3, nk=5)
    for arg, kw in ((runs[0], {}), (runs, {}), (runs[0], {"max_lag": 1.0})):
        direct = D.correlations(arg, kvectors=kv, method="direct", progress=False, **kw)
        fast = D.correlations(arg, kvectors=kv, progress=False, **kw)
        # the MSD rides along with the lag pass that the overlap, χ4 and α2 take anyway ...
        assert gr.params(fast)["method"] == {"msd": "lags", "overlap": "lags", "chi4": "lags", "fs": "fft",
                                             "alpha2": "lags"}
        np.testing.assert_array_equal(fast["chi4"].to_numpy(), direct["chi4"].to_numpy())
        # ... and, when nothing else needs that pass, summed by lag on short runs (40 frames)
        alone = D.correlations(arg, kvectors=kv, quantities=["msd", "fs"], progress=False, **kw)
        assert gr.params(alone)["method"] == {"msd": "lags", "fs": "fft"}
        np.testing.assert_allclose(alone["msd"].to_numpy(), direct["msd"].to_numpy(), rtol=1e-12, atol=0)
        forced = D.correlations(arg, kvectors=kv, method="fft", progress=False, **kw)
        assert gr.params(forced)["method"]["msd"] == "fft"
        np.testing.assert_allclose(forced["msd"].to_numpy(), direct["msd"].to_numpy(), rtol=1e-12, atol=0)
        assert gr.params(direct)["method"]["msd"] == "direct"
        np.testing.assert_array_equal(fast["n_origins"].to_numpy(), direct["n_origins"].to_numpy())
        np.testing.assert_allclose(fast["msd"].to_numpy(), direct["msd"].to_numpy(), rtol=1e-12, atol=0)
        np.testing.assert_allclose(fast["fs"].to_numpy(), direct["fs"].to_numpy(), rtol=0, atol=1e-12)
        np.testing.assert_array_equal(fast["overlap"].to_numpy(), direct["overlap"].to_numpy())
    # reciprocal-lattice wave vectors take per-axis phase powers, any others one sin/cos each:
    # both equal the direct sums
    assert D._lattice_indices(runs[0].box, kv) is not None
    off = kv * 1.013
    assert D._lattice_indices(runs[0].box, off) is None
    np.testing.assert_allclose(D.correlations(runs[0], kvectors=off, quantities=["fs"], progress=False)["fs"].to_numpy(),
                               D.correlations(runs[0], kvectors=off, method="direct", progress=False)["fs"].to_numpy(),
                               rtol=0, atol=1e-12)
    # explicit origins or a non-linear schedule fall back to direct; method='fft' then says why
    t = D.correlations(runs[0], kvectors=kv, origins=5, progress=False)
    assert gr.params(t)["method"]["msd"] == "direct"
    with pytest.raises(ValueError, match="linear schedule"):
        D.correlations(runs[0], kvectors=kv, origins=5, method="fft", progress=False)


def test_lag_path_equals_the_pair_sums():
    """On a linear schedule with every frame an origin, the overlap, χ4, the pooled α2 and the MSD
    are summed per particle and lag ("lags"): equal to the per-pair sums (overlap and χ4 exactly,
    MSD and α2 to 1e-12 relative), per species, with max_lag, several runs and several particle
    chunks; χ4 over several chunks and the per-origin α2 keep the per-pair pass; a long run takes
    the MSD's FFT."""
    runs = [random_walk(n=150, n_frames=40, sigma=0.1, seed=s, store="xu")[0] for s in (41, 42)]
    for arg, kw in ((runs[0], {}), (runs, {}), (runs[0], {"max_lag": 1.0}), (runs[0], {"chunk_particles": 37})):
        direct = D.correlations(arg, kvectors=NOK, method="direct", progress=False, **kw)
        for q in (["overlap"], ["alpha2"], ["msd", "overlap", "alpha2"], ["msd"], ["chi4"], ["overlap", "chi4", "alpha2"]):
            fast = D.correlations(arg, kvectors=NOK, quantities=q, progress=False, **kw)
            by = "direct" if ("chi4" in q and "chunk_particles" in kw) else "lags"
            assert gr.params(fast)["method"] == {c: by for c in q}
            np.testing.assert_array_equal(fast["n_origins"].to_numpy(), direct["n_origins"].to_numpy())
            np.testing.assert_array_equal(fast["lag"].to_numpy(), direct["lag"].to_numpy())
            for c in q:
                if c in ("overlap", "chi4"):   # from exact integer counts on both paths
                    np.testing.assert_array_equal(fast[c].to_numpy(), direct[c].to_numpy())
                else:
                    np.testing.assert_allclose(fast[c].to_numpy(), direct[c].to_numpy(), rtol=1e-12, atol=0)
    # χ4 over several particle chunks (Σ C² is not additive over chunks) or beyond the memory for
    # its count tables keeps the per-pair pass, and the columns with it
    for kw in ({"chunk_particles": 37}, {"max_memory_mb": 0.1}):
        with_chi4 = D.correlations(runs[0], kvectors=NOK, quantities=["overlap", "chi4", "alpha2"], progress=False, **kw)
        assert set(gr.params(with_chi4)["method"].values()) == {"direct"}
        ref = D.correlations(runs[0], kvectors=NOK, quantities=["overlap", "chi4", "alpha2"], progress=False)
        np.testing.assert_array_equal(with_chi4["chi4"].to_numpy(), ref["chi4"].to_numpy())
    per_origin = D.correlations(runs[0], kvectors=NOK, quantities=["alpha2"], alpha2_average="origin", progress=False)
    assert gr.params(per_origin)["method"] == {"alpha2": "direct"}
    long_run, _ = random_walk(n=10, n_frames=400, sigma=0.1, seed=43, store="xu")
    m = D.correlations(long_run, quantities=["msd"], progress=False)
    assert gr.params(m)["method"] == {"msd": "fft"}
    np.testing.assert_allclose(m["msd"].to_numpy()[1:],
                               D.correlations(long_run, quantities=["msd"], method="direct", progress=False)["msd"]
                               .to_numpy()[1:], rtol=1e-12, atol=0)


def test_relaxation_time_blocks_and_bootstrap_against_numpy():
    """Per-block τ_α/α2 peak from a numpy overlap and α2 on that block's origins; the interval is a
    percentile bootstrap over blocks (checked against numpy resampling with many draws)."""
    from _dynamics_data import random_walk

    traj, unw = random_walk(n=80, n_frames=60, sigma=0.12, seed=21)
    t = np.asarray(traj.times)
    per = gr.dynamics.relaxation_blocks(traj, n_blocks=5, D_range=(0.5, 1.5))
    blocks = (np.arange(60) * 5) // 60
    for b in range(5):
        o = np.flatnonzero(blocks == b)
        lags, q, m2, m4 = {}, {}, {}, {}
        for i in o:
            for j in range(i, 60):
                d = np.linalg.norm(unw[j] - unw[i], axis=1)
                key = round(t[j] - t[i], 9)
                q.setdefault(key, []).append(np.mean(d <= 0.3))
                m2.setdefault(key, []).append(d ** 2)
                m4.setdefault(key, []).append(d ** 4)
        L = np.array(sorted(q))
        Q = np.array([np.mean(q[k]) for k in L])
        j = int(np.flatnonzero(Q <= np.exp(-1))[0])
        f = (np.exp(-1) - Q[j - 1]) / (Q[j] - Q[j - 1])
        tau = L[j - 1] + f * (L[j] - L[j - 1]) if L[j - 1] <= 0 else np.exp(np.log(L[j - 1]) + f * np.log(L[j] / L[j - 1]))
        a2 = np.array([3 * np.mean(np.concatenate(m4[k])) / (5 * np.mean(np.concatenate(m2[k])) ** 2) - 1
                       if k > 0 else np.nan for k in L])
        row = per.filter((pl.col("block") == b) & (pl.col("species") == "all"))
        assert row["tau_alpha"][0] == pytest.approx(tau, rel=1e-10)
        assert row["alpha2_peak"][0] == pytest.approx(np.nanmax(a2), rel=1e-10)
        msd = np.array([np.mean(np.concatenate(m2[k])) for k in L])
        sel = (L >= 0.5) & (L <= 1.5)
        assert row["D"][0] == pytest.approx(np.polyfit(L[sel], msd[sel], 1)[0] / 6, rel=1e-9)
    ci = gr.dynamics.relaxation_ci(traj, blocks=per, n_boot=20000, seed=3)
    r = ci.filter((pl.col("species") == "all") & (pl.col("quantity") == "tau_alpha"))
    v = per.filter(pl.col("species") == "all")["tau_alpha"].to_numpy()
    rng = np.random.default_rng(0)
    boot = v[rng.integers(0, 5, (20000, 5))].mean(1)
    lo, hi = np.quantile(boot, [0.025, 0.975])
    assert r["mean"][0] == pytest.approx(v.mean(), rel=1e-12)
    assert r["ci_low"][0] == pytest.approx(lo, abs=0.05 * (hi - lo)) and r["ci_high"][0] == pytest.approx(hi, abs=0.05 * (hi - lo))
    assert r["unit"][0] == "time blocks of origins" and r["n_units"][0] == 5
    full = gr.dynamics.correlations(traj, kvectors=np.zeros((0, 3)), progress=False)
    assert r["value"][0] == pytest.approx(gr.dynamics.tau_alpha(full), rel=1e-12)
