"""``python -m glassrs rdf|local`` (the reader is stubbed: these tests are about the commands)."""

from __future__ import annotations

import numpy as np

import glassrs as gr
from glassrs.cli import main
from structure_ref import perturbed_fcc


def _stub(monkeypatch):
    f0 = perturbed_fcc(5, amp=0.1, seed=41)
    f1 = gr.Frame(positions=perturbed_fcc(5, amp=0.1, seed=42).positions, types=f0.types, box=f0.box,
                  species=f0.species)
    traj = gr.Trajectory.from_frames([f0, f1])
    monkeypatch.setattr(gr, "read", lambda path, **kw: traj)
    return traj


def test_cli_rdf_and_sq(monkeypatch, tmp_path):
    traj = _stub(monkeypatch)
    out = tmp_path / "g.parquet"
    assert main(["rdf", "x.dump", "--r-max", "3.0", "--dr", "0.05", "--out", str(out)]) == 0
    df = gr.read_parquet(out)
    assert gr.params(df)["r_max"] == 3.0 and gr.params(df)["n_frames"] == 2
    assert df.equals(gr.structure.rdf(traj, r_max=3.0, dr=0.05))
    out = tmp_path / "s.parquet"
    assert main(["rdf", "x.dump", "--sq", "--q-max", "6", "--frames", "0:1", "--out", str(out)]) == 0
    assert gr.read_parquet(out).equals(gr.structure.sq(traj, q_max=6.0, dq=0.1, frames=[0]))


def test_cli_local(monkeypatch, tmp_path, capsys):
    traj = _stub(monkeypatch)
    out = tmp_path / "l.parquet"
    w = "A-A=0.95:1.42,A-B=0.72:1.21,B-B=0.74:1.33"
    assert main(["local", "x.dump", "--T", "0.7", "--closure", "hnc", "--windows", w, "--coarse-grain", "0,1",
                 "--out", str(out)]) == 0
    df = gr.read_parquet(out)
    ref = gr.structure.local(traj, gr.models.kob_andersen(), T=0.7, closure="hnc",
                             windows={"A-A": (0.95, 1.42), "A-B": (0.72, 1.21), "B-B": (0.74, 1.33)})
    np.testing.assert_array_equal(df["beta_phi"].to_numpy(), ref["beta_phi"].to_numpy())
    np.testing.assert_array_equal(df["sop_L0"].to_numpy(), ref["sop"].to_numpy())
    assert gr.params(df)["closure"] == "hnc"
    # missing T for hnc: one clear line, exit code 1
    assert main(["local", "x.dump", "--closure", "hnc", "--windows", w]) == 1
    assert "needs the temperature T" in capsys.readouterr().err


def test_report_structure_section(tmp_path):
    from glassrs.report import Run
    from glassrs.report import structure as sec

    runs = []
    for T, amp in ((0.5, 0.07), (0.8, 0.09), (1.1, 0.11)):
        f = perturbed_fcc(5, amp=amp, seed=int(T * 10))
        f = gr.Frame(positions=f.positions, types=perturbed_fcc(5, seed=1).types, box=f.box, species=f.species)
        runs.append(Run(f"T={T}", T, gr.Trajectory.from_frames([f])))
    md = sec.section(runs, str(tmp_path))
    assert "γ =" in md and "γ′ =" in md
    for name in ("structure_gr_sq.png", "structure_psop.png", "structure_sop_T.png"):
        assert (tmp_path / name).stat().st_size > 0
