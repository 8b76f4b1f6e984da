"""Time evolution of a per-particle structural field (definitions §4.7): C_S(t), the propagator
G(S, S0, t), ⟨S(t)⟩_{S0} and P(S|R) — against straightforward numpy loops and exact cases."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import glassrs as gr
from _dynamics_data import random_walk

I = gr.isoconf
STEPS = np.array([0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144]) * 100   # uneven (log-like) schedule


def _field_table(X, types, species=("A", "B")):
    F, N = X.shape
    return pl.DataFrame({"frame": np.repeat(np.arange(F), N), "particle": np.tile(np.arange(N), F),
                         "species": [species[t] for t in np.tile(types, F)], "s": X.ravel()})


def _ref_c(X, t, sel):
    """Loop over all frame pairs: np.corrcoef, averaged per lag."""
    acc = {}
    for a in range(len(t)):
        for b in range(a, len(t)):
            r = np.corrcoef(X[a, sel], X[b, sel])[0, 1]
            acc.setdefault(round(t[b] - t[a], 9), []).append(r)
    return {k: np.mean(v) for k, v in acc.items()}


def test_autocorrelation_vs_numpy():
    rng = np.random.default_rng(1)
    F, N = len(STEPS), 120
    types = (np.arange(N) % 5 == 0).astype(int)
    base = rng.normal(size=N)
    X = np.array([base * np.exp(-k / 6) + rng.normal(size=N) * np.sqrt(1 - np.exp(-k / 3)) for k in range(F)])
    t = STEPS * 0.005
    tab = I.autocorrelation(_field_table(X, types), "s", times=t)
    for name, sel in [("all", np.ones(N, bool)), ("A", types == 0), ("B", types == 1)]:
        ref = _ref_c(X, t, sel)
        got = tab.filter(pl.col("species") == name).sort("lag")
        assert got.height == len(ref)
        np.testing.assert_allclose(got["c"].to_numpy(), [ref[k] for k in sorted(ref)], rtol=0, atol=1e-12)
    assert gr.params(tab)["unit"] == "time blocks of origins"


def test_autocorrelation_with_missing_values_vs_numpy():
    rng = np.random.default_rng(2)
    F, N = 6, 50
    X = rng.normal(size=(F, N)) + rng.normal(size=N)
    X[rng.random((F, N)) < 0.1] = np.nan
    tab = I.autocorrelation(_field_table(X, np.zeros(N, int)), "s")
    acc = {}
    for a in range(F):
        for b in range(a, F):
            m = np.isfinite(X[a]) & np.isfinite(X[b])
            acc.setdefault(b - a, []).append(np.corrcoef(X[a, m], X[b, m])[0, 1])
    got = tab.filter(pl.col("species") == "all").sort("lag")
    np.testing.assert_allclose(got["c"].to_numpy(), [np.mean(acc[k]) for k in sorted(acc)], atol=1e-12)


def test_frozen_field_is_one_and_reshuffled_field_decorrelates():
    rng = np.random.default_rng(3)
    F, N = 30, 400
    base = rng.gamma(2.0, size=N)
    frozen = np.tile(base, (F, 1))
    tab = I.autocorrelation(_field_table(frozen, np.zeros(N, int)), "s")
    np.testing.assert_allclose(tab["c"].to_numpy(), 1.0, atol=1e-12)
    shuffled = np.array([rng.permutation(base) for _ in range(F)])
    tab = I.autocorrelation(_field_table(shuffled, np.zeros(N, int)), "s").filter(pl.col("lag") > 0)
    # independent permutations: every frame pair has E r = 0 and Var r = 1/(N − 1), and the pairs
    # at one lag are uncorrelated, so the origin average has standard deviation 1/√((N − 1) n_origins)
    bound = 4.0 / np.sqrt((N - 1) * tab["n_origins"].to_numpy())
    assert np.all(np.abs(tab["c"].to_numpy()) < bound)
    # several configurations: one value per configuration, mean and interval over them
    multi = pl.concat([_field_table(shuffled, np.zeros(N, int)).with_columns(pl.lit(c).alias("config"))
                       for c in range(3)])
    m = I.autocorrelation(multi, "s")
    assert gr.params(m)["unit"] == "configurations" and set(m["n_units"].to_list()) == {3}


def _ref_propagator(X, u, frames_t, s0_edges, edges, dmax, path):
    """Straightforward loops: per origin/target pair, particles that stayed within dmax."""
    F = len(frames_t)
    out, sums = {}, {}
    for a in range(F):
        for b in range(a + 1, F):
            lag = round(frames_t[b] - frames_t[a], 9)
            for i in range(X.shape[1]):
                if path == "max":
                    d = max(np.linalg.norm(u[s, i] - u[a, i]) for s in range(a, b + 1))
                else:
                    d = np.linalg.norm(u[b, i] - u[a, i])
                if not d < dmax:
                    continue
                b0 = np.searchsorted(s0_edges, X[a, i], side="right") - 1
                b0 = min(b0, len(s0_edges) - 2)
                b1 = min(np.searchsorted(edges, X[b, i], side="right") - 1, len(edges) - 2)
                out.setdefault(lag, np.zeros((len(s0_edges) - 1, len(edges) - 1)))[b0, b1] += 1
                s = sums.setdefault(lag, np.zeros((2, len(s0_edges) - 1)))
                s[0, b0] += X[b, i]
                s[1, b0] += 1
    return out, sums


@pytest.mark.parametrize("path", ["max", "end"])
def test_propagator_vs_loops(path):
    traj, u = random_walk(n=40, n_frames=8, length=5.0, sigma=0.15, seed=4, store="images")
    rng = np.random.default_rng(5)
    X = rng.normal(size=(8, 40)).cumsum(axis=0)
    tab = _field_table(X, traj.types)
    pr = I.propagator(tab, "s", traj, s0_bins=4, bins=6, path=path)
    p = gr.params(pr.g)
    ref, sums = _ref_propagator(X, u, traj.times, np.asarray(p["s0_edges"]), np.asarray(p["edges"]), 0.5, path)
    g = pr.g.filter(pl.col("species") == "all")
    for lag, h in ref.items():
        sub = g.filter((pl.col("lag") - lag).abs() < 1e-9).sort("s0_bin", "bin")
        np.testing.assert_array_equal(sub["count"].to_numpy().reshape(h.shape), h)
        w = np.diff(np.asarray(p["edges"]))
        with np.errstate(invalid="ignore"):
            np.testing.assert_allclose(sub["g"].to_numpy().reshape(h.shape), h / (h.sum(1, keepdims=True) * w),
                                       rtol=1e-12)
        mm = pr.mean.filter((pl.col("species") == "all") & ((pl.col("lag") - lag).abs() < 1e-9)).sort("s0_bin")
        with np.errstate(invalid="ignore"):
            np.testing.assert_allclose(mm["mean_s"].to_numpy(), sums[lag][0] / sums[lag][1], rtol=1e-12)
        np.testing.assert_array_equal(mm["n"].to_numpy(), sums[lag][1])
    # a frozen field that nobody leaves: ⟨S(t)⟩_{S0} stays inside its S0 bin
    still = I.propagator(_field_table(np.tile(X[0], (8, 1)), traj.types), "s", traj, s0_bins=4, bins=6,
                         max_displacement=100.0)
    mm = still.mean.filter(pl.col("n") > 0)
    assert ((mm["mean_s"] >= mm["s0_low"]) & (mm["mean_s"] <= mm["s0_high"])).all()


def test_conditional_distribution_vs_numpy():
    rng = np.random.default_rng(6)
    n = 3000
    s = rng.normal(size=n)
    phop = rng.exponential(size=n) * np.exp(s)           # soft particles rearrange more often
    tab = pl.DataFrame({"species": np.where(np.arange(n) % 5 == 0, "B", "A"), "s": s, "phop": phop,
                        "config": np.arange(n) % 4})
    out = I.conditional_distribution(tab, "s", p_c=2.0, bins=15)
    edges = np.asarray(gr.params(out)["edges"])
    a = out.filter(pl.col("species") == "all").sort("bin")
    np.testing.assert_allclose(a["p_all"].to_numpy(), np.histogram(s, edges, density=True)[0], rtol=1e-12)
    np.testing.assert_allclose(a["p_rearranging"].to_numpy(), np.histogram(s[phop > 2], edges, density=True)[0],
                               rtol=1e-12)
    assert (a["x_mid"] * a["p_rearranging"]).sum() > (a["x_mid"] * a["p_all"]).sum()
    assert gr.params(out)["fraction_above_peak"]["all"] > 0.5
    assert a["n_units"].unique().to_list() == [4]
