"""Two dimensions: the box carries the dimension, and every spatial kernel works in d = 2
against real oracles — brute-force neighbour lists in tilted 2D boxes, freud's 2D RDF, a direct
sum over the 2D reciprocal lattice, LAMMPS with ``dimension 2`` (energy, forces, virial,
step-by-step MD with ``fix enforce2d``, minimisation) and the 2D Gaussian random walk."""

import numpy as np
import pytest

import glassrs as gr
from conftest import load_lammps
from lammps_oracle import lammps_forces, lammps_instance


def planar_frame(n: int, box: gr.Box, seed: int = 0, frac_a: float = 0.65, species=("A", "B")) -> gr.Frame:
    rng = np.random.default_rng(seed)
    s = np.column_stack([rng.random((n, 2)), np.zeros(n)])
    types = (rng.random(n) > frac_a).astype(int)
    return gr.Frame(positions=s @ box.matrix.T, types=types, box=box, species=species)


def ka2d(n: int = 300, seed: int = 1, T: float | None = None, steps: int = 0):
    """A 2D Kob–Andersen 65:35 configuration at ρ = 1.2 (pushed off; optionally run at T)."""
    m = gr.models.kob_andersen_2d()
    f = gr.md.push_off(gr.md.initial_configuration(m, n, seed=seed, dim=2), m)
    if T is not None:
        sim = gr.md.Simulation(m, f, T=T, seed=seed)
        sim.run(steps, thermo_every=0)
        f = sim.frame(velocities=sim._sim.velocities())
    return m, f


# -- the box ---------------------------------------------------------------------------------
def test_box_carries_the_dimension():
    b = gr.Box.from_lammps([10.0, 8.0], tilts=(3.0,))
    assert b.dim == 2 and b.volume == 80.0 and b.is_triclinic
    np.testing.assert_allclose(b.heights, [80.0 / np.hypot(3.0, 8.0), 8.0])
    assert b.max_cutoff == pytest.approx(0.5 * min(80.0 / np.hypot(3.0, 8.0), 8.0))
    assert not np.any(b.native[:, 2])                        # how the core learns d = 2
    assert gr.Box(b.native) == b                             # a zero third column is a 2D box
    assert gr.Box.orthorhombic([5.0, 5.0]) == gr.Box.square(5.0) != gr.Box.orthorhombic([5.0, 5.0, 1.0])
    assert repr(gr.Box.square(2.0)) == "Box(lengths=[2.0, 2.0])"
    with pytest.raises(ValueError, match="xy plane"):
        gr.Box(np.array([[5.0, 0, 0.0], [0, 5.0, 0.0], [0.3, 0, 0.0]]))
    pos = np.zeros((3, 3))
    pos[2, 2] = 0.25
    with pytest.raises(ValueError, match="particle 2 has z = 0.25 in a 2D box"):
        gr.Frame(positions=pos, types=[0, 0, 0], box=gr.Box.square(5.0), species=("A",))
    f2 = planar_frame(10, gr.Box.square(6.0))
    f3 = gr.Frame(positions=f2.positions, types=f2.types, box=gr.Box.cube(6.0), species=f2.species)
    with pytest.raises(ValueError, match="2D box, frame 0 a 3D box|3D box, frame 0 a 2D box"):
        gr.Trajectory.from_frames([f2, f3])
    assert gr.Trajectory.from_frames([f2]).dim == 2 and f2.dim == 2 and f3.dim == 3


# -- neighbours ------------------------------------------------------------------------------
@pytest.mark.parametrize("tilt", [0.0, 4.0, -7.0])
def test_neighbours_match_brute_force_in_tilted_2d_boxes(tilt):
    box = gr.Box.from_lammps([14.0, 11.0], tilts=(tilt,))
    f = planar_frame(700, box, seed=3)
    r_max = min(2.5, box.max_cutoff)
    t = gr.neighbors(f, r_max)
    d = f.positions[None, :, :] - f.positions[:, None, :]
    d = box.min_image(d.reshape(-1, 3)).reshape(d.shape)
    r = np.linalg.norm(d, axis=-1)
    np.fill_diagonal(r, np.inf)
    i, j = np.nonzero(r < r_max)
    np.testing.assert_array_equal(t["i"].to_numpy(), i)
    np.testing.assert_array_equal(t["j"].to_numpy(), j)
    np.testing.assert_allclose(t["r"].to_numpy(), r[i, j], rtol=0, atol=1e-12)
    np.testing.assert_allclose(t["dx"].to_numpy(), d[i, j, 0], atol=1e-12)
    assert np.all(t["dz"].to_numpy() == 0.0)
    half = gr.neighbors(f, r_max, half=True)
    assert len(half) * 2 == len(t) and np.all(half["j"].to_numpy() > half["i"].to_numpy())


