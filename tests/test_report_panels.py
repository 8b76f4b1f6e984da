"""The report's inherent-structure transition-rate and P_R(X)/onset panels: drawn when the data
exist, a note otherwise, and the numbers they print equal a direct numpy computation."""

from __future__ import annotations

import re

import numpy as np
import polars as pl
import pytest

import glassrs as gr
from glassrs.report import Run, landscape, rearrangements
from glassrs.tables import make_table, params


def _table_rows(md: str, header_start: str) -> list[list[str]]:
    """The body rows of the Markdown table whose header starts with ``header_start``."""
    lines = md.splitlines()
    k = next(i for i, ln in enumerate(lines) if ln.startswith(header_start))
    rows = []
    for ln in lines[k + 2:]:
        if not ln.startswith("|"):
            break
        rows.append([c.strip() for c in ln.strip("|").split("|")])
    return rows


@pytest.fixture(scope="module")
def ka():
    return {T: gr.datasets.kob_andersen(T, progress=False) for T in (1.0, 0.8, 0.6)}


# ----------------------------------------------------------------------------- IS transition rate
def _inherent(n=1000, k=41, dt=0.5, seed=0, jump_every=3):
    """A U_IS(t) table as md.inherent_structures writes it: a jump every `jump_every` quenches,
    tiny (< threshold) noise otherwise."""
    rng = np.random.default_rng(seed)
    t = np.arange(k) * dt
    steps = np.where(np.arange(k) % jump_every == 0, rng.normal(0, 2.0, k), rng.normal(0, 1e-7, k))
    steps[0] = 0.0
    u = -7.6 * n + np.cumsum(steps)
    return make_table({"frame": np.arange(k), "step": np.arange(k) * 100, "time": t, "u_is": u,
                       "u_is_per_particle": u / n, "delta": np.r_[np.nan, np.diff(u)],
                       "transition": np.r_[False, np.abs(np.diff(u)) > 1e-5]},
                      {"kind": "inherent_structure_trajectory", "threshold": 1e-5})


def test_landscape_note_without_inherent_structures(ka, tmp_path):
    md = landscape.section([Run("ka", 0.8, ka[0.8])], str(tmp_path))
    assert "No inherent-structure series" in md and "quench_every" in md and "![" not in md


def test_landscape_rate_matches_a_direct_count(ka, tmp_path):
    runs = []
    for j, T in enumerate((1.0, 0.6)):
        traj = gr.datasets.kob_andersen(T, progress=False)
        traj.inherent = _inherent(seed=j, jump_every=2 + 2 * j)
        runs.append(Run(f"ka T={T:g}", T, traj))
    md = landscape.section(runs, str(tmp_path))
    assert (tmp_path / "landscape_u_is.png").exists() and (tmp_path / "landscape_rate.png").exists()
    assert "![U_IS(t)" in md and "![IS transition rate" in md
    rows = _table_rows(md, "| run | T | quenches")
    assert len(rows) == 2
    for row, r in zip(rows, runs):
        tab = r.trajectory.inherent
        t, u = tab["time"].to_numpy(), tab["u_is"].to_numpy()
        n_tr = int(np.sum(np.abs(np.diff(u)) > 1e-5))
        gamma = n_tr / (t[-1] - t[0])
        t_b = 0.1 * (r.trajectory[0].density ** (-1 / 3)) / np.sqrt(r.temperature)
        assert int(row[4]) == n_tr and float(row[2]) == len(t)
        assert float(row[6]) == pytest.approx(gamma, rel=1e-3)
        assert float(row[7]) == pytest.approx(gamma * t_b * 1000 / 1000, rel=1e-3)
    # a jump at every second quench: half the intervals; every fourth: a quarter — neither saturated
    assert "limited by the quench interval" not in md


def test_landscape_warns_when_quenches_are_too_far_apart(ka, tmp_path):
    traj = gr.datasets.kob_andersen(0.8, progress=False)
    traj.inherent = _inherent(jump_every=1)
    md = landscape.section([Run("ka", 0.8, traj)], str(tmp_path))
    assert "⚠" in md and "limited by the quench interval" in md


