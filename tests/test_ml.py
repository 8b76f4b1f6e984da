"""glassrs.ml: the radial structure functions against an independent numpy implementation
(scipy cKDTree with a periodic boxsize) to 1e-12 in 3D and 2D orthorhombic boxes; the p_hop
labels; the linear-SVM softness (determinism, a planted structural rule recovered, application
to new frames); and, on the embedded Kob–Andersen data at T = 0.6, the held-out accuracy and
P_R rising with S_ML (slow: the dataset may have to be generated)."""

from __future__ import annotations

import sys

import numpy as np
import polars as pl
import pytest
from scipy.spatial import cKDTree

import glassrs as gr
from glassrs import ml

pytest.importorskip("sklearn", reason="scikit-learn (the [ml] extra) is needed to train the softness")


# ---------------------------------------------------------------------------------------------
# the oracle
def numpy_structure_functions(positions: np.ndarray, types: np.ndarray, lengths: np.ndarray, n_types: int,
                              mus: np.ndarray, width: float, r_max: float) -> np.ndarray:
    """G[i, X, μ] = Σ_{j≠i, type j = X, r_ij < r_max} exp(−(r_ij − μ)²/(2 L²)) in an orthorhombic periodic
    box of edge ``lengths`` (2 or 3 entries) — pairs from scipy's periodic KD tree, sums with np.add.at."""
    d = len(lengths)
    x = np.mod(positions[:, :d], lengths)
    x[x >= lengths] = 0.0                    # np.mod can round up to the edge
    tree = cKDTree(x, boxsize=lengths)
    pairs = tree.query_pairs(r_max, output_type="ndarray")
    i, j = pairs[:, 0], pairs[:, 1]
    dx = x[j] - x[i]
    dx -= lengths * np.round(dx / lengths)
    r = np.sqrt((dx * dx).sum(axis=1))
    keep = r < r_max
    i, j, r = i[keep], j[keep], r[keep]
    w = np.exp(-(r[:, None] - mus[None, :]) ** 2 / (2.0 * width * width))
    out = np.zeros((len(x), n_types, len(mus)))
    np.add.at(out, (i, types[j]), w)
    np.add.at(out, (j, types[i]), w)
    return out


