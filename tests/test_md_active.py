"""Active (self-propelled) Kob–Andersen MD: the passive limit bit for bit, the propulsion rule
(zero net force, ±f0 components, redraws every τ_p), the force autocorrelation and the MSD of
free active particles against their analytic forms, restarts, isoconfigurational ensembles and
campaign plans."""

import numpy as np
import pytest

import glassrs as gr
from glassrs import models
from glassrs.md import Activity


@pytest.fixture(scope="module")
def ka():
    m = models.kob_andersen()
    f = gr.md.push_off(gr.md.initial_configuration(m, 300, seed=5), m)
    return m, f


def test_f0_zero_is_the_passive_engine_bit_for_bit(ka):
    m, f = ka
    kw = dict(T=0.8, steps=400, dt=0.005, seed=11, start=f, equilibrate=0, every=100, thermo_every=100)
    passive = gr.md.run(m, **kw)
    zero = gr.md.run(m, activity=Activity(f0=0.0, fraction=0.2, tau_p=0.1), **kw)
    assert np.array_equal(passive.unwrapped(), zero.unwrapped())
    assert np.array_equal(passive.last_velocities, zero.last_velocities)
    assert zero.params["activity"]["f0"] == 0.0 and zero.params["activity"]["n_active"] == 60
    active = gr.md.run(m, activity=Activity(f0=1.0, fraction=0.2, tau_p=0.1), **kw)
    assert not np.array_equal(passive.unwrapped(), active.unwrapped())


