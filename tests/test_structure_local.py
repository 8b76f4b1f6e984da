"""Local g^i, SOP, s2, e_loc, e_pair (definitions §2.3–2.8) against independent numpy code, closed-form
few-particle cases and the global g_uv."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy import integrate
from scipy.special import erf

import glassrs as gr
from structure_ref import local_g_all, local_quantities, perturbed_fcc, rdf_hist, trap

KA = gr.models.kob_andersen()
WIN = {"A-A": (0.95, 1.42), "A-B": (0.72, 1.21), "B-B": (0.74, 1.33)}


@pytest.fixture(scope="module")
def fcc_frame():
    return perturbed_fcc(5, amp=0.09, seed=11)


@pytest.mark.parametrize("closure", ["approx", "hnc"])
def test_local_matches_numpy_reference(fcc_frame, closure):
    f = fcc_frame
    T = 0.7 if closure == "hnc" else None
    tab = gr.structure.local(f, KA, T=T, closure=closure, windows=WIN)
    bphi, s2, el = local_quantities(f, WIN, closure=closure, T=T, model=KA)
    np.testing.assert_allclose(tab["beta_phi"].to_numpy(), bphi, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(tab["sop"].to_numpy(), 1 / np.abs(bphi), rtol=1e-9)
    np.testing.assert_allclose(tab["s2"].to_numpy(), s2, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(tab["e_loc"].to_numpy(), el, rtol=1e-9, atol=1e-12)
    # e_pair = ½ Σ_j U(r_ij), brute force
    from structure_ref import distances
    D = distances(f)
    ep = np.zeros(f.n_particles)
    for u in range(2):
        for v in range(2):
            m = np.ix_(f.types == u, f.types == v)
            d = D[m]
            dd = np.where(np.isfinite(d), d, 9.0)
            ep[f.types == u] += 0.5 * KA.eval(u, v, dd.ravel())[0].reshape(dd.shape).sum(1)
    np.testing.assert_allclose(tab["e_pair"].to_numpy(), ep, rtol=1e-10, atol=1e-12)
    assert tab.columns == ["frame", "particle", "species", "beta_phi", "sop", "s2", "e_loc", "e_pair"]
    p = gr.params(tab)
    assert p["closure"] == closure and p["windows"]["A-B"] == list(WIN["A-B"]) and p["delta"] == 0.09


def test_local_other_parameters_and_threads(fcc_frame):
    f = fcc_frame
    kw = dict(windows=WIN, delta=0.05, dr=0.01, r_s=2.5)
    tab = gr.structure.local(f, None, n_threads=1, **kw)
    bphi, s2, _ = local_quantities(f, WIN, delta=0.05, dr=0.01, r_s=2.5)
    np.testing.assert_allclose(tab["beta_phi"].to_numpy(), bphi, rtol=1e-9)
    np.testing.assert_allclose(tab["s2"].to_numpy(), s2, rtol=1e-9)
    assert tab["e_loc"].null_count() == f.n_particles
    tab2 = gr.structure.local(f, None, n_threads=2, **kw)
    assert tab.equals(tab2)


def test_local_g_curves_match_numpy(fcc_frame):
    f = fcc_frame
    parts = [0, 7, 123]
    tab = gr.structure.local_g(f, parts, r_max=3.0)
    g, r = local_g_all(f, 0.09, 0.005, 600)
    for p in parts:
        for v, sv in enumerate("AB"):
            sub = tab.filter((pl.col("particle") == p) & (pl.col("pair").str.ends_with(sv)))
            np.testing.assert_allclose(sub["r"].to_numpy(), r, rtol=1e-15)
            np.testing.assert_allclose(sub["g"].to_numpy(), g[p, v], rtol=1e-11, atol=1e-13)


def _gauss_cdf(x, d):
    return 0.5 * (1 + erf(x / (np.sqrt(2) * d)))


def test_two_and_three_particles_closed_form():
    """Three particles, one species, big box: g^0 is a sum of two Gaussians at d1, d2. Check the
    grid values, βφ (approx and hnc), s2 and e_loc against explicit evaluation, then the
    continuum limits: ∫ρ4πr² g^0 over a window = Gaussian CDF differences, and e_loc → e_pair."""
    L = 20.0
    d1, d2 = 1.0731, 1.3917
    pos = np.array([[5.0, 5, 5], [5.0 + d1, 5, 5], [5.0, 5 + d2, 5]])
    f = gr.Frame(positions=pos, types=np.zeros(3, int), box=gr.Box.cube(L), species=("A",))
    delta, dr, lo, hi, T = 0.09, 0.005, 0.9, 1.5, 0.8
    rho = 3 / L ** 3
    tab_g = gr.structure.local_g(f, [0], r_max=3.0)
    r = tab_g["r"].to_numpy()
    G = lambda x: np.where(np.abs(x) <= 5 * delta, np.exp(-x ** 2 / (2 * delta ** 2)), 0) / np.sqrt(2 * np.pi * delta ** 2)  # noqa: E731
    g0 = (G(r - d1) + G(r - d2)) / (4 * np.pi * rho * r ** 2)
    np.testing.assert_allclose(tab_g["g"].to_numpy(), g0, rtol=1e-12, atol=1e-300)
    model = KA
    fA = gr.Frame(positions=pos, types=np.zeros(3, int), box=gr.Box.cube(L), species=("A",))
    for closure in ("approx", "hnc"):
        tab = gr.structure.local(fA, model, T=T, closure=closure, windows={"A-A": (lo, hi)}, rdf_dr=0.05)
        U = model.eval("A", "A", r)[0]
        c = g0 - 1 if closure == "approx" else -U / T + g0 - 1 - np.log(np.where(g0 > 0, g0, 1))
        f_ = np.where(g0 < 1e-10, 0, 4 * np.pi * r ** 2 * c * g0)
        m = (r >= lo) & (r <= hi)
        want = -rho * dr * (f_[m].sum() - 0.5 * (f_[m][0] + f_[m][-1]))
        assert abs(tab["beta_phi"][0] - want) <= 1e-10 * abs(want)
    glg = np.where(g0 > 0, g0 * np.log(np.where(g0 > 0, g0, 1)), 0)
    h = 4 * np.pi * r ** 2 * (glg - g0 + 1)
    want_s2 = -0.5 * rho * dr * (h.sum() - 0.5 * (h[0] + h[-1]))  # grid ends at r_s = 3.0 here
    assert abs(tab["s2"][0] - want_s2) <= 1e-10 * abs(want_s2)
    # continuum: the coordination integral equals Gaussian CDF differences (closed form), to
    # trapezoid accuracy O(dr²)
    # [0.95, 1.2] avoids the kernel truncation point d2 − 5δ = 0.9417
    n_win = trap(4 * np.pi * r ** 2 * rho * g0, r, 0.95, 1.2)
    want_n = (_gauss_cdf(1.2 - d1, delta) - _gauss_cdf(0.95 - d1, delta) + _gauss_cdf(1.2 - d2, delta)
              - _gauss_cdf(0.95 - d2, delta))
    # Euler–Maclaurin end correction makes the trapezoid error O(dr⁴)
    dG = lambda x: -x / delta ** 2 * G(x)  # noqa: E731
    fp = lambda x: dG(x - d1) + dG(x - d2)  # noqa: E731
    n_win -= dr ** 2 / 12 * (fp(1.2) - fp(0.95))
    assert abs(n_win - want_n) < 1e-8
    # e_loc as δ → 0 tends to e_pair (= ½ Σ_j U(r_0j)); independent quad for finite δ
    tab = gr.structure.local(fA, model, windows={"A-A": (lo, hi)}, delta=0.01, dr=0.0005, rdf_dr=0.05)
    e_pair = 0.5 * (model.eval("A", "A", [d1])[0][0] + model.eval("A", "A", [d2])[0][0])
    assert abs(tab["e_pair"][0] - e_pair) < 1e-12
    G1 = lambda x: np.exp(-x ** 2 / (2 * 0.01 ** 2)) / np.sqrt(2 * np.pi * 0.01 ** 2)  # noqa: E731
    quad = sum(0.5 * integrate.quad(lambda x: model.eval("A", "A", [x])[0][0] * G1(x - d), d - 0.05, d + 0.05,
                                    points=[d])[0] for d in (d1, d2))
    assert abs(tab["e_loc"][0] - quad) < 1e-6 * abs(quad)
    assert abs(tab["e_loc"][0] - e_pair) < 0.01 * abs(e_pair)


def _convolved_hist(f, u, v, delta, r):
    """Pair density per particle of u from the fine histogram, smoothed with the Gaussian."""
    hb = 0.0025
    n_bins = int(np.ceil((r[-1] + 5 * delta) / hb))
    g = rdf_hist([f], n_bins * hb, n_bins)[u, v]
    cnt = np.bincount(f.types)
    rc = (np.arange(n_bins) + 0.5) * hb
    shell = 4 / 3 * np.pi * (((np.arange(n_bins) + 1) * hb) ** 3 - (np.arange(n_bins) * hb) ** 3)
    n_pairs = g * shell * (cnt[v] - (u == v)) / f.box.volume  # neighbours of species v per u particle per bin
    x = r[:, None] - rc[None, :]
    kern = np.where(np.abs(x) <= 5 * delta, np.exp(-x ** 2 / (2 * delta ** 2)), 0) / np.sqrt(2 * np.pi * delta ** 2)
    rho_v = cnt[v] / f.box.volume
    return (kern * n_pairs).sum(1) / (4 * np.pi * rho_v * r ** 2)


@pytest.mark.parametrize("delta", [0.02, 0.09])
def test_mean_local_g_reproduces_global_g(delta):
    f = perturbed_fcc(5, amp=0.12, seed=21)
    g, r = local_g_all(f, delta, 0.005, 500)
    for u, v in [(0, 0), (0, 1), (1, 1)]:
        mean = g[f.types == u, v].mean(0)
        want = _convolved_hist(f, u, v, delta, r)
        # histogram bins (0.0025) ≪ δ: the smoothed histogram equals ⟨g^i⟩ up to the in-bin position
        assert np.abs(mean - want).max() < 0.02 * want.max(), (u, v, np.abs(mean - want).max(), want.max())
    # glassrs agrees with this numpy g^i (checked above); small-δ limit: coordination numbers
    # between shells equal exact neighbour counts
    if delta == 0.02:
        from structure_ref import distances
        D = distances(f)
        rr = np.arange(1, 501) * 0.005
        cum = [trap(4 * np.pi * rr ** 2 * (np.bincount(f.types)[1] / f.box.volume) * g[f.types == 0, 1].mean(0), rr, 0, R)
               for R in (1.3,)]
        exact = (D[np.ix_(f.types == 0, f.types == 1)] < 1.3).sum(1).mean()
        assert abs(cum[0] - exact) < 0.01 * exact


def test_local_windows_auto_and_sop_macro_reference():
    # 2048 particles: one frame of the 500-particle fixture (100 B) does not resolve the B-B
    # minimum, and automatic windows now refuse it (test_find_windows_refuses_noise)
    f = perturbed_fcc(8, amp=0.09, seed=11)
    tab = gr.structure.local(f, KA, T=0.7, closure="hnc")
    p = gr.params(tab)
    assert p["windows_source"].startswith("auto")
    w = {k: tuple(v) for k, v in p["windows"].items()}
    # windows reproduce the 2.5 rule on the same histogram
    g = gr.structure.rdf(f, r_max=min(f.box.max_cutoff, 4.0), dr=0.01)
    assert gr.structure.find_windows(g) == {k: w[k] for k in ("A-A", "A-B", "B-B")}
    # macroscopic SOP, independent numpy: −ρ Σ_uv x_u x_v ∫4πr² c g dr on bin centres
    rho = f.n_particles / f.box.volume
    x = np.bincount(f.types) / f.n_particles
    total = 0
    for u in range(2):
        for v in range(2):
            name = "-".join(sorted(["AB"[u], "AB"[v]]))
            sub = g.filter(pl.col("pair") == name)
            r, gg = sub["r"].to_numpy(), sub["g"].to_numpy()
            U = KA.eval(u, v, r)[0]
            with np.errstate(divide="ignore", invalid="ignore"):
                c = -U / 0.7 + gg - 1 - np.log(gg)
            with np.errstate(invalid="ignore"):
                fr = np.where(gg < 1e-10, 0, 4 * np.pi * r ** 2 * c * gg)
            total += x[u] * x[v] * trap(fr, r, *w[f"{'AB'[u]}-{'AB'[v]}"])
    assert abs(p["beta_Phi_macro"] - (-rho * total)) < 1e-10 * abs(total * rho)
    assert abs(p["sop_macro"] - 1 / abs(rho * total)) < 1e-10 / abs(rho * total)


def test_find_windows_on_analytic_curve():
    r = (np.arange(400) + 0.5) * 0.01
    g = np.where(r < 0.9, 0, 1 + 1.8 * np.exp(-((r - 1.05) / 0.08) ** 2) - 0.6 * np.exp(-((r - 1.45) / 0.15) ** 2)
                 + 0.5 * np.exp(-((r - 2.0) / 0.15) ** 2))
    g = np.where(r < 0.9, 0, g)
    tab = gr.tables.make_table(pl.DataFrame({"pair": ["A-A"] * 400, "r": r, "g": g}), {})
    w = gr.structure.find_windows(tab)["A-A"]
    assert w[0] == pytest.approx(0.905)
    # numeric first minimum after the first peak
    k = np.argmax(g)
    kmin = k + np.argmin(g[k:300])
    assert w[1] == pytest.approx(r[kmin], abs=0.011)


def test_local_bad_input(fcc_frame):
    f = fcc_frame
    with pytest.raises(ValueError, match="needs the temperature T"):
        gr.structure.local(f, KA, closure="hnc", windows=WIN)
    with pytest.raises(ValueError, match="needs a model"):
        gr.structure.local(f, None, T=0.5, closure="hnc", windows=WIN)
    with pytest.raises(ValueError, match="outside the range of g"):
        gr.structure.local(f, KA, windows={**WIN, "A-A": (0.9, 50.0)})
    with pytest.raises(ValueError, match="0 ≤ r_lo < r_hi"):
        gr.structure.local(f, KA, windows={**WIN, "A-A": (1.4, 0.9)})
    with pytest.raises(ValueError, match="no integration window for pair B-B"):
        gr.structure.local(f, KA, windows={"A-A": WIN["A-A"], "A-B": WIN["A-B"]})
    g = gr.Frame(positions=f.positions, types=np.zeros(f.n_particles, int), box=f.box, species=("A", "B"))
    with pytest.raises(ValueError, match="species 'B' has 0"):
        gr.structure.local(g, KA, windows=WIN)
    with pytest.raises(ValueError, match="unknown closure"):
        gr.structure.local(f, KA, closure="py", windows=WIN)
    small = perturbed_fcc(3, seed=1)  # box 4.5: half height < r_s + 5δ
    with pytest.raises(ValueError, match="half the smallest box height"):
        gr.structure.local(small, None, windows=WIN, r_s=3.0)
