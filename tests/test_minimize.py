"""FIRE inherent structures: convergence, errors, batch form, and LAMMPS min_style fire."""

import numpy as np
import pytest

import glassrs as gr
from glassrs import models
from conftest import load_lammps
from lammps_oracle import jittered_lattice, lammps_instance


def test_fire_converges_and_forces_vanish():
    m = models.kob_andersen()
    f = jittered_lattice(m, 500, seed=4, jitter=0.3)
    e0 = gr.forces(f, m).energy
    g, info = gr.minimize.fire(f, m)
    assert info.max_force < 1e-10 and info.iterations > 0
    res = gr.forces(g, m)
    # an independent re-evaluation sums pairs in another order: ~1e-12 round-off on forces
    assert np.linalg.norm(res.forces, axis=1).max() < 1e-10 + 2e-12
    assert res.energy == pytest.approx(info.energy, rel=1e-13)
    assert info.energy < e0
    # restarting from the minimum stays there (a few iterations at most: the re-evaluated
    # forces differ from FIRE's by summation-order round-off around the 1e-10 threshold)
    g2, info2 = gr.minimize.fire(g, m)
    assert info2.iterations < 50 and info2.energy == pytest.approx(info.energy, rel=1e-13)
    assert np.abs(g2.positions - g.positions).max() < 1e-9


def test_non_convergence_and_bad_parameters():
    m = models.kob_andersen()
    f = jittered_lattice(m, 500, seed=5)
    with pytest.raises(gr.ConvergenceError, match="did not converge in max_iter = 20"):
        gr.minimize.fire(f, m, max_iter=20)
    with pytest.raises(ValueError, match="unknown FIRE parameter 'dtgrowth'"):
        gr.minimize.fire(f, m, dtgrowth=1.2)
    with pytest.raises(ValueError, match="f_tol"):
        gr.minimize.fire(f, m, f_tol=-1)


def test_batch_matches_single_and_reports_failures():
    m = models.kob_andersen()
    frames = [jittered_lattice(m, 500, seed=s) for s in (6, 6)]
    frames[1] = gr.Frame(frames[1].positions + 0.01, frames[0].types, frames[0].box, frames[0].species)
    out, table = gr.minimize.fire_batch(frames, m)
    g, info = gr.minimize.fire(frames[1], m, n_threads=1)
    assert table["energy"][1] == info.energy
    np.testing.assert_array_equal(out[1].positions, g.positions)
    assert table["converged"].all()
    _, t2 = gr.minimize.fire_batch(frames, m, max_iter=5, errors="ignore")
    assert not t2["converged"].any() and t2["energy"].is_nan().all()
    with pytest.raises(gr.ConvergenceError, match="frame 0"):
        gr.minimize.fire_batch(frames, m, max_iter=5)


def lammps_fire_cg(lammps, frame, model):
    """LAMMPS min_style fire to max|F| < 1e-10 then cg; returns (E_fire, E_cg, positions)."""
    lmp = lammps_instance(lammps, frame, model, model.lammps_commands(),
                          extra=["min_modify norm max", "thermo_style custom step pe fmax", "timestep 0.005"])
    lmp.commands_list(["min_style fire", "minimize 0 1e-10 200000 400000"])
    e_fire = lmp.get_thermo("pe") * frame.n_particles
    lmp.commands_list(["min_style cg", "minimize 0 1e-10 200000 400000"])
    e_cg = lmp.get_thermo("pe") * frame.n_particles
    lmp.close()
    return e_fire, e_cg
