"""Dynamics on log-spaced LAMMPS dumps (``dump_modify … every v_logsteps``) written by LAMMPS
itself: read with gr.read, compared with atooms-pp reading the same file, and the three
unwrapping sources (xu, image flags, wrapped + accumulated minimum-image steps) agree."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest

import glassrs as gr
from conftest import KA_LAMMPS, load_lammps

pp = pytest.importorskip("atooms.postprocessing", reason="atooms-pp (dynamics oracle) is not installed")
from atooms.postprocessing.helpers import filter_species  # noqa: E402
from atooms.trajectory import TrajectoryLAMMPS  # noqa: E402

logging.getLogger("atooms").setLevel(logging.ERROR)
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

KA = """
units lj
atom_style atomic
lattice fcc 1.2
region box block 0 4 0 4 0 4
create_box 2 box
create_atoms 1 box
{ka}
velocity all create 2.0 87287 loop geom
timestep 0.005
fix 1 all nvt temp 2.0 2.0 0.5
run 1000
reset_timestep 0
variable logsteps equal logfreq3(1,40,1500)
""".replace("{ka}", KA_LAMMPS)

COLUMNS = {"xu": "id type xu yu zu", "image": "id type x y z ix iy iz", "wrapped": "id type x y z"}


@pytest.fixture(scope="module")
def dumps(tmp_path_factory):
    lammps = load_lammps()
    d = tmp_path_factory.mktemp("lmp")
    lmp = lammps.lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
    paths = {}
    try:
        lmp.commands_string(KA)
        for name, cols in COLUMNS.items():
            paths[name] = d / f"{name}.dump"
            lmp.command(f"dump {name} all custom 1 {paths[name]} {cols}")
            lmp.command(f"dump_modify {name} every v_logsteps first yes format float %.17g sort id")
        lmp.command("run 1500")
    finally:
        lmp.close()
    return paths


def _ours(table, species, col):
    sub = table.filter(table["species"] == species).sort("lag")
    return sub["lag"].to_numpy(), sub[col].to_numpy()


def test_log_spaced_schedule_read(dumps):
    traj = gr.read(dumps["xu"])
    steps = traj.steps
    assert steps[0] == 0 and steps[-1] == 1500 and len(steps) > 30
    gaps = np.diff(steps)
    assert gaps[-1] > 10 * gaps[1]            # logarithmic spacing


def test_unwrapping_sources_agree(dumps):
    # the dumps have no ITEM: TIME: dt = 1 measures lags in steps (without dt there are no times)
    tabs = {name: gr.dynamics.correlations(gr.read(p, dt=1.0), k=7.0, dk=0.3, nk=20, progress=False)
            for name, p in dumps.items()}
    for name in ("image", "wrapped"):
        for c in ["msd", "overlap", "chi4", "fs", "alpha2"]:
            np.testing.assert_allclose(tabs[name][c].to_numpy(), tabs["xu"][c].to_numpy(), rtol=1e-10, atol=1e-13)
    assert gr.params(tabs["xu"])["lag_grouping"] == "timestep difference"


@pytest.mark.parametrize("species", ["all", "A", "B"])
def test_against_atooms_on_lammps_dump(dumps, species):
    path = str(dumps["xu"])
    traj = gr.read(path, species=["A", "B"], dt=1.0)  # dt = 1: lags in steps, as atooms-pp reports them
    kv = gr.dynamics.shell_kvectors(traj.box, 7.0, dk=0.3, nk=None)
    ours = gr.dynamics.correlations(traj, kvectors=kv, progress=False)
    ours_o = gr.dynamics.correlations(traj, kvectors=kv, alpha2_average="origin", progress=False)
    nf = len(traj)
    tp = {i0: list(range(nf - i0)) for i0 in range(nf)}
    sp = {"all": None, "A": "1", "B": "2"}[species]

    def run(cls, **kw):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            c = cls(TrajectoryLAMMPS(path), tpairs=tp, **kw)
            if sp is not None:
                c.add_filter(filter_species, sp)
            c.compute()
        return c

    for cls, col, table, kw in [(pp.MeanSquareDisplacement, "msd", ours, {}),
                                (pp.SelfOverlap, "overlap", ours, {"a": 0.3}),
                                (pp.NonGaussianParameter, "alpha2", ours_o, {}),
                                (pp.SelfIntermediateScattering, "fs", ours,
                                 {"kvectors": [list(map(list, kv))], "normalize": False})]:
        c = run(cls, **kw)
        t_ref = np.asarray(c.grid[1] if col == "fs" else c.grid, dtype=float)
        v_ref = np.asarray(c.value[0] if col == "fs" else c.value, dtype=float)
        t, v = _ours(table, species, col)
        np.testing.assert_array_equal(t, t_ref)          # lags in steps (dt = 1) on both sides
        # atooms-pp unfolds xu coordinates again by minimum-image accumulation (≤ 1 ulp per frame)
        np.testing.assert_allclose(v[1:], v_ref[1:], rtol=1e-10, atol=1e-14, err_msg=col)


def test_first_peak_of_ka_liquid(dumps):
    k = gr.dynamics.first_peak_k(gr.read(dumps["xu"]))
    assert 6.8 < k < 7.6     # KA S_AA first peak ≈ 7.1–7.3 σ⁻¹ (a 256-particle box: shells of 0.25)
