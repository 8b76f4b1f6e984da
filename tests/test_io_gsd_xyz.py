"""GSD (files written with the `gsd` package; HOOMD box convention checked against freud) and
extended XYZ (written by hand, and by ASE); write → read round trips."""

from __future__ import annotations

import numpy as np
import pytest

import glassrs as gr
from conftest import random_frame

gsd_hoomd = pytest.importorskip("gsd.hoomd", reason="gsd package not installed")

HOOMD_BOX = [6.0, 7.0, 8.0, 0.25, -0.3, 0.1]  # Lx, Ly, Lz and dimensionless tilt factors


def write_hoomd(path, n=60, steps=(0, 500, 1000), box=HOOMD_BOX, seed=0):
    """A GSD file as HOOMD-blue writes it: positions in the centred box, image flags."""
    rng = np.random.default_rng(seed)
    # HOOMD stores the box in single precision by default: the exact box is the float32 one
    lx, ly, lz, xy, xz, yz = np.asarray(box, dtype=np.float32).astype(np.float64)
    h = np.array([[lx, xy * ly, xz * lz], [0, ly, yz * lz], [0, 0, lz]])
    typeid = (np.arange(n) % 5 == 0).astype(np.uint32)
    ref = []
    with gsd_hoomd.open(path, "w") as f:
        for step in steps:
            s = rng.random((n, 3)) - 0.5
            pos = (s @ h.T).astype(np.float32)
            img = rng.integers(-2, 3, size=(n, 3)).astype(np.int32)
            vel = rng.normal(size=(n, 3)).astype(np.float32)
            fr = gsd_hoomd.Frame()
            fr.configuration.step = step
            fr.configuration.box = box
            fr.particles.N = n
            fr.particles.types = ["A", "B"]
            fr.particles.typeid = typeid
            fr.particles.position = pos
            fr.particles.image = img
            fr.particles.velocity = vel
            f.append(fr)
            ref.append((pos, img, vel))
    return h, typeid, ref


def test_gsd_reads_hoomd_file(tmp_path):
    p = tmp_path / "run.gsd"
    h, typeid, ref = write_hoomd(p)
    traj = gr.read(p, dt=0.005)
    assert len(traj) == 3 and traj.n_particles == 60
    assert traj.species == ("A", "B")
    assert traj.steps.tolist() == [0, 500, 1000]
    np.testing.assert_allclose(traj.times, [0.0, 2.5, 5.0], rtol=1e-15)
    np.testing.assert_allclose(traj.box.matrix, h, rtol=0, atol=1e-15)
    np.testing.assert_allclose(traj.box.origin, -0.5 * h.sum(axis=1), rtol=0, atol=1e-15)
    for f, (pos, img, vel) in zip(traj, ref):
        assert np.array_equal(f.positions, pos.astype(np.float64))
        assert np.array_equal(f.images, img) and np.array_equal(f.velocities, vel.astype(np.float64))
        assert np.array_equal(f.types, typeid.astype(np.int64))
        # every position lies inside the box (fractional coordinates in [0, 1))
        s = f.box.fractional(f.positions)
        assert s.min() >= -1e-6 and s.max() < 1 + 1e-6
    u = traj.unwrapped()
    np.testing.assert_allclose(u[1], ref[1][0] + ref[1][1] @ h.T, rtol=0, atol=1e-12)


