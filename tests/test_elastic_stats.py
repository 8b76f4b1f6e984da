"""Ensemble κ(T_p) with bootstrap intervals, mobility extremes, rank distributions, C_s,
the IS transition rate Γ, the ``elastic`` CLI and the report section."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy.stats import spearmanr

import glassrs as gr
import _elastic_oracle as oracle


def test_bootstrap_ci_brackets_the_mean_and_shrinks():
    rng = np.random.default_rng(0)
    v = rng.normal(3.0, 1.0, 400)
    m, lo, hi = gr.elastic.bootstrap_ci(v, n_boot=4000, ci=0.9)
    assert m == pytest.approx(v.mean())
    # normal theory: half-width 1.645 σ/√n
    assert hi - lo == pytest.approx(2 * 1.645 * v.std(ddof=1) / np.sqrt(v.size), rel=0.1)
    _, lo2, hi2 = gr.elastic.bootstrap_ci(v[:50], n_boot=4000)
    assert hi2 - lo2 > hi - lo


def test_bootstrap_ci_is_the_shared_bootstrap_mean():
    """The same resamples as a hand-written numpy bootstrap with the documented seed rule (one
    generator from the seed and the empty group key, (n_boot, n) indices), for the mean and for
    another statistic; and within Monte-Carlo error of scipy.stats.bootstrap."""
    from scipy import stats
    from glassrs.campaign import reduce as R

    v = np.random.default_rng(5).gamma(2.0, 1.5, 60)
    m, lo, hi = gr.elastic.bootstrap_ci(v, n_boot=3000, ci=0.8, seed=7)
    idx = R._rng(7, ()).integers(0, v.size, (3000, v.size))
    ref = np.quantile(v[idx].mean(axis=1), [0.1, 0.9])
    assert m == pytest.approx(v.mean(), rel=1e-12)
    np.testing.assert_allclose([lo, hi], ref, rtol=1e-12)
    med = gr.elastic.bootstrap_ci(v, n_boot=3000, ci=0.8, seed=7, stat=np.median)
    np.testing.assert_allclose(med, [np.median(v), *np.quantile(np.median(v[idx], axis=1), [0.1, 0.9])], rtol=1e-12)
    sp = stats.bootstrap((v,), np.mean, confidence_level=0.8, n_resamples=3000, method="percentile",
                         random_state=np.random.default_rng(1)).confidence_interval
    w = sp.high - sp.low
    assert abs(lo - sp.low) < 0.05 * w and abs(hi - sp.high) < 0.05 * w
    # one value: no interval (not a zero-width one); non-finite values are not units
    assert np.isnan(gr.elastic.bootstrap_ci([2.0])[1:]).all()
    assert gr.elastic.bootstrap_ci([*v, np.nan], n_boot=3000, ci=0.8, seed=7) == (m, lo, hi)


def test_kappa_ensemble(ka_is, ka):
    # two "structures": the IS and its mirror image (x → −x), which has the same statistics
    mirror = gr.Frame(positions=-ka_is.positions, types=ka_is.types, box=ka_is.box, species=ka_is.species)
    per, summ = gr.elastic.kappa_ensemble([ka_is, mirror], ka, parent_temperature=0.8, n_pairs=40, n_boot=200)
    assert per.height == 2 and summ["n_dipoles"][0] == 80
    s = summ.row(0, named=True)
    assert s["kappa_lo"] <= s["kappa"] <= s["kappa_hi"]
    # G of the mirror equals G of the original (G is invariant under inversion)
    assert per["G"][0] == pytest.approx(per["G"][1], rel=1e-9)
    ref = gr.elastic.dipole_stiffness(ka_is, ka, pairs=40, seed=0)["kappa"].mean()
    assert per["kappa_mean"][0] == pytest.approx(ref, rel=1e-12)
    assert gr.params(summ)["T_p"] == 0.8
    # the summary is glassrs.uncertainty.elastic over the structures, checked against numpy
    assert s["unit"] == "inherent structures"
    from glassrs import uncertainty
    iv = uncertainty.elastic(per.with_columns(pl.lit(0.8).alias("T")), unit="structure", n_boot=200, level=0.9)
    for q, col in (("kappa", "kappa_mean"), ("G", "G")):
        r = iv.filter(pl.col("quantity") == q).row(0, named=True)
        assert (s[q], s[f"{q}_lo"], s[f"{q}_hi"]) == (r["mean"], r["ci_low"], r["ci_high"])
        assert s[q] == pytest.approx(per[col].mean(), rel=1e-12)


def test_rank_distribution_per_species():
    v = np.array([5.0, 1.0, 3.0, 10.0, 20.0, 0.0])
    t = np.array([0, 0, 0, 1, 1, 1])
    r = gr.elastic.rank_distribution(v, t)
    np.testing.assert_allclose(r, [1.0, 0.0, 0.5, 0.5, 1.0, 0.0])


def test_mobility_extremes_are_local_extremes(ka_is):
    rng = np.random.default_rng(3)
    mu = rng.random(ka_is.n_particles)
    mob, imm = gr.elastic.mobility_extremes(ka_is, mu, radius=1.4, species="A", n_select=5)
    assert len(mob) == 5 and len(imm) == 5
    sp = np.array(ka_is.species)[ka_is.types]
    d = ka_is.box.min_image(ka_is.positions[:, None, :] - ka_is.positions[None, :, :])
    r = np.linalg.norm(d, axis=-1)
    for p in mob:
        near = (r[p] < 1.4) & (sp == "A") & (np.arange(len(mu)) != p)
        assert sp[p] == "A" and mu[p] > mu[near].max()
    for p in imm:
        near = (r[p] < 1.4) & (sp == "A") & (np.arange(len(mu)) != p)
        assert mu[p] < mu[near].min()
    # brute force: all local maxima, the 5 largest
    is_max = [p for p in range(len(mu)) if sp[p] == "A" and mu[p] > mu[(r[p] < 1.4) & (sp == "A") & (np.arange(len(mu)) != p)].max()]
    assert sorted(mob) == sorted(sorted(is_max, key=lambda p: -mu[p])[:5])
    assert (np.diff(mu[mob]) <= 0).all() and (np.diff(mu[imm]) >= 0).all()


def test_kappa_mobility_correlation(ka_is, ka):
    kap = gr.elastic.dipole_stiffness(ka_is, ka, pairs="all")
    loc = gr.elastic.local_kappa(kap, ka_is)
    k = loc["kappa_local"].to_numpy()
    rng = np.random.default_rng(1)
    mu = 1.0 / k + 1e-4 * rng.standard_normal(k.size)  # mobility anti-correlated with κ
    cs = gr.elastic.kappa_mobility_correlation(loc, mu, ka_is)
    assert cs["species"].to_list() == ["A", "B", "all"]
    a = ka_is.types == 0
    assert cs.filter(pl.col("species") == "A")["C_s"][0] == pytest.approx(spearmanr(1 / k[a], mu[a]).statistic, rel=1e-12)
    assert cs.filter(pl.col("species") == "all")["C_s"][0] > 0.8
    with pytest.raises(ValueError, match="shape"):
        gr.elastic.kappa_mobility_correlation(loc, mu[:10], ka_is)


def test_is_transition_rate():
    t = np.arange(11) * 0.5
    u = np.array([0, 0, 1e-6, 1.0, 1.0, 1.0 + 2e-5, 1.0 + 2e-5, 0.3, 0.3, 0.3, 0.3])
    res = gr.elastic.is_transition_rate(t, u, n_particles=500, temperature=0.5, density=1.2)
    assert res["n_transitions"] == 3
    assert res["gamma"] == pytest.approx(3 / 5.0)
    t0 = 1.2 ** (-1 / 3) / np.sqrt(0.5)
    assert res["gamma_reduced"] == pytest.approx(3 / 5.0 * 0.1 * t0 * 1000 / 500)
    with pytest.raises(ValueError, match="increasing"):
        gr.elastic.is_transition_rate(t[::-1], u, n_particles=500, temperature=0.5, density=1.2)
    # the table of glassrs.md.inherent_structures
    tab = pl.DataFrame({"time": t, "u_is": u - 3000.0, "u_is_per_particle": (u - 3000.0) / 500})
    assert gr.elastic.is_transition_rate(tab, temperature=0.5, density=1.2) == res


def test_elastic_cli(ka_is, tmp_path):
    from glassrs import md
    from glassrs.cli import main
    traj = gr.Trajectory.from_frames([ka_is, ka_is], dt=0.005)
    src = tmp_path / "is.npz"
    md.save_npz(traj, str(src))
    out = tmp_path / "kappa.parquet"
    assert main(["elastic", str(src), "--pairs", "30", "--planes", "xy", "--out", str(out)]) == 0
    df = gr.read_parquet(out)
    assert df.height == 60 and set(df["frame"].unique().to_list()) == {0, 1}
    ref = gr.elastic.dipole_stiffness(ka_is, gr.models.kob_andersen(), pairs=30, seed=0)
    np.testing.assert_allclose(df.filter(pl.col("frame") == 0)["kappa"].to_numpy(), ref["kappa"].to_numpy(), rtol=1e-8)
    assert "G" in gr.params(df)
    # a non-minimum is a clear one-line error (exit code 1)
    pos, t, H = oracle.random_start(250, seed=3, dmin=0.75)
    bad = gr.Frame(positions=pos, types=t, box=gr.Box(H), species=("A", "B"))
    md.save_npz(gr.Trajectory.from_frames([bad], dt=0.005), str(tmp_path / "bad.npz"))
    assert main(["elastic", str(tmp_path / "bad.npz"), "--out", str(tmp_path / "x.parquet")]) == 1


def test_report_section_only_on_request(ka_is, tmp_path):
    from glassrs.report import Run
    from glassrs.report import elastic as rep
    runs = [Run("IS", 0.8, gr.Trajectory.from_frames([ka_is]))]
    assert rep.section(runs, str(tmp_path)) == ""
    md_text = rep.section(runs, str(tmp_path), inherent_structures=True, n_structures=1, n_pairs=20)
    assert "## Elasticity of inherent structures" in md_text and "| IS | 0.8 | 1 | 20 |" in md_text
    assert (tmp_path / "elastic_p_kappa.png").exists()


def test_report_intervals_are_over_inherent_structures(ka_is, ka, tmp_path):
    """The report's κ(T_p), G(T_p) intervals: glassrs.uncertainty.elastic over the structures of a
    run, here against a hand-written numpy bootstrap of the per-structure means (the documented
    seed rule: the generator of the group key (T_p,), (n_boot, n) indices)."""
    from glassrs.campaign import reduce as R
    from glassrs.report import Run
    from glassrs.report import elastic as rep

    mirror = gr.Frame(positions=-ka_is.positions, types=ka_is.types, box=ka_is.box, species=ka_is.species)
    runs = [Run("IS", 0.8, gr.Trajectory.from_frames([ka_is, mirror]))]
    md_text = rep.section(runs, str(tmp_path), inherent_structures=True, n_structures=2, n_pairs=20)
    per, _ = gr.elastic.kappa_ensemble([ka_is, mirror], ka, n_pairs=20, n_boot=1)
    assert "| IS | 0.8 | 2 | 40 |" in md_text and "bootstrap over the inherent structures" in md_text
    idx = R._rng(0, (0.8,)).integers(0, 2, (rep.N_BOOT, 2))
    for col in ("kappa_mean", "G"):
        v = per[col].to_numpy()
        lo, hi = np.quantile(v[idx].mean(axis=1), [(1 - rep.LEVEL) / 2, (1 + rep.LEVEL) / 2])
        assert f"| {rep._fmt(v.mean())} | {rep._fmt(lo)}–{rep._fmt(hi)} |" in md_text


def test_lammps_numeric_types_map_to_model_species(ka_is, ka):
    num = gr.Frame(positions=ka_is.positions, types=ka_is.types, box=ka_is.box, species=("1", "2"))
    a = gr.elastic.dipole_stiffness(num, ka, pairs=10, seed=3)
    b = gr.elastic.dipole_stiffness(ka_is, ka, pairs=10, seed=3)
    np.testing.assert_allclose(a["kappa"].to_numpy(), b["kappa"].to_numpy(), rtol=1e-12)
    assert a["species_i"].to_list() == b["species_i"].to_list()
    bad = gr.Frame(positions=ka_is.positions, types=ka_is.types, box=ka_is.box, species=("1", "3"))
    with pytest.raises(ValueError, match="cannot be mapped"):
        gr.elastic.hessian(bad, ka)
