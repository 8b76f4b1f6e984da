"""Isoconfigurational χ4 streamed over runs (definitions §4.8) and the P(μ), P(τ_α,j) histograms:
against the value computed from all runs kept in memory, and independent numpy histograms."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import glassrs as gr
from test_isoconf import synthetic_runs

I = gr.isoconf


def _kept_chi4(u, types, a):
    """N[⟨q²⟩ − ⟨q⟩²] over runs from all runs' displacements (R, F, N) kept in memory."""
    d = np.linalg.norm(u - u[:, :1], axis=-1)
    out = {}
    for name, sel in [("all", np.ones(d.shape[2], bool)), ("A", types == 0), ("B", types == 1)]:
        q = (d[:, :, sel] <= a).mean(axis=2)                  # (R, F)
        out[name] = sel.sum() * (np.mean(q ** 2, axis=0) - np.mean(q, axis=0) ** 2)
    return out


def test_streamed_chi4_equals_kept_runs():
    trajs, u = synthetic_runs(n=60, n_runs=7, store="images")
    got = I.chi4(trajs, a=0.3)
    ref = _kept_chi4(u, trajs[0].types, 0.3)
    for name, r in ref.items():
        g = got.filter(pl.col("species") == name).sort("time")
        np.testing.assert_allclose(g["chi4"].to_numpy(), r, rtol=1e-12, atol=1e-12)
    assert gr.params(got)["unit"] == "runs" and got["n_units"].unique().to_list() == [7]
    # the error: large-sample standard error of the variance over runs, vs numpy central moments
    d = np.linalg.norm(u - u[:, :1], axis=-1)
    c = (d <= 0.3).sum(axis=2).astype(float)                   # (R, F)
    m2 = c.var(axis=0)
    m4 = ((c - c.mean(axis=0)) ** 4).mean(axis=0)
    se = np.sqrt(np.clip(m4 - m2 ** 2, 0, None) / 7) / 60
    g = got.filter(pl.col("species") == "all").sort("time")
    np.testing.assert_allclose(g["chi4_stderr"].to_numpy(), se, rtol=1e-9, atol=1e-12)


def test_ensemble_streams_chi4(ka_start):
    m, f = ka_start
    kw = dict(T=1.0, n_runs=4, steps=40, every=10, progress=False)
    kept = I.ensemble(f, m, seed=3, keep_runs=True, **kw)
    got = I.chi4(kept).filter(pl.col("species") == "all").sort("time")
    u = np.stack([t.unwrapped() for t in kept.runs])
    ref = _kept_chi4(u, f.types, kept.a)["all"]
    np.testing.assert_allclose(got["chi4"].to_numpy(), ref, rtol=1e-12, atol=1e-12)
    streamed = I.ensemble(f, m, seed=3, **kw)
    assert streamed.runs is None
    np.testing.assert_array_equal(I.chi4(streamed)["chi4"].to_numpy(), I.chi4(kept)["chi4"].to_numpy())
    # several configurations: mean over configurations, interval over configurations
    other = I.ensemble(f, m, seed=4, **kw)
    both = I.chi4([kept, other])
    assert gr.params(both)["unit"] == "configurations" and both["n_units"].unique().to_list() == [2]
    mean = (I.chi4(kept)["chi4"].to_numpy() + I.chi4(other)["chi4"].to_numpy()) / 2
    np.testing.assert_allclose(both["chi4"].to_numpy(), mean, rtol=1e-14)


@pytest.fixture(scope="module")
def ka_start():
    m = gr.models.kob_andersen()
    f = gr.md.initial_configuration(m, 200, seed=1)
    return m, gr.md.push_off(f, m)


def test_histograms_match_numpy():
    trajs, u = synthetic_runs(n=80, n_runs=4, store="images")
    mob = I.mobility(trajs)
    t_last = float(mob["time"].max())
    h = I.histogram(mob, "mobility", bins=12, times=t_last)
    mu = mob.filter(pl.col("time") == t_last)
    for name in ("all", "A", "B"):
        v = mu["mobility"].to_numpy() if name == "all" else mu.filter(pl.col("species") == name)["mobility"].to_numpy()
        edges = np.asarray(gr.params(h)["edges"])
        ref, _ = np.histogram(v, bins=edges, density=True)
        g = h.filter(pl.col("species") == name).sort("bin")
        np.testing.assert_allclose(g["p"].to_numpy(), ref, rtol=1e-12)
        assert np.sum(g["p"].to_numpy() * np.diff(edges)) == pytest.approx(1.0, rel=1e-12)
    assert h["ci_low"].is_nan().all()          # one configuration: no interval
    # P(log10 τ_α,j): frozen particles never relax and are dropped (counted)
    tau = I.tau_alpha(mob)
    ht = I.histogram(tau, "tau_alpha", bins=8, log10=True)
    v = tau["tau_alpha"].to_numpy()
    ok = np.isfinite(v)
    ref, _ = np.histogram(np.log10(v[ok]), bins=np.asarray(gr.params(ht)["edges"]), density=True)
    np.testing.assert_allclose(ht.filter(pl.col("species") == "all").sort("bin")["p"].to_numpy(), ref, rtol=1e-12)
    assert ht.filter(pl.col("species") == "all")["n_dropped"][0] == int((~ok).sum()) > 0
    # several configurations: percentile bootstrap over them brackets the estimate
    two = pl.concat([tau.with_columns(pl.lit(c).alias("config")) for c in range(3)])
    hb = I.histogram(two, "tau_alpha", bins=8, log10=True)
    assert hb["n_units"].unique().to_list() == [3]
    assert (hb["ci_low"] <= hb["p"] + 1e-12).all() and (hb["ci_high"] >= hb["p"] - 1e-12).all()
