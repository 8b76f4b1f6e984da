"""Table parameters lost by Polars operations are never silently assumed."""

from __future__ import annotations

import json
import warnings

import numpy as np
import polars as pl
import pytest

import glassrs as gr
from glassrs.tables import make_table


def _local_table(closure="approx"):
    return make_table({"frame": [0, 0], "particle": [1, 2], "species": ["A", "B"], "beta_phi": [-2.0, -3.0]},
                      {"kind": "local", "closure": closure})


def test_local_softness_refuses_a_table_that_lost_its_closure():
    t = _local_table("approx")
    with pytest.raises(ValueError, match="hnc"):
        gr.structure.local_softness(t, 0.1, 0.2)
    filtered = t.filter(pl.col("species") == "A")  # Polars drops the parameters
    with pytest.raises(ValueError, match="closure"):
        gr.structure.local_softness(filtered, 0.1, 0.2)
    # explicit statement of the closure works (and is recorded)
    out = gr.structure.local_softness(_local_table("hnc").filter(pl.col("species") == "A"), 0.1, 0.2, closure="hnc")
    assert gr.params(out)["closure"] == "hnc"
    with pytest.raises(ValueError, match="hnc"):
        gr.structure.local_softness(filtered, 0.1, 0.2, closure="approx")
    with pytest.raises(ValueError, match="closure"):  # given and recorded must agree
        gr.structure.local_softness(t, 0.1, 0.2, closure="hnc")


def test_diffusion_constant_needs_dim_when_the_table_lost_it():
    lag = np.arange(10.0)
    t = make_table({"species": ["all"] * 10, "lag": lag, "msd": 4 * lag}, {"kind": "dynamics", "dim": 2})
    d, _ = gr.dynamics.diffusion_constant(t, 1, 9)
    assert d == pytest.approx(1.0)
    lost = t.filter(pl.col("lag") >= 0)
    with pytest.raises(ValueError, match="dim"):
        gr.dynamics.diffusion_constant(lost, 1, 9)
    assert gr.dynamics.diffusion_constant(lost, 1, 9, dim=2)[0] == pytest.approx(1.0)


def test_write_parquet_of_a_table_without_params_says_so(tmp_path):
    t = _local_table("hnc")
    gr.write_parquet(t, tmp_path / "full.parquet")
    assert gr.params(gr.read_parquet(tmp_path / "full.parquet"))["closure"] == "hnc"
    lost = t.filter(pl.col("species") == "A")
    with pytest.warns(UserWarning, match="no glassrs parameters"):
        gr.write_parquet(lost, tmp_path / "lost.parquet")
    back = gr.params(gr.read_parquet(tmp_path / "lost.parquet"))
    assert back != {} and back.get("params_missing") is True, back
    meta = json.loads(pl.read_parquet_metadata(tmp_path / "lost.parquet")["glassrs"])
    assert meta.get("params_missing") is True
    # explicit parameters: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gr.write_parquet(lost, tmp_path / "given.parquet", params_=gr.params(t))
    assert gr.params(gr.read_parquet(tmp_path / "given.parquet"))["closure"] == "hnc"
