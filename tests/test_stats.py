"""Spearman C_R (numpy and Polars expression) vs scipy; P_R binning vs numpy."""

import numpy as np
import polars as pl
import pytest
from scipy import stats as sps

import glassrs as gr


def test_spearman_with_ties_matches_scipy(rng):
    x = rng.integers(0, 8, 500).astype(float)  # many ties
    y = x + rng.normal(0, 3, 500)
    assert gr.stats.spearman(x, y) == pytest.approx(sps.spearmanr(x, y).statistic, abs=1e-12)


def test_polars_namespace_per_group(rng):
    n = 3000
    df = pl.DataFrame({
        "species": rng.choice(["A", "B"], n),
        "L": rng.choice([0.0, 1.0], n),
        "sop": rng.normal(size=n),
    }).with_columns((pl.col("sop") * 0.5 + pl.Series(rng.normal(size=n))).alias("mu"))
    got = (df.group_by("species", "L").agg(pl.col("sop").glass.spearman("mu").alias("c_r"))
           .sort("species", "L"))
    for row in got.iter_rows(named=True):
        sub = df.filter((pl.col("species") == row["species"]) & (pl.col("L") == row["L"]))
        ref = sps.spearmanr(sub["sop"].to_numpy(), sub["mu"].to_numpy()).statistic
        assert row["c_r"] == pytest.approx(ref, abs=1e-12)


def test_rearrangement_probability(rng):
    n = 5000
    x = rng.normal(size=n)
    ph = np.exp(x + rng.normal(size=n))
    df = pl.DataFrame({"sop": x, "phop": ph})
    out = gr.stats.rearrangement_probability(df, "sop", p_c=1.0, bins=10)
    edges = np.histogram_bin_edges(x, 10)
    for row in out.iter_rows(named=True):
        b = row["bin"]
        sel = (x >= edges[b]) & ((x < edges[b + 1]) if b < 9 else (x <= edges[b + 1]))
        assert row["n"] == sel.sum()
        assert row["p_r"] == pytest.approx((ph[sel] > 1.0).mean(), abs=1e-15)
    assert out["n"].sum() == n
