"""Dipole stiffness κ_ij (definitions §6): CG vs factorisation vs scipy on the pinned numpy Hessian,
linear response to a small dipole force, local κ, and the errors for bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as sla

import glassrs as gr
import _elastic_oracle as oracle


def dipole_vector(frame, i, j):
    d = frame.box.min_image(frame.positions[j] - frame.positions[i])
    n = d / np.linalg.norm(d)
    v = np.zeros((frame.n_particles, 3))
    v[j] = n / np.sqrt(2)
    v[i] = -n / np.sqrt(2)
    return v.reshape(-1)


def scipy_kappa(frame, pairs):
    """κ from scipy's sparse direct solve of the numpy Hessian with the last particle pinned."""
    M = oracle.dense_hessian(frame.positions, frame.types, frame.box.matrix)
    red = sp.csc_matrix(M[:-3, :-3])
    lu = sla.splu(red)
    out, zs = [], []
    for i, j in pairs:
        d = dipole_vector(frame, i, j)
        z = np.zeros_like(d)
        z[:-3] = lu.solve(d[:-3])
        z = (z.reshape(-1, 3) - z.reshape(-1, 3).mean(axis=0)).reshape(-1)
        out.append(d @ z / (z @ z))
        zs.append(z)
    return np.array(out), np.array(zs)


def test_cg_factorisation_and_scipy_agree(ka_is, ka):
    h = gr.elastic.hessian(ka_is, ka)
    kc = gr.elastic.dipole_stiffness(h, pairs=120, seed=4, solver="cg")
    kf = gr.elastic.dipole_stiffness(h, pairs=120, seed=4, solver="cholesky")
    assert gr.params(kc)["solver"] == "cg" and gr.params(kf)["solver"] == "cholesky"
    assert (kc["iterations"] > 0).all() and (kf["iterations"] == 0).all()
    a, b = kc["kappa"].to_numpy(), kf["kappa"].to_numpy()
    np.testing.assert_allclose(a, b, rtol=1e-8)
    pairs = list(zip(kf["i"].to_numpy()[:25], kf["j"].to_numpy()[:25]))
    ref, zref = scipy_kappa(ka_is, pairs)
    np.testing.assert_allclose(b[:25], ref, rtol=1e-8)
    # the responses themselves
    z = h.native.dipole_response(np.array([p[0] for p in pairs[:3]], np.int64),
                                 np.array([p[1] for p in pairs[:3]], np.int64), "cholesky", 1e-12, 0)
    np.testing.assert_allclose(z, zref[:3], atol=1e-9 * np.abs(zref[:3]).max())
    assert (a > 0).all()


def test_auto_records_method_and_order_is_kept(ka_is, ka):
    h = gr.elastic.hessian(ka_is, ka)
    pairs = h.pairs()[[5, 1, 17]]
    k = gr.elastic.dipole_stiffness(h, pairs=pairs)
    assert gr.params(k)["solver"] in ("cg", "cholesky")
    assert k["i"].to_list() == pairs["i"].to_list() and k["j"].to_list() == pairs["j"].to_list()
    # a pair given as (j, i) has the same κ (d̂ flips sign, κ is quadratic in it)
    k2 = gr.elastic.dipole_stiffness(h, pairs=np.c_[pairs["j"].to_numpy(), pairs["i"].to_numpy()])
    np.testing.assert_allclose(k["kappa"].to_numpy(), k2["kappa"].to_numpy(), rtol=1e-10)


def test_linear_response_to_a_small_dipole_force(ka_is, ka):
    h = gr.elastic.hessian(ka_is, ka)
    i, j = (int(v) for v in h.pairs().row(7)[:2])
    d = dipole_vector(ka_is, i, j)
    z = h.solve(d, solver="cholesky")
    f = 1e-6
    x, fmax = oracle.minimize(ka_is.positions, ka_is.types, ka_is.box.matrix, fext=(f * d).reshape(-1, 3))
    assert fmax < 1e-11
    dx = x - ka_is.positions
    dx -= dx.mean(axis=0)
    assert np.linalg.norm(dx.reshape(-1) - f * z) <= 1e-4 * np.linalg.norm(f * z)
    # and κ is the stiffness of that response
    kap = gr.elastic.dipole_stiffness(h, pairs=[[i, j]], solver="cholesky")["kappa"][0]
    assert kap == pytest.approx((d @ z) / (z @ z), rel=1e-12)


