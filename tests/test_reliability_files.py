"""Written files keep the process umask; md.run / simulate validate the output path before the
simulation starts."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time

import numpy as np
import polars as pl
import pytest

import glassrs as gr


@pytest.fixture
def umask022():
    old = os.umask(0o022)
    yield 0o644
    os.umask(old)


def _mode(p):
    return stat.S_IMODE(os.stat(p).st_mode)


def _traj():
    frames = [gr.Frame(positions=np.array([[0.5, 0.5, 0.5], [1.5, 1.5, 1.5]]) + 0.01 * k, types=[0, 1],
                       box=gr.Box.cube(3.0), species=("A", "B"), step=k) for k in range(2)]
    return gr.Trajectory.from_frames(frames, dt=0.01)


@pytest.mark.parametrize("ext", ["parquet", "lammpstrj", "gsd", "npz"])
def test_written_files_follow_the_umask(tmp_path, umask022, ext):
    if ext == "gsd":
        pytest.importorskip("gsd.hoomd")
    p = tmp_path / f"out.{ext}"
    gr.md.write(_traj(), str(p))
    assert _mode(p) == umask022, oct(_mode(p))


def test_write_parquet_lammps_gsd_follow_the_umask(tmp_path, umask022):
    gr.write_parquet(gr.tables.make_table({"a": [1]}, {"kind": "x"}), tmp_path / "t.parquet")
    gr.io.write_lammps(tmp_path / "t.dump", _traj())
    assert _mode(tmp_path / "t.parquet") == umask022
    assert _mode(tmp_path / "t.dump") == umask022
    if pytest.importorskip("gsd.hoomd"):
        gr.io.write_gsd(tmp_path / "t.gsd", _traj())
        assert _mode(tmp_path / "t.gsd") == umask022
    os.umask(0o077)
    gr.io.write_lammps(tmp_path / "private.dump", _traj())
    assert _mode(tmp_path / "private.dump") == 0o600


@pytest.mark.parametrize("out,pattern", [("nodir/x.gsd", "directory"), ("x.txt", "extension"),
                                         ("x", "extension")])
def test_md_run_validates_out_before_simulating(tmp_path, out, pattern):
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=pattern):
        gr.md.run(gr.models.kob_andersen(), n=64, T=1.0, steps=200_000, out=str(tmp_path / out))
    assert time.perf_counter() - t0 < 2.0  # refused up front, not after 200k steps


def test_md_run_refuses_an_unwritable_directory(tmp_path):
    if os.geteuid() == 0:
        # root writes everywhere: check a path under a regular file instead
        (tmp_path / "file").write_text("x")
        with pytest.raises(ValueError, match="directory"):
            gr.md.run(gr.models.kob_andersen(), n=64, T=1.0, steps=200_000, out=str(tmp_path / "file" / "x.gsd"))
        return
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o500)
    with pytest.raises(PermissionError, match="ro"):
        gr.md.run(gr.models.kob_andersen(), n=64, T=1.0, steps=200_000, out=str(d / "x.gsd"))


def test_simulate_cli_validates_out_first(tmp_path):
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "glassrs", "simulate", "--model", "kob_andersen", "-n", "64",
                        "--temperature", "1.0", "--steps", "200000", "--out", str(tmp_path / "missing" / "x.gsd")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "directory" in (r.stderr + r.stdout), r.stderr
    assert time.perf_counter() - t0 < 20
