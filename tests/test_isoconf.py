"""Isoconfigurational ensembles (definitions §4): mobility, per-particle τ_α, C_R, P_R Arrhenius and
the onset temperature — against independent numpy/scipy implementations and exact cases."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from scipy import stats as sps

import glassrs as gr

I = gr.isoconf
STEPS = np.array([0, 1, 2, 3, 5, 8, 13, 20, 32, 50, 80, 128, 200, 320, 500])


def synthetic_runs(n=40, n_runs=5, length=5.0, seed=0, store="wrapped"):
    """n_runs random walks from one configuration; particle j has its own step size (frozen for
    j % 10 == 9, so it never relaxes). Returns (trajectories, unwrapped (R, F, N, 3))."""
    rng = np.random.default_rng(seed)
    box = gr.Box.cube(length)
    x0 = rng.random((n, 3)) * length
    types = np.r_[np.zeros(n - n // 4, int), np.ones(n // 4, int)]
    scale = rng.uniform(0.01, 0.06, n)
    scale[np.arange(n) % 10 == 9] = 0.0
    trajs, unw = [], []
    for _ in range(n_runs):
        x = x0.copy()
        u = np.empty((len(STEPS), n, 3))
        frames = []
        for f, st in enumerate(STEPS):
            if f:
                x = x + rng.normal(size=(n, 3)) * scale[:, None] * math.sqrt(STEPS[f] - STEPS[f - 1])
            u[f] = x
            img = np.floor(x / length).astype(np.int64)
            kw = {"images": img} if store == "images" else {}
            frames.append(gr.Frame(positions=x - img * length, types=types, box=box, species=("A", "B"),
                                   step=int(st), **kw))
        trajs.append(gr.Trajectory.from_frames(frames, dt=0.01))
        unw.append(u)
    return trajs, np.stack(unw)


def ref_tau(t, q, thr=math.exp(-1)):
    """Straightforward per-particle loop: first t with q ≤ thr, linear in ln t (in t from t = 0)."""
    out = np.full(q.shape[1], np.nan)
    for j in range(q.shape[1]):
        for k in range(len(t)):
            if q[k, j] <= thr:
                if k == 0:
                    out[j] = t[0]
                else:
                    f = (thr - q[k - 1, j]) / (q[k, j] - q[k - 1, j])
                    if t[k - 1] == 0:
                        out[j] = t[k - 1] + f * (t[k] - t[k - 1])
                    else:
                        out[j] = math.exp(math.log(t[k - 1]) + f * (math.log(t[k]) - math.log(t[k - 1])))
                break
    return out


@pytest.mark.parametrize("store", ["wrapped", "images"])
def test_mobility_and_tau_vs_numpy(store):
    trajs, u = synthetic_runs(store=store)
    a = 0.3
    mob = I.mobility(trajs, a=a)
    d = np.linalg.norm(u - u[:, :1], axis=-1)            # (R, F, N)
    mu = d.mean(axis=0)
    q = (d <= a).mean(axis=0)
    nf, n = mu.shape
    got = mob.sort("time", "particle")
    np.testing.assert_allclose(got["mobility"].to_numpy().reshape(nf, n), mu, rtol=1e-12, atol=1e-13)
    np.testing.assert_array_equal(got["overlap"].to_numpy().reshape(nf, n), q)
    np.testing.assert_allclose(got["msd"].to_numpy().reshape(nf, n), (d ** 2).mean(axis=0), rtol=1e-12, atol=1e-13)
    t = STEPS * 0.01
    np.testing.assert_allclose(np.unique(got["time"].to_numpy()), t, rtol=1e-15)
    assert got["species"].to_list()[:n] == ["A"] * (n - n // 4) + ["B"] * (n // 4)
    ta = I.tau_alpha(mob).sort("particle")
    ref = ref_tau(t, q)
    np.testing.assert_allclose(ta["tau_alpha"].to_numpy(), ref, rtol=1e-12, equal_nan=True)
    assert np.array_equal(ta["crossed"].to_numpy(), np.isfinite(ref))
    frozen = np.arange(n) % 10 == 9
    assert np.all(~ta["crossed"].to_numpy()[frozen]) and ta["crossed"].to_numpy()[~frozen].sum() > n // 2
    # system τ_α: the particle-averaged q(t) through dynamics.tau_alpha's rule
    tau_all = gr.params(mob)["tau_alpha"]["all"]
    assert tau_all == pytest.approx(ref_tau(t, q.mean(axis=1)[:, None])[0], rel=1e-12)


def test_mobility_rejects_non_isoconfigurational_runs():
    trajs, _ = synthetic_runs(n_runs=2)
    other, _ = synthetic_runs(n_runs=1, seed=3)
    with pytest.raises(ValueError, match="does not start from the configuration"):
        I.mobility([trajs[0], other[0]])
    with pytest.raises(ValueError, match="output times"):
        I.mobility([trajs[0], trajs[1][:-1]])


@pytest.fixture(scope="module")
def ka_start():
    m = gr.models.kob_andersen()
    f = gr.md.initial_configuration(m, 200, seed=1)
    return m, gr.md.push_off(f, m)


def test_ensemble_reproducible_and_velocities(ka_start):
    m, f = ka_start
    T = 0.9
    kw = dict(T=T, n_runs=3, steps=60, dt=0.004, progress=False)
    e1 = I.ensemble(f, m, seed=11, keep_runs=True, **kw)
    e2 = I.ensemble(f, m, seed=11, **kw)
    e3 = I.ensemble(f, m, seed=12, **kw)
    assert e1.seeds == e2.seeds and e1.seeds != e3.seeds and len(set(e1.seeds)) == 3
    np.testing.assert_array_equal(e1.velocities, e2.velocities)
    np.testing.assert_array_equal(e1.sum_disp, e2.sum_disp)
    np.testing.assert_array_equal(e1.sum_overlap, e2.sum_overlap)
    # runs differ from each other, and from another master seed
    assert not np.allclose(e1.velocities[0], e1.velocities[1])
    assert not np.allclose(e1.velocities, e3.velocities)
    mass = m.masses[m.type_map(f.species)][f.types]
    n = f.n_particles
    for v in np.concatenate([e1.velocities, e3.velocities]):
        p = (mass[:, None] * v).sum(axis=0)
        assert np.abs(p).max() < 1e-12
        assert (mass[:, None] * v * v).sum() / (3 * n - 3) == pytest.approx(T, rel=1e-12)
    # pooled components are Gaussian with variance T/m
    z = np.concatenate([e1.velocities, e3.velocities]).reshape(-1) / math.sqrt(T)
    assert sps.kstest(z, "norm").pvalue > 1e-3
    # every run starts from the common configuration; streamed sums equal the trajectory route
    for r in e1.runs:
        dev = f.box.min_image(r[0].positions - f.positions)
        assert np.abs(dev).max() < 1e-12
    a = I.mobility(e1).sort("time", "particle")
    b = I.mobility(e1.runs).sort("time", "particle")
    for c in ("mobility", "overlap", "msd"):
        np.testing.assert_allclose(a[c].to_numpy(), b[c].to_numpy(), rtol=1e-13, atol=1e-15)
    assert a["time"].unique().sort().to_list() == pytest.approx((e1.steps * 0.004).tolist())
    assert a.filter(pl.col("time") > 0)["mobility"].min() > 0


def test_ensemble_bad_input(ka_start):
    m, f = ka_start
    with pytest.raises(ValueError, match="n_runs"):
        I.ensemble(f, m, T=1.0, n_runs=0, steps=10)
    with pytest.raises(ValueError, match="thermostat"):
        I.ensemble(f, m, T=1.0, n_runs=1, steps=10, thermostat="npt")
    with pytest.raises(ValueError, match="steps"):
        I.ensemble(f, m, T=1.0, n_runs=1)


def _tables(rng, n=300, n_cfg=None):
    """A structure table with sop and s2 and a mobility table with ties, built by hand."""
    times = [0.0, 0.5, 1.0, 2.0]
    cfgs = [0] if n_cfg is None else list(range(n_cfg))
    st, mo = [], []
    for c in cfgs:
        sop = rng.normal(size=n)
        s2 = rng.integers(0, 6, n).astype(float)             # ties
        sp = np.where(np.arange(n) < 0.8 * n, "A", "B")
        st.append(pl.DataFrame({"frame": np.full(n, c), "particle": np.arange(n), "species": sp, "sop": sop, "s2": s2}))
        for t in times:
            mu = np.round(t * (sop + rng.normal(size=n)), 1)  # ties in μ too
            mo.append(pl.DataFrame({"config": np.full(n, c), "time": np.full(n, t), "particle": np.arange(n),
                                    "species": sp, "mobility": mu}))
    s = pl.concat(st)
    m = pl.concat(mo)
    if n_cfg is None:
        m = m.drop("config")
    return s, gr.tables.make_table(m, {"tau_alpha": {"all": 1.0}})


@pytest.mark.parametrize("n_cfg", [None, 3])
def test_correlate_matches_scipy(rng, n_cfg):
    s, m = _tables(rng, n_cfg=n_cfg)
    cr = I.correlate(s, m, ["sop", "s2"], L=[0])
    assert set(cr.columns) >= {"species", "L", "quantity", "time", "t_over_tau_alpha", "c_r"}
    assert cr["time"].min() > 0 and cr.height == 3 * 2 * 3          # species × quantity × time
    key = ["config", "particle"] if n_cfg else ["particle"]
    j = s.rename({"frame": "config"}).join(m.drop("species"), on=key) if n_cfg else s.join(m.drop("species"), on=key)
    for row in cr.iter_rows(named=True):
        sub = j.filter(pl.col("time") == row["time"])
        if row["species"] != "all":
            sub = sub.filter(pl.col("species") == row["species"])
        ref = sps.spearmanr(sub[row["quantity"]].to_numpy(), sub["mobility"].to_numpy()).statistic
        assert row["c_r"] == pytest.approx(ref, abs=1e-12)
        assert row["t_over_tau_alpha"] == row["time"]
        assert row["n"] == sub.height


def test_correlate_coarse_grained(rng):
    box = gr.Box.cube(6.0)
    from conftest import random_frame
    f = random_frame(200, box, seed=4)
    s, m = _tables(rng, n=200)
    cr = I.correlate(s, m, ["sop"], L=[0, 1.5], frames=f, tau_alpha=2.0)
    cg = gr.structure.coarse_grain(f, s, "sop", L=[1.5])
    j = cg.join(m.drop("species"), on="particle").filter(pl.col("time") == 1.0)
    got = cr.filter((pl.col("L") == 1.5) & (pl.col("time") == 1.0) & (pl.col("species") == "A"))["c_r"][0]
    sub = j.filter(pl.col("species") == "A")
    assert got == pytest.approx(sps.spearmanr(sub["sop_L1.5"], sub["mobility"]).statistic, abs=1e-12)
    assert cr.filter(pl.col("time") == 1.0)["t_over_tau_alpha"].unique().to_list() == [0.5]
    with pytest.raises(ValueError, match="frames="):
        I.correlate(s, m, ["sop"], L=[1.0])
    with pytest.raises(ValueError, match="no column 'nope'"):
        I.correlate(s, m, ["nope"])


def test_onset_temperature_exact_lines():
    beta_star, y_star = 1.25, -0.7                       # lines meet at T = 0.8
    de = np.array([0.5, 1.0, 2.5, 4.0, 7.0])
    ln_p0 = y_star + de * beta_star
    T, beta, spread = I.onset_temperature(ln_p0, de)
    assert beta == pytest.approx(beta_star, rel=1e-13) and T == pytest.approx(0.8, rel=1e-13)
    assert spread < 1e-12
    with pytest.raises(ValueError, match="parallel"):
        I.onset_temperature([0.0, 1.0], [2.0, 2.0])


def test_pr_arrhenius_recovers_crossing():
    """P_R(bin b; β) = (k_b/10)^(β − 1) with β = 1/T ∈ {2, 3, 5}: exact rationals k^m/10^m from
    10^m particles; every line passes through ln P = 0 at β = 1, so T_onset = 1 exactly."""
    data = {}
    ks = [2, 5, 8]
    for beta in (2, 3, 5):
        m = beta - 1
        rows_x, rows_p = [], []
        for b, k in enumerate(ks):
            tot, hit = 10 ** m, k ** m
            rows_x += [b + 0.5] * tot
            rows_p += [1.0] * hit + [0.0] * (tot - hit)
        data[1.0 / beta] = gr.tables.make_table(
            pl.DataFrame({"species": ["A"] * len(rows_x), "sop": rows_x, "phop": rows_p}), {"p_c": 0.5})
    res = I.pr_arrhenius(data, "sop", bins=[0.0, 1.0, 2.0, 3.0], min_count=5)
    assert res.onset_T == pytest.approx(1.0, rel=1e-12) and res.spread < 1e-10
    f = res.fits.sort("bin")
    np.testing.assert_allclose(f["delta_e"].to_numpy(), -np.log(np.array(ks) / 10), rtol=1e-12)
    np.testing.assert_allclose(f["ln_p0"].to_numpy(), -np.log(np.array(ks) / 10), rtol=1e-12)
    assert f["n_T"].to_list() == [3, 3, 3]
    p = res.pr.filter((pl.col("bin") == 1) & (pl.col("T") == 0.2))["p_r"][0]
    assert p == pytest.approx(0.5 ** 4, rel=1e-15)


def test_rearrangement_structure_join():
    from _dynamics_data import random_walk
    traj, _ = random_walk(n=30, n_frames=40, sigma=0.1)
    st = pl.DataFrame({"frame": np.repeat(np.arange(40), 30), "particle": np.tile(np.arange(30), 40),
                       "species": ["A"] * 1200, "sop": np.arange(1200.0)})
    out = I.rearrangement_structure(traj, st, window=3.0, p_c=0.01, progress=False)
    ph = gr.dynamics.phop(traj, 3.0, progress=False)
    assert out.height == ph.height and gr.params(out)["p_c"] == 0.01
    chk = out.join(ph, on=["frame", "particle"])
    np.testing.assert_array_equal(chk["phop"].to_numpy(), chk["phop_right"].to_numpy())
    np.testing.assert_array_equal(chk["sop"].to_numpy(), (chk["frame"] * 30 + chk["particle"]).to_numpy())


def test_shared_first_peak_vs_numpy():
    """structure.first_peak (the shared default k of the dynamics) on all lattice vectors equals a
    direct numpy S_AA(q) shell average with the same parabolic refinement."""
    from conftest import random_frame
    box = gr.Box.cube(4.6)
    frame = random_frame(120, box, seed=7)
    k, info = gr.structure.first_peak(frame, per_shell=0, q_range=(4.0, 10.0), width=0.25)
    assert info["stride"] == 1
    L = 4.6
    m = int(10 * L / (2 * np.pi)) + 1
    g = np.stack(np.meshgrid(*[np.arange(-m, m + 1)] * 3, indexing="ij"), -1).reshape(-1, 3)
    first = np.where(g[:, 0] != 0, g[:, 0], np.where(g[:, 1] != 0, g[:, 1], g[:, 2]))
    g = g[first > 0]
    q = g * 2 * np.pi / L
    qn = np.linalg.norm(q, axis=1)
    sel = qn <= 10.0
    q, qn = q[sel], qn[sel]
    xa = frame.positions[frame.types == 0]
    ph = xa @ q.T
    s = (np.cos(ph).sum(0) ** 2 + np.sin(ph).sum(0) ** 2) / len(xa)
    b = np.floor(qn / 0.25).astype(int)
    ub = np.unique(b)
    qm = np.array([qn[b == x].mean() for x in ub])
    sm = np.array([s[b == x].mean() for x in ub])
    keep = (qm >= 4.0) & (qm < 10.0)
    qm, sm = qm[keep], sm[keep]
    j = int(np.argmax(sm))
    ref = qm[j]
    if 0 < j < len(sm) - 1:
        a2, a1, _ = np.polyfit(qm[j - 1:j + 2], sm[j - 1:j + 2], 2)
        if a2 < 0 and qm[j - 1] <= -a1 / (2 * a2) <= qm[j + 1]:
            ref = -a1 / (2 * a2)
    assert k == pytest.approx(ref, rel=1e-9)
    assert gr.dynamics.first_peak_k(gr.Trajectory.from_frames([frame]), per_shell=0) == k


def test_cli_and_report_section(tmp_path):
    """`python -m glassrs isoconf` end to end on a hot KA system, and the optional report section."""
    from glassrs.cli import main
    from glassrs.report import Run
    from glassrs.report import correlations as rep

    m = gr.models.kob_andersen()
    f = gr.md.push_off(gr.md.initial_configuration(m, 450, seed=2), m)      # box ≥ 2 × (r_s + 5δ)
    traj = gr.md.run(m, start=f, T=2.0, steps=400, every=100, seed=3, out=str(tmp_path / "ka.gsd"))
    args = ["isoconf", str(tmp_path / "ka.gsd"), "--T", "2.0", "--runs", "2", "--steps", "800", "--seed", "4",
            "--out", str(tmp_path / "mob.parquet"), "--tau-out", str(tmp_path / "tau.parquet"),
            "--corr-out", str(tmp_path / "cr.parquet"), "--L", "0,1.5", "--no-progress"]
    assert main(args) == 0
    mob = gr.read_parquet(tmp_path / "mob.parquet")
    cr = gr.read_parquet(tmp_path / "cr.parquet")
    assert gr.params(mob)["n_runs"] == 2 and mob["particle"].n_unique() == f.n_particles
    assert set(cr["quantity"].unique()) == {"sop", "s2", "e_loc"} and set(cr["L"].unique()) == {0.0, 1.5}
    assert cr["c_r"].is_finite().all()
    text = rep.section([Run("T=2", 2.0, traj), Run("file", None, traj)], str(tmp_path), n_runs=2, max_steps=300)
    assert "correlations.png" in text and "| T=2 |" in text and "no temperature known" in text
    assert (tmp_path / "correlations.png").exists()


def test_correlate_with_particle_tau(rng):
    """C_R(X, τ_α,j): a table without time gives one value per species/L/quantity (vs scipy)."""
    s, _ = _tables(rng)
    tau = pl.DataFrame({"particle": np.arange(300), "species": s["species"],
                        "tau_alpha": np.where(rng.random(300) < 0.1, np.nan, np.exp(-s["sop"].to_numpy() + rng.normal(size=300)))})
    cr = I.correlate(s, tau, ["sop"], y="tau_alpha")
    assert cr.height == 3 and cr["time"].null_count() == 3
    ok = np.isfinite(tau["tau_alpha"].to_numpy())
    ref = sps.spearmanr(s["sop"].to_numpy()[ok], tau["tau_alpha"].to_numpy()[ok]).statistic
    row = cr.filter(pl.col("species") == "all")
    assert row["c_r"][0] == pytest.approx(ref, abs=1e-12) and ref < -0.3 and row["n"][0] == ok.sum()


def test_several_configurations(ka_start):
    m, f = ka_start
    es = [I.ensemble(f, m, T=1.0, n_runs=1, steps=30, seed=s, progress=False) for s in (1, 2)]
    mob = I.mobility(es)
    assert mob.columns[0] == "config" and mob["config"].unique().sort().to_list() == [0, 1]
    for c, e in enumerate(es):
        one = I.mobility(e)
        sub = mob.filter(pl.col("config") == c).drop("config")
        assert sub.equals(one)
    assert len(gr.params(mob)["tau_alpha_per_config"]) == 2
    ta = I.tau_alpha(mob)
    assert ta.height == 2 * f.n_particles and ta.columns[0] == "config"


@pytest.mark.slow
def test_ka_structure_predicts_mobility():
    """Physics check (seeds 000/001): in an equilibrated KA liquid at T = 0.8 the SOP of the
    initial configuration is positively rank-correlated with the isoconfigurational mobility at
    t ≈ τ_α (softer cage → more mobile), well above a shuffled-structure control."""
    m = gr.models.kob_andersen()
    eq = gr.md.run(m, n=1000, T=0.8, steps=2000, every=2000, seed=7, melt_T=2.0, melt_steps=4000,
                   quench_steps=2000, equilibrate=30000)
    f = eq[len(eq) - 1]
    ens = I.ensemble(f, m, T=0.8, n_runs=20, steps=3000, seed=1, progress=False)
    mob = I.mobility(ens)
    loc = gr.structure.local(f, m, T=0.8).with_columns(pl.lit(0, dtype=pl.Int64).alias("frame"))
    shuffled = loc.with_columns(pl.Series("sop", np.random.default_rng(0).permutation(loc["sop"].to_numpy())))
    cr = I.correlate(loc, mob, ["sop"], L=[0])
    ctl = I.correlate(shuffled, mob, ["sop"], L=[0])

    def at_tau(t, sp):
        sub = t.filter(pl.col("species") == sp).sort("time")
        k = int(np.argmin(np.abs(np.log(sub["t_over_tau_alpha"].to_numpy()))))
        return sub["c_r"][k]

    for sp in ("A", "B"):
        n = int((f.types == f.species.index(sp)).sum())
        assert at_tau(cr, sp) > 0.2, sp
        assert abs(at_tau(ctl, sp)) < 3.5 / math.sqrt(n - 1), sp     # 3.5σ of a null rank correlation


def test_concurrent_replicas_are_bitwise_the_sequential_runs():
    """Runs advancing as concurrent replicas (one engine thread each) give exactly the
    sequential ensemble; the choice is recorded."""
    m = gr.models.kob_andersen()
    f = gr.md.push_off(gr.md.initial_configuration(m, 200, seed=4), m)
    kw = dict(T=0.8, n_runs=4, steps=120, every=40, seed=5, progress=False, keep_runs=True)
    seq = gr.isoconf.ensemble(f, m, replicas=1, **kw)
    par = gr.isoconf.ensemble(f, m, replicas=3, **kw)
    assert seq.params["replicas"] == 1 and par.params["replicas"] == 3
    for name in ("sum_disp", "sum_disp2", "sum_overlap", "velocities", "sum_vector", "run_count", "run_count2"):
        np.testing.assert_array_equal(getattr(seq, name), getattr(par, name), err_msg=name)
    for a, b in zip(seq.runs, par.runs):
        np.testing.assert_array_equal(a.unwrapped(), b.unwrapped())
    with pytest.raises(ValueError, match="replicas must be"):
        gr.isoconf.ensemble(f, m, replicas=0, **kw)


def test_correlate_ci_is_the_bootstrap_over_configurations(rng):
    """The mean of per-configuration Spearman C_R (scipy) and its percentile interval from a
    hand-written bootstrap over configurations with the reduction's seeding."""
    from glassrs.campaign.reduce import _rng

    s, m = _tables(rng, n=200, n_cfg=5)
    ci = I.correlate_ci(s, m, ["sop"], L=[0], n_boot=400, seed=3)
    assert ci["unit"].unique().to_list() == ["configurations"] and set(ci["n_units"].to_list()) == {5}
    j = s.rename({"frame": "config"}).join(m.drop("species"), on=["config", "particle"])
    for row in ci.iter_rows(named=True):
        sub = j.filter(pl.col("time") == row["time"])
        if row["species"] != "all":
            sub = sub.filter(pl.col("species") == row["species"])
        per = np.array([sps.spearmanr(g["sop"].to_numpy(), g["mobility"].to_numpy()).statistic
                        for _, g in sub.group_by("config", maintain_order=True)])
        assert row["mean"] == pytest.approx(per.mean(), abs=1e-12)
        key = (row["species"], row["L"], row["quantity"], row["time"], row["t_over_tau_alpha"])
        r = _rng(3, key)
        boot = np.array([per[r.integers(0, len(per), len(per))].mean() for _ in range(400)])
        lo, hi = np.quantile(boot, [0.025, 0.975])
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi), abs=1e-12)
        assert per.min() <= row["ci_low"] <= row["mean"] <= row["ci_high"] <= per.max()
    with pytest.raises(ValueError, match="several configurations"):
        I.correlate_ci(s.filter(pl.col("frame") == 0), m.filter(pl.col("config") == 0).drop("config"))
