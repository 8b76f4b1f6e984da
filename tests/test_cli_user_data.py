"""Every CLI command on a user's plain LAMMPS dump: a two-type Kob–Andersen run written by
LAMMPS itself (``dump custom … id type xu yu zu``, so types 1, 2 and no ``ITEM: TIME``).

Naming the types (``--model`` maps type k → the model's k-th species; ``--species`` names them
directly), the recorded mapping (``traj.species_mapping``, table parameters), and the rule
that times are never made up from steps (no ``--dt`` → a clear error wherever times are
reported). The API side: ``glassrs.read(path, model=...)``.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import glassrs as gr
from glassrs.cli import main
from conftest import KA_LAMMPS, load_lammps, random_frame

N, N_A, N_B = 500, 400, 100
N_FRAMES, EVERY, DT = 20, 50, 0.005

# 500 particles on an fcc lattice at ρ = 1.2 (box 7.47 σ: wide enough for the local
# structure's 3.45 σ neighbour range), exactly 20 % turned into type 2 (type/ratio),
# melted at T = 2 and dumped every 50 steps without ITEM: TIME
KA_RUN = """
units lj
atom_style atomic
lattice fcc 1.2
region box block 0 5 0 5 0 5
create_box 2 box
create_atoms 1 box
{ka}
velocity all create 2.0 4928 loop geom
timestep 0.005
fix 1 all nvt temp 2.0 2.0 0.5
run 1000
reset_timestep 0
""".replace("{ka}", KA_LAMMPS.replace("type/fraction", "type/ratio"))

NO_TIME = r"has no ITEM: TIME.*pass dt= \(API\) or --dt \(CLI\)"


@pytest.fixture(scope="module")
def dump(tmp_path_factory):
    lammps = load_lammps()
    path = tmp_path_factory.mktemp("user") / "ka.dump"
    lmp = lammps.lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
    try:
        lmp.commands_string(KA_RUN)
        lmp.command(f"dump d all custom {EVERY} {path} id type xu yu zu")
        lmp.command("dump_modify d sort id")
        lmp.command(f"run {EVERY * (N_FRAMES - 1)}")
    finally:
        lmp.close()
    text = path.read_text()
    assert "ITEM: TIME\n" not in text and text.count("ITEM: TIMESTEP") == N_FRAMES
    return str(path)


@pytest.fixture(scope="module")
def ka():
    return gr.models.kob_andersen()


def _counts(df: pl.DataFrame, frame_col: str | None = "frame") -> dict[str, int]:
    sub = df.filter(pl.col(frame_col) == df[frame_col].min()) if frame_col else df
    return dict(sub.group_by("species").len().iter_rows())


# -- API: glassrs.read(path, model=...) ------------------------------------------------------

def test_read_with_model_maps_types_and_records_it(dump, ka):
    traj = gr.read(dump, model=ka)
    assert traj.species == ("A", "B")
    assert traj[5].counts() == {"A": N_A, "B": N_B}
    assert traj.species_mapping == {"1": "A", "2": "B"}
    assert traj.species_source == "model kob_andersen"
    assert traj.species_note == "types 1,2 → A,B (from model kob_andersen)"
    # the mapping travels with the result tables
    g = gr.structure.rdf(traj, dr=0.05, frames=[0, 1])
    assert gr.params(g)["species_mapping"] == {"1": "A", "2": "B"}
    assert gr.params(g)["species_source"] == "model kob_andersen"
    assert set(g["pair"].unique()) == {"A-A", "A-B", "B-B"}
    # the same names as the explicit species= (which is the file's own naming otherwise)
    plain = gr.read(dump)
    assert plain.species == ("1", "2") and plain.species_source == "file"
    assert "species_mapping" not in gr.params(gr.structure.rdf(plain, dr=0.05, frames=[0]))
    np.testing.assert_array_equal(gr.read(dump, species=["A", "B"])[3].types, traj[3].types)
    assert gr.read(dump, species={"1": "A", "2": "B"}).species == ("A", "B")  # type numbers as text


def test_read_species_wins_and_model_checks_it(dump, ka):
    traj = gr.read(dump, species={1: "A", 2: "B"}, model=ka)
    assert traj.species == ("A", "B") and traj.species_source == "species"
    assert traj.species_note == "types 1,2 → A,B (from species=)"
    with pytest.raises(ValueError, match=r"species name 'X' .* not a species of model 'kob_andersen'.*\['A', 'B'\]"):
        gr.read(dump, species=["X", "Y"], model=ka)


def test_read_more_types_than_model_species(tmp_path, ka):
    f = random_frame(90, gr.Box.cube(5.0), seed=2)
    f3 = gr.Frame(positions=f.positions, types=np.arange(90) % 3, box=f.box, species=("A", "B", "C"), step=0)
    p = tmp_path / "three.dump"
    gr.io.write_lammps(p, f3)
    with pytest.raises(ValueError, match=r"types \[1, 2, 3\] cannot be mapped onto model 'kob_andersen', which "
                                         r"has 2 species \['A', 'B'\]"):
        gr.read(p, model=ka)
    assert gr.read(p, species=["A", "B", "C"]).species == ("A", "B", "C")  # species= still names them


def test_read_name_labels_must_be_model_species(tmp_path, ka):
    f = random_frame(40, gr.Box.cube(4.0), seed=3, species=("A", "C"))
    p = tmp_path / "named.gsd"
    gr.io.write_gsd(p, f)
    with pytest.raises(ValueError, match=r"type 'C' is not a species of model 'kob_andersen' \(species: \['A', 'B'\]\)"):
        gr.read(p, model=ka)
    ok = tmp_path / "ok.gsd"
    gr.io.write_gsd(ok, random_frame(40, gr.Box.cube(4.0), seed=3))
    t = gr.read(ok, model=ka)
    assert t.species == ("A", "B") and t.species_source == "file" and t.species_note is None


def test_read_numeric_xyz_labels_with_model(tmp_path, ka, capsys):
    rows = "\n".join(f"{1 + (k % 5 == 0)} {0.4 * k % 4:.3f} {0.7 * k % 4:.3f} {1.1 * k % 4:.3f}" for k in range(10))
    p = tmp_path / "num.xyz"
    p.write_text(f'10\nLattice="4 0 0 0 4 0 0 0 4" Properties=species:S:1:pos:R:3\n{rows}\n')
    t = gr.read(p, model=ka)
    assert t.species == ("A", "B") and t[0].counts() == {"A": 8, "B": 2}
    assert t.species_mapping == {"1": "A", "2": "B"}
    # the CLI's LABEL=NAME form addresses XYZ labels as well as LAMMPS type numbers
    assert main(["info", str(p), "--species", "1=A,2=B"]) == 0
    assert "A: 8, B: 2" in capsys.readouterr().out


def test_times_unknown_without_dt(dump, ka):
    traj = gr.read(dump, model=ka)
    assert not traj.has_times
    assert traj.steps.tolist() == list(range(0, EVERY * N_FRAMES, EVERY))  # steps are always there
    with pytest.raises(ValueError, match=NO_TIME):
        traj.times
    with pytest.raises(ValueError, match=NO_TIME):
        gr.dynamics.correlations(traj, k=7.2, progress=False)
    assert traj.to_polars()["time"].null_count() == N * N_FRAMES  # no steps posing as times
    gr.structure.rdf(traj, dr=0.05, frames=[0])  # structure needs no times
    timed = gr.read(dump, model=ka, dt=DT)
    assert timed.has_times
    np.testing.assert_allclose(timed.times, timed.steps * DT)
    tab = gr.dynamics.correlations(timed, k=7.2, progress=False)
    assert gr.params(tab)["species_mapping"] == {"1": "A", "2": "B"}
    assert gr.params(gr.dynamics.phop(timed, window=0.5))["species_source"] == "model kob_andersen"


def test_isoconf_runs_from_files_need_times(dump, ka):
    runs = [gr.read(dump, model=ka), gr.read(dump, model=ka)]
    with pytest.raises(ValueError, match=NO_TIME):
        gr.isoconf.mobility(runs)
    with pytest.raises(ValueError, match=NO_TIME):
        gr.dynamics.phop(runs[0], window=0.5)


def test_in_memory_frames_without_times():
    f = random_frame(20, gr.Box.cube(4.0), seed=1)
    frames = [gr.Frame(positions=f.positions, types=f.types, box=f.box, species=f.species, step=100 * k)
              for k in range(3)]
    traj = gr.Trajectory.from_frames(frames)
    assert not traj.has_times and traj.species_mapping is None
    with pytest.raises(ValueError, match=r"<memory>: .*frames carry no times.*from_frames\(frames, dt=\.\.\.\)"):
        traj.times
    np.testing.assert_allclose(gr.Trajectory.from_frames(frames, dt=0.01).times, [0.0, 1.0, 2.0])


# -- CLI: every command on the plain dump ----------------------------------------------------

NAMING = {"model": ["--model", "kob_andersen"], "species": ["--species", "A,B"]}


@pytest.fixture(params=list(NAMING))
def naming(request):
    return request.param, NAMING[request.param]


def _check_mapping(df, how):
    p = gr.params(df)
    assert p["species_mapping"] == {"1": "A", "2": "B"}
    assert p["species_source"] == ("model kob_andersen" if how == "model" else "species")


def _note(how):
    return "types 1,2 → A,B (from model kob_andersen)" if how == "model" else "types 1,2 → A,B (from --species)"


def test_cli_info(dump, naming, capsys):
    how, opt = naming
    assert main(["info", dump, *opt]) == 0
    out = capsys.readouterr().out
    assert "A: 400, B: 100" in out and _note(how) in out
    assert "no times: pass --dt" in out and "time span" not in out
    assert main(["info", dump, *opt, "--dt", str(DT)]) == 0
    assert "0 … 4.75 (20 frames)" in capsys.readouterr().out


def test_cli_rdf_and_sq(dump, naming, tmp_path, capsys):
    how, opt = naming
    out = tmp_path / "g.parquet"
    assert main(["rdf", dump, *opt, "--dr", "0.02", "--out", str(out)]) == 0
    assert _note(how) in capsys.readouterr().out
    g = gr.read_parquet(out)
    assert g.columns == ["pair", "r", "g"] and set(g["pair"].unique()) == {"A-A", "A-B", "B-B"}
    assert np.all(np.isfinite(g["g"].to_numpy())) and gr.params(g)["counts"] == [N_A, N_B]
    _check_mapping(g, how)
    out = tmp_path / "s.parquet"
    assert main(["rdf", dump, *opt, "--sq", "--q-max", "8", "--frames", "0:3", "--out", str(out)]) == 0
    s = gr.read_parquet(out)
    assert set(s["pair"].unique()) == {"A-A", "A-B", "B-B"} and np.all(np.isfinite(s["s"].to_numpy()))


def test_cli_local(dump, naming, tmp_path, capsys):
    how, opt = naming
    out = tmp_path / "l.parquet"
    assert main(["local", dump, *opt, "--frames", "0:20:10", "--out", str(out)]) == 0
    assert _note(how) in capsys.readouterr().out
    df = gr.read_parquet(out)
    assert df.columns == ["frame", "particle", "species", "beta_phi", "sop", "s2", "e_loc", "e_pair"]
    assert _counts(df) == {"A": N_A, "B": N_B} and df["frame"].n_unique() == 2
    for c in ("sop", "s2", "e_loc", "e_pair"):  # --species keeps the default model: energies too
        assert np.all(np.isfinite(df[c].to_numpy())), c
    assert gr.params(df)["model"] == "kob_andersen"
    _check_mapping(df, how)


def test_cli_dynamics(dump, naming, tmp_path, capsys):
    how, opt = naming
    out, ph = tmp_path / "d.parquet", tmp_path / "p.parquet"
    assert main(["dynamics", dump, *opt, "--dt", str(DT), "--out", str(out), "--phop-out", str(ph),
                 "--window", "0.5", "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert _note(how) in text and "tau_alpha(q)" in text
    df = gr.read_parquet(out)
    assert df.columns == ["species", "lag", "n_origins", "msd", "overlap", "chi4", "fs", "alpha2"]
    assert set(df["species"].unique()) == {"all", "A", "B"}
    lags = df.filter(pl.col("species") == "all")["lag"].to_numpy()
    np.testing.assert_allclose(lags, np.arange(N_FRAMES) * EVERY * DT)  # times, not steps
    assert np.all(np.isfinite(df.filter(pl.col("lag") > 0).select("msd", "overlap", "fs").to_numpy()))
    _check_mapping(df, how)
    reb = gr.read_parquet(ph)
    assert set(reb["species"].unique()) == {"A", "B"}
    _check_mapping(reb, how)


def test_cli_dynamics_without_dt_is_an_error(dump, tmp_path, capsys):
    out = tmp_path / "d.parquet"
    assert main(["dynamics", dump, "--model", "kob_andersen", "--out", str(out), "--no-progress"]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("glassrs dynamics: error: ")
    assert "has no ITEM: TIME" in err and "pass dt= (API) or --dt (CLI)" in err
    assert not out.exists()


def test_cli_elastic(dump, naming, tmp_path, capsys):
    how, opt = naming
    out = tmp_path / "e.parquet"
    assert main(["elastic", dump, *opt, "--minimize", "--max-frames", "1", "--pairs", "40", "--out", str(out)]) == 0
    assert _note(how) in capsys.readouterr().out
    df = gr.read_parquet(out)
    assert {"i", "j", "species_i", "species_j", "r", "kappa", "frame"} <= set(df.columns)
    assert df.height == 40 and set(df["species_i"].unique()) <= {"A", "B"}
    assert np.all(np.isfinite(df["kappa"].to_numpy()))
    assert np.isfinite(gr.params(df)["G"]["0"])
    _check_mapping(df, how)


def test_cli_minimize(dump, naming, tmp_path, capsys):
    how, opt = naming
    out = tmp_path / "m.parquet"
    assert main(["minimize", dump, *opt, "--every", "10", "--f-tol", "1e-6", "--out", str(out)]) == 0
    assert _note(how) in capsys.readouterr().out
    df = gr.read_parquet(out)
    assert df.height == 2 and np.all(np.isfinite(df["u_is_per_particle"].to_numpy()))
    assert df["time"].is_nan().all() and df["step"].to_list() == [0, 10 * EVERY]  # no dt: no times
    _check_mapping(df, how)
    # the IS transition rate is per unit time: --T needs --dt
    assert main(["minimize", dump, *opt, "--every", "10", "--f-tol", "1e-6", "--T", "2.0", "--out", str(out)]) == 1
    assert "pass dt= (API) or --dt (CLI)" in capsys.readouterr().err
    assert main(["minimize", dump, *opt, "--every", "10", "--f-tol", "1e-6", "--T", "2.0", "--dt", str(DT), "--out", str(out)]) == 0
    df = gr.read_parquet(out)
    np.testing.assert_allclose(df["time"].to_numpy(), [0.0, 10 * EVERY * DT])
    assert np.isfinite(gr.params(df)["gamma"])


def test_cli_isoconf(dump, naming, tmp_path, capsys):
    how, opt = naming
    out, tau = tmp_path / "i.parquet", tmp_path / "t.parquet"
    assert main(["isoconf", dump, *opt, "--T", "2.0", "--runs", "2", "--steps", "60", "--out", str(out),
                 "--tau-out", str(tau), "--no-progress"]) == 0
    assert _note(how) in capsys.readouterr().out
    mob = gr.read_parquet(out)
    assert mob.columns == ["time", "particle", "species", "mobility", "overlap", "msd"]
    assert _counts(mob, "time") == {"A": N_A, "B": N_B}
    assert np.all(np.isfinite(mob.select("mobility", "overlap", "msd").to_numpy()))
    _check_mapping(mob, how)
    _check_mapping(gr.read_parquet(tau), how)


def test_cli_report(dump, naming, tmp_path, capsys):
    how, opt = naming
    out = tmp_path / "rep"
    assert main(["report", dump, *opt, "--dt", str(DT), "--T", "2.0", "--out", str(out)]) == 0
    assert _note(how) in capsys.readouterr().out
    md = (out / "report.md").read_text()
    assert "A:400, B:100" in md and "0–4.75" in md
    assert "## Static structure" in md and "structure skipped" not in md
    assert "| ka.dump | 2.0 | A |" in md and "dynamics not computed" not in md
    assert (out / "dynamics.png").stat().st_size > 0


def test_cli_report_without_dt_says_so(dump, tmp_path, capsys):
    out = tmp_path / "rep"
    assert main(["report", dump, "--model", "kob_andersen", "--out", str(out)]) == 0
    assert "the dynamics section is skipped; pass --dt" in capsys.readouterr().err
    md = (out / "report.md").read_text()
    assert "unknown (steps 0–950; pass dt)" in md  # steps are not printed as times
    assert "dynamics not computed" in md and "pass dt= (API) or --dt (CLI)" in md
    assert "types 1,2 → A,B (from model kob_andersen)" in md


def test_cli_model_with_parameters_and_unknown_model(dump, capsys):
    assert main(["info", dump, "--model", "qp:q=12,p=6"]) == 0
    assert "types 1,2 → A,B (from model qp(12,6))" in capsys.readouterr().out
    assert main(["rdf", dump, "--model", "kob_anderson"]) == 1
    err = capsys.readouterr().err
    assert "unknown model 'kob_anderson'" in err and "kob_andersen" in err and "qp(q, p)" in err
    assert main(["info", dump, "--model", "qp:r=3"]) == 1
    assert "qp takes parameters q, p" in capsys.readouterr().err


def test_cli_species_mapping_form_and_errors(dump, tmp_path, capsys):
    assert main(["info", dump, "--species", "1=A,2=B", "--model", "ka"]) == 0
    out = capsys.readouterr().out
    assert "A: 400, B: 100" in out and "(from --species)" in out
    assert main(["info", dump, "--species", "A,C", "--model", "kob_andersen"]) == 1
    assert "species name 'C'" in capsys.readouterr().err
    f = random_frame(90, gr.Box.cube(5.0), seed=2)
    p = tmp_path / "three.dump"
    gr.io.write_lammps(p, gr.Frame(positions=f.positions, types=np.arange(90) % 3, box=f.box,
                                   species=("A", "B", "C"), step=0))
    assert main(["local", str(p), "--out", str(tmp_path / "l.parquet")]) == 1  # default model: KA
    assert "cannot be mapped onto model 'kob_andersen'" in capsys.readouterr().err