@pytest.mark.parametrize("dim", [3, 2])
def test_propulsion_rule(dim):
    m = models.kob_andersen() if dim == 3 else models.kob_andersen_2d()
    f = gr.md.push_off(gr.md.initial_configuration(m, 200, seed=2, dim=dim), m)
    act = Activity(f0=0.7, fraction=0.1, tau_p=0.05, select_seed=4)  # 10 steps at dt = 0.005
    sim = gr.md.Simulation(m, f, T=0.8, seed=1, activity=act)
    idx = act.active_particles(200)
    assert len(idx) == 20 and np.array_equal(idx, Activity(f0=3.0, select_seed=4).active_particles(200))
    prev = None
    for step in range(0, 60):
        p = sim.propulsion_forces()
        assert p.shape == (200, 3)
        # zero net force: per component, as many +f0 as −f0
        np.testing.assert_array_equal((p[idx, :dim] > 0).sum(axis=0), len(idx) // 2)
        np.testing.assert_allclose(p.sum(axis=0), 0.0, atol=1e-13)
        passive = np.setdiff1d(np.arange(200), idx)
        assert np.all(p[passive] == 0.0)
        assert np.all(np.abs(p[idx, :dim]) == 0.7)
        if dim == 2:
            assert np.all(p[:, 2] == 0.0)
        if prev is not None:
            if sim.step % 10 != 0:
                np.testing.assert_array_equal(p, prev)  # constant within a persistence window
            else:
                assert not np.array_equal(p, prev)      # redrawn (20 particles × d signs: equal by chance ~2^-40)
        prev = p
        sim.run(1, thermo_every=0)


def test_propulsion_autocorrelation_is_the_triangle(ka):
    """⟨f_i(t)·f_i(t+s)⟩ over origins and active particles = d f0² max(0, 1 − s/τ_p)."""
    m, f = ka
    every, f0 = 8, 0.5
    act = Activity(f0=f0, fraction=0.2, tau_p=every * 0.005)
    sim = gr.md.Simulation(m, f, T=0.8, seed=3, activity=act)
    idx = act.active_particles(f.n_particles)
    series = []
    for _ in range(8 * 120):
        series.append(sim.propulsion_forces()[idx])
        sim.run(1, thermo_every=0)
    x = np.array(series)                      # (T, M, 3)
    n_t, m_act = x.shape[:2]
    for lag in range(0, 3 * every):
        c = np.mean(np.sum(x[: n_t - lag] * x[lag:], axis=2))
        want = 3 * f0 ** 2 * max(0.0, 1.0 - lag / every)
        # the different-window products are ±f0² per component, independent between windows
        n_windows = n_t / every
        sigma = np.sqrt(3) * f0 ** 2 / np.sqrt(m_act * n_windows)
        assert abs(c - want) < 5 * sigma, (lag, c, want, sigma)


def _verlet_coefficients(n_steps: int, every: int, dt: float) -> np.ndarray:
    """c[s, w]: displacement after s velocity-Verlet steps (m = 1, from rest) of a unit force that
    acts only during window w (steps w·every … (w+1)·every − 1) — the exact discrete response."""
    n_w = n_steps // every + 1
    c = np.zeros((n_steps + 1, n_w))
    for w in range(n_w):
        force = (np.arange(n_steps + 1) // every == w).astype(float)
        x = v = 0.0
        for s in range(n_steps):
            x += dt * v + 0.5 * dt * dt * force[s]
            v += 0.5 * dt * (force[s] + force[s + 1])
            c[s + 1, w] = x
    return c


def test_msd_of_free_active_particles_matches_the_analytic_form():
    """Non-interacting active particles (an empty box), NVE from rest. Per component
    X(t) = (f0/m) ∫₀ᵗ (t − u) k(u) du with k = ±1 constant in each window of τ_p and independent
    between windows, so MSD(t) = d (f0/m)² Σ_n [∫_{window n ∩ [0,t]} (t − u) du]² (the analytic
    form). The simulation must match the exact velocity-Verlet response of the same rule within
    its statistical error, and the analytic form to O(dt/τ_p) (Verlet switches the velocity half
    a step early)."""
    m = models.kob_andersen()
    n, L = 1000, 2000.0                     # mean spacing 200 σ ≫ the 2.5 σ cutoff: no collisions
    rng = np.random.default_rng(0)
    box = gr.Box.orthorhombic([L, L, L])
    frame = gr.Frame(positions=rng.uniform(0, L, (n, 3)), types=np.r_[np.zeros(800, int), np.ones(200, int)],
                     box=box, species=["A", "B"])
    dt, every, f0 = 0.005, 40, 0.8          # KA masses are 1
    act = Activity(f0=f0, fraction=1.0, tau_p=every * dt)
    sim = gr.md.Simulation(m, frame, T=1.0, dt=dt, ensemble="nve", seed=7, velocities=np.zeros((n, 3)),
                           activity=act)
    x0 = sim._sim.positions().copy()
    steps = [10, 40, 100, 200, 400]
    frames, _ = sim.run(max(steps), output=steps, thermo_every=0)
    coef = _verlet_coefficients(max(steps), every, dt)
    tau = every * dt
    for fr, s in zip(frames, steps):
        t = s * dt
        d2 = ((fr.unwrapped_positions() - x0) ** 2).sum(axis=1)    # one sample per particle
        got, sigma = d2.mean(), d2.std(ddof=1) / np.sqrt(n)
        verlet = 3 * f0 ** 2 * np.sum(coef[s] ** 2)
        # within the first window every |X| is the same (σ = 0): then only the round-off of
        # positions ~10³ σ (1e-13 σ absolute) remains
        assert abs(got - verlet) < 5 * sigma + 1e-9 * verlet, (s, got, verlet, sigma)
        edges = np.minimum(np.arange(0, int(np.ceil(t / tau)) + 1) * tau, t)
        ints = [0.5 * ((t - a) ** 2 - (t - b) ** 2) for a, b in zip(edges[:-1], edges[1:])]
        analytic = 3 * f0 ** 2 * np.sum(np.square(ints))
        assert abs(verlet - analytic) < 2 * (dt / tau) * analytic, (s, verlet, analytic)
    # many windows: far below the ballistic t⁴ growth of a never-redrawn force
    assert got < 0.5 * 3 * f0 ** 2 * (t * t / 2) ** 2


def test_restart_with_activity_is_bit_identical(ka):
    m, f = ka
    act = Activity(f0=1.0, fraction=0.2, tau_p=0.03)
    a = gr.md.Simulation(m, f, T=0.8, seed=9, activity=act)
    a.run(101, thermo_every=0)
    st = a.state()
    assert "propulsion_signs" in st and "propulsion_rng" in st
    b = gr.md.Simulation.from_state(m, f, st, T=0.8, dt=0.005, activity=act)
    fa, _ = a.run(150, output=[251], thermo_every=0)
    fb, _ = b.run(150, output=[251], thermo_every=0)
    assert np.array_equal(fa[0].unwrapped_positions(), fb[0].unwrapped_positions())
    np.testing.assert_array_equal(a.propulsion_forces(), b.propulsion_forces())


def test_checkpoint_resume_with_activity(ka, tmp_path):
    m, f = ka
    ck = str(tmp_path / "run.npz")
    kw = dict(T=0.8, steps=600, seed=2, start=f, equilibrate=0, every=200, checkpoint_every=200,
              activity=Activity(f0=0.5, tau_p=0.02))
    whole = gr.md.run(m, **kw)
    calls = []

    def stop(done, total):
        calls.append(done)
        if done >= 400:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        gr.md.run(m, checkpoint=ck, progress=stop, **kw)
    resumed = gr.md.run(m, checkpoint=ck, **kw)
    assert np.array_equal(whole.unwrapped(), resumed.unwrapped())


def test_isoconf_runs_share_the_active_set_but_not_the_noise(ka):
    m, f = ka
    act = Activity(f0=1.0, fraction=0.2, tau_p=0.05)
    ens = gr.isoconf.ensemble(f, m, 0.8, n_runs=2, steps=200, every=100, seed=4, keep_runs=True, activity=act,
                              progress=False)
    assert ens.params["activity"]["active_particles"] == [int(i) for i in act.active_particles(300)]
    again = gr.isoconf.ensemble(f, m, 0.8, n_runs=2, steps=200, every=100, seed=4, activity=act, progress=False)
    np.testing.assert_array_equal(ens.sum_disp, again.sum_disp)
    # the same velocities with different propulsion noise differ from a passive ensemble
    passive = gr.isoconf.ensemble(f, m, 0.8, n_runs=2, steps=200, every=100, seed=4, progress=False)
    np.testing.assert_array_equal(passive.velocities, ens.velocities)
    assert not np.array_equal(passive.sum_disp, ens.sum_disp)


def test_campaign_plans_take_an_activity_table():
    from glassrs.campaign import plan, tasks

    base = {"name": "act", "model": "kob_andersen", "n": 500, "temperatures": [0.8], "configurations": 2,
            "equilibration": {"steps": 10}, "production": {"steps": 10}}
    ok = plan.validate({"systems": [dict(base, activity={"f0": 0.5})], "analyses": {"dynamics": {}}})
    assert ok["systems"][0]["activity"] == {"f0": 0.5}
    for bad, word in (({"f0": -1}, "f0"), ({"f0": 1, "fraction": 2}, "fraction"), ({"f0": 1, "tau": 1}, "unknown")):
        with pytest.raises(plan.PlanError, match=word):
            plan.validate({"systems": [dict(base, activity=bad)], "analyses": {"dynamics": {}}})
    spec = {"system": ok["systems"][0], "seed": 0, "T": 0.8}
    a0, a0b, a1 = tasks.activity_of(spec, 0), tasks.activity_of(spec, 0), tasks.activity_of(spec, 1)
    assert a0 == a0b and a0.f0 == 0.5 and a0.fraction == 0.1 and a0.tau_p == 1.0
    assert not np.array_equal(a0.active_particles(500), a1.active_particles(500))
    passive = plan.validate({"systems": [base], "analyses": {"dynamics": {}}})
    assert tasks.activity_of({"system": passive["systems"][0], "seed": 0, "T": 0.8}, 0) is None


def test_bad_activity():
    with pytest.raises(ValueError, match="f0"):
        Activity(f0=-1.0)
    with pytest.raises(ValueError, match="fraction"):
        Activity(f0=1.0, fraction=0.0)
    with pytest.raises(ValueError, match="tau_p"):
        Activity(f0=1.0, tau_p=0.0)
    with pytest.raises(ValueError, match="even"):
        Activity(f0=1.0, particles=[1, 2, 3]).active_particles(10)
    with pytest.raises(ValueError, match="outside"):
        Activity(f0=1.0, particles=[1, 20]).active_particles(10)
