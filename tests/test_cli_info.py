"""``python -m glassrs info`` on a real file, ``--help`` for every command, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import glassrs as gr
from glassrs.cli import COMMANDS, main
from conftest import random_frame


@pytest.fixture
def dump(tmp_path):
    box = gr.Box.from_lammps([10.0, 9.0, 8.0], (1.0, 0.5, -0.5))
    f = random_frame(500, box, seed=3)
    frames = [gr.Frame(positions=f.positions, types=f.types, box=box, species=f.species, step=1000 * k)
              for k in range(3)]
    p = tmp_path / "ka.lammpstrj"
    gr.io.write_lammps(p, frames)
    return p


def test_info_runs_as_module(dump):
    env = dict(os.environ, COLUMNS="160")
    r = subprocess.run([sys.executable, "-m", "glassrs", "info", str(dump), "--dt", "0.005", "--species", "A,B"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "frames" in out and " 3 " in out
    assert "particles" in out and "500" in out
    assert "A: 400, B: 100" in out
    assert "0 … 10 (3 frames)" in out  # steps 0..2000 × dt 0.005
    assert "id type x y z" in out
    assert f"{500 / (10 * 9 * 8):.6g}" in out  # density


def test_info_default_species(dump, capsys):
    assert main(["info", str(dump)]) == 0
    assert "1: 400, 2: 100" in capsys.readouterr().out


@pytest.mark.parametrize("command", [None] + COMMANDS)
def test_help(command, capsys):
    with pytest.raises(SystemExit) as e:
        main(([command] if command else []) + ["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m glassrs") and "--help" in out


def test_errors_are_one_line(tmp_path, capsys):
    assert main(["info", str(tmp_path / "missing.dump")]) == 1
    err = capsys.readouterr().err.strip()
    assert err == f"glassrs info: error: {tmp_path / 'missing.dump'}: no such file"
    bad = tmp_path / "bad.dump"
    bad.write_text("ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n")
    assert main(["info", str(bad)]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "bad.dump, frame 0, line 4" in err
