"""Progress and logging (glassrs.progress): one line per stage with its elapsed time when stderr
is not a terminal, rich bars when it is, nothing with --quiet; library calls stay silent unless
asked; callbacks get (done, total)."""

from __future__ import annotations

import re

import pytest

import glassrs as gr
from glassrs import progress
from glassrs.cli import build_parser, main
from glassrs.report import SECTIONS

LINE = re.compile(r"^glassrs: (.+): (?:\d+ \w+ )?in \d+\.\d s$")


@pytest.fixture(scope="module")
def run_gsd(tmp_path_factory):
    out = tmp_path_factory.mktemp("prog") / "run.gsd"
    assert main(["simulate", "-n", "500", "-T", "1.5", "--steps", "200", "--every", "20", "--equilibrate", "100",
                 "--quiet", "--out", str(out)]) == 0
    return str(out)


def _stages(err: str) -> list[str]:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    bad = [ln for ln in lines if not LINE.match(ln)]
    assert not bad, bad
    return [LINE.match(ln)[1] for ln in lines]


def test_simulate_stage_lines(tmp_path, capsys):
    assert main(["simulate", "-n", "200", "-T", "1.5", "--steps", "200", "--equilibrate", "100",
                 "--out", str(tmp_path / "r.gsd")]) == 0
    err = capsys.readouterr().err
    assert _stages(err) == ["MD equilibrate", "MD production"]
    assert "glassrs: MD production: 200 steps in " in err


def test_command_stage_lines(run_gsd, tmp_path, capsys):
    capsys.readouterr()
    assert main(["dynamics", run_gsd, "--out", str(tmp_path / "d.parquet")]) == 0
    assert _stages(capsys.readouterr().err) == ["dynamics"]
    assert main(["minimize", run_gsd, "--every", "5", "--f-tol", "1e-6", "--out", str(tmp_path / "m.parquet")]) == 0
    assert _stages(capsys.readouterr().err) == ["FIRE minimisation"]
    assert main(["elastic", run_gsd, "--minimize", "--max-frames", "2", "--pairs", "20",
                 "--out", str(tmp_path / "e.parquet")]) == 0
    assert _stages(capsys.readouterr().err) == ["elasticity"]
    assert main(["isoconf", run_gsd, "--T", "1.5", "--runs", "2", "--steps", "40", "--out", str(tmp_path / "i.parquet")]) == 0
    assert _stages(capsys.readouterr().err) == ["isoconf ensemble (2 runs)"]
    assert main(["rdf", run_gsd, "--dr", "0.1", "--out", str(tmp_path / "g.parquet")]) == 0
    assert _stages(capsys.readouterr().err) == ["g(r)"]
    assert main(["report", run_gsd, "--out", str(tmp_path / "rep")]) == 0
    stages = _stages(capsys.readouterr().err)
    # one line per section that ran (elasticity needs --inherent-structures, the campaign section a dataset)
    assert [s for s in stages if s.startswith("report: ")] == [f"report: {s} (1 run)" for s in SECTIONS
                                                               if s not in ("elastic", "campaign")]


def test_quiet_prints_nothing_on_stderr(run_gsd, tmp_path, capsys):
    capsys.readouterr()
    runs = [
        ["simulate", "-n", "200", "-T", "1.5", "--steps", "100", "--equilibrate", "50", "--out", str(tmp_path / "q.gsd")],
        ["dynamics", run_gsd, "--out", str(tmp_path / "d.parquet")],
        ["minimize", run_gsd, "--every", "5", "--f-tol", "1e-6", "--out", str(tmp_path / "m.parquet")],
        ["isoconf", run_gsd, "--T", "1.5", "--runs", "2", "--steps", "40", "--out", str(tmp_path / "i.parquet")],
        ["local", run_gsd, "--frames", "0", "--out", str(tmp_path / "l.parquet")],
        ["report", run_gsd, "--out", str(tmp_path / "rep")],
        ["info", run_gsd],
    ]
    for argv in runs:
        assert main([*argv, "--quiet"]) == 0, argv
        cap = capsys.readouterr()
        assert cap.err == "", (argv, cap.err)
        assert cap.out  # the results are still printed


def test_every_command_has_quiet():
    def leaves(p):
        subs = [a for a in p._actions if a.__class__.__name__ == "_SubParsersAction"]
        if not subs:
            yield p
        for a in subs:
            for c in a.choices.values():
                yield from leaves(c)

    parser = build_parser()
    top = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"][0]
    for name, cmd in top.choices.items():
        for leaf in leaves(cmd):
            assert "--quiet" in leaf._option_string_actions, leaf.prog


def test_library_is_silent_unless_asked(run_gsd, capsys):
    traj = gr.read(run_gsd)
    capsys.readouterr()
    gr.dynamics.correlations(traj)  # progress=None: a bar on a terminal only
    assert capsys.readouterr().err == ""
    gr.dynamics.correlations(traj, progress=True)  # asked: a stage line off a terminal
    assert _stages(capsys.readouterr().err) == ["dynamics"]
    with progress.configured(lines=True):
        gr.minimize.fire_batch(list(traj[:2]), gr.models.kob_andersen(), f_tol=1e-6)
    assert _stages(capsys.readouterr().err) == ["FIRE minimisation"]
    with progress.configured(lines=True, quiet=True):
        gr.minimize.fire_batch(list(traj[:2]), gr.models.kob_andersen(), f_tol=1e-6)
    assert capsys.readouterr().err == ""


def test_callbacks_get_done_and_total(run_gsd, capsys):
    seen = []
    gr.md.run(gr.models.kob_andersen(), n=200, T=1.0, steps=300, equilibrate=0, progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[-1] == (300, 300) and all(t == 300 for _, t in seen)
    seen.clear()
    gr.isoconf.ensemble(gr.read(run_gsd)[0], gr.models.kob_andersen(), T=1.5, n_runs=2, steps=30,
                        progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (60, 60)
    assert capsys.readouterr().err == ""  # a callback replaces the display


def test_terminal_gets_bars(monkeypatch, run_gsd):
    """On a terminal the tasks are rich bars sharing one live display (nested tasks included)."""
    monkeypatch.setattr(progress, "_isatty", lambda: True)
    with progress.task("outer", total=2) as outer:
        assert outer.mode == "bar"
        with progress.task("inner", total=3, unit="frames") as inner:
            assert inner.mode == "bar" and progress._live["users"] == 2
            inner.update(3)
        outer.advance(2)
    assert progress._live["bar"] is None  # the display is gone
    with progress.configured(quiet=True):
        with progress.task("q") as t:
            assert t.mode == "off"
    gr.md.run(gr.models.kob_andersen(), n=200, T=1.0, steps=50, equilibrate=0, progress=True)
    assert progress._live["bar"] is None


def test_stage_line_on_error(capsys):
    with pytest.raises(RuntimeError):
        with progress.task("failing", enabled=True):
            raise RuntimeError("x")
    assert re.search(r"glassrs: failing: in \d+\.\d s \(stopped\)", capsys.readouterr().err)
