"""Several state points on user data: three LAMMPS-written two-type Kob–Andersen dumps at three
temperatures (types 1, 2; no ITEM: TIME), given as ``FILE:T=…`` arguments or a TOML file, make
every temperature panel of the report (τ_α(T), its VFT fit, SOP(T) and γ) and the T-resolved
tables of ``dynamics`` and ``local``."""

from __future__ import annotations

import math
import re

import numpy as np
import polars as pl
import pytest

import glassrs as gr
from glassrs import statepoints
from glassrs.cli import main
from conftest import KA_LAMMPS, load_lammps

N, DT, EVERY, N_FRAMES = 500, 0.005, 20, 51
TEMPS = (1.0, 1.4, 2.0)

# 500 particles (box 7.47 σ: wide enough for the local structure), melted at T = 2, then 2000
# NVT steps at T, then 1000 steps dumped every 20 (5 τ: τ_α ≈ 0.5–2 at these temperatures)
RUN = """
units lj
atom_style atomic
lattice fcc 1.2
region box block 0 5 0 5 0 5
create_box 2 box
create_atoms 1 box
{ka}
velocity all create 2.0 {seed} loop geom
timestep 0.005
fix 1 all nvt temp 2.0 2.0 0.5
run 1000
unfix 1
fix 1 all nvt temp {T} {T} 0.5
run 2000
reset_timestep 0
""".replace("{ka}", KA_LAMMPS.replace("type/fraction", "type/ratio"))


@pytest.fixture(scope="module")
def dumps(tmp_path_factory):
    lammps = load_lammps()
    d = tmp_path_factory.mktemp("points")
    paths = []
    for k, T in enumerate(TEMPS):
        path = d / f"run{k}.dump"
        lmp = lammps.lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
        try:
            lmp.commands_string(RUN.replace("{T}", str(T)).replace("{seed}", str(4928 + k)))
            lmp.command(f"dump d all custom {EVERY} {path} id type xu yu zu")
            lmp.command("dump_modify d sort id")
            lmp.command(f"run {EVERY * (N_FRAMES - 1)}")
        finally:
            lmp.close()
        assert "ITEM: TIME\n" not in path.read_text()
        paths.append(str(path))
    return paths


def _specs(dumps):
    return [f"{p}:T={T}" for p, T in zip(dumps, TEMPS)]


NUM = r"(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)"


def _check_temperature_panels(md: str, labels):
    # τ_α(T): one row per run and species, with finite numbers
    for label, T in zip(labels, TEMPS):
        m = re.search(rf"^\| {re.escape(label)} \| {T} \| all \| {NUM} \| {NUM} \|", md, re.M)
        assert m, f"no τ_α row for {label}"
        assert 0 < float(m[1]) < 5
    # VFT fit with its three parameters
    ci = r"(?: \([^)]*\))?"   # the parameter's interval, when the report gives one
    m = re.search(rf"VFT fit .* through 3 temperatures .*K_VFT = {NUM}{ci}, T_VFT = {NUM}{ci}, ln τ0 = {NUM}", md)
    assert m, md
    K, T0 = float(m[1]), float(m[2])
    assert K > 0 and 0 < T0 < min(TEMPS)
    assert "no temperatures known" not in md
    # SOP(T) and its slopes
    m = re.search(rf"γ = {NUM} ± {NUM} \(macroscopic\), γ′ = {NUM} ± {NUM}", md)
    assert m, md
    assert float(m[1]) > 0 and math.isfinite(float(m[2]))
    assert "structure skipped" not in md and "dynamics not computed" not in md


