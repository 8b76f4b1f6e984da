"""The shared force kernel against LAMMPS (native styles), finite differences and bad input."""

import numpy as np
import pytest

import glassrs as gr
from glassrs import models
from conftest import load_lammps
from lammps_oracle import jittered_lattice, lammps_forces

NATIVE = {
    "kob_andersen": models.kob_andersen, "ka_wca": models.ka_wca, "qp(12,6)": lambda: models.qp(12, 6),
    "qp(18,6)": lambda: models.qp(18, 6), "wahnstrom": models.wahnstrom, "ipl10": models.ipl10,
    "sticky_spheres": models.sticky_spheres,
    "lj_none": lambda: models.lj_mixture(epsilon={"AA": 1, "AB": 1.5, "BB": .5}, sigma={"AA": 1, "AB": .8, "BB": .88}, shift="none"),
    "lj_force": lambda: models.lj_mixture(epsilon={"AA": 1, "AB": 1.5, "BB": .5}, sigma={"AA": 1, "AB": .8, "BB": .88}, shift="force"),
}


@pytest.mark.parametrize("name", list(NATIVE))
@pytest.mark.parametrize("tilted", [False, True])
def test_against_lammps_native(name, tilted):
    lammps = load_lammps()
    model = NATIVE[name]()
    frame = jittered_lattice(model, 800, seed=1, tilts=(1.1, -0.6, 0.4) if tilted else (0, 0, 0))
    ours = gr.forces(frame, model)
    e, f, p = lammps_forces(lammps, frame, model, model.lammps_commands())
    assert ours.energy == pytest.approx(e, rel=1e-10, abs=1e-10)
    fscale = np.abs(f).max()
    np.testing.assert_allclose(ours.forces, f, rtol=0, atol=1e-10 * fscale)
    np.testing.assert_allclose(ours.pressure, p, rtol=0, atol=1e-10 * np.abs(p).max())
    assert ours.per_particle.sum() == pytest.approx(ours.energy, rel=1e-12)


def test_table_model_against_lammps_table(tmp_path):
    """A model exported with to_lammps_table and read back as gr.models.table agrees with the
    analytic model and with LAMMPS `pair_style table` to the interpolation accuracy."""
    lammps = load_lammps()
    ka = models.kob_andersen()
    path = str(tmp_path / "ka.table")
    cmds = ka.to_lammps_table(path, n=20000)
    tab = models.table({"AA": "A_A", "AB": "A_B", "BB": "B_B"}, path=path, composition=[0.8, 0.2], density=1.2)
    frame = jittered_lattice(ka, 800, seed=2)
    exact = gr.forces(frame, ka)
    ours = gr.forces(frame, tab)
    # Hermite interpolation with exact derivatives: error ~ h^4 U''''
    assert ours.energy == pytest.approx(exact.energy, rel=1e-10)
    np.testing.assert_allclose(ours.forces, exact.forces, atol=1e-7 * np.abs(exact.forces).max())
    e, f, p = lammps_forces(lammps, frame, tab, cmds)
    # LAMMPS re-interpolates the file with its own splines (`table spline 20000`); measured
    # ~5e-13 relative in energy and ~2e-12 in forces (`linear` gives only ~1e-6)
    assert e == pytest.approx(exact.energy, rel=1e-10)
    np.testing.assert_allclose(f, exact.forces, atol=1e-10 * np.abs(exact.forces).max())
    np.testing.assert_allclose(p, exact.pressure, atol=1e-10 * np.abs(p).max())


def test_forces_are_minus_gradient_and_pressure_is_volume_derivative():
    model = models.kob_andersen()
    frame = jittered_lattice(model, 300, seed=3)
    res = gr.forces(frame, model)
    h = 1e-6
    for i in (0, 11, 299):
        for a in range(3):
            p = frame.positions.copy()
            p[i, a] += h
            ep = gr.forces(gr.Frame(p, frame.types, frame.box, frame.species), model).energy
            p[i, a] -= 2 * h
            em = gr.forces(gr.Frame(p, frame.types, frame.box, frame.species), model).energy
            assert -(ep - em) / (2 * h) == pytest.approx(res.forces[i, a], rel=1e-6, abs=1e-6)
    # P_xx = -dE/dε_xx / V under affine stretch along x
    def energy(eps):
        m = frame.box.matrix.copy()
        m[0, 0] *= 1 + eps
        b = gr.Box(m)
        x = frame.positions.copy()
        x[:, 0] *= 1 + eps
        return gr.forces(gr.Frame(x, frame.types, b, frame.species), model).energy
    dE = (energy(h) - energy(-h)) / (2 * h)
    assert -dE / frame.box.volume == pytest.approx(res.pressure[0, 0], rel=1e-6)


def test_model_derivatives_match_finite_differences():
    for m in [models.kob_andersen(), models.ka_wca(), models.qp(12, 6), models.qp(18, 6), models.wahnstrom(),
              models.ipl10()]:
        for a, b in [("A", "A"), ("A", "B"), ("B", "B")]:
            rc = m.cutoff(a, b)
            r = np.linspace(0.4 * rc, 0.99 * rc, 25)
            h = 1e-6
            u, du, d2u = m.eval(a, b, r)
            fd1 = (m.eval(a, b, r + h)[0] - m.eval(a, b, r - h)[0]) / (2 * h)
            fd2 = (m.eval(a, b, r + h)[1] - m.eval(a, b, r - h)[1]) / (2 * h)
            np.testing.assert_allclose(du, fd1, rtol=1e-7, atol=1e-7)
            np.testing.assert_allclose(d2u, fd2, rtol=1e-7, atol=1e-6)


def test_bad_input():
    m = models.kob_andersen()
    b = gr.Box.cube(6.0)
    with pytest.raises(ValueError, match="particles 0 and 1 overlap"):
        gr.forces(gr.Frame(np.ones((2, 3)), [0, 0], b, ("A", "B")), m)
    with pytest.raises(ValueError, match="non-finite"):
        gr.forces(gr.Frame(np.array([[np.nan, 0, 0], [1, 1, 1]]), [0, 0], b, ("A", "B")), m)
    with pytest.raises(ValueError, match="half the smallest box height"):
        gr.forces(gr.Frame(np.zeros((1, 3)), [0], gr.Box.cube(4.0), ("A", "B")), m)
    with pytest.raises(ValueError, match="unknown species 'C'"):
        gr.forces(gr.Frame(np.zeros((1, 3)), [0], b, ("C",)), m)
    with pytest.raises(ValueError, match="q > p"):
        models.qp(6, 12)
    with pytest.raises(ValueError, match="unknown shift"):
        models.lj_mixture(shift="both")
    with pytest.raises(ValueError, match="unknown model"):
        models.get("kob_anderson")