class _Dataset(dict):
    """The two things a report section reads from a campaign dataset: ``in``/``[]`` and ``plan``."""

    def __init__(self, tables, plan):
        super().__init__(tables)
        self.plan = plan


def test_landscape_campaign_rates_over_configurations(ka, tmp_path):
    rng = np.random.default_rng(3)
    rows = []
    for T in (0.6, 0.8):
        for c in range(4):
            u = -7.6 + np.cumsum(np.where(rng.random(8) < 0.3, rng.normal(0, 1e-3, 8), 0.0))
            for i in range(8):
                rows.append({"system": "ka", "T": T, "config": c, "batch": i // 4, "index": i % 4,
                             "time": 2.0 * i + 0.1 * c, "u_is": u[i], "G": 15.0, "kappa": 30.0})
    inh = pl.DataFrame(rows)
    ds = _Dataset({"inherent": inh.lazy()}, {"systems": [{"name": "ka", "n": 1000, "density": 1.2}]})
    run = Run("ka T=0.8", 0.8, ka[0.8])
    run.dataset = ds
    md = landscape.section([run], str(tmp_path))
    assert "![IS transition rate" in md
    from glassrs.campaign.reduce import bootstrap_mean

    per = []
    for (T, c), sub in inh.sort("time").group_by(["T", "config"], maintain_order=True):
        t, u = sub["time"].to_numpy(), sub["u_is"].to_numpy() * 1000
        per.append({"T": T, "config": c, "g": np.sum(np.abs(np.diff(u)) > 1e-5) / (t[-1] - t[0])})
    per = pl.DataFrame(per)
    ref = bootstrap_mean(per, "g", ["T"], unit="config")
    got = _table_rows(md, "| system | T_p | configurations")
    assert len(got) == 2
    for row, r in zip(got, ref.sort("T").iter_rows(named=True)):
        assert float(row[1]) == r["T"] and int(row[2]) == 4
        m = re.match(r"([\d.e+-]+) \[([\d.e+-]+), ([\d.e+-]+)\]", row[4])
        assert float(m[1]) == pytest.approx(per.filter(pl.col("T") == r["T"])["g"].mean(), rel=1e-3)
        assert float(m[2]) == pytest.approx(r["ci_low"], rel=1e-3) and float(m[3]) == pytest.approx(r["ci_high"], rel=1e-3)


# ----------------------------------------------------------------------------- P_R(X) and the onset
def test_rearrangements_note_without_temperatures(ka, tmp_path):
    md = rearrangements.section([Run("ka", None, ka[0.8])], str(tmp_path))
    assert "No P_R(X) Arrhenius analysis" in md and "![" not in md
    md = rearrangements.section([Run("ka", 0.8, ka[0.8])], str(tmp_path))
    assert "two or more temperatures" in md and "![" not in md


def test_rearrangements_numbers_match_a_direct_computation(ka, tmp_path):
    runs = [Run(f"ka T={T:g}", T, t) for T, t in ka.items()]
    md = rearrangements.section(runs, str(tmp_path))
    assert (tmp_path / "rearrangements_pr.png").exists() and "![P_R(X)" in md
    # the same per-particle tables, then numpy: equal-count edges, P_R per bin, line fits, onset
    window = rearrangements.window_for(runs)
    data, _ = rearrangements.structure_tables(runs, window)
    pooled = np.concatenate([d["sop"].to_numpy() for d in data.values()])
    edges = np.unique(np.quantile(pooled, np.linspace(0.005, 0.995, rearrangements.BINS + 1)))
    temps = np.array(sorted(data))
    P = np.full((len(edges) - 1, len(temps)), np.nan)
    for j, T in enumerate(temps):
        x, ph = data[T]["sop"].to_numpy(), data[T]["phop"].to_numpy()
        keep = (x >= edges[0]) & (x <= edges[-1])
        x, r = x[keep], ph[keep] > params(data[T])["p_c"]
        b = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)
        for k in range(len(edges) - 1):
            if np.sum(b == k) >= rearrangements.MIN_COUNT and r[b == k].mean() > 0:
                P[k, j] = r[b == k].mean()
    fitted = _table_rows(md, "| bin | X range")
    ln_p0, dE = [], []
    for row in fitted:
        k = int(row[0])
        ok = np.isfinite(P[k])
        slope, icpt = np.polyfit(1 / temps[ok], np.log(P[k, ok]), 1)
        assert float(row[3]) == pytest.approx(-slope, rel=1e-3) and float(row[5]) == pytest.approx(icpt, rel=1e-3)
        lo, hi = (float(v) for v in row[1].split("–"))
        assert lo == pytest.approx(edges[k], rel=1e-3) and hi == pytest.approx(edges[k + 1], rel=1e-3)
        ln_p0.append(icpt)
        dE.append(-slope)
    assert len(fitted) == rearrangements.BINS
    a, e = np.array(ln_p0), np.array(dE)
    beta = np.cov(a, e, bias=True)[0, 1] / np.var(e)
    m = re.search(r"T\* = ([\d.]+) ε/k_B", md)
    assert m and float(m[1]) == pytest.approx(1 / beta, rel=1e-3)
    # overall P_R per temperature in the first table
    for row in _table_rows(md, "| T | p_c"):
        T = float(row[0])
        assert float(row[3]) == pytest.approx(data[T]["rearranging"].mean(), rel=1e-3)