def test_report_three_state_points(dumps, tmp_path, capsys):
    out = tmp_path / "rep"
    assert main(["report", *_specs(dumps), "--model", "kob_andersen", "--dt", str(DT), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.count("types 1,2 → A,B (from model kob_andersen)") == 1  # once, not per file
    md = (out / "report.md").read_text()
    _check_temperature_panels(md, ["run0.dump", "run1.dump", "run2.dump"])
    assert md.count("A:400, B:100") == 3
    for fig in ("dynamics.png", "structure_sop_T.png"):
        assert (out / fig).stat().st_size > 0


def test_report_from_toml(dumps, tmp_path, capsys):
    toml = tmp_path / "points.toml"
    rel = [f"../{p.split('/')[-2]}/{p.split('/')[-1]}" for p in dumps]  # relative to the TOML file
    toml.write_text(f"# three state points\ndt = {DT}\n" + "".join(
        f'[[point]]\npath = "{r}"\nT = {T}\nlabel = "KA T={T}"\n\n' for r, T in zip(rel, TEMPS)))
    pts = statepoints.load_toml(toml)
    assert [p.T for p in pts] == list(TEMPS) and all(p.dt == DT for p in pts)
    out = tmp_path / "rep"
    assert main(["report", str(toml), "--species", "A,B", "--out", str(out)]) == 0  # dt from the file
    assert "(from --species)" in capsys.readouterr().out
    _check_temperature_panels((out / "report.md").read_text(), [f"KA T={T}" for T in TEMPS])


def test_report_api_pairs(dumps, tmp_path):
    from glassrs.report import make_report

    path = make_report([(p, T) for p, T in zip(dumps, TEMPS)], out=str(tmp_path / "rep"), dt=DT,
                       model=gr.models.kob_andersen())
    _check_temperature_panels(open(path).read(), ["run0.dump", "run1.dump", "run2.dump"])


def test_dynamics_state_points(dumps, tmp_path, capsys):
    out = tmp_path / "d.parquet"
    # the first temperature twice: two independent runs of that state point, averaged
    args = [*_specs(dumps), f"{dumps[0]}:T={TEMPS[0]},dt={DT}"]
    assert main(["dynamics", *args, "--model", "kob_andersen", "--dt", str(DT), "--out", str(out),
                 "--no-progress"]) == 0
    text = capsys.readouterr().out
    for T in TEMPS:
        assert f"T = {T:g}  all: tau_alpha(q) = " in text
    df = gr.read_parquet(out)
    assert df.columns[0] == "T" and sorted(df["T"].unique().to_list()) == list(TEMPS)
    p = gr.params(df)
    assert p["temperatures"] == list(TEMPS) and len(p["state_points"]) == 4
    assert p["species_mapping"] == {"1": "A", "2": "B"}
    lags = df.filter((pl.col("T") == TEMPS[1]) & (pl.col("species") == "all"))["lag"].to_numpy()
    np.testing.assert_allclose(lags, np.arange(N_FRAMES) * EVERY * DT)
    single = gr.dynamics.correlations(gr.read(dumps[1], dt=DT, model=gr.models.kob_andersen()), progress=False)
    got = df.filter(pl.col("T") == TEMPS[1]).drop("T")
    np.testing.assert_allclose(got["overlap"].to_numpy(), single["overlap"].to_numpy())
    tau = {T: gr.dynamics.tau_alpha(df.filter(pl.col("T") == T).drop("T")) for T in TEMPS}
    assert tau[1.0] > tau[1.4] > tau[2.0] > 0


def test_local_state_points(dumps, tmp_path, capsys):
    out = tmp_path / "l.parquet"
    assert main(["local", *_specs(dumps), "--frames", "0:51:25", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "shared by all state points" in text and text.count("sop_macro = ") == 3
    df = gr.read_parquet(out)
    assert df.columns[:2] == ["T", "point"] and sorted(df["T"].unique().to_list()) == list(TEMPS)
    assert df.filter(pl.col("T") == 1.0).height == 3 * N
    p = gr.params(df)
    assert [q["windows"] for q in p["per_point"]] == [p["windows"]] * 3  # one set of windows for the series
    sop = [p["per_point"][k]["sop_macro"] for k in range(3)]
    assert sop[0] < sop[1] < sop[2]  # the SOP grows with T


def test_state_point_errors(dumps, tmp_path, capsys):
    d = tmp_path / "d.parquet"
    cases = [
        (["report", _specs(dumps)[0], dumps[1]], f"{dumps[1]}: no temperature"),
        (["report", dumps[0], dumps[1]], "2 files given without temperatures"),
        (["local", dumps[0], dumps[1]], "2 files given without temperatures"),
        (["report", f"{dumps[0]}:T=-1"], "must be a positive finite number"),
        (["report", f"{dumps[0]}:T=0.6,tau=3"], "unknown key 'tau'"),
        (["report", *_specs(dumps), "--T", "0.6"], "--T does not apply to state points"),
        (["dynamics", *_specs(dumps), "--model", "ka", "--out", str(d)], "has no ITEM: TIME"),
        (["report", f"{tmp_path}/missing.dump:T=0.6"], "missing.dump"),
    ]
    for argv, msg in cases:
        assert main(argv) == 1, argv
        err = capsys.readouterr().err
        assert msg in err, (argv, err)
    bad = tmp_path / "bad.toml"
    bad.write_text('[[point]]\npath = "x.dump"\nT = 0.6\ntemperature = 2\n')
    with pytest.raises(ValueError, match=r"bad.toml, point 1: unknown key 'temperature'"):
        statepoints.load_toml(bad)
    bad.write_text('[[point]]\npath = "x.dump"\n')
    with pytest.raises(ValueError, match=r"bad.toml, point 1: missing 'T'"):
        statepoints.load_toml(bad)
    bad.write_text('points = 3\n')
    with pytest.raises(ValueError, match=r"bad.toml: unknown key 'points'"):
        statepoints.load_toml(bad)
    assert statepoints.parse("a:b.dump:T=0.5,dt=0.002") == statepoints.StatePoint("a:b.dump", 0.5, 0.002)
