"""Stillinger–Weber (three-body) against LAMMPS `pair_style sw` (energy, per-atom energy,
forces, virial, NVE and NVT trajectories, FIRE minima), finite differences, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

import glassrs as gr
from conftest import load_lammps
from lammps_oracle import jittered_lattice, lammps_instance

SW = gr.models.stillinger_weber()


def _lammps_sw(lammps, frame, tmp_path, extra=(), velocities=None):
    cmds = SW.write_lammps_sw(str(tmp_path / "glass.sw"))
    return lammps_instance(lammps, frame, SW, cmds, velocities=velocities,
                           extra=["compute pea all pe/atom", *extra])


def _sorted(lmp, name, n):
    ids = np.asarray(lmp.numpy.extract_atom("id"))[:n].copy()
    return np.asarray(lmp.numpy.extract_atom(name))[:n][np.argsort(ids)].copy()


@pytest.mark.parametrize("density,tilts", [(0.52, (0, 0, 0)), (0.52, (0.9, -0.5, 0.3)), (0.7, (0, 0, 0))])
def test_energy_forces_virial_match_lammps(tmp_path, density, tilts):
    lammps = load_lammps()
    frame = jittered_lattice(SW, 512, seed=4, density=density, tilts=tilts, jitter=0.6)
    ours = gr.forces(frame, SW)
    lmp = _lammps_sw(lammps, frame, tmp_path)
    lmp.command("run 0")
    n = frame.n_particles
    e = lmp.get_thermo("pe") * n
    f = _sorted(lmp, "f", n)
    ids = np.asarray(lmp.numpy.extract_atom("id"))[:n].copy()
    pea = np.asarray(lmp.numpy.extract_compute("pea", 1, 1))[:n][np.argsort(ids)].copy()
    pv = np.asarray(lmp.numpy.extract_compute("pv", 0, 1)).copy()
    lmp.close()
    p = np.array([[pv[0], pv[3], pv[4]], [pv[3], pv[1], pv[5]], [pv[4], pv[5], pv[2]]])
    # three-body terms are present and matter: compare with the two-body part alone
    assert abs(ours.energy - gr.forces(frame, gr.models.stillinger_weber(0.0)).energy) > 0.05 * abs(ours.energy)
    assert ours.energy == pytest.approx(e, rel=1e-12)
    np.testing.assert_allclose(ours.per_particle, pea, rtol=0, atol=1e-12 * np.abs(pea).max())
    np.testing.assert_allclose(ours.forces, f, rtol=0, atol=1e-12 * np.abs(f).max())
    np.testing.assert_allclose(ours.pressure, p, rtol=0, atol=1e-12 * np.abs(p).max())


def test_forces_are_minus_gradient_and_virial_is_strain_derivative():
    frame = jittered_lattice(SW, 216, seed=5, density=0.52, jitter=0.6)
    res = gr.forces(frame, SW)
    h = 1e-6
    rng = np.random.default_rng(0)
    for i in rng.choice(frame.n_particles, 6, replace=False):
        for a in range(3):
            xp, xm = frame.positions.copy(), frame.positions.copy()
            xp[i, a] += h
            xm[i, a] -= h
            ep = gr.forces(gr.Frame(positions=xp, types=frame.types, box=frame.box, species=frame.species), SW).energy
            em = gr.forces(gr.Frame(positions=xm, types=frame.types, box=frame.box, species=frame.species), SW).energy
            assert -(ep - em) / (2 * h) == pytest.approx(res.forces[i, a], abs=1e-6 * max(1, abs(res.forces[i, a])))
    # W_ab = −∂E/∂ε_ab under the affine deformation x → (1 + ε) x
    for a, b in [(0, 0), (1, 2), (2, 0)]:
        es = []
        for s in (h, -h):
            eps = np.eye(3)
            eps[a, b] += s
            box = gr.Box(eps @ frame.box.matrix)
            es.append(gr.forces(gr.Frame(positions=frame.positions @ eps.T, types=frame.types, box=box,
                                         species=frame.species), SW).energy)
        assert -(es[0] - es[1]) / (2 * h) == pytest.approx(res.virial[a, b], abs=1e-5 * np.abs(res.virial).max())


@pytest.fixture(scope="module")
def sw_liquid():
    f = gr.md.push_off(gr.md.initial_configuration(SW, 512, seed=2, method="lattice"), SW)
    sim = gr.md.Simulation(SW, f, T=0.08, dt=0.005, seed=2)
    sim.run(2000, thermo_every=0)
    return sim.frame(velocities=sim._sim.velocities())


@pytest.mark.parametrize("ensemble", ["nve", "nvt"])
def test_md_matches_lammps_step_by_step(sw_liquid, tmp_path, ensemble):
    lammps = load_lammps()
    f = sw_liquid
    dt, steps = 0.005, 100
    fix = "fix 1 all nve" if ensemble == "nve" else "fix 1 all nvt temp 0.08 0.08 0.5"
    lmp = _lammps_sw(lammps, f, tmp_path, extra=[fix, f"timestep {dt}"], velocities=f.velocities)
    lmp.command(f"run {steps}")
    n = f.n_particles
    x = _sorted(lmp, "x", n)
    v = _sorted(lmp, "v", n)
    lmp.close()
    sim = gr.md.Simulation(SW, f, T=0.08, dt=dt, ensemble=ensemble, tdamp=0.5)
    sim.run(steps, thermo_every=0)
    assert np.abs(sim._sim.positions() - f.unwrapped_positions()).max() > 0.02  # it moved
    np.testing.assert_allclose(f.box.min_image(sim._sim.positions() - x), 0, atol=1e-9)
    np.testing.assert_allclose(sim._sim.velocities(), v, atol=1e-9)


def test_nve_conserves_energy(sw_liquid):
    sim = gr.md.Simulation(SW, sw_liquid, T=0.08, dt=0.005, ensemble="nve")
    _, th = sim.run(4000, thermo_every=100)
    cons = th[:, 5]
    assert np.ptp(cons) < 2e-4 * np.abs(cons).mean()


def test_fire_reaches_the_lammps_minimum(sw_liquid, tmp_path):
    lammps = load_lammps()
    ours, info = gr.minimize.fire(sw_liquid, SW)
    assert info.max_force < 1e-10
    lmp = _lammps_sw(lammps, sw_liquid, tmp_path, extra=["min_style fire", "min_modify integrator eulerimplicit"])
    lmp.command("minimize 0 1e-12 100000 1000000")
    e_l = lmp.get_thermo("pe") * sw_liquid.n_particles
    lmp.close()
    # the same basin: the same inherent-structure energy
    assert info.energy == pytest.approx(e_l, rel=1e-8)


def test_per_pair_quantities_refuse_a_many_body_model():
    frame = jittered_lattice(SW, 512, seed=4, density=0.52, jitter=0.3)
    with pytest.raises(ValueError, match="three-body"):
        gr.structure.local(frame, SW, T=0.1, closure="hnc")
    with pytest.raises(ValueError, match="three-body"):
        SW.lammps_commands()


def test_bad_input():
    with pytest.raises(ValueError, match="λ ≥ 0"):
        gr.models.stillinger_weber(float("nan"))
    frame = jittered_lattice(gr.models.kob_andersen(), 512, seed=1, density=0.52)   # two species
    with pytest.raises(ValueError, match="species"):
        gr.forces(frame, SW)
    assert gr.models.get("sw:lam=21").three_body_params()["lambda"] == 21.0


def test_seed003_presets_and_reduced_units():
    p = gr.models.preset("seed003-sw")
    assert p.model.many_body and (p.density, p.n, p.dt, p.tdamp, p.q_max) == (0.52, 8000, 0.065, 6.5, 6.28)
    assert p.a0 == pytest.approx(0.52 ** (-1 / 3)) and p.t0(0.05) == pytest.approx(p.a0 / 0.05 ** 0.5)
    assert p.t_ballistic(0.05) == pytest.approx(0.1 * p.t0(0.05))
    ipl = gr.models.preset("seed003-ipl")
    assert ipl.model.name == "ipl10" and (ipl.density, ipl.n, ipl.q_max) == (0.82, 2000, 6.35)
    for missing in ("seed003-mblj",):   # the sticky spheres exist now (test_models_sticky.py)
        with pytest.raises(ValueError, match="does not provide"):
            gr.models.preset(missing)
    with pytest.raises(ValueError, match="available"):
        gr.models.preset("seed004")


def test_stillinger_weber_refuses_a_2d_box():
    m = gr.models.stillinger_weber()
    f = gr.Frame(positions=np.array([[1.0, 1.0, 0.0], [2.5, 1.0, 0.0], [1.0, 3.0, 0.0]]), types=[0, 0, 0],
                 box=gr.Box.square(8.0), species=("A",))
    with pytest.raises(ValueError, match="three-dimensional"):
        gr.forces(f, m)
    with pytest.raises(ValueError, match="three-dimensional"):
        gr.md.Simulation(m, f, T=0.06, dt=0.065)
