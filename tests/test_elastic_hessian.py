"""Sparse Hessian (definitions §6): finite differences of forces, translation zero modes, an
independent numpy Hessian, and the phonons of a perfect fcc crystal vs the analytic
dynamical matrix."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import pytest

import glassrs as gr
import _elastic_oracle as oracle


def test_hessian_times_vector_equals_force_finite_difference(ka_is, ka):
    h = gr.elastic.hessian(ka_is, ka)
    rng = np.random.default_rng(1)
    H = ka_is.box.matrix
    for _ in range(3):
        v = rng.standard_normal(ka_is.positions.shape)
        v /= np.linalg.norm(v)
        eps = 1e-5
        _, fp = oracle.energy_forces(ka_is.positions + eps * v, ka_is.types, H)
        _, fm = oracle.energy_forces(ka_is.positions - eps * v, ka_is.types, H)
        fd = -(fp - fm) / (2 * eps)
        mv = h.matvec(v)
        assert np.linalg.norm(mv - fd) <= 1e-6 * np.linalg.norm(fd)


def test_native_forces_and_energy_match_numpy(ka, rng):
    # a non-minimum (random) configuration: forces, energy and the full matrix vs numpy
    L = (250 / 1.2) ** (1 / 3)
    pos, t, H = oracle.random_start(250, seed=3, dmin=0.75)
    fr = gr.Frame(positions=pos, types=t, box=gr.Box(H), species=("A", "B"))
    h = gr.elastic.hessian(fr, ka, force_tol=None, check_rattlers=False)
    e, F = oracle.energy_forces(pos, t, H)
    assert h.energy == pytest.approx(e, rel=1e-12)
    np.testing.assert_allclose(h.forces, F, atol=1e-9 * np.abs(F).max())
    M = oracle.dense_hessian(pos, t, H)
    S = h.sparse().toarray()
    assert np.abs(S - M).max() <= 1e-11 * np.abs(M).max()
    assert np.abs(S - S.T).max() <= 1e-14 * np.abs(S).max()  # symmetric up to rounding
    assert L > 5


def test_triclinic_box_matches_numpy(ka):
    pos, t, H = oracle.random_start(260, seed=5, dmin=0.75)
    H = H.copy()
    H[0, 1] = 0.7
    H[0, 2] = -0.4
    H[1, 2] = 0.3
    fr = gr.Frame(positions=pos, types=t, box=gr.Box(H), species=("A", "B"))
    h = gr.elastic.hessian(fr, ka, force_tol=None, check_rattlers=False)
    M = oracle.dense_hessian(pos, t, H)
    assert np.abs(h.sparse().toarray() - M).max() <= 1e-11 * np.abs(M).max()


def test_translations_are_exact_zero_modes(ka_is, ka):
    h = gr.elastic.hessian(ka_is, ka)
    scale = np.abs(h.sparse().data).max()
    for q in range(3):
        t = np.zeros((ka_is.n_particles, 3))
        t[:, q] = 1.0
        assert np.abs(h.matvec(t)).max() <= 1e-12 * scale
    # the lowest eigenvalues on the translation-free subspace are positive and match numpy
    low = h.lowest_eigenvalues(5)
    ev = np.linalg.eigvalsh(h.sparse().toarray())
    assert np.abs(ev[:3]).max() <= 1e-10 * scale  # the three translations
    assert ev[3] > 1e-6
    np.testing.assert_allclose(low, ev[3:8], rtol=1e-8)


def fcc(ncell, a):
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    cells = np.array(list(itertools.product(range(ncell), repeat=3)))
    return ((cells[:, None, :] + basis[None]) * a).reshape(-1, 3)


def dynamical_matrix(k, a, model):
    """D(k) = Σ_R K(R)(1 − cos k·R) over the neighbours R of one fcc site (mass 1)."""
    rng = range(-3, 4)
    pts = fcc(1, 1.0)
    R = np.array([(np.array(c) + b) * a for c in itertools.product(rng, repeat=3) for b in pts])
    r = np.linalg.norm(R, axis=1)
    m = (r > 0) & (r < model.cutoff("A", "A"))
    R, r = R[m], r[m]
    _, du, d2u = model.eval("A", "A", r)
    n = R / r[:, None]
    K = (d2u - du / r)[:, None, None] * n[:, :, None] * n[:, None, :] + (du / r)[:, None, None] * np.eye(3)
    return np.einsum("r,rab->ab", 1 - np.cos(R @ k), K)


def test_fcc_phonons_match_analytic_dynamical_matrix(ka):
    ncell, a = 4, 1.6
    pos = fcc(ncell, a)
    L = ncell * a
    fr = gr.Frame(positions=pos, types=np.zeros(len(pos), int), box=gr.Box.cube(L), species=("A",))
    h = gr.elastic.hessian(fr, ka)  # a perfect crystal is a (stationary) minimum: forces vanish
    assert h.max_force < 1e-12
    # plane waves at a few allowed wave vectors are exact eigenvectors with ω² = eig D(k)
    for m in [(1, 0, 0), (1, 1, 0), (1, 1, 1), (2, 1, 0), (0, 2, 3)]:
        k = 2 * np.pi / L * np.array(m, float)
        w2, e = np.linalg.eigh(dynamical_matrix(k, a, ka))
        for s in range(3):
            for phase in (np.cos, np.sin):
                u = phase(pos @ k)[:, None] * e[:, s][None, :]
                mu = h.matvec(u)
                assert np.linalg.norm(mu - w2[s] * u) <= 1e-10 * np.linalg.norm(u) * max(w2.max(), 1.0)
    # the whole spectrum: all 4n³ distinct wave vectors of the supercell
    ev = []
    for m in itertools.product(range(2 * ncell), repeat=3):
        k = 2 * np.pi / L * np.array(m, float)
        ev.extend(np.linalg.eigvalsh(dynamical_matrix(k, a, ka)))
    ev = np.sort(ev)[::2]  # the cube [0, 2n)³ covers each k of the reciprocal bcc cell twice
    dense = np.linalg.eigvalsh(h.sparse().toarray())
    np.testing.assert_allclose(dense, ev, atol=1e-9 * ev.max())


def test_soft_modes_match_dense_eigenvectors(ka_is, ka):
    h = gr.elastic.hessian(ka_is, ka)
    tab = gr.elastic.soft_modes(h, k=5)
    ev, vec = np.linalg.eigh(h.sparse().toarray())
    np.testing.assert_allclose(tab["eigenvalue"].to_numpy(), ev[3:8], rtol=1e-8)
    n = ka_is.n_particles
    for m in range(5):
        e = vec[:, 3 + m].reshape(n, 3)
        a2 = (e ** 2).sum(axis=1)
        pr = a2.sum() ** 2 / (n * (a2 ** 2).sum())
        assert tab["participation_ratio"][m] == pytest.approx(pr, rel=1e-6)
        assert tab["center"][m] == int(np.argmax(a2))
    amp = gr.elastic.soft_modes(h, k=2, amplitudes=True)
    assert amp.height == 2 * n
    np.testing.assert_allclose(amp.group_by("mode").agg((pl.col("amplitude") ** 2).sum())["amplitude"], 1.0, rtol=1e-12)
