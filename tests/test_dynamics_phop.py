"""p_hop cage jumps (definitions §3), the rearrangement threshold, van Hove and P(log10 δr)."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

import glassrs as gr
from _dynamics_data import random_walk

D = gr.dynamics


def _hop_traj(n_frames=41, hop=20, d=1.2, dt_frame=0.5, n=5):
    """Particle 0 sits at x0 until frame hop−1, is halfway at frame `hop`, at x0 + d afterwards
    (a jump between two cages); the others never move."""
    box = gr.Box.cube(6.0)
    rng = np.random.default_rng(0)
    x0 = rng.random((n, 3)) * 6.0
    frames = []
    for f in range(n_frames):
        x = x0.copy()
        x[0, 0] += 0.0 if f < hop else (d / 2 if f == hop else d)
        frames.append(gr.Frame(positions=box.wrap(x), types=np.r_[0, np.ones(n - 1, int)], box=box,
                               species=("A", "B"), step=f * 100))
    return gr.Trajectory.from_frames(frames, dt=dt_frame / 100)


def _analytic_height(d, m):
    """p_hop at the hop frame with m frames on each side of it in U and V (symmetric, so p = A = B)."""
    mu = d / (2 * (m + 1))                      # ⟨x⟩_U
    return ((d / 2 - mu) ** 2 + m * (d - mu) ** 2) / (m + 1)   # ⟨(x − ⟨x⟩_U)²⟩_V


@pytest.mark.parametrize("window,m", [(15.0, 15), (4.0, 4)])
def test_single_hop_peak_and_height(window, m):
    d = 1.2
    traj = _hop_traj(d=d, dt_frame=0.5)
    # Δt = window → Δt/2 = window/2 time units = window frames of 0.5: m = window frames per side
    tab = D.phop(traj, window=window, progress=False)
    p0 = tab.filter(pl.col("particle") == 0).sort("frame")
    j = int(np.argmax(p0["phop"].to_numpy()))
    assert p0["frame"][j] == 20
    assert p0["phop"][j] == pytest.approx(_analytic_height(d, m), rel=1e-12)
    assert p0["phop"].to_numpy()[j] > np.delete(p0["phop"].to_numpy(), j).max()   # unique peak
    # still particles: exactly zero; frames without a full window are not evaluated
    assert tab.filter(pl.col("particle") != 0)["phop"].abs().max() < 1e-15
    frames = sorted(set(tab["frame"].to_list()))
    assert frames == list(range(m, 41 - m))
    assert gr.params(tab)["units"] == "length^2"


def test_phop_matches_numpy_definition():
    traj, unw = random_walk(n=12, n_frames=25, sigma=0.2, seed=3)
    times = traj.times
    W = 8 * 100 * traj.dt   # 8 frames
    tab = D.phop(traj, window=W, chunk_particles=5, progress=False)
    for row in tab.sample(20, seed=1).iter_rows(named=True):
        k, i = row["frame"], row["particle"]
        U = (times >= times[k] - W / 2 - 1e-12) & (times <= times[k])
        V = (times >= times[k]) & (times <= times[k] + W / 2 + 1e-12)
        r = unw[:, i]
        a = np.mean(np.sum((r[V] - r[U].mean(0)) ** 2, axis=1))
        b = np.mean(np.sum((r[U] - r[V].mean(0)) ** 2, axis=1))
        assert row["phop"] == pytest.approx(math.sqrt(a * b), rel=1e-12)
        assert row["species"] == ("A" if traj.types[i] == 0 else "B")


def test_rearrangement_threshold_logic():
    traj = _hop_traj(d=1.2)
    tab = D.rearrangements(traj, window=4.0, p_c=0.3, progress=False)
    assert tab.columns == ["frame", "particle", "species", "phop", "rearranging"]
    np.testing.assert_array_equal(tab["rearranging"].to_numpy(), tab["phop"].to_numpy() > 0.3)
    hot = tab.filter(pl.col("rearranging"))
    assert set(hot["particle"].to_list()) == {0}
    assert 20 in hot["frame"].to_list()
    assert gr.params(tab)["p_c"] == 0.3
    # p_c = MSD(t*) from a correlation table (definitions §3.9: t* = argmax α2)
    corr = pl.DataFrame({"species": ["all"] * 3, "lag": [0.0, 1.0, 2.0], "msd": [0.0, 0.05, 0.2],
                         "alpha2": [np.nan, 2.0, 1.0], "overlap": [1.0, 0.9, 0.8], "fs": [1.0, 0.9, 0.8]})
    tab2 = D.rearrangements(traj, window=4.0, table=corr, progress=False)
    assert gr.params(tab2)["p_c"] == 0.05
    np.testing.assert_array_equal(tab2["rearranging"].to_numpy(), tab2["phop"].to_numpy() > 0.05)
    # p_c from the trajectory itself (default): the threshold is MSD at the α2 peak
    tab3 = D.rearrangements(traj, window=4.0, progress=False)
    t_star, _, msd_star = D.alpha2_peak(D.correlations(traj, kvectors=np.zeros((0, 3)), progress=False))
    assert gr.params(tab3)["p_c"] == pytest.approx(msd_star)


def test_phop_window_errors():
    traj = _hop_traj()
    with pytest.raises(ValueError, match="longer than the trajectory"):
        D.phop(traj, window=100.0, progress=False)
    with pytest.raises(ValueError, match="single frame"):
        D.phop(traj, window=0.6, progress=False)


def test_van_hove_normalisation_and_log_distribution():
    traj, unw = random_walk(n=200, n_frames=12, sigma=0.1, seed=4)
    lag = 5 * 100 * traj.dt
    vh = D.van_hove(traj, lags=[lag], bins=30, progress=False)
    for s in ["all", "A", "B"]:
        sub = vh.filter(pl.col("species") == s)
        assert sub["lag"][0] == pytest.approx(lag)
        r_lo, r_hi, g = sub["r_lo"].to_numpy(), sub["r_hi"].to_numpy(), sub["gs"].to_numpy()
        assert np.sum(4 / 3 * np.pi * (r_hi**3 - r_lo**3) * g) == pytest.approx(1.0, rel=1e-12)
    # P(log10 δr): a unit-area histogram of log10|Δr| over all origins at that lag
    lp = D.log_displacements(traj, lags=[lag], bins=40, log_range=(-2.0, 1.0), progress=False)
    sub = lp.filter(pl.col("species") == "all")
    dr = np.concatenate([np.linalg.norm(unw[j + 5] - unw[j], axis=1) for j in range(12 - 5)])
    h, e = np.histogram(np.log10(dr), bins=40, range=(-2.0, 1.0))
    np.testing.assert_allclose(sub["p"].to_numpy(), h / (len(dr) * np.diff(e)), rtol=1e-12)
    assert sub["fraction_in_range"][0] == pytest.approx(h.sum() / len(dr))
    # P(log10 δr) = ln(10)·4π δr³ G_s(δr): compare on a fine common range via the same samples
    vh2 = D.van_hove(traj, lags=[lag], bins=400, r_max=float(dr.max()), progress=False).filter(pl.col("species") == "all")
    r, g = vh2["r"].to_numpy(), vh2["gs"].to_numpy()
    # integrate both over log10 δr ∈ [log10 0.2, log10 0.4]: ∫P d(log10 r) = ∫4πr²G_s dr
    m = (vh2["r_lo"].to_numpy() >= 0.2) & (vh2["r_hi"].to_numpy() <= 0.4)
    frac_vh = np.sum(4 / 3 * np.pi * (vh2["r_hi"].to_numpy()[m] ** 3 - vh2["r_lo"].to_numpy()[m] ** 3) * g[m])
    lo, hi = vh2["r_lo"].to_numpy()[m][0], vh2["r_hi"].to_numpy()[m][-1]
    assert frac_vh == pytest.approx(np.mean((dr >= lo) & (dr < hi)), rel=1e-12)


def test_van_hove_default_lag_is_tau_alpha():
    traj, _ = random_walk(n=100, n_frames=40, sigma=0.1, seed=5)
    tab = D.correlations(traj, kvectors=np.zeros((0, 3)), progress=False)
    tau = D.tau_alpha(tab)
    vh = D.van_hove(traj, bins=10, progress=False)
    lags = np.unique(tab["lag"].to_numpy())
    assert vh["lag"][0] == lags[np.argmin(np.abs(lags - tau))]


def _numpy_phop_weighted(times, unw, W):
    """The documented rule written out: frame weights = the time each frame stands for (midpoint
    to midpoint; the full spacing at the two ends), U = [t − W/2, t], V = [t, t + W/2]; frames
    whose window leaves the trajectory or whose U or V holds one frame are not evaluated."""
    t = np.asarray(times, float)
    w = np.empty(len(t))
    w[1:-1] = (t[2:] - t[:-2]) / 2
    w[0], w[-1] = t[1] - t[0], t[-1] - t[-2]
    out, skipped = {}, []
    eps = 1e-9 * (t[-1] - t[0])
    for k in range(len(t)):
        if t[k] - W / 2 < t[0] - eps or t[k] + W / 2 > t[-1] + eps:
            continue
        U = np.flatnonzero((t >= t[k] - W / 2 - eps) & (t <= t[k]))
        V = np.flatnonzero((t >= t[k]) & (t <= t[k] + W / 2 + eps))
        if len(U) < 2 or len(V) < 2:
            skipped.append(k)
            continue
        r = unw[:, :, :]
        mu = np.einsum("f,fnd->nd", w[U], r[U]) / w[U].sum()
        mv = np.einsum("f,fnd->nd", w[V], r[V]) / w[V].sum()
        a = np.einsum("f,fn->n", w[V], ((r[V] - mu) ** 2).sum(-1)) / w[V].sum()
        b = np.einsum("f,fn->n", w[U], ((r[U] - mv) ** 2).sum(-1)) / w[U].sum()
        out[k] = np.sqrt(a * b)
    return out, skipped


@pytest.mark.parametrize("schedule", ["block-log", "log", "random"])
def test_phop_uneven_schedule_matches_numpy_rule(schedule):
    if schedule == "block-log":
        steps = gr.md.schedule(6000, every=1000, log_block=1000, log_base=1.4)
    elif schedule == "log":
        steps = np.unique(np.round(np.geomspace(1, 6000, 60)).astype(int))
        steps = np.r_[0, steps]
    else:
        steps = np.unique(np.sort(np.random.default_rng(2).integers(0, 6000, 80)))
    traj, unw = random_walk(n=15, steps=steps, sigma=0.05, seed=7)
    W = 1.2   # ±120 steps: several frames per side at most times, one where the log gaps are wider
    tab = D.phop(traj, window=W, chunk_particles=4, progress=False)
    want, skipped = _numpy_phop_weighted(traj.times, unw, W)
    assert sorted(set(tab["frame"].to_list())) == sorted(want)
    assert gr.params(tab)["skipped_frames"] == skipped
    for k, v in want.items():
        got = tab.filter(pl.col("frame") == k).sort("particle")["phop"].to_numpy()
        np.testing.assert_allclose(got, v, rtol=1e-12, atol=1e-15)
    if schedule == "block-log":
        assert skipped, "the block-log schedule has frames with a one-frame side at this window"


def test_phop_even_schedule_weights_are_frame_means():
    traj, unw = random_walk(n=10, n_frames=30, sigma=0.1, seed=8)
    W = 6 * 100 * traj.dt
    tab = D.phop(traj, window=W, progress=False)
    assert gr.params(tab)["weights"].startswith("frame means")
    want, _ = _numpy_phop_weighted(traj.times, unw, W)
    for k, v in want.items():
        np.testing.assert_allclose(tab.filter(pl.col("frame") == k).sort("particle")["phop"].to_numpy(), v, rtol=1e-12)


@pytest.mark.slow
def test_phop_and_pr_pipeline_on_embedded_dataset():
    """The embedded KA data (block-log frames) through p_hop → rearrangements → P_R(sop) over
    T = 1.0, 0.8 (generated and cached on first use)."""
    data = {}
    for T in (1.0, 0.8):
        traj = gr.datasets.kob_andersen(T, progress=False)
        ph = D.phop(traj, progress=False)
        frames = sorted(set(ph["frame"].to_list()))
        assert len(frames) > 0.5 * len(traj)
        pick = frames[:: max(1, len(frames) // 6)][:6]
        loc = gr.structure.local(traj, gr.models.kob_andersen(), T=T, frames=pick, e_pair=False,
                                 windows={"A-A": (0.89, 1.43), "A-B": (0.74, 1.27), "B-B": (0.78, 2.01)})
        rs = gr.isoconf.rearrangement_structure(traj, loc, progress=False)
        assert rs.height == len(pick) * traj.n_particles
        assert 0 < rs["rearranging"].mean() < 1   # Δt = 15 τ ≫ τ_α at T = 1: most particles hop
        data[T] = rs
    pr = gr.isoconf.pr_arrhenius(data, "sop", bins=6, min_count=20)
    assert pr.pr.height > 0 and pr.fits.height >= 1