def test_local_kappa_is_mean_over_pairs(ka_is, ka):
    h = gr.elastic.hessian(ka_is, ka)
    allk = gr.elastic.dipole_stiffness(h, pairs="all", solver="cholesky")
    assert allk.height == h.native.n_pairs
    loc = gr.elastic.local_kappa(allk, ka_is)
    i, j, k = allk["i"].to_numpy(), allk["j"].to_numpy(), allk["kappa"].to_numpy()
    for p in (0, 17, 299):
        m = (i == p) | (j == p)
        assert loc["kappa_local"][p] == pytest.approx(k[m].mean(), rel=1e-12)
        assert loc["n_pairs"][p] == m.sum()
    assert loc["species"].to_list() == list(np.array(["A", "B"])[ka_is.types])


# ----------------------------------------------------------------------------- bad input

def test_not_a_minimum_is_refused(ka):
    pos, t, H = oracle.random_start(250, seed=3, dmin=0.75)
    fr = gr.Frame(positions=pos, types=t, box=gr.Box(H), species=("A", "B"))
    with pytest.raises(ValueError, match="not an energy minimum: particle .* residual force"):
        gr.elastic.dipole_stiffness(fr, ka, pairs=3)
    with pytest.raises(ValueError, match="not an energy minimum"):
        gr.elastic.shear_modulus(fr, ka)


def crystal_with_rattler(ka):
    a, ncell = 1.6, 5
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    pos = np.array([(np.array(c) + b) * a for c in itertools.product(range(ncell), repeat=3) for b in basis])
    centre = pos[0] + np.array([2.0, 2.0, 2.0]) * a
    L = ncell * a
    d = pos - centre
    d -= L * np.round(d / L)
    keep = np.linalg.norm(d, axis=1) > 2.6  # empty a cavity wider than the cutoff …
    pos = np.vstack([pos[keep], centre])  # … and put one isolated particle at its centre
    return gr.Frame(positions=pos, types=np.zeros(len(pos), int), box=gr.Box.cube(L), species=("A",)), len(pos) - 1


def test_rattler_is_named(ka):
    fr, r = crystal_with_rattler(ka)
    with pytest.raises(ValueError, match=f"particle {r} is a rattler"):
        gr.elastic.hessian(fr, ka, force_tol=None)
    h = gr.elastic.hessian(fr, ka, force_tol=None, check_rattlers=False)
    with pytest.raises(ValueError, match="not positive definite apart from translations .*zero modes"):
        h.solver("cholesky")


def test_cg_non_convergence_is_an_error(ka_is, ka):
    h = gr.elastic.hessian(ka_is, ka)
    with pytest.raises(gr.ConvergenceError, match="did not converge in 5 iterations"):
        gr.elastic.dipole_stiffness(h, pairs=2, solver="cg", max_iter=5)


def test_bad_pairs_are_refused(ka_is, ka):
    h = gr.elastic.hessian(ka_is, ka)
    ip = h.pairs()
    linked = set(zip(ip["i"].to_list(), ip["j"].to_list()))
    far = next((0, j) for j in range(1, 300) if (0, j) not in linked)
    with pytest.raises(ValueError, match=f"particles 0 and {far[1]} do not interact"):
        gr.elastic.dipole_stiffness(h, pairs=[far])
    with pytest.raises(ValueError, match="outside"):
        gr.elastic.dipole_stiffness(h, pairs=[[0, 300]])
    with pytest.raises(ValueError, match="unknown solver"):
        gr.elastic.dipole_stiffness(h, pairs=2, solver="lu")


def test_auto_chooses_by_factor_size(ka_is, ka):
    small = gr.elastic.hessian(ka_is, ka, max_factor_gb=0.0)
    big = gr.elastic.hessian(ka_is, ka, max_factor_gb=4.0)
    assert small.solver("auto") == "cg" and big.solver("auto") == "cholesky"
    ks = gr.elastic.dipole_stiffness(small, pairs=8, seed=2)
    kb = gr.elastic.dipole_stiffness(big, pairs=8, seed=2)
    assert gr.params(ks)["solver"] == "cg" and gr.params(kb)["solver"] == "cholesky"
    np.testing.assert_allclose(ks["kappa"].to_numpy(), kb["kappa"].to_numpy(), rtol=1e-8)
