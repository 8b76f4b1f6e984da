"""glassrs.read on objects other tools hold in memory: gsd.hoomd.Frame (and lists), ase.Atoms
(and lists), MDAnalysis Universe/AtomGroup — each box convention checked on a triclinic box
against its known matrix (columns = edge vectors)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import glassrs as gr
from glassrs.io.memory import kind_of, mdanalysis_box_matrix

KA = gr.models.kob_andersen()


def _positions(n, m, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 3)) @ m.T


# -- gsd.hoomd.Frame -----------------------------------------------------------------------

def _hoomd(step, box, n=6, seed=0, types=("A", "B")):
    import gsd.hoomd

    s = gsd.hoomd.Frame()
    s.configuration.step = step
    s.configuration.box = box
    s.particles.N = n
    s.particles.types = list(types)
    s.particles.typeid = (np.arange(n) % 2).astype(np.uint32)
    s.particles.position = np.random.default_rng(seed).random((n, 3)) - 0.5
    return s


def test_hoomd_frames_triclinic_box():
    pytest.importorskip("gsd.hoomd")
    # HOOMD tilts are dimensionless: a2 = (xy·Ly, Ly, 0), a3 = (xz·Lz, yz·Lz, Lz)
    box = [4.0, 5.0, 6.0, 0.1, 0.2, 0.3]
    want = np.array([[4.0, 0.5, 1.2], [0.0, 5.0, 1.8], [0.0, 0.0, 6.0]])
    frames = [_hoomd(100 * k, box, seed=k) for k in range(3)]
    traj = gr.read(frames)
    assert kind_of(frames) == "hoomd" and len(traj) == 3
    np.testing.assert_allclose(traj.box.matrix, want, rtol=1e-6)
    np.testing.assert_allclose(traj.box.origin, -0.5 * want.sum(axis=1), rtol=1e-6)  # centred box
    np.testing.assert_allclose(traj[1].positions, frames[1].particles.position, rtol=1e-6)
    assert traj.steps.tolist() == [0, 100, 200] and not traj.has_times
    assert traj.species == ("A", "B") and traj[0].counts() == {"A": 3, "B": 3}
    np.testing.assert_allclose(gr.read(frames, dt=0.01).times, [0.0, 1.0, 2.0])
    # one frame, and through the trajectory constructor
    assert len(gr.read(frames[0])) == 1
    assert len(gr.Trajectory.from_frames(frames, dt=0.01)) == 3
    # numeric HOOMD type names with a model
    t = gr.read([_hoomd(0, box, types=("1", "2"))], model=KA)
    assert t.species == ("A", "B") and t.species_note == "types 1,2 → A,B (from model kob_andersen)"


def test_hoomd_frames_round_trip_times(tmp_path):
    import gsd.hoomd

    f = gr.Frame(positions=_positions(8, np.eye(3) * 3), types=np.arange(8) % 2, box=gr.Box.cube(3.0),
                 species=("A", "B"), step=0)
    frames = [gr.Frame(positions=f.positions, types=f.types, box=f.box, species=f.species, step=10 * k)
              for k in range(3)]
    p = tmp_path / "t.gsd"
    gr.io.write_gsd(p, gr.Trajectory.from_frames(frames, dt=0.002), precision="double")
    back = gr.read(p)  # glassrs stores the frame times in the GSD log
    np.testing.assert_allclose(back.times, [0.0, 0.02, 0.04])
    with gsd.hoomd.open(str(p)) as fh:
        mem = gr.read(list(fh))
    np.testing.assert_allclose(mem.times, [0.0, 0.02, 0.04])


def test_hoomd_frame_errors():
    import gsd.hoomd

    s = gsd.hoomd.Frame()
    with pytest.raises(gr.FormatError, match=r"frame 0: gsd.hoomd.Frame has no particles.position"):
        gr.read([s])
    a, b = _hoomd(0, [4, 4, 4, 0, 0, 0]), _hoomd(1, [4, 4, 4, 0, 0, 0], n=4)
    with pytest.raises(gr.FormatError, match=r"frame 1: frame has 4 particles but frame 0 has 6"):
        list(gr.read([a, b]))


# -- ase.Atoms -----------------------------------------------------------------------------

def test_ase_atoms_triclinic_cell():
    ase = pytest.importorskip("ase")
    cell = np.array([[4.0, 0.0, 0.0], [1.0, 5.0, 0.0], [0.5, 0.7, 6.0]])  # rows = a, b, c
    frames = []
    for k in range(3):
        a = ase.Atoms("H4He2", positions=_positions(6, cell.T, seed=k), cell=cell, pbc=True)
        a.info["step"] = 50 * k
        frames.append(a)
    traj = gr.read(frames, species=["A", "B"])  # H → A, He → B (sorted symbols)
    np.testing.assert_array_equal(traj.box.matrix, cell.T)
    np.testing.assert_array_equal(traj.box.origin, np.zeros(3))
    np.testing.assert_array_equal(traj[2].positions, frames[2].positions)
    assert traj[0].counts() == {"A": 4, "B": 2} and traj.steps.tolist() == [0, 50, 100]
    assert traj.species_note == "types H,He → A,B (from species=)"
    # a general (rotated) cell: the box matrix is the transpose of the cell, whatever its orientation
    rot = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    r = ase.Atoms("H2", positions=[[0, 0, 0], [1, 1, 1]], cell=cell @ rot.T, pbc=True)
    np.testing.assert_allclose(gr.read(r, species=["A"]).box.matrix, (cell @ rot.T).T)
    np.testing.assert_allclose(gr.read(r, species=["A"]).box.volume, np.linalg.det(cell))
    # names that are not the model's species need species=
    with pytest.raises(ValueError, match=r"'H' is not a species of model 'kob_andersen'"):
        gr.read(frames, model=KA)
    np.testing.assert_allclose(gr.Trajectory.from_frames(frames, dt=0.1).times, [0.0, 5.0, 10.0])


def test_ase_errors():
    ase = pytest.importorskip("ase")
    a = ase.Atoms("H2", positions=[[0, 0, 0], [1, 1, 1]], cell=[3, 3, 3], pbc=[True, True, False])
    with pytest.raises(gr.FormatError, match=r"frame 0: ase.Atoms pbc = \[True, True, False\]"):
        gr.read(a)[0]
    with pytest.raises(TypeError, match=r"glassrs.read takes a file path, a gsd.hoomd.Frame or ase.Atoms"):
        gr.read(object())


# -- MDAnalysis ----------------------------------------------------------------------------

def _universe(dims, n_frames=3, types=("1", "2", "1", "1", "2", "1")):
    mda = pytest.importorskip("MDAnalysis")
    from MDAnalysis.coordinates.memory import MemoryReader

    u = mda.Universe.empty(len(types), trajectory=True)
    u.add_TopologyAttr("types", list(types))
    rng = np.random.default_rng(3)
    u.load_new(rng.random((n_frames, len(types), 3)) * 3, format=MemoryReader,
               dimensions=np.asarray(dims, dtype=float))
    return u


def test_mdanalysis_triclinic_dimensions():
    pytest.importorskip("MDAnalysis")
    from MDAnalysis.lib.mdamath import triclinic_vectors

    dims = [4.0, 5.0, 6.0, 80.0, 70.0, 100.0]
    u = _universe(dims)
    traj = gr.read(u, model=KA, dt=0.5)
    m = traj.box.matrix
    # the box MDAnalysis itself builds (rows = vectors, float32), and the lengths and angles back
    np.testing.assert_allclose(m, np.asarray(triclinic_vectors(dims), dtype=float).T, atol=1e-5)
    a, b, c = m.T
    np.testing.assert_allclose(np.linalg.norm(m, axis=0), dims[:3], rtol=1e-12)
    ang = lambda x, y: math.degrees(math.acos(x @ y / np.linalg.norm(x) / np.linalg.norm(y)))  # noqa: E731
    np.testing.assert_allclose([ang(b, c), ang(a, c), ang(a, b)], dims[3:], rtol=1e-12)
    np.testing.assert_allclose(mdanalysis_box_matrix([3, 3, 3, 90, 90, 90]), np.eye(3) * 3, atol=1e-15)
    # numeric types named after the model; steps are frame indices; times only from dt
    assert traj.species_note == "types 1,2 → A,B (from model kob_andersen)"
    assert traj[0].counts() == {"A": 4, "B": 2} and traj.steps.tolist() == [0, 1, 2]
    np.testing.assert_allclose(traj.times, [0.0, 0.5, 1.0])
    assert not gr.read(u, model=KA).has_times  # MDAnalysis' ps times are not taken
    np.testing.assert_allclose(traj[2].positions, u.trajectory[2].positions.astype(float))
    # an AtomGroup: its atoms only
    sub = gr.read(u.select_atoms("type 2"), species=["B"])
    assert sub.n_particles == 2 and sub.species == ("B",)


def test_mdanalysis_errors():
    mda = pytest.importorskip("MDAnalysis")
    u = mda.Universe.empty(3, trajectory=True)
    with pytest.raises(ValueError, match=r"the atoms have no types"):
        gr.read(u)
    u2 = _universe([3, 3, 3, 90, 90, 90])
    u2.trajectory.ts.dimensions = None
    with pytest.raises(gr.FormatError, match=r"no box"):
        gr.read(u2)[0]


def test_objects_run_through_the_analysis():
    """An in-memory object is an ordinary trajectory for the kernels."""
    pytest.importorskip("gsd.hoomd")
    frames = [_hoomd(k, [6, 6, 6, 0, 0, 0], n=60, seed=k) for k in range(3)]
    g = gr.structure.rdf(gr.read(frames), dr=0.1)
    assert set(g["pair"].unique()) == {"A-A", "A-B", "B-B"}
