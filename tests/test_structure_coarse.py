"""Coarse-graining (definitions §2.9), caging potential, τ_mfpt, softness (2.10–2.11) vs independent numpy."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy.integrate import cumulative_trapezoid

import glassrs as gr
from structure_ref import coarse, perturbed_fcc


@pytest.fixture(scope="module")
def frame():
    return perturbed_fcc(5, amp=0.1, seed=31)


def _table(f, x):
    return gr.tables.make_table(pl.DataFrame({"frame": np.zeros(f.n_particles, np.int64),
                                              "particle": np.arange(f.n_particles), "x": x}), {"kind": "test"})


def test_coarse_grain_matches_numpy(frame):
    f = frame
    rng = np.random.default_rng(0)
    x = rng.normal(size=f.n_particles)
    x[[3, 50]] = np.nan  # undefined values are skipped
    Ls = [0.0, 0.5, 1.0, 2.5, 5.0]
    out = gr.structure.coarse_grain(f, _table(f, x), "x", L=Ls)
    want = coarse(f, x, Ls, f.box.max_cutoff)
    for li, L in enumerate(Ls):
        np.testing.assert_allclose(out[f"x_L{L:g}"].to_numpy(), want[li], rtol=1e-9, atol=1e-12)
    # species filter on j, custom r_cg, long format
    out = gr.structure.coarse_grain(f, _table(f, x), "x", L=[1.0, 2.0], r_cg=2.0, species=["B"], long=True)
    want = coarse(f, x, [1.0, 2.0], 2.0, species_ok=["B"])
    for li, L in enumerate([1.0, 2.0]):
        got = out.filter(pl.col("L") == L).sort("particle")["x"].to_numpy()
        np.testing.assert_allclose(got, want[li], rtol=1e-9, atol=1e-12)
    assert set(out.columns) == {"frame", "particle", "species", "L", "x"}


def test_coarse_grain_local_table_two_frames_and_ids(frame):
    f0 = frame
    f1 = gr.Frame(positions=perturbed_fcc(5, amp=0.1, seed=32).positions, types=f0.types, box=f0.box,
                  species=f0.species, ids=np.arange(f0.n_particles) + 100)
    f0 = gr.Frame(positions=f0.positions, types=f0.types, box=f0.box, species=f0.species,
                  ids=np.arange(f0.n_particles) + 100)
    traj = gr.Trajectory.from_frames([f0, f1])
    loc = gr.structure.local(traj, None, windows={"A-A": (0.95, 1.42), "A-B": (0.72, 1.21), "B-B": (0.74, 1.33)})
    assert loc["particle"].min() == 100
    loc = loc.sample(fraction=1.0, shuffle=True, seed=1)  # row order must not matter
    out = gr.structure.coarse_grain(traj, loc, "sop", L=[1.5])
    for k, f in enumerate([f0, f1]):
        sub = out.filter(pl.col("frame") == k).sort("particle")
        want = coarse(f, sub["sop"].to_numpy(), [1.5], f.box.max_cutoff)[0]
        np.testing.assert_allclose(sub["sop_L1.5"].to_numpy(), want, rtol=1e-9)


def test_coarse_grain_bad_input(frame):
    f = frame
    t = _table(f, np.ones(f.n_particles))
    with pytest.raises(ValueError, match="no column 'y'"):
        gr.structure.coarse_grain(f, t, "y")
    with pytest.raises(ValueError, match="L values must be finite"):
        gr.structure.coarse_grain(f, t, "x", L=[-1.0])
    with pytest.raises(ValueError, match="half the smallest box height"):
        gr.structure.coarse_grain(f, t, "x", L=[1.0], r_cg=10.0)
    with pytest.raises(ValueError, match="unknown species"):
        gr.structure.coarse_grain(f, t, "x", species=["C"])


# ---- caging potential ------------------------------------------------------------------------
def _synthetic_sq(q):
    """A two-species S(q) with structure (positive definite)."""
    saa = 1 + 0.9 * np.exp(-((q - 7.0) / 0.8) ** 2) - 0.5 * np.exp(-(q / 2.0) ** 2)
    sbb = 1 + 0.4 * np.exp(-((q - 6.0) / 1.0) ** 2) - 0.3 * np.exp(-(q / 2.5) ** 2)
    sab = 0.3 * np.exp(-((q - 6.5) / 0.9) ** 2) - 0.2 * np.exp(-((q - 9.0) / 1.0) ** 2)
    return saa, sab, sbb


def _numpy_caging(q, saa, sab, sbb, x, rho, dr, paper_units=False):
    out = []
    for d in dr:
        integrand = []
        for k in range(len(q)):
            S = np.array([[saa[k], sab[k]], [sab[k], sbb[k]]])
            C = np.eye(2) - np.linalg.inv(S)
            sx = np.sqrt(np.outer(x, x))
            integrand.append(q[k] ** 2 / (2 * np.pi ** 2) * np.sum(C * sx * (S - np.eye(2))) * np.exp(-q[k] ** 2 * d ** 2 / 6))
        val = -np.trapezoid(integrand, q)
        out.append(val if paper_units else val / rho)
    return np.array(out)


def _sq_table(q, saa, sab, sbb, counts=(800, 200), rho=1.2):
    df = pl.concat([pl.DataFrame({"pair": [n] * len(q), "q": q, "s": s}) for n, s in
                    (("A-A", saa), ("A-B", sab), ("B-B", sbb))])
    return gr.tables.make_table(df, {"species": ["A", "B"], "counts": list(counts), "density": rho, "method": "test"})


@pytest.mark.parametrize("paper_units", [False, True])
def test_caging_potential_matches_numpy(paper_units):
    q = np.linspace(0.3, 25.0, 500)
    saa, sab, sbb = _synthetic_sq(q)
    tab = gr.structure.caging_potential(_sq_table(q, saa, sab, sbb), dr_max=1.5, n_dr=151, paper_units=paper_units)
    dr = tab["dr"].to_numpy()
    want = _numpy_caging(q, saa, sab, sbb, np.array([0.8, 0.2]), 1.2, dr, paper_units)
    np.testing.assert_allclose(tab["beta_phi"].to_numpy(), want, rtol=1e-10, atol=1e-14)
    p = gr.params(tab)
    # harmonic fit, independent least squares through the origin in Δr²
    m = (dr > 0) & (dr <= 0.1)
    slope = np.linalg.lstsq((dr[m] ** 2)[:, None], want[m] - want[0], rcond=None)[0][0]
    assert p["S_av"] == pytest.approx(1 / (2 * slope), rel=1e-10)
    # τ_mfpt: ∫_0^{r_max} e^{βΦ(y)} ∫_0^y e^{−βΦ(z)} dz dy with scipy's cumulative trapezoid
    k = int(np.argmax(want))
    inner = cumulative_trapezoid(np.exp(-want[:k + 1]), dr[:k + 1], initial=0)
    tau = np.trapezoid(np.exp(want[:k + 1]) * inner, dr[:k + 1])
    assert p["tau_mfpt"] == pytest.approx(tau, rel=1e-10)
    assert p["r_max"] == dr[k]


def test_caging_potential_from_trajectory_runs(frame):
    tab = gr.structure.caging_potential(frame, q_max=10.0, dq=0.2)
    p = gr.params(tab)
    assert p["beta_phi_0"] < 0 and np.isfinite(p["S_av"]) and p["q_range"][1] <= 10.0


def test_softness_calibration_and_local_softness(frame):
    beta_Phi = np.array([-3.0, -3.5, -4.2, -5.0])
    S_av = 1 / (0.5 + 0.2 * np.abs(beta_Phi))
    cal = gr.structure.softness_calibration(S_av, beta_Phi)
    assert cal["c0"] == pytest.approx(0.5, rel=1e-12) and cal["c1"] == pytest.approx(0.2, rel=1e-12)
    loc = gr.structure.local(frame, gr.models.kob_andersen(), T=0.8, closure="hnc",
                             windows={"A-A": (0.95, 1.42), "A-B": (0.72, 1.21), "B-B": (0.74, 1.33)}, e_pair=False)
    s = gr.structure.local_softness(loc, cal["c0"], cal["c1"])
    np.testing.assert_allclose(s["softness"].to_numpy(), 1 / (0.5 + 0.2 * np.abs(loc["beta_phi"].to_numpy())), rtol=1e-12)
    approx = gr.structure.local(frame, None, windows={"A-A": (0.95, 1.42), "A-B": (0.72, 1.21), "B-B": (0.74, 1.33)})
    with pytest.raises(ValueError, match="hnc"):
        gr.structure.local_softness(approx, 0.5, 0.2)


def test_sop_temperature_fit():
    T = np.array([0.45, 0.5, 0.6, 0.8, 1.0])
    y = 0.1 + 0.045 * T
    fit = gr.structure.sop_temperature_fit(T, y)
    assert fit["gamma"] == pytest.approx(0.045, rel=1e-12) and fit["sop0"] == pytest.approx(0.1, rel=1e-12)


def test_caging_potential_reports_s_av_in_both_conventions():
    """S_av with 1/ρ (σ²) and without it as the papers (σ⁵) from either call, each equal to an
    independent numpy harmonic fit of the potential in that convention."""
    q = np.linspace(0.3, 25.0, 500)
    saa, sab, sbb = _synthetic_sq(q)
    fits = {}
    for paper_units in (False, True):
        tab = gr.structure.caging_potential(_sq_table(q, saa, sab, sbb), dr_max=1.5, n_dr=151,
                                            paper_units=paper_units)
        dr = tab["dr"].to_numpy()
        m = (dr > 0) & (dr <= 0.1)
        for pu in (False, True):
            want = _numpy_caging(q, saa, sab, sbb, np.array([0.8, 0.2]), 1.2, dr, pu)
            slope = np.linalg.lstsq((dr[m] ** 2)[:, None], want[m] - want[0], rcond=None)[0][0]
            fits[pu] = 1 / (2 * slope)
        p = gr.params(tab)
        assert p["S_av_with_density"] == pytest.approx(fits[False], rel=1e-10)
        assert p["S_av_paper_units"] == pytest.approx(fits[True], rel=1e-10)
        assert p["S_av"] == (p["S_av_paper_units"] if paper_units else p["S_av_with_density"])
        assert p["S_av_units"].startswith("sigma^5" if paper_units else "sigma^2")
    assert fits[True] == pytest.approx(fits[False] / 1.2, rel=1e-10)
