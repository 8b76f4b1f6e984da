"""CLI ``python -m glassrs dynamics`` and the report's dynamics section."""

from __future__ import annotations

import os

import numpy as np
import pytest

import glassrs as gr
from glassrs.cli import main
from glassrs.report import Run
from glassrs.report import dynamics as report_dynamics
from _dynamics_data import random_walk


def test_cli_writes_table_and_phop(tmp_path, monkeypatch, capsys):
    traj, _ = random_walk(n=40, n_frames=30, sigma=0.1, seed=1)
    monkeypatch.setattr(gr, "read", lambda path, **kw: traj)
    out, ph = tmp_path / "dyn.parquet", tmp_path / "phop.parquet"
    rc = main(["dynamics", "fake.lammpstrj", "--out", str(out), "--k", "7.0", "--dk", "0.3",
               "--phop-out", str(ph), "--window", "3.0", "--no-progress"])
    assert rc == 0
    df = gr.read_parquet(out)
    assert df.columns == ["species", "lag", "n_origins", "msd", "overlap", "chi4", "fs", "alpha2"]
    assert gr.params(df)["a"] == 0.3 and gr.params(df)["k"] == 7.0
    ref = gr.dynamics.correlations(traj, k=7.0, dk=0.3, progress=False)
    np.testing.assert_allclose(df["msd"].to_numpy(), ref["msd"].to_numpy(), rtol=1e-12)
    reb = gr.read_parquet(ph)
    assert reb.columns == ["frame", "particle", "species", "phop", "rearranging"]
    text = capsys.readouterr().out
    assert "tau_alpha(q)" in text and "MSD(t*)" in text


def test_cli_error_is_one_line(tmp_path, monkeypatch, capsys):
    traj, _ = random_walk(n=10, n_frames=5)
    monkeypatch.setattr(gr, "read", lambda path, **kw: traj)
    rc = main(["dynamics", "x", "--out", str(tmp_path / "o.parquet"), "--k", "0.01", "--dk", "0.001", "--no-progress"])
    assert rc == 1
    assert "increase dk" in capsys.readouterr().err


def test_report_section(tmp_path):
    runs = [Run(f"T={T}", T, random_walk(n=60, n_frames=40, sigma=s, seed=i)[0])
            for i, (T, s) in enumerate([(0.8, 0.05), (1.2, 0.1)])]
    md = report_dynamics.section(runs, str(tmp_path))
    assert md.startswith("## Dynamics")
    assert os.path.exists(tmp_path / "dynamics.png")
    assert "τ_α (q = 1/e)" in md and "T=0.8" in md
    assert os.path.exists(tmp_path / "dynamics_logdr.png")