# -- g(r) and S(q) ---------------------------------------------------------------------------
def test_rdf_matches_freud_2d_and_annulus_normalisation():
    freud = pytest.importorskip("freud")
    L, xy = 24.0, 5.0
    box = gr.Box.from_lammps([L, L], tilts=(xy,))
    f = planar_frame(900, box, seed=5)
    r_max, dr = 6.0, 0.05
    nb = int(round(r_max / dr))
    tab = gr.structure.rdf(f, r_max=r_max, dr=dr)
    fbox = freud.box.Box(Lx=L, Ly=L, xy=xy / L, is2D=True)
    pts = f.positions.copy()
    pts[:, :2] -= 0.5 * (box.matrix[:2, 0] + box.matrix[:2, 1])
    pts = fbox.wrap(pts)
    cnt = np.bincount(f.types, minlength=2)
    edges = np.arange(nb + 1) * dr
    annulus = np.pi * (edges[1:] ** 2 - edges[:-1] ** 2)
    for u, v, name in [(0, 0, "A-A"), (0, 1, "A-B"), (1, 1, "B-B")]:
        g = tab.filter(tab["pair"] == name)["g"].to_numpy()
        ours = np.rint(g * cnt[u] * (cnt[v] - (u == v)) * annulus / box.volume).astype(np.int64)
        rdf = freud.density.RDF(bins=nb, r_max=r_max)
        q = {"exclude_ii": True} if u == v else {}
        rdf.compute((fbox, pts[f.types == v]), query_points=pts[f.types == u], neighbors={"r_max": r_max, **q})
        theirs = np.asarray(rdf.bin_counts, dtype=np.int64)
        # freud works in float32: a pair within 1e-5 of a bin edge may land in the other bin
        assert np.abs(ours - theirs).sum() <= 4, (name, np.flatnonzero(ours != theirs))
        # ours are exact integers: g is counts / (N_u N_v′ / A · π(r₁² − r₀²))
        np.testing.assert_allclose(g * cnt[u] * (cnt[v] - (u == v)) * annulus / box.volume, ours, atol=1e-9)
    # an ideal gas in 2D has g → 1 at large r (normalisation by area, not volume)
    gas = planar_frame(4000, gr.Box.square(60.0), seed=6)
    g = gr.structure.rdf(gas, r_max=10.0, dr=0.5)
    assert abs(g.filter(g["pair"] == "A-A")["g"].to_numpy()[4:].mean() - 1.0) < 0.02
    assert gr.params(tab)["density"] == pytest.approx(900 / box.volume)