def test_dynamics_vft_intervals_are_over_time_blocks():
    """The dynamics section's VFT table and band: the per-T mean of the block τ_α fitted, the
    blocks resampled within each T and refitted — against scipy refits of hand-drawn resamples
    (the documented seed rule: seed 0 and the column, per T ascending, (n_boot, n) indices of the
    units in (run, block) order)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.optimize import curve_fit

    from glassrs.campaign import reduce as R
    from glassrs.report import dynamics as dyn_rep

    rng = np.random.default_rng(2)
    law = lambda T, a, K, T0: a + T0 / (K * (T - T0))  # noqa: E731
    temps = [1.0, 0.8, 0.7, 0.6, 0.55]
    results, blocks = [], {}
    for T in temps:
        tau = np.exp(law(T, -0.4, 0.3, 0.3) + rng.normal(0, 0.1, dyn_rep.N_BLOCKS))
        blocks[T] = tau
        rt = [pl.DataFrame({"species": ["all", "A"], "tau_q": [t, 2 * t]}) for t in tau]
        results.append({"run": Run(f"T{T}", T, None), "rt": rt[0], "block_rt": rt})
    fig, ax = plt.subplots()
    md = "\n".join(dyn_rep._vft_fit(ax, results))
    rows = {r[0]: r for r in _table_rows(md, "| parameter | value")}
    T = np.array(sorted(temps))
    arrays = [blocks[t] for t in T]
    p, _ = curve_fit(law, T, np.log([a.mean() for a in arrays]), p0=[0, 0.3, 0.3], maxfev=20000)
    r = R._rng(0, ("vft", "tau_alpha"))
    M = np.column_stack([a[r.integers(0, len(a), (dyn_rep.VFT_BOOT, len(a)))].mean(axis=1) for a in arrays])
    draws = np.array([curve_fit(law, T, np.log(m), p0=p, maxfev=20000)[0] for m in M])
    draws = draws[draws[:, 2] < T.min()]
    q = [(1 - dyn_rep.VFT_LEVEL) / 2, (1 + dyn_rep.VFT_LEVEL) / 2]
    for k, name in enumerate(("ln τ0", "K_VFT", "T_VFT")):
        assert float(rows[name][1]) == pytest.approx(p[k], rel=1e-3)
        lo, hi = np.quantile(draws[:, k], q)
        got = [float(x) for x in re.findall(r"-?\d+\.?\d*(?:e-?\d+)?", rows[name][3])]
        assert got == pytest.approx([lo, hi], abs=0.01 * (hi - lo) + 5e-4 * max(abs(lo), abs(hi))), (name, got, lo, hi)
    assert "bootstrap over the time blocks of origins" in md
    assert "VFT 90 % band (bootstrap over time blocks of origins)" in ax.get_legend_handles_labels()[1]
    plt.close(fig)