def test_gsd_box_convention_matches_freud(tmp_path):
    freud = pytest.importorskip("freud", reason="freud-analysis oracle not installed")
    p = tmp_path / "box.gsd"
    write_hoomd(p, steps=(0,))
    f = gr.read(p)[0]
    fb = freud.box.Box.from_box(HOOMD_BOX)
    np.testing.assert_allclose(f.box.matrix, fb.to_matrix(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(f.box.volume, fb.volume, rtol=1e-13)
    # freud's wrap (HOOMD convention) leaves HOOMD positions in place; ours maps them to the same set
    x = f.positions[:10]
    np.testing.assert_allclose(fb.wrap(x), x, rtol=0, atol=1e-5)


def test_gsd_species_override(tmp_path):
    p = tmp_path / "sp.gsd"
    _, typeid, _ = write_hoomd(p, steps=(0,))
    for sp in (["big", "small"], {"A": "big", "B": "small"}, {0: "big", 1: "small"}):
        f = gr.read(p, species=sp)[0]
        assert f.species == ("big", "small")
        assert f.counts() == {"big": int((typeid == 0).sum()), "small": int((typeid == 1).sum())}
    with pytest.raises(ValueError, match="no name for type"):
        gr.read(p, species={"A": "big"})


@pytest.mark.parametrize("precision,tol", [("double", 1e-6), ("single", 3e-5)])
@pytest.mark.parametrize("boxname", ["cube", "triclinic"])
def test_gsd_roundtrip(tmp_path, precision, tol, boxname):
    box = gr.Box.cube(7.0) if boxname == "cube" else gr.Box.from_lammps([6.0, 7.0, 8.0], (1.5, -2.0, 0.7))
    rng = np.random.default_rng(1)
    f0 = random_frame(100, box, seed=2)
    frames, u = [], f0.positions
    for k in range(3):
        u = u + rng.normal(scale=1.5, size=u.shape)
        frames.append(gr.Frame(positions=box.wrap(u), types=f0.types, box=box, species=("A", "B"), step=10 * k,
                               unwrapped=u.copy(), velocities=rng.normal(size=u.shape)))
    p = tmp_path / "rt.gsd"
    gr.io.write_gsd(p, frames, precision=precision)
    traj = gr.read(p)
    assert traj.species == ("A", "B") and traj.steps.tolist() == [0, 10, 20]
    # GSD has no origin: the box is centred, so coordinates come back translated by −(o + H·½)
    shift = -(box.origin + 0.5 * box.matrix.sum(axis=1))
    for f, g in zip(frames, traj):
        # gsd stores the box in float32 whatever the precision (gsd.hoomd casts it)
        np.testing.assert_allclose(g.box.matrix, box.matrix, rtol=0, atol=1e-6)
        np.testing.assert_allclose(g.unwrapped_positions(), f.unwrapped + shift, rtol=0, atol=tol * 10)
        np.testing.assert_allclose(g.box.fractional(g.positions), box.fractional(box.wrap(f.unwrapped)), rtol=0,
                                   atol=tol)
        np.testing.assert_allclose(g.velocities, f.velocities, rtol=tol, atol=tol)
        assert np.array_equal(g.types, f.types)


# --- extended XYZ -------------------------------------------------------------------------

XYZ = """4
Lattice="5.0 0.0 0.0 1.0 6.0 0.0 -0.5 0.5 7.0" Properties=species:S:1:pos:R:3:id:I:1:vel:R:3 Time=0.0 Step=0 pbc="T T T"
B 1.0 2.0 3.0 4 0.1 0.2 0.3
A 0.5 0.5 0.5 1 -0.1 0.0 0.0
A 4.5 5.5 6.5 3 0.0 0.0 1.0
A 2.0 2.0 2.0 2 0.0 1.0 0.0
4
Lattice="5.0 0.0 0.0 1.0 6.0 0.0 -0.5 0.5 7.0" Properties=species:S:1:pos:R:3:id:I:1:vel:R:3 Time=0.25 Step=50 pbc="T T T"
B 1.5 2.0 3.0 4 0.1 0.2 0.3
A 0.6 0.5 0.5 1 -0.1 0.0 0.0
A 4.5 5.4 6.5 3 0.0 0.0 1.0
A 2.0 2.0 2.1 2 0.0 1.0 0.0
"""


def test_xyz_handwritten(tmp_path):
    p = tmp_path / "two.extxyz"
    p.write_text(XYZ)
    traj = gr.read(p)
    assert len(traj) == 2 and traj.steps.tolist() == [0, 50]
    np.testing.assert_allclose(traj.times, [0.0, 0.25])  # stored times when dt is not given
    np.testing.assert_allclose(gr.read(p, dt=0.002).times, [0.0, 0.1])
    assert traj.species == ("A", "B")
    f = traj[1]
    np.testing.assert_array_equal(f.box.matrix, [[5.0, 1.0, -0.5], [0.0, 6.0, 0.5], [0.0, 0.0, 7.0]])
    assert f.ids.tolist() == [1, 2, 3, 4]  # sorted by id
    np.testing.assert_array_equal(f.positions, [[0.6, 0.5, 0.5], [2.0, 2.0, 2.1], [4.5, 5.4, 6.5], [1.5, 2.0, 3.0]])
    np.testing.assert_array_equal(f.velocities[3], [0.1, 0.2, 0.3])
    assert f.types.tolist() == [0, 0, 0, 1]
    assert f.step == 50 and f.time == 0.25
    assert gr.read(p, species={"A": "big", "B": "small"})[0].counts() == {"big": 3, "small": 1}
    assert gr.read(p, species=["big", "small"]).species == ("big", "small")


def test_xyz_written_by_ase(tmp_path):
    ase_io = pytest.importorskip("ase.io", reason="ASE not installed")
    from ase import Atoms

    rng = np.random.default_rng(5)
    cell = np.array([[6.0, 0.0, 0.0], [1.2, 7.0, 0.0], [0.3, -0.4, 8.0]])  # rows = vectors (ASE)
    images = []
    for k in range(3):
        a = Atoms(symbols=["Ar"] * 8 + ["Ne"] * 2, positions=rng.random((10, 3)) @ cell, cell=cell, pbc=True)
        a.info["Time"] = 0.5 * k
        images.append(a)
    p = tmp_path / "ase.xyz"
    ase_io.write(p, images, format="extxyz")
    traj = gr.read(p)
    assert len(traj) == 3 and traj.species == ("Ar", "Ne")
    np.testing.assert_allclose(traj.times, [0.0, 0.5, 1.0])
    for f, a in zip(traj, images):
        np.testing.assert_allclose(f.box.matrix, a.cell.array.T, rtol=0, atol=1e-12)
        np.testing.assert_allclose(f.positions, a.positions, rtol=1e-7, atol=1e-7)  # ASE writes 8 decimals
        assert f.counts() == {"Ar": 8, "Ne": 2}
