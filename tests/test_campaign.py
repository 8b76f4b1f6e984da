"""Campaigns on a LocalCluster with 2 worker processes: a tiny plan end to end, resume as a
no-op, a deleted file reruns only its task bit-identically, a worker killed mid-campaign
changes nothing, plan changes invalidate exactly the dependent tasks, worker errors reach the
client, Ctrl-C stops cleanly, and every class of malformed plan is refused before anything runs."""

from __future__ import annotations

import copy
import json
import os
import signal

import numpy as np
import polars as pl
import pytest

import glassrs as gr
from glassrs.campaign import PlanError, runner

distributed = pytest.importorskip("distributed")

TINY = {
    "name": "tiny", "seed": 7,
    "systems": [{
        "name": "ka", "model": "kob_andersen", "n": 500, "density": 1.2, "temperatures": [1.0, 0.8],
        "configurations": 2, "dt": 0.005,
        "equilibration": {"melt_steps": 500, "steps": 1000},
        "production": {"steps": 2000, "blocks": 4, "frames_per_block": 8},
        "pilot": {"equilibrate_steps": 500, "steps": 800},
    }],
    "analyses": {
        "structure": {"frames": 2},
        "dynamics": {},
        "isoconf": {"runs": 4, "batch": 2, "times": [0.5, 1.0], "L": [0.0, 1.0]},
        "inherent_structures": {"count": 2, "batch": 1, "kappa_pairs": 20},
    },
}


@pytest.fixture(scope="module")
def cluster():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=50) as lc, Client(lc) as c:
        yield c


def _files(manifest_dir: str) -> dict[str, dict[str, str]]:
    with open(os.path.join(manifest_dir, "manifest.json")) as fh:
        return {t: e["files"] for t, e in json.load(fh)["tasks"].items()}


@pytest.fixture(scope="module")
def reference(tmp_path_factory, cluster):
    out = str(tmp_path_factory.mktemp("campaign") / "ref")
    s = gr.campaign.run(TINY, out, client=cluster, threads_per_task=1, progress=False)
    return out, s


def test_tiny_plan_end_to_end(reference):
    out, s = reference
    assert not s.failed and len(s.executed) == len(runner.tasks_of(gr.campaign.load_plan(TINY)))
    ds = gr.campaign.open(out)
    assert set(ds.quantities) >= {"thermo", "tau_reference", "dynamics", "relaxation", "rdf", "sq", "windows", "local",
                                  "structure_summary", "mobility", "correlation", "inherent"}
    rel = ds["relaxation"]
    assert isinstance(rel, pl.LazyFrame)
    schema = rel.collect_schema()
    assert schema["T"] == pl.Float64 and schema["config"] == pl.Int64 and schema["system"] == pl.String
    r = rel.filter(pl.col("species") == "all").collect().sort("T", "config")
    assert r.height == 4 and r["T"].to_list() == [0.8, 0.8, 1.0, 1.0]
    assert (r["tau_alpha"] > 0).all()
    # the partition filter prunes files and the values read back equal the written file's
    one = ds["rdf"].filter((pl.col("T") == 0.8) & (pl.col("config") == 1)).collect()
    direct = pl.read_parquet(os.path.join(out, "rdf", "system=ka", "T=0.8", "config=1", os.listdir(
        os.path.join(out, "rdf", "system=ka", "T=0.8", "config=1"))[0]))
    assert one.drop("system", "T", "config").equals(direct)
    # mobility: 500 particles × 3 times (0 and the two requested) per configuration; C_R per L
    mob = ds["mobility"].filter((pl.col("T") == 1.0) & (pl.col("config") == 0)).collect()
    tau = ds["tau_reference"].filter(pl.col("T") == 1.0).collect()["tau_alpha"].item()
    # output times are the requested t/τ_α rounded to whole MD steps (dt = 0.005)
    assert mob.height == 500 * 3
    np.testing.assert_allclose(sorted(mob["t_over_tau_alpha"].unique()), [0.0, 0.5, 1.0], rtol=0,
                               atol=0.5 * 0.005 / tau * (1 + 1e-9))
    cr = ds["correlation"].collect()
    assert set(cr["L"].unique()) == {0.0, 1.0} and cr["c_r"].is_finite().all()
    inh = ds["inherent"].collect()
    assert inh.height == 4 and (inh["G"] > 0).all() and (inh["kappa"] > 0).all()
    # manifest: plan, version, seed, per-task status and hashes
    man = ds.manifest
    assert man["version"] == gr.__version__ and man["seed"] == 7
    assert all(e["status"] == "done" and e["files"] for e in man["tasks"].values())


