"""Athermal shear modulus (definitions §6) vs the relaxed finite-strain modulus of a KA inherent
structure (box sheared through its xy tilt, relaxed with an independent scipy/numpy minimiser)."""

from __future__ import annotations

import numpy as np
import pytest

import glassrs as gr
import _elastic_oracle as oracle


def sheared(frame, g, a=0, b=1):
    """Affinely sheared copy: x_a += g x_b for positions and box vectors."""
    F = np.eye(3)
    F[a, b] = g
    return frame.positions @ F.T, F @ frame.box.matrix


def relaxed_stress(frame, g):
    x, H = sheared(frame, g)
    x, fmax = oracle.minimize(x, frame.types, H)
    assert fmax < 1e-10
    return oracle.shear_stress_xy(x, frame.types, H)


@pytest.mark.parametrize("solver", ["cg", "cholesky"])
def test_G_equals_relaxed_finite_strain_modulus(ka_is, ka, solver):
    res = gr.elastic.shear_modulus(ka_is, ka, planes="xy", solver=solver)
    assert res.solver == solver
    g = 1e-6
    fd = (relaxed_stress(ka_is, g) - relaxed_stress(ka_is, -g)) / (2 * g)
    assert res.G == pytest.approx(fd, rel=1e-5)
    assert 0 < res.G < res.born  # relaxation softens


def test_born_term_equals_affine_stress_derivative(ka_is, ka):
    # Born = (1/V) ∂²U/∂γ² = ∂σ_affine/∂γ. A tiny strain keeps pairs from crossing the cutoff,
    # where KA's force jumps (a finite-difference of the energy at γ ~ 1e-4 picks that up).
    res = gr.elastic.shear_modulus(ka_is, ka, planes=["xy", "zx"])
    for name, (a, b) in (("xy", (0, 1)), ("zx", (2, 0))):
        g = 1e-7
        s = []
        for sg in (-g, g):
            F = np.eye(3)
            F[a, b] = sg
            s.append(oracle.shear_stress(ka_is.positions @ F.T, ka_is.types, F @ ka_is.box.matrix, a, b))
        fd = (s[1] - s[0]) / (2 * g)
        assert res.per_plane[name][1] == pytest.approx(fd, rel=1e-5)


def test_all_planes_average(ka_is, ka):
    allp = gr.elastic.shear_modulus(ka_is, ka, planes="all")
    assert len(allp.per_plane) == 6
    assert allp.G == pytest.approx(np.mean([v[0] for v in allp.per_plane.values()]), rel=1e-14)
    one = gr.elastic.shear_modulus(ka_is, ka, planes="yz")
    assert one.G == pytest.approx(allp.per_plane["yz"][0], rel=1e-10)
    # x→x+γy and y→y+γx differ only by the stress term at first order: G_xy ≈ G_yx within |σ_xy|/…
    assert allp.to_polars().height == 6


def test_native_stress_matches_numpy(ka_is, ka):
    h = gr.elastic.hessian(ka_is, ka)
    born, xi, stress = h.native.shear_terms(0, 1)
    assert stress == pytest.approx(oracle.shear_stress_xy(ka_is.positions, ka_is.types, ka_is.box.matrix), rel=1e-10, abs=1e-12)
    # Ξ has zero net force (orthogonal to translations)
    assert np.abs(xi.reshape(-1, 3).sum(axis=0)).max() < 1e-10 * np.abs(xi).max()