def numpy_angular_functions(positions: np.ndarray, types: np.ndarray, lengths: np.ndarray, n_types: int,
                            xis, lambdas, zetas, r_max: float) -> np.ndarray:
    """Ψ[i, pair{X,Y}, (ξ, λ, ζ)] by brute force over every triplet (j < k) of neighbours within r_max,
    minimum-image vectors in an orthorhombic periodic box (2 or 3 edges)."""
    d = len(lengths)
    x = positions[:, :d]
    n = len(x)
    idx = {}
    for a in range(n_types):
        for b in range(a, n_types):
            idx[(a, b)] = idx[(b, a)] = len({v for v in idx.values()})
    combos = [(xi, lam, z) for xi in xis for lam in lambdas for z in zetas]
    out = np.zeros((n, n_types * (n_types + 1) // 2, len(combos)))
    for i in range(n):
        dv = x - x[i]
        dv -= lengths * np.round(dv / lengths)
        r = np.sqrt((dv * dv).sum(axis=1))
        nb = np.flatnonzero((r < r_max) & (np.arange(n) != i))
        for a in range(len(nb)):
            for b in range(a + 1, len(nb)):
                j, k = nb[a], nb[b]
                rjk2 = ((dv[k] - dv[j]) ** 2).sum()
                cos = dv[j] @ dv[k] / (r[j] * r[k])
                p = idx[(types[j], types[k])]
                for c, (xi, lam, z) in enumerate(combos):
                    out[i, p, c] += np.exp(-(r[j] ** 2 + r[k] ** 2 + rjk2) / xi ** 2) * (1 + lam * cos) ** z
    return out


def _frame(n: int, lengths, seed: int, n_types: int = 2, time: float | None = None) -> gr.Frame:
    rng = np.random.default_rng(seed)
    lengths = np.asarray(lengths, float)
    pos = np.zeros((n, 3))
    pos[:, :len(lengths)] = rng.random((n, len(lengths))) * lengths
    types = np.random.default_rng(1000 + n_types).integers(0, n_types, n)   # the same particles in every frame
    names = ("A", "B", "C")[:n_types]
    return gr.Frame(positions=pos, types=types, box=gr.Box.orthorhombic(lengths), species=names, time=time)


def _wide(table: pl.DataFrame, species, mus) -> np.ndarray:
    return table.select(ml.feature_names(species, mus)).to_numpy()


@pytest.mark.parametrize("lengths, n_types", [((5.3, 5.1, 5.6), 2), ((5.5, 5.7, 5.0), 3), ((7.0, 6.5), 2)],
                         ids=["3d-2sp", "3d-3sp", "2d-2sp"])
def test_angular_functions_match_brute_force(lengths, n_types):
    f = _frame(120 if len(lengths) == 3 else 60, lengths, seed=5, n_types=n_types)
    grid = {"xi": [0.8, 1.5], "lambda": [-1.0, 1.0], "zeta": [1.0, 2.0, 4.0], "r_max": 1.7}
    tab = ml.structure_functions(f, mus=[1.0], angular=grid)
    assert gr.params(tab)["angular"] == grid
    names = ml.feature_names(list(f.species), [1.0], grid)
    psi = tab.select([c for c in names if c.startswith("Psi_")]).to_numpy()
    want = numpy_angular_functions(f.positions, f.types, np.asarray(lengths), n_types, grid["xi"], grid["lambda"],
                                   grid["zeta"], grid["r_max"]).reshape(f.n_particles, -1)
    assert np.abs(want).max() > 0.1
    np.testing.assert_allclose(psi, want, rtol=1e-12, atol=1e-12)
    default = ml.structure_functions(f, mus=[1.0], angular=True)
    assert gr.params(default)["angular"] == ml.DEFAULT_ANGULAR
    with pytest.raises(ValueError, match="zeta"):
        ml.structure_functions(f, mus=[1.0], angular={"zeta": [0.5]})
    with pytest.raises(ValueError, match="unknown key"):
        ml.structure_functions(f, mus=[1.0], angular={"xsi": [1.0]})


@pytest.mark.parametrize("lengths, n_types", [((7.3, 8.1, 9.4), 2), ((7.5, 7.7, 7.0), 3), ((11.0, 9.5), 2)],
                         ids=["3d-2sp", "3d-3sp", "2d-2sp"])
def test_structure_functions_match_numpy(lengths, n_types):
    f = _frame(400 if len(lengths) == 3 else 150, lengths, seed=3, n_types=n_types)
    mus = ml.mu_grid(0.3, 2.6, 0.1)
    for width in (0.1, 0.23):
        tab = ml.structure_functions(f, mus=mus, width=width)
        p = gr.params(tab)
        assert p["r_max"] == pytest.approx(mus.max() + 3 * width)
        assert p["truncation_error_bound"] == pytest.approx(np.exp(-4.5))
        want = numpy_structure_functions(f.positions, f.types, np.asarray(lengths), n_types, mus, width, p["r_max"])
        got = _wide(tab, f.species, mus)
        assert tab["particle"].to_list() == list(range(f.n_particles))
        np.testing.assert_allclose(got, want.reshape(f.n_particles, -1), rtol=0, atol=1e-12)


def test_structure_functions_triclinic_box_match_the_pair_list():
    """A tilted box (no cKDTree oracle there): the same sums over the pairs of gr.neighbors."""
    box = gr.Box.from_lammps([8.0, 8.5, 9.0], tilts=(1.1, -0.7, 0.6))
    rng = np.random.default_rng(5)
    pos = rng.random((350, 3)) @ box.matrix.T
    f = gr.Frame(positions=pos, types=np.random.default_rng(1002).integers(0, 2, 350), box=box, species=("A", "B"))
    mus = ml.mu_grid(0.5, 2.5, 0.1)
    tab = ml.structure_functions(f, mus=mus, width=0.12)
    nb = gr.neighbors(f, gr.params(tab)["r_max"])
    i, j, r = nb["i"].to_numpy().astype(int), nb["j"].to_numpy().astype(int), nb["r"].to_numpy()
    want = np.zeros((350, 2, len(mus)))
    np.add.at(want, (i, f.types[j]), np.exp(-(r[:, None] - mus) ** 2 / (2 * 0.12 ** 2)))
    np.testing.assert_allclose(_wide(tab, f.species, mus), want.reshape(350, -1), rtol=0, atol=1e-12)


def test_structure_functions_columns_species_and_frames():
    frames = [_frame(200, (7.0, 7.0, 7.0), seed=s, time=float(s)) for s in range(3)]
    traj = gr.Trajectory.from_frames(frames)
    tab = ml.structure_functions(traj, species="B", frames=[0, 2], width=0.1)
    assert tab.columns[:3] == ["frame", "particle", "species"]
    assert "G_A_1.5" in tab.columns and "G_B_0.5" in tab.columns and "G_B_3" in tab.columns
    assert len(tab.columns) == 3 + 2 * len(ml.DEFAULT_MUS)
    assert set(tab["species"].to_list()) == {"B"} and tab["frame"].unique().sort().to_list() == [0, 2]
    full = ml.structure_functions(frames[2], width=0.1)
    sub = tab.filter(pl.col("frame") == 2).drop("frame")
    assert sub.equals(full.filter(pl.col("species") == "B").drop("frame"))


def test_structure_functions_errors():
    f = _frame(100, (6.0, 6.0, 6.0), seed=1)
    with pytest.raises(ValueError, match="width"):
        ml.structure_functions(f, width=0.0)
    with pytest.raises(ValueError, match="mus"):
        ml.structure_functions(f, mus=[])
    with pytest.raises(ValueError, match="half the smallest box"):
        ml.structure_functions(f, mus=[1.0, 2.9])
    with pytest.raises(ValueError, match="species"):
        ml.structure_functions(f, species="Z")
    with pytest.raises(ValueError, match="mu_grid"):
        ml.mu_grid(1.0, 0.5)


# ---------------------------------------------------------------------------------------------
# labels
def test_training_labels_thresholds():
    """Two particles on a hand-made p_hop table: one hops once, one stays quiet; the labels follow the
    definitions (p_hop > p_c rearranging; p_hop < p_low over the whole duration non-rearranging)."""
    frames = [_frame(2, (6.0, 6.0, 6.0), seed=0, time=float(t)) for t in range(21)]
    traj = gr.Trajectory.from_frames(frames)
    ks = np.arange(2, 19)
    ph = np.zeros((len(ks), 2))
    ph[:, 0] = 0.01
    ph[8, 0] = 0.5                            # particle 0 hops at frame ks[8] = 10
    ph[:, 1] = 0.02
    re = gr.tables.make_table(pl.DataFrame({"frame": np.repeat(ks, 2), "particle": np.tile([0, 1], len(ks)),
                                            "species": ["A", "B"] * len(ks), "phop": ph.ravel()}),
                              {"kind": "phop", "window": 4.0})
    lab = ml.training_labels(traj, window=4.0, p_c=0.2, p_low=0.05, hard_duration=6.0, rearrangements=re)
    p = gr.params(lab)
    assert (p["p_c"], p["p_low"], p["hard_duration"]) == (0.2, 0.05, 6.0)
    r0 = lab.filter(pl.col("particle") == 0)
    assert r0.filter(pl.col("label") == 1)["frame"].to_list() == [10]
    # quiet frames of particle 0: whole ±3 interval inside frames 2..18 and away from frame 10
    assert r0.filter(pl.col("label") == 0)["frame"].to_list() == [5, 6, 14, 15]
    assert lab.filter(pl.col("particle") == 1)["frame"].to_list() == list(range(5, 16))
    with pytest.raises(ValueError, match="p_low"):
        ml.training_labels(traj, window=4.0, p_c=0.2, p_low=0.3, rearrangements=re)
    with pytest.raises(ValueError, match="window"):
        ml.training_labels(traj, window=5.0, p_c=0.2, rearrangements=re)


# ---------------------------------------------------------------------------------------------
# training on a planted rule
def _planted(n_frames: int = 24, n: int = 300, seed: int = 0):
    """Random frames; the 'rearranging' label marks A particles with more than the median number of
    neighbours within 1.2 σ — a rule the structure functions G(μ ≈ 1) express linearly."""
    frames = [_frame(n, (7.0, 7.0, 7.0), seed=seed + k, time=float(k)) for k in range(n_frames)]
    traj = gr.Trajectory.from_frames(frames)
    rows = []
    for k, f in enumerate(frames):
        nb = gr.neighbors(f, 1.2)
        cnt = np.bincount(nb["i"].to_numpy(), minlength=n)
        a = np.flatnonzero(f.types == 0)
        med = np.median(cnt[a])
        for i in a:
            if cnt[i] != med:
                rows.append({"frame": k, "particle": int(i), "species": "A", "label": int(cnt[i] > med)})
    lab = gr.tables.make_table(pl.DataFrame(rows).with_columns(pl.col("label").cast(pl.Int8)),
                               {"kind": "training_labels", "window": 2.0, "p_c": 0.2, "p_low": 0.1,
                                "hard_duration": 2.0})
    return traj, lab


def test_train_softness_recovers_a_planted_rule_and_is_deterministic():
    traj, lab = _planted()
    kw = dict(species="A", labels=lab, mus=ml.mu_grid(0.5, 2.0, 0.1), split_time=4.0)
    m1 = ml.train_softness(traj, seed=7, **kw)
    m2 = ml.train_softness(traj, seed=7, **kw)
    assert np.array_equal(m1.weights, m2.weights) and m1.intercept == m2.intercept
    assert m1.test_frames == m2.test_frames and m1.accuracy == m2.accuracy
    m3 = ml.train_softness(traj, seed=8, **kw)
    assert m3.test_frames != m1.test_frames or not np.array_equal(m3.weights, m1.weights)
    assert m1.n_train["rearranging"] == m1.n_train["non_rearranging"] > 100
    assert m1.n_test["rearranging"] == m1.n_test["non_rearranging"] > 50
    lo, hi = m1.accuracy_ci
    assert lo < m1.accuracy < hi
    assert m1.accuracy > 0.8, m1.accuracy            # a count rule is (nearly) linear in G(μ ≈ 1)
    assert not set(m1.test_frames) & set(np.unique(lab.filter(~pl.col("frame").is_in(m1.test_frames))["frame"]))
    # application: S_ML = (w·x̃ + b)/|w| and its sign is the SVM's class
    s = ml.softness(m1, traj, frames=m1.test_frames)
    assert s.columns == ["frame", "particle", "species", "S_ML"] and set(s["species"]) == {"A"}
    j = s.join(lab, on=["frame", "particle"])
    acc_all = float(((j["S_ML"] > 0).cast(pl.Int8) == j["label"]).mean())
    assert acc_all > 0.8
    G = ml.structure_functions(traj, frames=[0], species="A", mus=m1.mus)
    z = (G.select(m1.features).to_numpy() - m1.mean) / m1.scale
    want = (z @ m1.weights + m1.intercept) / np.linalg.norm(m1.weights)
    np.testing.assert_allclose(ml.softness(m1, traj, frames=[0])["S_ML"].to_numpy(), want, rtol=1e-12, atol=1e-12)
    # plain-data round trip
    back = ml.SoftnessModel.from_dict(m1.to_dict())
    np.testing.assert_array_equal(ml.softness(back, traj, frames=[0])["S_ML"].to_numpy(),
                                  ml.softness(m1, traj, frames=[0])["S_ML"].to_numpy())


def test_train_softness_with_angular_functions():
    """The angular grid travels with the model: features, deterministic training, application and
    the plain-data round trip."""
    traj, lab = _planted()
    grid = {"xi": [1.0], "lambda": [-1.0, 1.0], "zeta": [1.0, 2.0], "r_max": 1.6}
    kw = dict(species="A", labels=lab, mus=ml.mu_grid(0.5, 2.0, 0.1), split_time=4.0, angular=grid)
    m1 = ml.train_softness(traj, seed=7, **kw)
    m2 = ml.train_softness(traj, seed=7, **kw)
    assert np.array_equal(m1.weights, m2.weights) and m1.angular == grid
    assert len(m1.features) == 2 * 16 + 3 * 4 and m1.features[-1] == "Psi_BB_xi1_l+1_z2"
    G = ml.structure_functions(traj, frames=[0], species="A", mus=m1.mus, angular=grid)
    z = (G.select(m1.features).to_numpy() - m1.mean) / m1.scale
    want = (z @ m1.weights + m1.intercept) / np.linalg.norm(m1.weights)
    np.testing.assert_allclose(ml.softness(m1, traj, frames=[0])["S_ML"].to_numpy(), want, rtol=1e-12, atol=1e-12)
    back = ml.SoftnessModel.from_dict(m1.to_dict())
    assert back.angular == grid
    np.testing.assert_array_equal(ml.softness(back, traj, frames=[0])["S_ML"].to_numpy(),
                                  ml.softness(m1, traj, frames=[0])["S_ML"].to_numpy())


def test_train_softness_errors(monkeypatch):
    traj, lab = _planted(n_frames=4, n=100)
    with pytest.raises(ValueError, match="species"):
        ml.train_softness(traj, species="Z", labels=lab)
    with pytest.raises(ValueError, match="test_fraction"):
        ml.train_softness(traj, labels=lab, test_fraction=1.5)
    with pytest.raises(ValueError, match="split_time"):
        ml.train_softness(traj, labels=lab, split_time=100.0)
    with pytest.raises(ValueError, match="SoftnessModel"):
        ml.softness({"weights": [1.0]}, traj)
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.svm", None)
    with pytest.raises(ImportError, match=r"glassrs\[ml\]"):
        ml.train_softness(traj, labels=lab)


def test_spearman_table_uses_joined_rows():
    a = pl.DataFrame({"frame": [0] * 6, "particle": list(range(6)), "species": ["A"] * 3 + ["B"] * 3,
                      "S_ML": [0.1, 0.2, 0.3, 1.0, 2.0, 3.0]})
    b = pl.DataFrame({"frame": [0] * 6, "particle": list(range(6)), "softness": [1.0, 2.0, 3.0, 3.0, 2.0, 1.0],
                      "sop": [5.0, 4.0, 6.0, 1.0, 2.0, 3.0]})
    t = ml.spearman_table(a, b)
    got = {(r["species"], r["column"]): r["rho"] for r in t.iter_rows(named=True)}
    assert got[("A", "softness")] == pytest.approx(1.0) and got[("B", "softness")] == pytest.approx(-1.0)
    assert got[("A", "sop")] == pytest.approx(gr.stats.spearman([0.1, 0.2, 0.3], [5.0, 4.0, 6.0]))
    with pytest.raises(ValueError, match="other"):
        ml.spearman_table(a, b, columns=("nope",))


# ---------------------------------------------------------------------------------------------
# physics on the embedded Kob–Andersen data
@pytest.mark.slow
def test_ka_low_temperature_accuracy_and_pr_rises_with_softness():
    """T = 0.6 (the lowest temperature of the embedded chain, 251 frames over 300 τ): held-out
    accuracy well above chance, and on the held-out frames P_R of the top S_ML quintile exceeds the
    bottom quintile's by more than their combined binomial errors (≥ 1000 particle-frames per bin)."""
    traj = gr.datasets.kob_andersen(0.6, progress=False)
    model = ml.train_softness(traj, species="A", seed=0)
    assert model.accuracy > 0.65, model
    assert model.n_test["rearranging"] >= 200
    pr = ml.rearrangement_probability(model, traj, frames=model.test_frames, bins=5).sort("bin")
    lo, hi = pr.row(0, named=True), pr.row(pr.height - 1, named=True)
    assert lo["n"] >= 1000 and hi["n"] >= 1000
    err = np.sqrt(lo["p_r"] * (1 - lo["p_r"]) / lo["n"] + hi["p_r"] * (1 - hi["p_r"]) / hi["n"])
    assert hi["p_r"] - lo["p_r"] > 5 * err
