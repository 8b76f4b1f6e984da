"""Every frame holds the particles of frame 0: same ids (after sorting) and the same type per
particle, in all three readers (and in memory); a documented opt-out, never silent."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import glassrs as gr


def _dump(ids_of=None, type_of=None, n=5, nf=3):
    out = []
    for k in range(nf):
        out.append(f"ITEM: TIMESTEP\n{10 * k}\nITEM: NUMBER OF ATOMS\n{n}\nITEM: BOX BOUNDS pp pp pp\n0 6\n0 6\n0 6\n"
                   "ITEM: ATOMS id type x y z\n")
        for i in range(n):
            pid = ids_of(k, i) if ids_of else i + 1
            t = type_of(k, i) if type_of else 1 + i % 2
            out.append(f"{pid} {t} {0.5 + i} 1.5 2.5\n")
    return "".join(out)


def _xyz(ids_of=None, sp_of=None, n=5, nf=3):
    out = []
    for k in range(nf):
        out.append(f'{n}\nLattice="6 0 0 0 6 0 0 0 6" Properties=species:S:1:pos:R:3:id:I:1 Step={k}\n')
        for i in range(n):
            pid = ids_of(k, i) if ids_of else i + 1
            s = sp_of(k, i) if sp_of else "AB"[i % 2]
            out.append(f"{s} {0.5 + i} 1.5 2.5 {pid}\n")
    return "".join(out)


def _read_all(p, **kw):
    traj = gr.read(p, **kw)
    for _ in traj:
        pass
    return traj


@pytest.mark.parametrize("ext,make", [("dump", _dump), ("xyz", _xyz)])
def test_changed_id_is_a_format_error_naming_frame_and_particle(tmp_path, ext, make):
    p = tmp_path / f"ids.{ext}"
    p.write_text(make(ids_of=lambda k, i: 6903 if (k, i) == (2, 3) else i + 1))
    with pytest.raises(gr.FormatError) as e:
        _read_all(p)
    msg = str(e.value)
    assert str(p) in msg and "frame 2" in msg and "6903" in msg and "id" in msg, msg
    assert e.value.frame == 2 and e.value.file == str(p)
    # random access hits it too
    with pytest.raises(gr.FormatError, match="frame 2"):
        gr.read(p)[2]


@pytest.mark.parametrize("ext,make,kw", [("dump", _dump, "type_of"), ("xyz", _xyz, "sp_of")])
def test_changed_type_is_a_format_error(tmp_path, ext, make, kw):
    change = (lambda k, i: 2 if (k, i) == (1, 2) else 1 + i % 2) if ext == "dump" else \
        (lambda k, i: "B" if (k, i) == (1, 2) else "AB"[i % 2])
    p = tmp_path / f"types.{ext}"
    p.write_text(make(**{kw: change}))
    with pytest.raises(gr.FormatError) as e:
        _read_all(p)
    msg = str(e.value)
    assert "frame 1" in msg and "particle" in msg and "type" in msg, msg
    assert "check_particles=False" in msg, msg  # the error says how to opt out


def test_opt_out_reads_and_warns(tmp_path):
    p = tmp_path / "reactive.dump"
    p.write_text(_dump(type_of=lambda k, i: 2 if (k, i) == (1, 2) else 1 + i % 2))
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        traj = _read_all(p, check_particles=False)
    assert traj.check_particles is False
    assert any("frame 1" in str(x.message) and "check_particles=False" in str(x.message) for x in w), \
        [str(x.message) for x in w]
    assert traj[1].types[2] == 1  # as stored


def test_same_particles_in_another_order_are_fine(tmp_path):
    p = tmp_path / "shuffled.dump"
    p.write_text(_dump(ids_of=lambda k, i: (5 - i) if k == 1 else i + 1,
                       type_of=lambda k, i: 1 + ((5 - i) - 1) % 2 if k == 1 else 1 + i % 2))
    traj = _read_all(p)
    np.testing.assert_array_equal(traj[1].ids, [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(traj[1].types, traj[0].types)


def test_gsd_changed_typeid(tmp_path):
    gsd_hoomd = pytest.importorskip("gsd.hoomd")
    p = tmp_path / "t.gsd"
    with gsd_hoomd.open(p, "w") as f:
        for k in range(3):
            s = gsd_hoomd.Frame()
            s.configuration.box = [6, 6, 6, 0, 0, 0]
            s.configuration.step = k
            s.particles.N = 3
            s.particles.types = ["A", "B"]
            s.particles.typeid = [0, 1, 1] if k != 2 else [0, 0, 1]
            s.particles.position = [[0, 0, 0], [1, 1, 1], [2, 2, 2]]
            f.append(s)
    with pytest.raises(gr.FormatError, match=r"t.gsd, frame 2.*particle 1"):
        _read_all(p)
    _read_all(p, check_particles=False)


def test_frames_in_memory_are_checked():
    box = gr.Box.cube(5.0)
    f0 = gr.Frame(positions=np.zeros((3, 3)), types=[0, 1, 0], box=box, species=("A", "B"), ids=[1, 2, 3])
    f1 = gr.Frame(positions=np.zeros((3, 3)), types=[0, 0, 0], box=box, species=("A", "B"), ids=[1, 2, 3])
    traj = gr.Trajectory.from_frames([f0, f1])
    with pytest.raises(ValueError, match="frame 1.*particle 1"):
        list(traj)