def test_sq_is_the_direct_sum_over_the_2d_reciprocal_lattice():
    box = gr.Box.from_lammps([9.0, 7.0], tilts=(2.0,))
    f = planar_frame(120, box, seed=8)
    q_max, dq = 6.0, 0.5
    tab = gr.structure.sq(f, q_max=q_max, dq=dq)
    b = 2 * np.pi * np.linalg.inv(box.matrix).T
    n = 12
    g = np.stack(np.meshgrid(np.arange(-n, n + 1), np.arange(-n, n + 1), indexing="ij"), -1).reshape(-1, 2)
    g = g[(g[:, 0] > 0) | ((g[:, 0] == 0) & (g[:, 1] > 0))]
    qv = np.column_stack([g, np.zeros(len(g))]) @ b.T
    assert np.all(qv[:, 2] == 0)
    qn = np.linalg.norm(qv, axis=1)
    keep = qn <= q_max
    qv, qn = qv[keep], qn[keep]
    bins = (qn / dq).astype(int)
    A, B = f.positions[f.types == 0], f.positions[f.types == 1]
    rho_a = np.exp(-1j * qv @ A.T).sum(1)
    rho_b = np.exp(-1j * qv @ B.T).sum(1)
    s_ab = (rho_a * np.conj(rho_b)).real / np.sqrt(len(A) * len(B))
    got = tab.filter(tab["pair"] == "A-B")
    want = np.array([s_ab[bins == k].mean() for k in np.unique(bins)])
    np.testing.assert_allclose(got["s"].to_numpy(), want, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(got["n_vectors"].to_numpy(), np.bincount(bins)[np.unique(bins)])


# -- forces, MD, minimisation against LAMMPS dimension 2 ------------------------------------------
@pytest.mark.parametrize("tilt", [0.0, 3.5])
def test_forces_and_virial_match_lammps_2d(tilt):
    lammps = load_lammps()
    m = gr.models.kob_andersen_2d()
    _, f0 = ka2d(250, seed=2)
    box = gr.Box.from_lammps(np.diag(f0.box.matrix)[:2], tilts=(tilt,))
    f = gr.Frame(positions=f0.positions, types=f0.types, box=box, species=f0.species)
    e, forces, p = lammps_forces(lammps, f, m, m.lammps_commands())
    r = gr.forces(f, m)
    assert r.energy == pytest.approx(e, rel=1e-12)
    np.testing.assert_allclose(r.forces, forces, atol=1e-10)
    assert np.all(r.forces[:, 2] == 0.0)
    w = r.virial / box.volume       # LAMMPS divides by the area in 2D
    np.testing.assert_allclose(w[:2, :2], p[:2, :2], rtol=1e-10, atol=1e-10)


def _lammps_run_2d(lammps, frame, model, fix, steps, dt):
    lmp = lammps_instance(lammps, frame, model, model.lammps_commands(), velocities=frame.velocities,
                          extra=[fix, "fix e2d all enforce2d", f"timestep {dt}", "thermo_style custom step pe ke press",
                                 "thermo_modify norm no"])
    lmp.command(f"run {steps}")
    n = frame.n_particles
    ids = np.asarray(lmp.numpy.extract_atom("id"))[:n].copy()
    order = np.argsort(ids)
    x = np.asarray(lmp.numpy.extract_atom("x"))[:n][order].copy()
    v = np.asarray(lmp.numpy.extract_atom("v"))[:n][order].copy()
    pe, ke, press = lmp.get_thermo("pe"), lmp.get_thermo("ke"), lmp.get_thermo("press")
    lmp.close()
    return x, v, pe, ke, press


@pytest.mark.parametrize("ensemble", ["nve", "nvt"])
def test_md_matches_lammps_enforce2d_step_by_step(ensemble):
    lammps = load_lammps()
    m, f = ka2d(300, seed=4, T=0.8, steps=500)
    assert np.all(f.velocities[:, 2] == 0.0)
    dt, steps = 0.005, 40
    fix = "fix 1 all nve" if ensemble == "nve" else "fix 1 all nvt temp 0.8 0.8 0.5"
    x_l, v_l, pe_l, ke_l, p_l = _lammps_run_2d(lammps, f, m, fix, steps, dt)
    sim = gr.md.Simulation(m, f, T=0.8, dt=dt, ensemble=ensemble, tdamp=0.5)
    _, th = sim.run(steps, thermo_every=steps)
    x, v = sim._sim.positions(), sim._sim.velocities()
    np.testing.assert_allclose(f.box.min_image(x - x_l), 0, atol=1e-9)
    np.testing.assert_allclose(v, v_l, atol=1e-8)
    assert np.all(x[:, 2] == 0.0) and np.all(v[:, 2] == 0.0)
    assert gr.forces(sim.frame(), m).energy == pytest.approx(pe_l, rel=1e-10)
    last = th[-1]
    # thermo columns: step, T, U, K, P, … (LAMMPS: T from N_f = 2N − 2, P = (2K + W_xx + W_yy) / (2A))
    assert last[1] == pytest.approx(2 * ke_l / (2 * f.n_particles - 2), rel=1e-9)
    assert last[3] == pytest.approx(ke_l, rel=1e-9)
    assert last[4] == pytest.approx(p_l, rel=1e-8)


def test_minimisation_reaches_a_minimum_lammps_agrees_with():
    lammps = load_lammps()
    m, f = ka2d(200, seed=6, T=0.5, steps=300)
    g, info = gr.minimize.fire(f, m)
    assert info.max_force < 1e-10
    assert np.all(g.positions[:, 2] == 0.0)
    lmp = lammps_instance(lammps, g, m, m.lammps_commands(), extra=["fix e2d all enforce2d",
                                                                    "thermo_style custom step pe", "thermo_modify norm no"])
    lmp.command("minimize 0 1e-13 1000 10000")
    e_l = lmp.get_thermo("pe")
    lmp.close()
    assert info.energy == pytest.approx(e_l, rel=1e-12)


# -- dynamics ---------------------------------------------------------------------------------
def test_alpha2_of_a_2d_gaussian_random_walk_vanishes():
    rng = np.random.default_rng(11)
    n, nf, L = 4000, 9, 50.0
    box = gr.Box.square(L)
    steps = rng.normal(0.0, 0.1, (nf, n, 2))
    steps[0] = 0
    xy = rng.random((n, 2)) * L + np.cumsum(steps, axis=0)
    unw = np.concatenate([xy, np.zeros((nf, n, 1))], axis=2)
    frames = [gr.Frame(positions=box.wrap(u), types=np.zeros(n, int), box=box, species=("A",), step=k,
                       unwrapped=u) for k, u in enumerate(unw)]
    traj = gr.Trajectory.from_frames(frames, dt=1.0)
    # one origin: the N displacements at each lag are independent
    t = gr.dynamics.correlations(traj, kvectors=np.zeros((0, 3)), origins=[0], progress=False, cage_relative=False)
    assert gr.params(t)["dim"] == 2
    t = t.filter(t["species"] == "all")
    lag, msd, a2 = (t[c].to_numpy()[1:] for c in ("lag", "msd", "alpha2"))
    np.testing.assert_allclose(msd, 2 * 0.01 * lag, rtol=0.05)      # ⟨Δr²⟩ = 2 d D t, here 2dD = 0.02 σ²/τ
    for k, lg in enumerate(lag.astype(int)):
        r2 = ((unw[lg] - unw[0]) ** 2).sum(1)
        m2, m4 = r2.mean(), (r2 ** 2).mean()
        assert a2[k] == pytest.approx(m4 / (2 * m2 ** 2) - 1, abs=1e-12)   # the 2D definition
        # σ(α2) by the delta method over the N independent walkers
        grad = np.array([-m4 / m2 ** 3, 1 / (2 * m2 ** 2)])
        sigma = np.sqrt(grad @ np.cov(np.vstack([r2, r2 ** 2])) @ grad / n)
        assert abs(a2[k]) < 5 * sigma, (lg, a2[k], sigma)


# -- Hessian, G, κ in 2D -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ka2d_is():
    m, f = ka2d(200, seed=7, T=0.6, steps=300)
    g, info = gr.minimize.fire(f, m, f_tol=1e-12)
    return m, g


def test_hessian_2d_is_2n_and_matches_force_finite_differences(ka2d_is):
    m, f = ka2d_is
    h = gr.elastic.hessian(f, m)
    n = f.n_particles
    assert h.dim == 2 and h.sparse().shape == (2 * n, 2 * n)
    dense = h.sparse().toarray()
    np.testing.assert_allclose(dense, dense.T, atol=1e-12)
    rng = np.random.default_rng(1)
    for _ in range(3):
        v = rng.standard_normal((n, 2))
        v /= np.linalg.norm(v)
        eps = 1e-5
        v3 = np.column_stack([v, np.zeros(n)])
        fp = gr.forces(gr.Frame(positions=f.positions + eps * v3, types=f.types, box=f.box, species=f.species), m).forces
        fm = gr.forces(gr.Frame(positions=f.positions - eps * v3, types=f.types, box=f.box, species=f.species), m).forces
        fd = -(fp - fm)[:, :2] / (2 * eps)
        mv = h.matvec(v)
        assert mv.shape == (n, 2)
        assert np.linalg.norm(mv - fd) <= 1e-6 * np.linalg.norm(fd)
        np.testing.assert_allclose(dense @ v.ravel(), mv.ravel(), atol=1e-12 * np.abs(dense).max())
    # exactly two zero modes (the translations); the rest positive at a minimum
    w = np.linalg.eigvalsh(dense)
    assert np.all(np.abs(w[:2]) < 1e-9 * w.max()) and w[2] > 1e-6
    # the lowest non-zero modes through the solver agree with the dense spectrum
    np.testing.assert_allclose(h.lowest_eigenvalues(4), w[2:6], rtol=1e-8)
    modes = gr.elastic.soft_modes(h, k=3, amplitudes=True)
    assert np.all(modes["ez"].to_numpy() == 0.0)


def triangular_lattice(nx: int, ny: int, a: float):
    a1, a2 = np.array([a, 0.0]), np.array([0.5 * a, 0.5 * np.sqrt(3) * a])
    box = gr.Box.from_vectors(nx * a1, ny * a2)
    g = np.stack(np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij"), -1).reshape(-1, 2)
    xy = g[:, :1] * a1 + g[:, 1:] * a2
    pos = np.column_stack([xy, np.zeros(len(xy))])
    return gr.Frame(positions=pos, types=np.zeros(len(pos), int), box=box, species=("A",)), a1, a2


def test_triangular_lattice_phonons_match_the_analytic_dynamical_matrix():
    """Perfect triangular crystal (one particle per primitive cell, box = 8×8 cells): the Hessian
    spectrum is the set of eigenvalues of D(k) = Σ_δ K(δ)(1 − cos k·δ), K(δ) = U″ n nᵀ +
    (U′/r)(I − n nᵀ), over every lattice vector δ within the cutoff and every allowed k."""
    m = gr.models.kob_andersen()
    nx = ny = 8
    a = 1.1
    f, a1, a2 = triangular_lattice(nx, ny, a)
    h = gr.elastic.hessian(f, m, force_tol=1e-10, check_rattlers=False)
    rc = m.max_cutoff
    deltas = []
    for p in range(-4, 5):
        for q in range(-4, 5):
            d = p * a1 + q * a2
            if 0 < np.linalg.norm(d) < rc:
                deltas.append(d)
    ev = []
    b = 2 * np.pi * np.linalg.inv(np.column_stack([nx * a1, ny * a2])).T
    for i in range(nx):
        for j in range(ny):
            k = b @ np.array([i, j], float)
            D = np.zeros((2, 2))
            for d in deltas:
                r = np.linalg.norm(d)
                u, du, d2u = (float(np.asarray(x).reshape(-1)[0]) for x in m.eval("A", "A", r))
                nn = d / r
                K = d2u * np.outer(nn, nn) + du / r * (np.eye(2) - np.outer(nn, nn))
                D += K * (1 - np.cos(k @ d))
            ev.extend(np.linalg.eigvalsh(D))
    dense = np.linalg.eigvalsh(h.sparse().toarray())
    np.testing.assert_allclose(dense, np.sort(ev), atol=1e-9 * max(ev))


def test_shear_modulus_2d_equals_relaxed_finite_strain(ka2d_is):
    m, f = ka2d_is
    res = gr.elastic.shear_modulus(f, m)
    assert list(res.per_plane) == ["xy"]

    def relaxed_stress(g):
        F = np.eye(3)
        F[0, 1] = g
        box = gr.Box(F @ f.box.native)
        s = gr.Frame(positions=f.positions @ F.T, types=f.types, box=box, species=f.species)
        r, info = gr.minimize.fire(s, m, f_tol=1e-12)
        return gr.forces(r, m).pressure[0, 1]

    g = 1e-6
    # σ_xy = −P_xy (configurational), G = dσ_xy/dγ with σ_xy = (1/A) ∂U/∂γ
    fd = -(relaxed_stress(g) - relaxed_stress(-g)) / (2 * g)
    assert res.G == pytest.approx(fd, rel=1e-4)
    assert 0 < res.G < res.born
    with pytest.raises(ValueError, match="xy plane only"):
        gr.elastic.shear_modulus(f, m, planes="xz")


def test_dipole_stiffness_2d_is_the_response_energy(ka2d_is):
    m, f = ka2d_is
    h = gr.elastic.hessian(f, m)
    kap = gr.elastic.dipole_stiffness(h, pairs=20, seed=3)
    dense = h.sparse().toarray()
    pinv = np.linalg.pinv(dense, rcond=1e-10)
    for row in kap.iter_rows(named=True):
        i, j = row["i"], row["j"]
        d = f.box.min_image(f.positions[j] - f.positions[i])[:2]
        dhat = np.zeros((f.n_particles, 2))
        dhat[j] = d / np.linalg.norm(d) / np.sqrt(2)
        dhat[i] = -dhat[j]
        z = pinv @ dhat.ravel()
        assert row["kappa"] == pytest.approx(dhat.ravel() @ z / (z @ z), rel=1e-8)


# -- files -------------------------------------------------------------------------------------
def test_2d_files_round_trip_and_bad_2d_input_is_named(tmp_path):
    from glassrs.errors import FormatError

    m, f = ka2d(120, seed=9, T=0.7, steps=100)
    box = gr.Box.from_lammps(np.diag(f.box.matrix)[:2], tilts=(2.0,))
    f = gr.Frame(positions=f.positions, types=f.types, box=box, species=f.species, step=0, velocities=f.velocities)
    # LAMMPS dump (dimension 2 layout): read back with dim=2
    gr.io.write_lammps(tmp_path / "a.dump", f)
    text = (tmp_path / "a.dump").read_text()
    assert "-0.5 0.5" in text
    t = gr.read(tmp_path / "a.dump", species=["A", "B"], dim=2)
    assert t.dim == 2 and t[0].box.dim == 2
    np.testing.assert_allclose(t[0].box.min_image(t[0].positions - f.positions), 0, atol=1e-12)
    assert gr.read(tmp_path / "a.dump", species=["A", "B"]).dim == 3   # the dimension is never guessed
    # GSD records its dimension
    gr.io.write_gsd(tmp_path / "a.gsd", f, precision="double")
    import gsd.hoomd
    with gsd.hoomd.open(tmp_path / "a.gsd") as g:
        assert g[0].configuration.dimensions == 2 and g[0].configuration.box[2] == 0.0
        assert np.all(g[0].particles.position[:, 2] == 0.0)
    tg = gr.read(tmp_path / "a.gsd")
    assert tg.dim == 2
    np.testing.assert_allclose(tg[0].box.min_image((tg[0].positions - tg[0].box.origin) - f.positions), 0, atol=1e-6)
    with pytest.raises(ValueError, match="records 2 dimensions"):
        gr.read(tmp_path / "a.gsd", dim=3)
    # a "2D" dump whose z varies is refused, naming frame and particle
    lines = text.splitlines()
    k = lines.index(next(line for line in lines if line.startswith("ITEM: ATOMS"))) + 4
    parts = lines[k].split()
    parts[4] = "0.125"
    lines[k] = " ".join(parts)
    (tmp_path / "bad.dump").write_text("\n".join(lines) + "\n")
    with pytest.raises(FormatError, match=r"frame 0: read as 2D \(dim=2\), but z varies \(particle 3 has z = 0.125"):
        gr.read(tmp_path / "bad.dump", species=["A", "B"], dim=2)[0]
    # the structure of the round-tripped file equals that of the frame
    g1 = gr.structure.rdf(f, r_max=3.0, dr=0.1)
    g2 = gr.structure.rdf(t, r_max=3.0, dr=0.1)
    np.testing.assert_allclose(g1["g"].to_numpy(), g2["g"].to_numpy(), atol=1e-12)


# -- local structure -----------------------------------------------------------------------------
@pytest.mark.parametrize("closure", ["approx", "hnc"])
def test_local_structure_2d_matches_numpy_reference(closure):
    """g^i with the 2πr ρ normalisation and the SOP, s2 and e_loc integrals with 2πr dr."""
    from structure_ref import local_g_all, local_quantities

    m, f = ka2d(150, seed=12, T=0.8, steps=200)
    win = {"A-A": (0.95, 1.42), "A-B": (0.72, 1.21), "B-B": (0.74, 1.33)}
    T = 0.8 if closure == "hnc" else None
    tab = gr.structure.local(f, m, T=T, closure=closure, windows=win)
    bphi, s2, el = local_quantities(f, win, closure=closure, T=T, model=m)
    np.testing.assert_allclose(tab["beta_phi"].to_numpy(), bphi, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(tab["s2"].to_numpy(), s2, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(tab["e_loc"].to_numpy(), el, rtol=1e-9, atol=1e-12)
    curves = gr.structure.local_g(f, [0, 5], r_max=3.0)
    g, r = local_g_all(f, 0.09, 0.005, 600)
    sub = curves.filter((curves["particle"] == 5) & curves["pair"].str.ends_with("A"))
    np.testing.assert_allclose(sub["g"].to_numpy(), g[5, 0], rtol=1e-11, atol=1e-13)


def test_sq_from_rdf_2d_is_the_hankel_transform_and_macro_sop_uses_annuli():
    from scipy.special import j0

    f = planar_frame(600, gr.Box.square(22.0), seed=13)
    g = gr.structure.rdf(f, r_max=8.0, dr=0.05)
    assert gr.params(g)["dim"] == 2
    s = gr.structure.sq_from_rdf(g, q=np.array([1.0, 3.0, 7.0]))
    r = g.filter(g["pair"] == "A-B")["r"].to_numpy()
    gab = g.filter(g["pair"] == "A-B")["g"].to_numpy()
    p = gr.params(g)
    x = np.asarray(p["counts"], float) / np.sum(p["counts"])
    want = [p["density"] * np.sqrt(x[0] * x[1]) * np.sum(2 * np.pi * r * (gab - 1) * j0(q * r)) * 0.05 for q in (1, 3, 7)]
    np.testing.assert_allclose(s.filter(s["pair"] == "A-B")["s"].to_numpy(), want, rtol=1e-12, atol=1e-14)
    # the macroscopic SOP integrates 2πr c(r) g(r) dr over the windows
    bphi, _ = gr.structure.sop_macro(g, {"A-A": (1.0, 2.0), "A-B": (1.0, 2.0), "B-B": (1.0, 2.0)})
    num = 0.0
    for u, v, name in [(0, 0, "A-A"), (0, 1, "A-B"), (1, 0, "A-B"), (1, 1, "B-B")]:
        gv = g.filter(g["pair"] == name)["g"].to_numpy()
        m = (r >= 1.0) & (r <= 2.0)
        num += x[u] * x[v] * np.trapezoid(2 * np.pi * r[m] * (gv[m] - 1) * gv[m], r[m])
    assert bphi == pytest.approx(-p["density"] * num, rel=1e-12)
    with pytest.raises(ValueError, match="not defined for a 2D"):
        gr.structure.caging_potential(s)


# -- cage-relative displacements -------------------------------------------------------------------
def _traj_from_unwrapped(unw, box, types, species=("A", "B")):
    frames = [gr.Frame(positions=box.wrap(u), types=types, box=box, species=species, step=k, unwrapped=u)
              for k, u in enumerate(unw)]
    return gr.Trajectory.from_frames(frames, dt=1.0)


def test_cage_relative_msd_vanishes_for_a_rigidly_moving_crystal():
    f, a1, a2 = triangular_lattice(10, 10, 1.1)
    n = f.n_particles
    rng = np.random.default_rng(3)
    shifts = np.cumsum(rng.normal(0, 0.3, (8, 3)) * [1, 1, 0], axis=0)
    shifts[0] = 0
    unw = f.positions[None] + shifts[:, None, :]
    traj = _traj_from_unwrapped(unw, f.box, np.zeros(n, int), species=("A",))
    plain = gr.dynamics.correlations(traj, kvectors=np.zeros((0, 3)), cage_relative=False, progress=False)
    cr = gr.dynamics.correlations(traj, kvectors=np.zeros((0, 3)), cage_radius=1.3, progress=False)
    assert gr.params(cr)["displacements"] == "cage-relative"          # the 2D default
    plain = plain.filter(plain["species"] == "all")
    assert plain["msd"].to_numpy()[1:].min() > 0.01
    np.testing.assert_allclose(cr["msd"].to_numpy(), 0.0, atol=1e-24)
    assert np.all(cr["overlap"].to_numpy() == 1.0)
    # a rigid rotation about a site: every interior site is the mean of its six neighbours, so its
    # cage-relative displacement vanishes while the plain one does not
    c = f.positions[np.argmin(np.linalg.norm(f.positions - f.positions.mean(0), axis=1))]
    th = 0.05
    R = np.array([[np.cos(th), -np.sin(th), 0], [np.sin(th), np.cos(th), 0], [0, 0, 1]])
    x0 = f.positions
    x1 = (x0 - c) @ R.T + c
    cage = gr.dynamics.cage_matrix(f, {"A-A": 1.3})
    y = gr.dynamics.cage_relative_positions(np.stack([x0, x1]), cage)
    d = np.linalg.norm(y[1] - y[0], axis=1)
    interior = np.linalg.norm(x0 - c, axis=1) < 3.0
    assert interior.sum() > 20
    np.testing.assert_allclose(d[interior], 0.0, atol=1e-13)
    assert np.linalg.norm(x1 - x0, axis=1)[interior].max() > 0.1


def test_cage_relative_correlators_match_numpy_on_a_lammps_2d_trajectory(tmp_path):
    lammps = load_lammps()
    m, f = ka2d(200, seed=14, T=0.9, steps=300)
    lmp = lammps_instance(lammps, f, m, m.lammps_commands(), velocities=f.velocities,
                          extra=["fix 1 all nve", "fix e2d all enforce2d", "timestep 0.005",
                                 f"dump d all custom 40 {tmp_path / 'run.dump'} id type xu yu zu",
                                 "dump_modify d sort id"])
    lmp.command("run 400")
    lmp.close()
    traj = gr.read(tmp_path / "run.dump", model=m, dt=0.005, dim=2)
    assert traj.dim == 2 and len(traj) == 11
    radii = {"A-A": 1.4, "A-B": 1.2, "B-B": 1.3}
    k = gr.dynamics.shell_kvectors(traj[0].box, 6.0, 0.2, nk=6)
    t = gr.dynamics.correlations(traj, kvectors=k, cage_radius=radii, a=0.3, progress=False)
    assert gr.params(t)["cage_radius"] == radii
    # numpy: neighbours at each origin by brute force, Δr^CR = Δr_i − mean_j Δr_j
    x = np.stack([fr.unwrapped_positions() for fr in traj])
    types = traj.types
    sp = list(traj.species)
    rm = np.array([[radii["A-A"], radii["A-B"]], [radii["A-B"], radii["B-B"]]])
    nf, n = x.shape[:2]
    acc = {}
    for o in range(nf):
        w = traj[o].positions
        d = traj[o].box.min_image((w[None] - w[:, None]).reshape(-1, 3)).reshape(n, n, 3)
        r = np.linalg.norm(d, axis=-1)
        nb = (r < rm[types][:, types]) & ~np.eye(n, dtype=bool)
        for tt in range(o, nf):
            dr = x[tt] - x[o]
            has = nb.sum(1) > 0
            cr = dr.copy()
            cr[has] -= (nb[has].astype(float) @ dr) / nb[has].sum(1)[:, None]
            r2 = (cr ** 2).sum(1)
            fs = np.cos(cr @ k.T).mean(1)
            acc.setdefault(tt - o, []).append((r2, fs))
    sub = t.filter(t["species"] == "all").sort("lag")
    for lag_k, rows in sorted(acc.items()):
        r2 = np.concatenate([q[0] for q in rows])
        m2, m4 = r2.mean(), (r2 ** 2).mean()
        row = sub.row(lag_k, named=True)
        assert row["n_origins"] == len(rows)
        assert row["msd"] == pytest.approx(m2, rel=1e-12, abs=1e-15)
        assert row["overlap"] == pytest.approx(np.mean(np.sqrt(r2) <= 0.3), rel=1e-12)
        assert row["fs"] == pytest.approx(np.concatenate([q[1] for q in rows]).mean(), rel=1e-12, abs=1e-15)
        if lag_k:
            assert row["alpha2"] == pytest.approx(m4 / (2 * m2 ** 2) - 1, rel=1e-10)
    # species B alone
    sb = t.filter(t["species"] == sp[1]).sort("lag")
    r2b = np.concatenate([q[0][types == 1] for q in acc[5]])
    assert sb.row(5, named=True)["msd"] == pytest.approx(r2b.mean(), rel=1e-12)


def test_isoconfigurational_ensemble_2d_is_cage_relative_and_its_displacement_field():
    m, f = ka2d(120, seed=15, T=0.8, steps=200)
    radii = {"A-A": 1.4, "A-B": 1.2, "B-B": 1.3}
    ens = gr.isoconf.ensemble(f, m, T=0.8, n_runs=3, steps=200, every=50, seed=2, keep_runs=True,
                              cage_radius=radii, progress=False)
    assert ens.params["displacements"] == "cage-relative" and ens.cage_radius == radii
    mob = gr.isoconf.mobility(ens)
    # numpy: the cage of the initial frame, Δr^CR per run, averaged over runs
    n = f.n_particles
    d = f.box.min_image((f.positions[None] - f.positions[:, None]).reshape(-1, 3)).reshape(n, n, 3)
    rm = np.array([[1.4, 1.2], [1.2, 1.3]])
    nb = (np.linalg.norm(d, axis=-1) < rm[f.types][:, f.types]) & ~np.eye(n, dtype=bool)
    vecs = []
    for run in ens.runs:
        u = run.unwrapped()
        dr = u - u[0]
        cr = dr - np.einsum("ij,fjk->fik", nb / nb.sum(1, keepdims=True), dr)
        vecs.append(cr)
    vecs = np.array(vecs)
    mu = np.linalg.norm(vecs, axis=-1).mean(0)
    np.testing.assert_allclose(mob["mobility"].to_numpy(), mu.ravel(), rtol=1e-12, atol=1e-15)
    field = gr.isoconf.displacement_field(ens, time=1.0)
    k = int(np.argmin(np.abs(ens.times - 1.0)))
    np.testing.assert_allclose(field.select(["dx", "dy"]).to_numpy(), vecs.mean(0)[k][:, :2], atol=1e-13)
    assert np.all(field["dz"].to_numpy() == 0.0)
    # the same runs as trajectories give the same mobility; plain displacements on request
    again = gr.isoconf.mobility(ens.runs, cage_radius=radii)
    np.testing.assert_allclose(again["mobility"].to_numpy(), mu.ravel(), rtol=1e-12, atol=1e-15)
    plain = gr.isoconf.mobility(ens.runs, cage_relative=False)
    assert gr.params(plain)["displacements"] == "plain"
    np.testing.assert_allclose(plain["mobility"].to_numpy(),
                               np.mean([np.linalg.norm(r.unwrapped() - r.unwrapped()[0], axis=-1) for r in ens.runs],
                                       axis=0).ravel(), rtol=1e-12, atol=1e-15)


def test_van_hove_phop_and_coarse_graining_in_2d():
    from structure_ref import coarse

    m, f0 = ka2d(150, seed=16, T=0.9, steps=100)
    sim = gr.md.Simulation(m, f0, T=0.9, seed=16)
    frames, _ = sim.run(400, output=list(range(0, 401, 20)), thermo_every=0)
    traj = gr.Trajectory.from_frames(frames, dt=0.005)
    radii = {"A-A": 1.4, "A-B": 1.2, "B-B": 1.3}
    # van Hove: ∫ 2πr G_s dr = 1 in 2D, plain and cage-relative; CR equals the numpy histogram
    for cr in (False, True):
        vh = gr.dynamics.van_hove(traj, lags=[0.5], bins=40, r_max=1.5, cage_relative=cr, cage_radius=radii,
                                  progress=False)
        p = gr.params(vh)
        assert p["displacements"] == ("cage-relative" if cr else "plain")
        a = vh.filter(vh["species"] == "all")
        shell = np.pi * (a["r_hi"].to_numpy() ** 2 - a["r_lo"].to_numpy() ** 2)
        x = np.stack([fr.unwrapped_positions() for fr in traj])
        counts = np.zeros(40)
        lag_frames = 5
        for o in range(len(traj) - lag_frames):
            dr = x[o + lag_frames] - x[o]
            if cr:
                cage = gr.dynamics.cage_matrix(traj[o], radii)
                dr = dr - cage @ dr * (np.diff(cage.indptr) > 0)[:, None]
            counts += np.histogram(np.linalg.norm(dr, axis=1), bins=np.linspace(0, 1.5, 41))[0]
        n_or = a["n_origins"][0]
        np.testing.assert_allclose(a["gs"].to_numpy() * shell * n_or * 150, counts, rtol=1e-12, atol=1e-9)
    # p_hop on a 2D trajectory: the numpy definition
    unw = np.stack([fr.unwrapped_positions() for fr in traj])
    times = traj.times
    W = 0.4
    tab = gr.dynamics.phop(traj, window=W, progress=False)
    for row in tab.sample(15, seed=2).iter_rows(named=True):
        k, i = row["frame"], row["particle"]
        U = (times >= times[k] - W / 2 - 1e-12) & (times <= times[k])
        V = (times >= times[k]) & (times <= times[k] + W / 2 + 1e-12)
        r = unw[:, i]
        a_ = np.mean(np.sum((r[V] - r[U].mean(0)) ** 2, axis=1))
        b_ = np.mean(np.sum((r[U] - r[V].mean(0)) ** 2, axis=1))
        assert row["phop"] == pytest.approx(np.sqrt(a_ * b_), rel=1e-12)
    # coarse-graining in 2D (the stencil walk with one z cell)
    x = np.random.default_rng(1).random(150)
    t = gr.tables.make_table({"frame": np.zeros(150, np.int64), "particle": np.arange(150), "x": x}, {"kind": "test"})
    out = gr.structure.coarse_grain(f0, t, "x", L=[0.5, 1.5])
    want = coarse(f0, x, [0.5, 1.5], f0.box.max_cutoff)
    np.testing.assert_allclose(out["x_L0.5"].to_numpy(), want[0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(out["x_L1.5"].to_numpy(), want[1], rtol=1e-9, atol=1e-12)


def test_precomputed_neighbour_tables_are_accepted_and_checked(ka2d_is):
    m, f = ka2d_is
    radii = {"A-A": 1.4, "A-B": 1.2, "B-B": 1.3}
    table = gr.neighbors(f, 2.0)
    a1 = gr.dynamics.cage_matrix(f, radii)
    a2 = gr.dynamics.cage_matrix(f, radii, neighbors=table)
    assert (a1 != a2).nnz == 0
    mu = np.random.default_rng(2).random(f.n_particles)
    e1 = gr.elastic.mobility_extremes(f, mu, radius=1.5)
    e2 = gr.elastic.mobility_extremes(f, mu, radius=1.5, neighbors=table)
    assert all(np.array_equal(x, y) for x, y in zip(e1, e2))
    with pytest.raises(ValueError, match="less than the 2.5"):
        gr.elastic.mobility_extremes(f, mu, radius=2.5, neighbors=table)
    with pytest.raises(ValueError, match="half=False"):
        gr.dynamics.cage_matrix(f, radii, neighbors=gr.neighbors(f, 2.0, half=True))


def test_cli_reads_a_2d_lammps_dump_with_dim_2(tmp_path, capsys):
    import polars as pl

    from glassrs.cli import main

    m, f = ka2d(150, seed=17, T=0.8, steps=100)
    sim = gr.md.Simulation(m, f, T=0.8, seed=17)
    frames, _ = sim.run(300, output=list(range(0, 301, 30)), thermo_every=0)
    gr.io.write_lammps(tmp_path / "run.dump", gr.Trajectory.from_frames(frames, dt=0.005))
    assert main(["info", str(tmp_path / "run.dump"), "--dim", "2"]) == 0
    out = capsys.readouterr().out
    assert "2D" in out and "density N/A" in out
    assert main(["rdf", str(tmp_path / "run.dump"), "--model", "kob_andersen_2d", "--dim", "2",
                 "--out", str(tmp_path / "g.parquet")]) == 0
    g = pl.read_parquet(tmp_path / "g.parquet")
    want = gr.structure.rdf(gr.read(tmp_path / "run.dump", model=m, dim=2))
    np.testing.assert_allclose(g["g"].to_numpy(), want["g"].to_numpy(), rtol=1e-12)
    assert main(["dynamics", str(tmp_path / "run.dump"), "--model", "kob_andersen_2d", "--dim", "2", "--dt", "0.005",
                 "--out", str(tmp_path / "d.parquet")]) == 0
    assert gr.read_parquet(tmp_path / "d.parquet").height > 0
