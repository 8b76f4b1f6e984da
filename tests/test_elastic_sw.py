"""Elasticity of a Stillinger–Weber inherent structure: the Hessian with its three-body blocks
against finite differences of the (LAMMPS-checked) forces, exact translation zero modes, and the
athermal shear modulus against the relaxed finite-strain modulus."""

from __future__ import annotations

import numpy as np
import pytest

import glassrs as gr

SW = gr.models.stillinger_weber()


@pytest.fixture(scope="module")
def sw_is():
    f = gr.md.push_off(gr.md.initial_configuration(SW, 216, seed=11, method="lattice"), SW)
    sim = gr.md.Simulation(SW, f, T=0.1, dt=0.005, seed=11)
    sim.run(1500, thermo_every=0)
    frame, info = gr.minimize.fire(sim.frame(), SW)
    assert info.max_force < 1e-10
    return frame


def _forces(frame, x, H=None):
    box = frame.box if H is None else gr.Box(H)
    return gr.forces(gr.Frame(positions=x, types=frame.types, box=box, species=frame.species), SW)


def test_hessian_times_vector_equals_force_finite_difference(sw_is):
    h = gr.elastic.hessian(sw_is, SW)
    rng = np.random.default_rng(3)
    for _ in range(3):
        v = rng.standard_normal(sw_is.positions.shape)
        v /= np.linalg.norm(v)
        eps = 1e-5
        fd = -(_forces(sw_is, sw_is.positions + eps * v).forces - _forces(sw_is, sw_is.positions - eps * v).forces) / (2 * eps)
        assert np.linalg.norm(h.matvec(v) - fd) <= 1e-6 * np.linalg.norm(fd)
    # the three-body blocks matter: the pair part alone is far off
    h2 = gr.elastic.hessian(sw_is, gr.models.stillinger_weber(0.0), force_tol=None, check_rattlers=False)
    assert np.linalg.norm(h.matvec(v) - h2.matvec(v)) > 0.1 * np.linalg.norm(fd)


def test_hessian_is_symmetric_with_exact_translation_zero_modes(sw_is):
    h = gr.elastic.hessian(sw_is, SW)
    M = h.sparse()
    scale = np.abs(M.data).max()
    assert abs(M - M.T).max() <= 1e-13 * scale
    for q in range(3):
        t = np.zeros((sw_is.n_particles, 3))
        t[:, q] = 1.0
        assert np.abs(h.matvec(t)).max() <= 1e-12 * scale
    ev = np.linalg.eigvalsh(M.toarray())
    assert np.abs(ev[:3]).max() <= 1e-10 * scale and ev[3] > 1e-6


def _relaxed_stress(frame, g):
    F = np.eye(3)
    F[0, 1] = g
    H = F @ frame.box.matrix
    sheared = gr.Frame(positions=frame.positions @ F.T, types=frame.types, box=gr.Box(H), species=frame.species)
    relaxed, info = gr.minimize.fire(sheared, SW)
    assert info.max_force < 1e-10
    res = gr.forces(relaxed, SW)
    return -res.virial[0, 1] / relaxed.box.volume    # σ_xy = (1/V) ∂U/∂γ


@pytest.mark.parametrize("solver", ["cg", "cholesky"])
def test_G_equals_relaxed_finite_strain_modulus(sw_is, solver):
    res = gr.elastic.shear_modulus(sw_is, SW, planes="xy", solver=solver)
    g = 1e-5
    fd = (_relaxed_stress(sw_is, g) - _relaxed_stress(sw_is, -g)) / (2 * g)
    assert res.G == pytest.approx(fd, rel=1e-4)
    assert 0 < res.G < res.born
    # the Born term is the affine stress derivative
    s = []
    for sg in (-1e-7, 1e-7):
        F = np.eye(3)
        F[0, 1] = sg
        r = _forces(sw_is, sw_is.positions @ F.T, F @ sw_is.box.matrix)
        s.append(-r.virial[0, 1] / sw_is.box.volume)
    assert res.born == pytest.approx((s[1] - s[0]) / 2e-7, rel=1e-5)


def test_dipole_stiffness_and_local_kappa_work(sw_is):
    h = gr.elastic.hessian(sw_is, SW)
    kap = gr.elastic.dipole_stiffness(h, pairs=40, seed=2)
    assert kap.height == 40 and (kap["kappa"] > 0).all()
    loc = gr.elastic.local_kappa(kap, sw_is)
    assert loc["kappa_local"].drop_nulls().is_finite().all() and loc["n_pairs"].sum() == 80
