"""Every command reads what ``simulate`` writes: the GSD file (HOOMD-blue's format, with the frame
times glassrs logs in it and the thermodynamic log beside it) — one test per command — and the
other output formats (.npz, .parquet, .lammpstrj)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import glassrs as gr
from glassrs.cli import main

N, T, DT, STEPS, EVERY = 500, 1.5, 0.005, 1000, 50
N_FRAMES = STEPS // EVERY + 1


def _simulate(out, capsys=None):
    assert main(["simulate", "-n", str(N), "-T", str(T), "--steps", str(STEPS), "--dt", str(DT), "--equilibrate",
                 "500", "--every", str(EVERY), "--threads", "2", "--out", str(out)]) == 0


@pytest.fixture(scope="module")
def gsd_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("gsd") / "run.gsd"
    _simulate(out)
    return str(out)


def test_simulate_writes_gsd_with_thermo_beside(gsd_run):
    import gsd.hoomd

    with gsd.hoomd.open(gsd_run) as fh:  # a plain HOOMD-blue file
        assert len(fh) == N_FRAMES and fh[0].particles.N == N and list(fh[0].particles.types) == ["A", "B"]
        assert fh[3].configuration.step == 3 * EVERY
    traj = gr.read(gsd_run)
    np.testing.assert_allclose(traj.times, np.arange(N_FRAMES) * EVERY * DT)  # no --dt needed
    thermo = gr.read_parquet(gsd_run[:-4] + ".thermo.parquet")
    assert {"stage", "step", "time", "temperature", "potential"} <= set(thermo.columns)
    assert set(thermo["stage"].unique()) == {"equilibrate", "production"}
    assert gr.params(thermo)["kind"] == "md_thermo"


def test_md_run_out_writes_thermo_beside(tmp_path):
    out = tmp_path / "api.gsd"
    traj = gr.md.run(gr.models.kob_andersen(), n=200, T=1.0, steps=100, every=50, equilibrate=0, out=str(out))
    assert len(gr.read(out)) == len(traj) == 3
    th = gr.read_parquet(tmp_path / "api.thermo.parquet")
    assert th.height == traj.thermo.height


def test_info_reads_gsd(gsd_run, capsys):
    assert main(["info", gsd_run]) == 0
    out = capsys.readouterr().out
    assert "A: 400, B: 100" in out and f"0 … {STEPS * DT:g} ({N_FRAMES} frames)" in out


def test_rdf_reads_gsd(gsd_run, tmp_path):
    out = tmp_path / "g.parquet"
    assert main(["rdf", gsd_run, "--dr", "0.05", "--quiet", "--out", str(out)]) == 0
    g = gr.read_parquet(out)
    assert set(g["pair"].unique()) == {"A-A", "A-B", "B-B"} and g["g"].max() > 1.5


def test_local_reads_gsd(gsd_run, tmp_path):
    out = tmp_path / "l.parquet"
    assert main(["local", gsd_run, "--frames", "0:21:10", "--quiet", "--out", str(out)]) == 0
    df = gr.read_parquet(out)
    assert df["frame"].n_unique() == 3 and np.all(np.isfinite(df["sop"].to_numpy()))


def test_dynamics_reads_gsd(gsd_run, tmp_path, capsys):
    out = tmp_path / "d.parquet"
    assert main(["dynamics", gsd_run, "--out", str(out), "--quiet"]) == 0
    assert "tau_alpha(q)" in capsys.readouterr().out
    df = gr.read_parquet(out)
    lags = df.filter(pl.col("species") == "all")["lag"].to_numpy()
    np.testing.assert_allclose(lags, np.arange(N_FRAMES) * EVERY * DT)


def test_elastic_reads_gsd(gsd_run, tmp_path):
    out = tmp_path / "e.parquet"
    assert main(["elastic", gsd_run, "--minimize", "--max-frames", "1", "--pairs", "30", "--quiet",
                 "--out", str(out)]) == 0
    df = gr.read_parquet(out)
    assert df.height == 30 and np.isfinite(gr.params(df)["G"]["0"])


def test_minimize_reads_gsd(gsd_run, tmp_path):
    out = tmp_path / "m.parquet"
    assert main(["minimize", gsd_run, "--every", "10", "--f-tol", "1e-6", "--T", str(T), "--quiet",
                 "--out", str(out)]) == 0
    df = gr.read_parquet(out)
    np.testing.assert_allclose(df["time"].to_numpy(), [0.0, 10 * EVERY * DT, 20 * EVERY * DT])
    assert np.all(df["u_is_per_particle"].to_numpy() < -6.5)


def test_isoconf_reads_gsd(gsd_run, tmp_path):
    out = tmp_path / "i.parquet"
    assert main(["isoconf", gsd_run, "--T", str(T), "--runs", "2", "--steps", "60", "--quiet",
                 "--out", str(out)]) == 0
    mob = gr.read_parquet(out)
    assert mob["particle"].n_unique() == N


def test_report_reads_gsd(gsd_run, tmp_path):
    out = tmp_path / "rep"
    assert main(["report", gsd_run, "--T", str(T), "--quiet", "--out", str(out)]) == 0
    md = (out / "report.md").read_text()
    assert "A:400, B:100" in md and f"0–{STEPS * DT:g}" in md
    assert "| run.gsd | 1.5 | all |" in md and "dynamics not computed" not in md and "structure skipped" not in md


def test_simulate_reads_gsd_as_start(gsd_run):
    """The last frame of a GSD run is a valid start for a new run (API: start=Frame)."""
    traj = gr.md.run(gr.models.kob_andersen(), T=T, steps=50, every=50, start=gr.read(gsd_run)[-1], equilibrate=0)
    assert traj.n_particles == N


@pytest.mark.parametrize("ext", ["npz", "parquet", "lammpstrj"])
def test_other_formats_read_by_every_reader_command(ext, tmp_path, capsys):
    out = tmp_path / f"run.{ext}"
    assert main(["simulate", "-n", "200", "-T", "1.5", "--steps", "200", "--every", "50", "--equilibrate", "0",
                 "--out", str(out)]) == 0
    assert (tmp_path / "run.thermo.parquet").exists()
    # a LAMMPS dump numbers its types (--model names them) and stores the times (ITEM: TIME)
    naming = ["--model", "kob_andersen"] if ext == "lammpstrj" else []
    capsys.readouterr()
    assert main(["info", str(out), *naming]) == 0
    assert "A: 160, B: 40" in capsys.readouterr().out
    d = tmp_path / "d.parquet"
    assert main(["dynamics", str(out), *naming, "--out", str(d), "--quiet"]) == 0
    lags = gr.read_parquet(d).filter(pl.col("species") == "all")["lag"].to_numpy()
    np.testing.assert_allclose(lags, np.arange(5) * 50 * 0.005)
    back = gr.read(out, **({"model": gr.models.kob_andersen()} if ext == "lammpstrj" else {}))
    assert len(back) == 5 and back.species == ("A", "B")
    np.testing.assert_allclose(back.times, np.arange(5) * 50 * 0.005)


def test_parquet_trajectory_round_trip_and_errors(tmp_path):
    rng = np.random.default_rng(0)
    box = gr.Box.from_lammps([3.0, 3.5, 4.0], [0.3, -0.2, 0.4])
    frames = [gr.Frame(positions=rng.random((10, 3)) @ box.matrix.T, types=np.arange(10) % 2, box=box,
                       species=("A", "B"), step=10 * k, time=0.7 * k, images=rng.integers(-1, 2, (10, 3)))
              for k in range(3)]
    p = tmp_path / "t.parquet"
    gr.md.write(gr.Trajectory.from_frames(frames), str(p))
    back = gr.read(p)
    np.testing.assert_allclose(back.times, [0.0, 0.7, 1.4])  # stored times kept without a dt
    np.testing.assert_array_equal(back.box.matrix, box.matrix)
    np.testing.assert_array_equal(back.unwrapped(), gr.Trajectory.from_frames(frames).unwrapped())
    with pytest.raises(ValueError, match=r"names its species already"):
        gr.read(p, species=["X", "Y"])
    g = tmp_path / "g.parquet"
    gr.write_parquet(gr.structure.rdf(back, dr=0.1, r_max=1.0), g)
    with pytest.raises(gr.FormatError, match=r"g.parquet: not a trajectory table written by glassrs .*got kind 'rdf'"):
        gr.read(g)
