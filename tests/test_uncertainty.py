"""Intervals outside campaigns (glassrs.uncertainty): γ, γ′, VFT of τ_α with scatter, ΔE^ma(T),
κ(T_p)/G(T_p). Each against an independent numpy/scipy computation — a hand-written percentile
bootstrap over the same resamples (the documented seed rule: one generator per result, drawn
temperature by temperature), scipy.stats.bootstrap, or the coverage of a known truth over many
repetitions — and on glassrs's embedded Kob–Andersen series."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy import optimize, stats

import glassrs as gr
from glassrs import uncertainty as U
from glassrs.campaign import reduce as R


def _hand_resampled_means(arrays, n_boot, rng):
    """(n_boot, n_T): per T in ascending order, n_boot resamples of its units with replacement."""
    cols = []
    for a in arrays:
        idx = rng.integers(0, len(a), (n_boot, len(a)))
        cols.append(a[idx].mean(axis=1))
    return np.column_stack(cols)


def _sop_table(seed=0, n_units=6, temps=(0.6, 0.7, 0.8, 0.9, 1.0), gamma=0.045, gp=0.038, noise=0.002,
               particles=0):
    rng = np.random.default_rng(seed)
    rj = np.random.default_rng(seed + 12345)  # the particles' scatter: its own stream
    rows = []
    for T in temps:
        for c in range(n_units):
            e = rng.normal(0, noise)
            m = 0.02 + gamma * T + e
            p = 0.06 + gp * T + e + rng.normal(0, noise)
            k = max(particles, 1)
            jit = rj.normal(0, 10 * noise, k) if particles else np.zeros(1)
            jit -= jit.mean()  # rows of one unit (particles) scatter about the unit's value
            for j in jit:
                rows.append({"T": T, "config": c, "species": "all", "sop_macro": m + j, "sop_mean": p - j})
    return pl.DataFrame(rows)


# ----------------------------------------------------------------------------- γ, γ′
def test_gamma_matches_a_hand_written_bootstrap():
    df = _sop_table()
    n_boot, level = 500, 0.9
    got = U.gamma(df, n_boot=n_boot, level=level, seed=3)
    assert set(got["unit"]) == {"configurations"} and (got["level"] == level).all()
    for col, name in (("sop_macro", "gamma"), ("sop_mean", "gamma_prime")):
        temps = np.sort(df["T"].unique().to_numpy())
        arrays = [df.filter(pl.col("T") == t).sort("config")[col].to_numpy() for t in temps]
        means = np.array([a.mean() for a in arrays])
        slope, icpt = np.polyfit(temps, means, 1)
        M = _hand_resampled_means(arrays, n_boot, R._rng(3, ("gamma", col)))
        slopes = np.array([np.polyfit(temps, m, 1)[0] for m in M])
        lo, hi = np.quantile(slopes, [0.05, 0.95])
        row = got.filter(pl.col("parameter") == name).row(0, named=True)
        assert row["value"] == pytest.approx(slope, rel=1e-12)
        assert row["ci_low"] == pytest.approx(lo, rel=1e-10) and row["ci_high"] == pytest.approx(hi, rel=1e-10)
        assert row["n_units"] == 30 and row["n_temperatures"] == 5
        r0 = got.filter(pl.col("parameter") == f"{name}_intercept").row(0, named=True)
        assert r0["value"] == pytest.approx(icpt, rel=1e-12)


def test_gamma_never_resamples_the_rows_of_one_unit():
    """100 rows (particles) per configuration give exactly the interval of one row each; a
    particle-level resampling would be √100 times narrower."""
    one = U.gamma(_sop_table(particles=0), n_boot=300, seed=1)
    many = U.gamma(_sop_table(particles=100), n_boot=300, seed=1)
    for c in ("value", "ci_low", "ci_high"):
        np.testing.assert_allclose(many[c].to_numpy(), one[c].to_numpy(), rtol=1e-9)
    assert (many["n_units"] == 30).all()


def test_gamma_interval_covers_the_true_slope_at_its_rate():
    """Analytic case: SOP = a + γT + N(0, s²) per unit; the 90 % interval covers γ in about 90 % of
    400 independent data sets (percentile intervals with 10 units per T run a little narrow)."""
    hits = 0
    reps = 400
    for k in range(reps):
        df = _sop_table(seed=100 + k, n_units=10, gamma=0.045, noise=0.003)
        r = U.gamma(df, columns=["sop_macro"], n_boot=400, level=0.9, seed=k)
        row = r.filter(pl.col("parameter") == "gamma").row(0, named=True)
        hits += row["ci_low"] <= 0.045 <= row["ci_high"]
    rate = hits / reps
    assert 0.82 <= rate <= 0.95, rate  # binomial sd 0.015 around ≈ 0.88


def test_gamma_single_unit_and_errors():
    df = _sop_table(n_units=1)
    r = U.gamma(df, n_boot=50)
    assert r["ci_low"].is_nan().all() and "single configuration" in r["warning"][0]
    with pytest.raises(ValueError, match="no unit column"):
        U.gamma(df.drop("config"))
    with pytest.raises(ValueError, match="unit column.*'run'"):
        U.gamma(df, unit="run")
    with pytest.raises(ValueError, match="column 'T'"):
        U.gamma(df.drop("T"))
    with pytest.raises(ValueError, match="species 'B'"):
        U.gamma(df, species="B")


# ----------------------------------------------------------------------------- VFT, ΔE^ma
_TRUE = {"ln_tau0": -0.5, "K_VFT": 0.35, "T_VFT": 0.33}


def _tau(T):
    return np.exp(_TRUE["ln_tau0"] + _TRUE["T_VFT"] / (_TRUE["K_VFT"] * (T - _TRUE["T_VFT"])))


def _tau_table(seed=0, n_units=5, temps=(0.5, 0.55, 0.6, 0.7, 0.8, 1.0), rel=0.08, unit="block"):
    rng = np.random.default_rng(seed)
    return {T: pl.DataFrame({unit: np.arange(n_units), "species": "all",
                             "tau_alpha": _tau(T) * np.exp(rng.normal(0, rel, n_units))}) for T in temps}


def _hand_vft(data, n_boot, seed, key=("vft", "tau_alpha")):
    temps = np.array(sorted(data))
    arrays = [data[t]["tau_alpha"].to_numpy() for t in temps]  # blocks in order 0..n-1
    f = lambda T, a, K, T0: a + T0 / (K * (T - T0))  # noqa: E731
    p, _ = optimize.curve_fit(f, temps, np.log([a.mean() for a in arrays]), p0=[0.0, 0.3, 0.3], maxfev=20000)
    M = _hand_resampled_means(arrays, n_boot, R._rng(seed, key))
    draws, rows = [], []
    for m in M:
        q, _ = optimize.curve_fit(f, temps, np.log(m), p0=p, maxfev=20000)
        if q[2] < temps.min():
            draws.append(q)
            rows.append(m)
    return temps, arrays, p, np.array(draws), np.array(rows)


def test_vft_propagates_the_scatter_of_tau_like_scipy():
    data = _tau_table()
    n_boot = 200
    got = U.vft(data, n_boot=n_boot, level=0.9, seed=5)
    assert set(got["unit"]) == {"time blocks"} and (got["level"] == 0.9).all()
    temps, arrays, p, draws, _ = _hand_vft(data, n_boot, 5)
    for k, name in enumerate(("ln_tau0", "K_VFT", "T_VFT")):
        row = got.filter(pl.col("parameter") == name).row(0, named=True)
        assert row["value"] == pytest.approx(p[k], rel=1e-5, abs=1e-7)
        lo, hi = np.quantile(draws[:, k], [0.05, 0.95])
        w = hi - lo
        assert abs(row["ci_low"] - lo) < 0.01 * w and abs(row["ci_high"] - hi) < 0.01 * w
        assert row["n_failed"] == n_boot - len(draws)
        assert row["ci_low"] <= row["value"] <= row["ci_high"]
    # more scatter in τ_α → a wider interval on the parameters
    wide = U.vft(_tau_table(rel=0.25), n_boot=n_boot, level=0.9, seed=5)
    w0 = got.filter(pl.col("parameter") == "T_VFT").select(pl.col("ci_high") - pl.col("ci_low")).item()
    w1 = wide.filter(pl.col("parameter") == "T_VFT").select(pl.col("ci_high") - pl.col("ci_low")).item()
    assert w1 > 2 * w0


def test_vft_curve_band_is_that_of_the_hand_written_refits():
    data = _tau_table(seed=1)
    res = U.vft_fit(data, n_boot=200, level=0.9, seed=5)
    assert res.parameters.equals(U.vft(data, n_boot=200, level=0.9, seed=5))
    temps, arrays, p, draws, _ = _hand_vft(data, 200, 5)
    Tg = np.linspace(temps.min(), temps.max(), 7)
    c = res.curve(Tg)
    assert set(c["unit"]) == {"time blocks"} and (c["level"] == 0.9).all()
    ln = lambda q, T: q[..., :1] + q[..., 2:] / (q[..., 1:2] * (T - q[..., 2:]))  # noqa: E731
    np.testing.assert_allclose(np.log(c["tau"].to_numpy()), ln(p[None, :], Tg)[0], rtol=1e-5, atol=1e-6)
    lo, hi = np.quantile(ln(draws, Tg[None, :]), [0.05, 0.95], axis=0)
    w = hi - lo
    assert np.all(np.abs(np.log(c["ci_low"].to_numpy()) - lo) < 0.01 * w)
    assert np.all(np.abs(np.log(c["ci_high"].to_numpy()) - hi) < 0.01 * w)
    assert (c["ci_low"] < c["tau"]).all() and (c["tau"] < c["ci_high"]).all()
    assert res.curve().height == 100


def test_apparent_barriers_follow_the_same_resamples():
    data = _tau_table(seed=2)
    got = U.apparent_barriers(data, n_boot=200, level=0.9, seed=7)
    temps, arrays, p, draws, rows = _hand_vft(data, 200, 7)
    means = np.array([a.mean() for a in arrays])
    np.testing.assert_allclose(got["T"].to_numpy(), temps)
    np.testing.assert_allclose(got["delta_e_ma"].to_numpy(), temps * (np.log(means) - p[0]), rtol=1e-5)
    D = temps[None, :] * (np.log(rows) - draws[:, :1])
    lo, hi = np.quantile(D, [0.05, 0.95], axis=0)
    w = hi - lo
    assert np.all(np.abs(got["ci_low"].to_numpy() - lo) < 0.01 * w)
    assert np.all(np.abs(got["ci_high"].to_numpy() - hi) < 0.01 * w)
    tlo, thi = np.quantile(rows, [0.05, 0.95], axis=0)
    np.testing.assert_allclose(got["tau_ci_low"].to_numpy(), tlo, rtol=1e-10)
    np.testing.assert_allclose(got["tau_ci_high"].to_numpy(), thi, rtol=1e-10)
    assert set(got["unit"]) == {"time blocks"} and (got["n_units"] == 5).all()
    # the exact barrier of the generating law lies in most intervals
    exact = temps * (np.log(_tau(temps)) - _TRUE["ln_tau0"])
    assert np.mean((got["ci_low"].to_numpy() <= exact) & (exact <= got["ci_high"].to_numpy())) >= 0.5


def test_vft_few_temperatures_warns():
    data = {T: v for T, v in _tau_table().items() if T in (0.55, 0.6, 0.8, 1.0)}
    r = U.vft(data, n_boot=50)
    assert "1 degree of freedom" in r["warning"][0]


def test_macroscopic_barriers_record_unit_and_level():
    rng = np.random.default_rng(0)
    rows = []
    for T in (0.5, 0.55, 0.6, 0.7, 0.8, 1.0):
        for b in range(4):
            rows.append({"T": T, "block": b, "tau_alpha": float(_tau(T) * np.exp(rng.normal(0, 0.05))),
                         "sop_macro": 0.01 + 0.045 * T + rng.normal(0, 5e-4)})
    res = gr.fits.macroscopic_barriers(pl.DataFrame(rows), unit="block", n_boot=100, level=0.9)
    for t in (res.parameters, res.barriers):
        assert set(t["unit"]) == {"time blocks"} and (t["level"] == 0.9).all()
    ap = res.parameters.filter(pl.col("parameter") == "A_prime").row(0, named=True)
    assert ap["ci_low"] <= ap["value"] <= ap["ci_high"]


# ----------------------------------------------------------------------------- κ(T_p), G(T_p)
def test_elastic_means_match_scipy_bootstrap():
    rng = np.random.default_rng(4)
    data = {Tp: pl.DataFrame({"structure": np.arange(40), "kappa_mean": rng.normal(30 + 10 * Tp, 2.0, 40),
                              "G": rng.normal(15 - 3 * Tp, 1.0, 40)}) for Tp in (0.6, 0.8, 1.0)}
    got = U.elastic(data, n_boot=20000, level=0.9, seed=1)
    assert set(got["unit"]) == {"inherent structures"} and (got["level"] == 0.9).all()
    for Tp, df in data.items():
        for q, col in (("kappa", "kappa_mean"), ("G", "G")):
            v = df[col].to_numpy()
            ref = stats.bootstrap((v,), np.mean, confidence_level=0.9, n_resamples=20000, method="percentile",
                                  random_state=np.random.default_rng(9)).confidence_interval
            row = got.filter((pl.col("T") == Tp) & (pl.col("quantity") == q)).row(0, named=True)
            w = ref.high - ref.low
            assert row["mean"] == pytest.approx(v.mean(), rel=1e-12) and row["n_units"] == 40
            assert abs(row["ci_low"] - ref.low) < 0.05 * w and abs(row["ci_high"] - ref.high) < 0.05 * w


def test_elastic_interval_covers_the_mean_at_its_rate():
    """CI of the mean of 30 normal draws: the 90 % interval covers the true mean ≈ 89 % of the time."""
    rng = np.random.default_rng(11)
    reps, hits = 400, 0
    for k in range(reps):
        df = pl.DataFrame({"T": 0.7, "config": np.arange(30), "G": rng.normal(12.0, 2.0, 30),
                           "kappa": rng.normal(40.0, 5.0, 30)})
        r = U.elastic(df, quantities=["G"], n_boot=500, level=0.9, seed=k).row(0, named=True)
        hits += r["ci_low"] <= 12.0 <= r["ci_high"]
    assert 0.84 <= hits / reps <= 0.95, hits / reps


def test_elastic_errors():
    df = pl.DataFrame({"T": [0.6, 0.6], "config": [0, 1], "G": [1.0, 2.0]})
    with pytest.raises(ValueError, match=r"no column\(s\) \['kappa'\]"):
        U.elastic(df)
    with pytest.raises(TypeError, match="polars DataFrame"):
        U.elastic({0.6: [1.0, 2.0]})


# ----------------------------------------------------------------------------- embedded KA series
@pytest.fixture(scope="module")
def ka():
    return {T: gr.datasets.kob_andersen(T, progress=False) for T in (1.0, 0.8, 0.7, 0.6)}


def test_sop_blocks_are_local_on_the_block_frames(ka):
    traj = ka[0.8]
    w = gr.structure.trajectory_windows(traj, frames=np.arange(0, len(traj), 10))
    b = gr.structure.sop_blocks(traj, T=0.8, n_blocks=3, stride=10, windows=w)
    assert b["block"].to_list() == [0, 1, 2] and b["n_frames"].sum() == len(range(0, len(traj), 10))
    frames = np.arange(0, len(traj), 10)
    blk = (np.arange(len(frames)) * 3) // len(frames)
    loc = gr.structure.local(traj, T=0.8, windows=w, frames=frames[blk == 1])
    row = b.row(1, named=True)
    assert row["sop_mean"] == pytest.approx(loc["sop"].mean(), rel=1e-12)
    assert row["sop_macro"] == pytest.approx(gr.params(loc)["sop_macro"], rel=1e-12)
    assert row["sop_inv_mean_depth"] == pytest.approx(1 / loc["beta_phi"].abs().mean(), rel=1e-12)
    with pytest.raises(ValueError, match="n_blocks ≥ 2"):
        gr.structure.sop_blocks(traj, n_blocks=1)


def test_gamma_and_vft_of_the_embedded_series_over_time_blocks(ka):
    w = gr.structure.trajectory_windows(ka[0.6], frames=np.arange(0, len(ka[0.6]), 10))
    sops = {T: gr.structure.sop_blocks(t, T=T, n_blocks=4, stride=10, windows=w) for T, t in ka.items()}
    g = U.gamma(sops, n_boot=500)
    assert set(g["unit"]) == {"time blocks"} and (g["n_units"] == 16).all()
    row = g.filter(pl.col("parameter") == "gamma").row(0, named=True)
    assert row["ci_low"] < row["value"] < row["ci_high"]
    # the point value is the fit of the block means, not of anything else
    T = np.array(sorted(sops))
    m = np.array([sops[t]["sop_macro"].mean() for t in T])
    assert row["value"] == pytest.approx(np.polyfit(T, m, 1)[0], rel=1e-10)
    assert 0.03 < row["value"] < 0.06
    rel = {T: gr.dynamics.relaxation_blocks(t, n_blocks=4) for T, t in ka.items()}
    v = U.vft(rel, n_boot=200)
    assert set(v["unit"]) == {"time blocks"} and "1 degree of freedom" in v["warning"][0]
    tv = v.filter(pl.col("parameter") == "T_VFT").row(0, named=True)
    assert 0 < tv["value"] < 0.6