def test_rerun_is_a_noop(reference, cluster):
    out, _ = reference
    before = _files(out)
    s = gr.campaign.run(TINY, out, client=cluster, threads_per_task=1, progress=False)
    assert s.executed == [] and len(s.skipped) == len(before)
    assert _files(out) == before


def test_deleted_file_reruns_only_its_task_bit_identically(reference, cluster):
    out, _ = reference
    before = _files(out)
    victim_task = next(t for t in before if t.startswith("production/ka/T=0.8/config=1"))
    victim = next(f for f in before[victim_task] if f.startswith("dynamics"))
    os.unlink(os.path.join(out, victim))
    # and corrupt another task's file: detected through its hash
    other_task = next(t for t in before if t.startswith("structure/ka/T=1.0/config=0"))
    other = next(iter(before[other_task]))
    with open(os.path.join(out, other), "r+b") as fh:
        fh.seek(100)
        fh.write(b"\0\0\0\0")
    s = gr.campaign.run(TINY, out, client=cluster, threads_per_task=1, progress=False)
    assert sorted(s.executed) == sorted([victim_task, other_task])
    assert s.nondeterministic == {}
    assert _files(out) == before


def test_killed_worker_changes_nothing(reference, tmp_path, cluster):
    ref, _ = reference
    out = str(tmp_path / "killed")
    pids = list(cluster.run(os.getpid).values())
    killed = []

    def kill_one(tid, status):
        if not killed and status == "done":
            os.kill(pids[0], signal.SIGKILL)
            killed.append(tid)

    s = gr.campaign.run(TINY, out, client=cluster, threads_per_task=1, progress=False, on_event=kill_one)
    assert killed and not s.failed
    assert _files(out) == _files(ref)
    cluster.wait_for_workers(2, timeout=60)


def test_plan_change_invalidates_exactly_the_dependent_tasks(reference, tmp_path, cluster):
    import shutil

    ref, _ = reference
    out = str(tmp_path / "changed")
    shutil.copytree(ref, out)
    plan = copy.deepcopy(TINY)
    plan["analyses"]["inherent_structures"]["kappa_pairs"] = 10   # only the inherent-structure tasks read it
    plan["analyses"]["isoconf"]["L"] = [0.0, 2.0]                 # only isoconf_reduce reads L
    s = gr.campaign.run(plan, out, client=cluster, threads_per_task=1, progress=False)
    kinds = {t.split("/")[0] for t in s.executed}
    assert kinds == {"inherent", "isoconf_reduce"}
    assert len(s.executed) == 4 + 4
    cr = gr.campaign.open(out)["correlation"].collect()
    assert set(cr["L"].unique()) == {0.0, 2.0}


def test_worker_error_reaches_the_client_with_its_message(tmp_path, cluster):
    plan = copy.deepcopy(TINY)
    plan["systems"][0]["temperatures"] = [0.3]      # glassy: the pilot cannot reach τ_α
    plan["systems"][0]["configurations"] = 1
    plan["systems"][0]["pilot"] = {"equilibrate_steps": 10, "steps": 50, "max_steps": 100}
    plan["analyses"] = {"isoconf": {"runs": 2, "batch": 1}, "structure": {}}
    with pytest.raises(gr.campaign.CampaignError) as info:
        gr.campaign.run(plan, str(tmp_path / "fail"), client=cluster, progress=False, retries=0)
    e = info.value
    assert list(e.failures) == ["pilot/ka/T=0.3"]
    assert "overlap did not fall to 1/e" in e.failures["pilot/ka/T=0.3"] and e.blocked > 0
    st = gr.campaign.status(str(tmp_path / "fail"))
    assert st.filter(pl.col("task") == "pilot/ka/T=0.3")["status"].item() == "failed"
    assert (st.filter(pl.col("kind") == "isoconf")["status"] == "blocked").all()


def test_ctrl_c_stops_cleanly(tmp_path, cluster):
    out = str(tmp_path / "interrupted")

    def interrupt(tid, status):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        gr.campaign.run(TINY, out, client=cluster, progress=False, on_event=interrupt)
    man = json.load(open(os.path.join(out, "manifest.json")))
    statuses = {e["status"] for e in man["tasks"].values()}
    assert "cancelled" in statuses and "pending" not in statuses
    finals = [os.path.join(dp, f) for dp, _, fs in os.walk(out) for f in fs if not f.startswith(".")]
    for p in finals:  # every file under a final name is complete: Parquet files end with the magic
        if p.endswith(".parquet"):
            with open(p, "rb") as fh:
                fh.seek(-4, 2)
                assert fh.read() == b"PAR1", p


# -- malformed plans: one test per error class, all before anything runs ------------------------

