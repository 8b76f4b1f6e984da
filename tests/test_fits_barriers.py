"""Paper 000's derived results (definitions §5.3): the macroscopic barrier chain (VFT, γ, ΔE^ma,
A′, B′, A, B, −B′/A′ = γT_VFT, VFT in the SOP) and the microscopic A, B from P_R barriers —
on exact synthetic data with known parameters and against independent scipy/numpy fits."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy.optimize import curve_fit

import glassrs as gr

K, TV, LN0, G, S0 = 0.277, 0.317, -1.2, 0.045, 0.012
TS = np.array([0.6, 0.65, 0.7, 0.8, 0.9, 1.0, 1.2])


def _data(noise=0.0, n_cfg=6, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for T in TS:
        for c in range(n_cfg):
            tau = np.exp(LN0 + TV / (K * (T - TV))) * np.exp(noise * rng.normal())
            sop = S0 + G * T + 0.02 * noise * rng.normal()
            rows.append({"T": T, "config": c, "tau_alpha": tau, "sop_macro": sop})
    return pl.DataFrame(rows)


def _p(res):
    return dict(zip(res.parameters["parameter"], res.parameters["value"]))


def test_exact_vft_data_gives_the_paper_relations():
    res = gr.fits.macroscopic_barriers(_data(), n_boot=0)
    p = _p(res)
    assert p["K_VFT"] == pytest.approx(K, rel=1e-6) and p["T_VFT"] == pytest.approx(TV, rel=1e-6)
    assert p["gamma"] == pytest.approx(G, rel=1e-10) and p["sop0"] == pytest.approx(S0, rel=1e-8)
    # Eq. 22 holds exactly for VFT data: A′ = K/T_VFT, B′ = −γK, −B′/A′ = γT_VFT
    assert p["A_prime"] == pytest.approx(K / TV, rel=1e-5)
    assert p["B_prime"] == pytest.approx(-G * K, rel=1e-5)
    assert p["minus_B_prime_over_A_prime"] == pytest.approx(G * TV, rel=1e-5)
    # Eq. 17: VFT in Δ((βΦ)⁻¹) = γT has the same fragility and Δ_VFT = γT_VFT
    assert p["K_VFT_sop"] == pytest.approx(K, rel=1e-5)
    assert p["delta_sop_VFT"] == pytest.approx(G * TV, rel=1e-5)
    b = res.barriers.sort("T")
    np.testing.assert_allclose(b["delta_e_ma"].to_numpy(), TV * TS / (K * (TS - TV)), rtol=1e-5)
    np.testing.assert_allclose(b["y_T"].to_numpy(), b["x_T"].to_numpy(), rtol=1e-6)      # master plot y = x
    np.testing.assert_allclose(b["y_sop"].to_numpy(), b["x_sop"].to_numpy(), rtol=1e-6)


def test_noisy_data_vs_scipy_and_intervals():
    d = _data(noise=0.15, seed=1)
    res = gr.fits.macroscopic_barriers(d, n_boot=300, seed=2)
    p = _p(res)
    m = d.group_by("T").agg(pl.col("tau_alpha").mean(), pl.col("sop_macro").mean()).sort("T")
    T, tau, sop = m["T"].to_numpy(), m["tau_alpha"].to_numpy(), m["sop_macro"].to_numpy()
    f = lambda T, a, k, t0: a + t0 / (k * (T - t0))  # noqa: E731
    (a, k, t0), _ = curve_fit(f, T, np.log(tau), p0=[-1, 0.3, 0.3], maxfev=20000)
    assert p["K_VFT"] == pytest.approx(k, rel=1e-5) and p["T_VFT"] == pytest.approx(t0, rel=1e-5)
    g, s0 = np.polyfit(T, sop, 1)
    assert p["gamma"] == pytest.approx(g, rel=1e-9)
    de = T * (np.log(tau) - a)
    bp, ap = np.polyfit(1 / (sop - s0), 1 / de, 1)
    assert p["A_prime"] == pytest.approx(ap, rel=1e-4) and p["B_prime"] == pytest.approx(bp, rel=1e-4)
    b, a_ = np.polyfit(1 / (sop - s0), de, 1)
    assert p["A"] == pytest.approx(a_, rel=1e-4) and p["B"] == pytest.approx(b, rel=1e-4)
    t = res.parameters
    assert set(t["unit"]) == {"configurations"} and t["n_units"][0] == len(TS) * 6
    row = t.filter(pl.col("parameter") == "K_VFT").row(0, named=True)
    assert row["ci_low"] < K < row["ci_high"]
    row = t.filter(pl.col("parameter") == "gamma").row(0, named=True)
    assert row["ci_low"] < G < row["ci_high"]
    bt = res.barriers
    assert (bt["ci_low"] < bt["delta_e_ma"]).all() and (bt["delta_e_ma"] < bt["ci_high"]).all()


def test_intervals_match_a_hand_written_joint_bootstrap():
    """The documented resampling: one generator from the seed and the τ_α column, per T in
    ascending order n_boot resamples of its configurations, the same indices for τ_α and the SOP.
    γ (a line) is compared to 1e-9, K_VFT (a nonlinear refit) to 1 % of the interval; and the τ_α
    resamples are those of glassrs.uncertainty.vft / apparent_barriers with the same seed."""
    from glassrs import uncertainty as U
    from glassrs.campaign import reduce as R

    d = _data(noise=0.15, seed=3)
    n_boot, level = 200, 0.9
    res = gr.fits.macroscopic_barriers(d, n_boot=n_boot, level=level, seed=4)
    assert (res.parameters["n_failed"] == 0).all()
    rng = R._rng(4, ("vft", "tau_alpha"))
    tau_b, sop_b = [], []
    for T in TS:
        sub = d.filter(pl.col("T") == T).sort("config")
        t, s = sub["tau_alpha"].to_numpy(), sub["sop_macro"].to_numpy()
        idx = rng.integers(0, len(t), (n_boot, len(t)))
        tau_b.append(t[idx].mean(axis=1))
        sop_b.append(s[idx].mean(axis=1))
    tau_b, sop_b = np.column_stack(tau_b), np.column_stack(sop_b)
    q = [(1 - level) / 2, (1 + level) / 2]
    g = np.array([np.polyfit(TS, y, 1)[0] for y in sop_b])
    row = res.parameters.filter(pl.col("parameter") == "gamma").row(0, named=True)
    np.testing.assert_allclose([row["ci_low"], row["ci_high"]], np.quantile(g, q), rtol=1e-9)
    f = lambda T, a, k, t0: a + t0 / (k * (T - t0))  # noqa: E731
    p = [_p(res)[k] for k in ("ln_tau0", "K_VFT", "T_VFT")]
    kv = np.array([curve_fit(f, TS, np.log(y), p0=p, maxfev=20000)[0][1] for y in tau_b])
    lo, hi = np.quantile(kv, q)
    row = res.parameters.filter(pl.col("parameter") == "K_VFT").row(0, named=True)
    assert abs(row["ci_low"] - lo) < 0.01 * (hi - lo) and abs(row["ci_high"] - hi) < 0.01 * (hi - lo)
    v = U.vft(d, n_boot=n_boot, level=level, seed=4).filter(pl.col("parameter") == "K_VFT").row(0, named=True)
    assert v["n_failed"] == 0
    assert v["ci_low"] == pytest.approx(row["ci_low"], rel=1e-6) and v["ci_high"] == pytest.approx(row["ci_high"], rel=1e-6)
    ab = U.apparent_barriers(d, n_boot=n_boot, level=level, seed=4)
    np.testing.assert_allclose(ab["ci_low"].to_numpy(), res.barriers["ci_low"].to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(ab["ci_high"].to_numpy(), res.barriers["ci_high"].to_numpy(), rtol=1e-6)
    assert set(res.barriers["unit"]) == {"configurations"}


def test_single_unit_has_no_interval():
    res = gr.fits.macroscopic_barriers(_data(n_cfg=1), n_boot=50)
    assert res.parameters["ci_low"].is_nan().all()
    assert "single configuration" in res.parameters["warning"][0]


def _micro_data(A=1.0, B=0.02, s0=0.01, P0=3.0, n=120_000, seed=0):
    """Per T, particles with X on 8 discrete values (the bin centres), rearranging with probability
    P0 exp(−ΔE(X)/T), ΔE = A + B/(X − s0); 4 configurations."""
    rng = np.random.default_rng(seed)
    centres = np.linspace(0.022, 0.05, 8)
    h = (centres[1] - centres[0]) / 2
    edges = np.r_[centres - h, centres[-1] + h]
    data = {}
    for T in (0.5, 0.6, 0.7, 0.8):
        xv = rng.choice(centres, n)
        pr = P0 * np.exp(-(A + B / (xv - s0)) / T)
        r = rng.random(n) < pr
        data[T] = pl.DataFrame({"species": "A", "sop": xv, "phop": np.where(r, 2.0, 0.0),
                                "config": np.arange(n) % 4})
    return data, edges, centres


def test_microscopic_barriers_recover_known_A_B():
    data, edges, centres = _micro_data()
    res = gr.isoconf.microscopic_barriers(data, "sop", sop0=0.01, T_VFT=0.317, p_c=1.0, bins=edges, n_boot=60)
    p = dict(zip(res.parameters["parameter"], res.parameters.iter_rows(named=True)))
    for name, true in (("A", 1.0), ("B", 0.02)):
        r = p[name]
        assert abs(r["value"] - true) < 4 * r["stderr"], r
        assert r["ci_low"] < true < r["ci_high"], r
    assert p["B_over_A"]["value"] == pytest.approx(p["B"]["value"] / p["A"]["value"], rel=1e-12)
    assert res.parameters["unit"][0] == "configurations"
    # the line against an independent weighted numpy fit of the Arrhenius barriers
    f = res.pr.fits
    x = 1 / (f["x_mid"].to_numpy() - 0.01)
    w = 1 / f["delta_e_err"].to_numpy()
    b, a = np.polyfit(x, f["delta_e"].to_numpy(), 1, w=w)
    assert p["A"]["value"] == pytest.approx(a, rel=1e-9) and p["B"]["value"] == pytest.approx(b, rel=1e-9)


def test_microscopic_sop0_from_the_mean_line():
    data, edges, _ = _micro_data(n=20_000)
    res = gr.isoconf.microscopic_barriers(data, "sop", p_c=1.0, bins=edges, n_boot=0)
    T = np.array(sorted(data))
    m = [data[t]["sop"].mean() for t in T]
    g, s0 = np.polyfit(T, m, 1)
    p = dict(zip(res.parameters["parameter"], res.parameters["value"]))
    assert p["sop0"] == pytest.approx(s0, rel=1e-9) and p["gamma_prime"] == pytest.approx(g, rel=1e-9)
