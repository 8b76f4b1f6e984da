"""Four-point structure factor S4(k, τ), χ4(k → 0) and ξ4 (definitions §3.11): against a direct
numpy sum, the k = 0 shell against χ4 of the correlations table, and ξ4 recovered from a synthetic
overlap field with a known Ornstein–Zernike correlation length."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import glassrs as gr
from _dynamics_data import random_walk

D = gr.dynamics

M, XI = 16, 2.0    # lattice sites per edge, OZ length (lattice spacings = σ)


def _oz_binary_field(rng, M=M, xi=XI):
    """A {0, 1} field on the M³ simple-cubic lattice whose covariance has exactly the spectrum
    χ0/(1 + (kξ)²) (up to the 0.15 % clipping below): threshold a Gaussian field φ at 0 — the
    covariance of Θ(φ) is arcsin(ρ)/(2π) for a unit-variance φ with correlation ρ — so choose
    ρ = sin(π f/2), f the normalised inverse transform of 1/(1 + k²ξ²)."""
    n = np.fft.fftfreq(M) * M
    k2 = (2 * np.pi / M) ** 2 * sum(g ** 2 for g in np.meshgrid(n, n, n, indexing="ij"))
    P = 1.0 / (1.0 + k2 * xi ** 2)
    f = np.real(np.fft.ifftn(P))
    f /= f.flat[0]
    spec = np.clip(np.real(np.fft.fftn(np.sin(np.pi * f / 2))), 0.0, None)
    phi = np.real(np.fft.ifftn(np.fft.fftn(rng.normal(size=(M, M, M))) * np.sqrt(spec)))
    return (phi > 0).ravel(), 1.0 / (4.0 * P.mean())


def _runs(n_runs, seed=0):
    rng = np.random.default_rng(seed)
    g = np.arange(M)
    sites = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3).astype(float)
    box = gr.Box.cube(float(M))
    types = np.zeros(len(sites), int)
    runs, chi0 = [], None
    for _ in range(n_runs):
        w, chi0 = _oz_binary_field(rng)
        d = rng.normal(size=sites.shape)
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        d *= np.where(w, 0.1, 0.6)[:, None]            # |Δr| ≤ a = 0.3 exactly where w = 1
        fr = [gr.Frame(positions=sites + 0.0, types=types, box=box, species=("A",), step=0),
              gr.Frame(positions=(sites + d) % M, types=types, box=box, species=("A",), step=100)]
        runs.append(gr.Trajectory.from_frames(fr, dt=0.01))
    return runs, chi0


def test_xi4_recovered_from_an_oz_overlap_field():
    runs, chi0 = _runs(40)
    tab = D.s4(runs, lags=1.0, k_max=1.6)
    assert gr.params(tab)["unit"] == "runs"
    res = D.xi4(tab.filter(pl.col("species") == "all"), k_fit_max=1.6, n_boot=300)
    r = res.row(0, named=True)
    # recovered within its standard error (3σ), and the error is informative (< 10 %)
    assert abs(r["xi4"] - XI) < 3 * r["xi4_stderr"], r
    assert r["xi4_stderr"] < 0.1 * XI
    assert r["xi4_ci_low"] < XI < r["xi4_ci_high"], r
    assert abs(r["chi4_0"] - chi0) < 3 * r["chi4_0_stderr"], (r, chi0)
    assert gr.params(res)["fit_range"] == [0.0, 1.6]
    assert r["n_shells"] >= 10 and r["k_fit_max"] <= 1.6


def test_s4_matches_direct_sum_and_chi4():
    traj, u = random_walk(n=50, n_frames=12, length=5.0, sigma=0.12, seed=2, store="images")
    lag = float(traj.times[4] - traj.times[0])
    tab = D.s4(traj, lags=lag, k_max=3.0, n_blocks=3)
    kv = D.lattice_kvectors(traj.box, 3.0)
    # direct: every origin with a target 4 frames later, all particles
    Ws, C = [], []
    for o in range(len(traj) - 4):
        w = np.linalg.norm(u[o + 4] - u[o], axis=1) <= 0.3
        Ws.append(np.exp(1j * u[o] @ kv.T)[w].sum(axis=0))
        C.append(w.sum())
    Ws = np.array(Ws)
    s4k = ((np.abs(Ws) ** 2).mean(axis=0) - np.abs(Ws.mean(axis=0)) ** 2) / 50
    kn = np.round(np.linalg.norm(kv, axis=1), 9)
    got = tab.filter(pl.col("species") == "all").sort("shell")
    ref = [np.var(C) / 50] + [s4k[kn == v].mean() for v in np.unique(kn)]
    np.testing.assert_allclose(got["s4"].to_numpy(), ref, rtol=1e-10, atol=1e-12)
    assert got["n_units"][0] == 3 and gr.params(tab)["unit"] == "time blocks of origins"
    # the k = 0 shell is χ4 of the correlations table at that lag
    corr = D.correlations(traj, kvectors=np.zeros((0, 3)), progress=False)
    c = corr.filter((pl.col("species") == "all") & ((pl.col("lag") - lag).abs() < 1e-9))
    assert got["s4"][0] == pytest.approx(c["chi4"][0], rel=1e-10)


def test_ornstein_zernike_fit_vs_scipy():
    from scipy.optimize import curve_fit

    rng = np.random.default_rng(3)
    k = np.linspace(0.3, 2.0, 12)
    y = 8.0 / (1 + (k * 1.7) ** 2) * (1 + 0.03 * rng.normal(size=k.size))
    r = gr.fits.ornstein_zernike(k, y)
    p, c = curve_fit(lambda k, a, b: a / (1 + (k * b) ** 2), k, y, p0=[5, 1])
    assert r["chi4_0"] == pytest.approx(p[0], rel=1e-7) and r["xi4"] == pytest.approx(abs(p[1]), rel=1e-7)
    assert r.stderr["xi4"] == pytest.approx(np.sqrt(c[1, 1]), rel=1e-5)