def _bad(mutate) -> PlanError:
    plan = copy.deepcopy(TINY)
    mutate(plan)
    with pytest.raises(PlanError) as info:
        gr.campaign.load_plan(plan)
    return info.value


def test_unknown_key_is_named():
    e = _bad(lambda p: p["systems"][0].update(temperature=[1.0]))
    assert ("systems[0].temperature", ) == tuple(k for k, _ in e.problems)
    assert "unknown key" in str(e)


def test_unknown_analysis_is_named():
    e = _bad(lambda p: p["analyses"].update(dynamic={}))
    assert e.problems[0][0] == "analyses.dynamic"


def test_wrong_type_is_named():
    e = _bad(lambda p: p["systems"][0].update(configurations="4"))
    assert e.problems == [("systems[0].configurations", "expected a positive integer, got '4'")]


def test_impossible_values_are_named():
    e = _bad(lambda p: (p["systems"][0].update(temperatures=[1.0, -0.5], n=200),
                        p["analyses"]["isoconf"].update(times=[1.0, 0.5])))
    keys = [k for k, _ in e.problems]
    assert "systems[0].temperatures" in keys and "systems[0].n" in keys and "analyses.isoconf.times" in keys


def test_missing_and_ambiguous_lengths():
    e = _bad(lambda p: p["systems"][0].update(production={"steps": 100, "tau_alpha": 3}))
    assert e.problems[0][0] == "systems[0].production" and "exactly one" in e.problems[0][1]
    e = _bad(lambda p: p["systems"][0].pop("temperatures"))
    assert e.problems == [("systems[0].temperatures", "required key is missing")]


def test_unknown_model_is_named():
    e = _bad(lambda p: p["systems"][0].update(model="kob_anderson"))
    assert e.problems[0][0] == "systems[0].model" and "available models" in e.problems[0][1]


def test_plan_errors_pickle():
    import pickle

    e = _bad(lambda p: p["systems"][0].update(n=-1))
    e2 = pickle.loads(pickle.dumps(e))
    assert str(e2) == str(e) and e2.problems == e.problems


def test_toml_plan_with_a_syntax_error(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("name = 'x'\n[[systems]\n")
    with pytest.raises(PlanError, match=r"(?s)bad.toml.*not valid TOML.*line 2"):
        gr.campaign.load_plan(str(p))


def test_seeds_are_per_run_not_per_batch():
    from glassrs.campaign.tasks import seed_for

    a = [seed_for(7, "ka", 0.8, 0, "isoconf", r) for r in range(4)]
    assert len(set(a)) == 4 and a == [seed_for(7, "ka", 0.8, 0, "isoconf", r) for r in range(4)]
    assert seed_for(7, "ka", 0.8, 1, "isoconf", 0) not in a


def test_normalised_plan_validates_to_itself():
    p = gr.campaign.load_plan(TINY)
    assert gr.campaign.load_plan(p) == p
    for name in gr.campaign.shipped_plans():
        q = gr.campaign.load_plan(gr.campaign.shipped_plan(name))
        assert gr.campaign.load_plan(q) == q


def test_cli_status_and_report_on_the_dataset(reference, tmp_path, capsys):
    from glassrs.cli import main

    out, _ = reference
    assert main(["campaign", "status", out, "--json"]) == 0
    st = json.loads(capsys.readouterr().out)
    assert st["remaining_core_seconds"] == 0.0
    assert all(k["done"] == k["tasks"] and k["failed"] == 0 for k in st["kinds"])
    assert main(["campaign", "status", "seed000-ka", "--json", "--cores", "512"]) == 0
    paper = json.loads(capsys.readouterr().out)
    kinds = {k["kind"]: k for k in paper["kinds"]}
    assert kinds["isoconf"]["tasks"] == 32 * 100 // 10
    # seed 000's protocol is a cluster job: over 100 core-days, projected before anything runs
    assert paper["remaining_core_seconds"] > 100 * 86400
    assert paper["remaining_seconds_on_cores"] == pytest.approx(paper["remaining_core_seconds"] / 512)
    rep = tmp_path / "rep"
    assert main(["report", out, "--out", str(rep)]) == 0
    text = (rep / "report.md").read_text()
    assert "## Campaign results (intervals over configurations)" in text and "configurations" in text
    for fig in ("campaign_tau.png", "campaign_cr.png", "campaign_elastic.png"):
        assert (rep / fig).stat().st_size > 1000 and f"]({fig})" in text


def test_cli_target_needs_three_temperatures(reference, capsys):
    from glassrs.cli import main

    out, _ = reference
    assert main(["campaign", "target", out, "--tau-alpha", "50"]) == 1
    assert "a VFT fit needs at least 3" in capsys.readouterr().err
