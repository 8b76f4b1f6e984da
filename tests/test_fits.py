"""definitions §5 fits vs scipy.stats.linregress and exact synthetic data."""

import numpy as np
import pytest
from scipy import stats as sps

import glassrs as gr


def test_linear_matches_linregress(rng):
    x = np.linspace(0.5, 1.5, 12)
    y = 0.3 + 0.045 * x + rng.normal(0, 0.002, x.size)
    r = gr.fits.linear(x, y)
    ref = sps.linregress(x, y)
    assert r["slope"] == pytest.approx(ref.slope, rel=1e-10)
    assert r["intercept"] == pytest.approx(ref.intercept, rel=1e-10)
    assert r.stderr["slope"] == pytest.approx(ref.stderr, rel=1e-6)
    assert r.stderr["intercept"] == pytest.approx(ref.intercept_stderr, rel=1e-6)
    np.testing.assert_allclose(r(x), ref.intercept + ref.slope * x, rtol=1e-10)


def test_arrhenius_and_vft_recover_exact_parameters():
    T = np.array([0.45, 0.47, 0.5, 0.55, 0.6, 0.7, 0.8, 1.0])
    tau = np.exp(-1.0 + 2.5 / T)
    a = gr.fits.arrhenius(T, tau)
    assert a["E"] == pytest.approx(2.5, rel=1e-9) and a["ln_tau0"] == pytest.approx(-1.0, abs=1e-9)
    ln_tau0, K, T0 = 0.2, 0.18, 0.3
    tau = np.exp(ln_tau0 + T0 / (K * (T - T0)))
    v = gr.fits.vft(T, tau)
    assert v["K_VFT"] == pytest.approx(K, rel=1e-6)
    assert v["T_VFT"] == pytest.approx(T0, rel=1e-6)
    assert v["ln_tau0"] == pytest.approx(ln_tau0, abs=1e-6)


def test_vft_bootstrap_interval_covers_truth(rng):
    T = np.linspace(0.45, 1.0, 14)
    ln_tau0, K, T0 = 0.2, 0.18, 0.3
    tau = np.exp(ln_tau0 + T0 / (K * (T - T0)) + rng.normal(0, 0.03, T.size))
    v = gr.fits.vft(T, tau, bootstrap=200, seed=1)
    lo, hi = v.ci["T_VFT"]
    assert lo < T0 < hi and hi - lo > 0
    assert v.stderr["T_VFT"] > 0
    t = v.to_polars()
    assert t["parameter"].to_list() == ["ln_tau0", "K_VFT", "T_VFT"]


def test_master_equation_and_mesoelastic():
    T = np.array([0.5, 0.6, 0.7, 0.8, 1.0, 1.2])
    S = 0.02 + 0.05 * T
    tau = np.exp(-0.5 + 1.2 / T + 0.03 / (T * S))
    m = gr.fits.master_equation(T, tau, S)
    assert m["C_prime"] == pytest.approx(1.2, rel=1e-8) and m["B_prime"] == pytest.approx(0.03, rel=1e-8)


def test_mesoelastic_uses_the_natural_log_and_recovers_the_ipl_values():
    """Synthetic τ_α = t̃ t0 exp[(ℓ̃ a0)² κ/T] with seed 003's IPL values (t̃, ℓ̃) = (0.1, 0.4)
    at ρ = 0.82: recovered exactly without noise, and inside the bootstrap interval with 5 %
    log-normal noise."""
    rho, t_t, l_t = 0.82, 0.1, 0.4
    a0 = rho ** (-1 / 3)
    T = np.array([0.45, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9])
    kappa = 20.0 + 12.0 * (0.9 - T)                   # κ grows on cooling
    t0 = a0 / np.sqrt(T)
    tau = t_t * t0 * np.exp((l_t * a0) ** 2 * kappa / T)
    me = gr.fits.mesoelastic(T, tau, kappa, density=rho)
    assert me["t_tilde"] == pytest.approx(t_t, rel=1e-10) and me["ell_tilde"] == pytest.approx(l_t, rel=1e-10)
    assert me["ln_t"] == pytest.approx(np.log(t_t), rel=1e-10)
    # base 10 would be wrong by √ln10 in ℓ̃: the fit is not base-10
    assert abs(me["ell_tilde"] - l_t / np.sqrt(np.log(10))) > 0.1
    noisy = tau * np.exp(0.05 * np.random.default_rng(4).standard_normal(len(T)))
    mn = gr.fits.mesoelastic(T, noisy, kappa, density=rho, bootstrap=2000, seed=1)
    for k, v in (("t_tilde", t_t), ("ell_tilde", l_t)):
        lo, hi = mn.ci[k]
        assert lo < v < hi, (k, lo, v, hi)
        assert mn.stderr[k] > 0
    with pytest.raises(ValueError, match="dim"):
        gr.fits.mesoelastic(T, tau, kappa, density=rho, dim=4)


def test_bad_fit_input():
    with pytest.raises(ValueError, match="non-finite"):
        gr.fits.linear([1, 2, np.nan], [1, 2, 3])
    with pytest.raises(ValueError, match="at least 3"):
        gr.fits.vft([1.0, 2.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="positive"):
        gr.fits.arrhenius([1.0, 2.0], [-1.0, 2.0])
