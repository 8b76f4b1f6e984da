"""Embedded dataset: generation, caching (atomic, versioned by parameters), reproducibility,
the report and the simulate/minimize CLI on it. Uses a tiny chain in a temporary cache."""

import os

import numpy as np
import pytest

import glassrs as gr
from glassrs import datasets
from glassrs.cli import main
from glassrs.datasets import Protocol

TINY = (Protocol(1.0, equilibrate=300, steps=600, log_block=200), Protocol(0.8, equilibrate=300, steps=600, log_block=200))


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    monkeypatch.setenv("GLASSRS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(datasets, "DEFAULT_CHAIN", TINY)
    monkeypatch.setitem(datasets.DEFAULTS, "n", 300)
    monkeypatch.setitem(datasets.DEFAULTS, "melt_steps", 300)
    return tmp_path


def test_generate_cache_and_reload(tiny):
    series = list(datasets.kob_andersen_series(progress=False))
    assert [t for t, _ in series] == [1.0, 0.8]
    files = sorted(os.listdir(datasets.cache_dir()))
    assert len(files) == 2 and all(f.startswith("ka_N300_rho1.2_T") and "_v1_" in f for f in files)
    assert not [f for f in files if f.endswith(".tmp")]
    again = dict(datasets.kob_andersen_series(progress=False))
    for t, traj in series:
        np.testing.assert_array_equal(again[t].unwrapped(), traj.unwrapped())
        assert traj.dt == 0.005 and traj.n_particles == 300
        # log-spaced frames in blocks: both short and long lags are present
        lags = np.diff(traj.steps)
        assert lags.min() == 1 and traj.steps[-1] == 600
        th = traj.thermo.filter(traj.thermo["stage"] == "production")
        assert abs(th["temperature"].mean() - t) < 0.1
    # the chain continues: T=0.8 starts where T=1.0 ended
    assert datasets.kob_andersen(0.8, progress=False).n_particles == 300
    # different parameters → different file
    list(datasets.kob_andersen_series([1.0], progress=False, seed=7))
    assert len(os.listdir(datasets.cache_dir())) == 3
    with pytest.raises(ValueError, match="not in the dataset chain"):
        datasets.kob_andersen(0.45)
    with pytest.raises(ValueError, match="unknown dataset options"):
        datasets.kob_andersen(1.0, N=10)


def test_generation_is_reproducible_across_thread_counts(tiny):
    a = dict(datasets.kob_andersen_series([1.0], progress=False, n_threads=1))[1.0]
    for f in os.listdir(datasets.cache_dir()):
        os.unlink(os.path.join(datasets.cache_dir(), f))
    b = dict(datasets.kob_andersen_series([1.0], progress=False, n_threads=2))[1.0]
    np.testing.assert_array_equal(a.unwrapped(), b.unwrapped())


def test_report_without_arguments_uses_the_dataset(tiny, monkeypatch):
    monkeypatch.chdir(tiny)
    assert main(["report", "--out", str(tiny / "rep")]) == 0
    text = (tiny / "rep" / "report.md").read_text()
    assert "T=1" in text and "T=0.8" in text


def test_simulate_and_minimize_cli(tmp_path, capsys):
    out = str(tmp_path / "run.npz")
    assert main(["simulate", "-n", "300", "--steps", "400", "--every", "200", "--seed", "3", "--out", out]) == 0
    traj = gr.md.load_npz(out)
    assert list(traj.steps) == [0, 200, 400]
    assert os.path.exists(str(tmp_path / "run.thermo.parquet"))
    table = str(tmp_path / "is.parquet")
    assert main(["minimize", out, "--out", table]) == 0
    df = gr.read_parquet(table)
    assert len(df) == 3 and (df["u_is_per_particle"] < -7).all()
    assert main(["simulate", "-n", "300", "--steps", "10", "--model", "nope", "--out", out]) == 1
    assert "unknown model 'nope'" in capsys.readouterr().err
