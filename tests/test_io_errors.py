"""Malformed trajectories raise glassrs.FormatError naming file, frame and line (never a panic);
a missing file raises FileNotFoundError."""

from __future__ import annotations

import re

import numpy as np
import pytest

import glassrs as gr


def dump_text(n_frames=2, n=4, cols="id type x y z", box="0 5\n0 5\n0 5", n_of=None, values=None):
    out = []
    for k in range(n_frames):
        nk = n if n_of is None else n_of(k)
        out.append(f"ITEM: TIMESTEP\n{100 * k}\nITEM: NUMBER OF ATOMS\n{nk}\nITEM: BOX BOUNDS pp pp pp\n{box}\n"
                   f"ITEM: ATOMS {cols}\n")
        for i in range(nk):
            v = values(k, i) if values else f"{i + 1} {1 + i % 2} {0.5 + i} {1.5} {2.5}"
            out.append(v + "\n")
    return "".join(out)


def check(tmp_path, text, pattern, frame=None, line=None, name="bad.dump", fmt=None):
    p = tmp_path / name
    p.write_text(text)
    with pytest.raises(gr.FormatError) as e:
        traj = gr.read(p, format=fmt)
        for f in traj:  # errors inside atom lines surface when the frame is parsed
            pass
    msg = str(e.value)
    assert msg.startswith(str(p)), msg
    if frame is not None:
        assert f"frame {frame}" in msg, msg
    if line is not None:
        assert f"line {line}:" in msg, msg
    assert re.search(pattern, msg), msg
    return msg


def test_good_reference_file_reads(tmp_path):
    p = tmp_path / "good.dump"
    p.write_text(dump_text())
    traj = gr.read(p)
    assert len(traj) == 2 and traj.n_particles == 4
    np.testing.assert_array_equal(traj[1].positions[:, 0], [0.5, 1.5, 2.5, 3.5])


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.dump"):
        gr.read(tmp_path / "nope.dump")


def test_empty_file(tmp_path):
    check(tmp_path, "", "no frame.*empty")
    check(tmp_path, "\n\n  \n", "no frame")


def test_truncated_dump(tmp_path):
    text = dump_text()
    cut = text[: text.rindex("4 2 3.5")]  # after the last frame's 3rd atom line
    check(tmp_path, cut, r"truncated frame \(step 100\): expected 4 atom lines, the file ends after 3", frame=1, line=26)
    cut = text[: text.rindex("3.5")]  # inside the last frame's 4th atom line (lines 23-26)
    check(tmp_path, cut, r"truncated frame: the file ends inside this atom line \(2 of 5 values", frame=1, line=26)
    # header cut short
    head = dump_text(1) + "ITEM: TIMESTEP\n100\nITEM: NUMBER OF ATOMS\n"
    check(tmp_path, head, "file ends inside a frame header", frame=1, line=17)


def test_missing_item_lines(tmp_path):
    text = dump_text()
    check(tmp_path, text.replace("ITEM: NUMBER OF ATOMS\n", "", 1), "expected 'ITEM: NUMBER OF ATOMS'", frame=0, line=3)
    second = text.index("ITEM: BOX BOUNDS", 50)
    check(tmp_path, text[:second] + text[second:].replace("ITEM: BOX BOUNDS pp pp pp\n", "", 1),
          "expected 'ITEM: BOX BOUNDS'", frame=1, line=18)
    check(tmp_path, "garbage\n" + text, "expected 'ITEM: TIMESTEP', found 'garbage'", frame=0, line=1)
    check(tmp_path, text.replace("ITEM: ATOMS id type x y z\n", "", 1), "expected 'ITEM: ATOMS", frame=0, line=9)
    # more atom lines than declared: the extra line is where the next header should be
    check(tmp_path, text.replace("ITEM: NUMBER OF ATOMS\n4", "ITEM: NUMBER OF ATOMS\n3", 1),
          "expected 'ITEM: TIMESTEP', found '4 2 3.5 1.5 2.5'", frame=1, line=13)


def test_unknown_position_columns(tmp_path):
    check(tmp_path, dump_text(cols="id type a b c"), "no position columns.*'x y z'.*found columns: id type a b c",
          frame=0, line=9)
    check(tmp_path, dump_text(cols="id type x y q"), r"incomplete columns 'x y z': 'z' missing", frame=0, line=9)
    check(tmp_path, dump_text(cols="id type x y z ix iy"), r"incomplete columns 'ix iy iz': 'iz' missing", frame=0, line=9)
    check(tmp_path, dump_text(cols="id type x y z"
                              ).replace("ITEM: ATOMS id type x y z\n1", "ITEM: ATOMS id type x y z\n1 extra", 1),
          r"expected 5 values \(id type x y z\), found 6", frame=0, line=10)
    check(tmp_path, dump_text(cols="id id x y z"), "column 'id' appears twice", frame=0, line=9)


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf", "NaN"])
def test_non_finite_coordinates(tmp_path, bad):
    text = dump_text(values=lambda k, i: f"{i + 1} 1 {bad if (k, i) == (1, 2) else 0.5} 1.5 2.5")
    check(tmp_path, text, f"column 'x': non-finite value '{bad}'", frame=1, line=25)  # frame 1: atoms on 23-26


def test_bad_numbers(tmp_path):
    text = dump_text(values=lambda k, i: f"{i + 1} {'A' if (k, i) == (0, 1) else 1} 0.5 1.5 2.5")
    check(tmp_path, text, "column 'type': expected an integer, found 'A'", frame=0, line=11)
    check(tmp_path, dump_text().replace("TIMESTEP\n100", "TIMESTEP\n1e2x"), "expected the timestep", frame=1, line=15)


def test_n_changes_between_frames(tmp_path):
    check(tmp_path, dump_text(n_frames=3, n_of=lambda k: 4 if k < 2 else 5),
          "frame has 5 atoms but frame 0 has 4", frame=2, line=30)


@pytest.mark.parametrize("box,pattern", [
    ("0 5\n0 0\n0 5", "box length ly = yhi − ylo = 0 − 0 = 0 is not positive"),
    ("0 5\n0 5\n3 -1", "box length lz .* is not positive"),
    ("0 5\n0 5\n0 nan", "not a finite number"),
    ("0 5\n0 5", "expected 3 box lines"),
])
def test_non_positive_box(tmp_path, box, pattern):
    check(tmp_path, dump_text(box=box), pattern, frame=0, line=None if "expected 3" in pattern else 5)


def test_duplicate_ids(tmp_path):
    text = dump_text(values=lambda k, i: f"{1 if i == 3 else i + 1} 1 0.5 1.5 2.5")
    check(tmp_path, text, "duplicate atom id 1 \\(also on line 10\\)", frame=0, line=13)


def test_unknown_type_in_later_frame(tmp_path):
    text = dump_text(values=lambda k, i: f"{i + 1} {3 if (k, i) == (1, 0) else 1 + i % 2} 0.5 1.5 2.5")
    check(tmp_path, text, "type 3 does not occur in frame 0", frame=1)


# --- extended XYZ -------------------------------------------------------------------------

def xyz_text(n_frames=2, n=3, lattice='Lattice="5 0 0 0 5 0 0 0 5"', n_of=None, values=None):
    out = []
    for k in range(n_frames):
        nk = n if n_of is None else n_of(k)
        out.append(f"{nk}\n{lattice} Properties=species:S:1:pos:R:3 Time={0.5 * k}\n")
        for i in range(nk):
            out.append((values(k, i) if values else f"A {i}.5 1.0 2.0") + "\n")
    return "".join(out)


def test_xyz_errors(tmp_path):
    def chk(text, pattern, frame=None, line=None):
        return check(tmp_path, text, pattern, frame=frame, line=line, name="bad.xyz")

    chk("", "no frame")
    text = xyz_text()
    chk(text[:text.rindex("A 2.5")], "truncated frame: expected 3 atom lines, the file ends after 2", frame=1,
        line=10)
    chk(text[:-10], r"truncated frame: the file ends inside this atom line \(2 of 4 values\)", frame=1, line=10)
    chk(xyz_text(n_of=lambda k: 3 + k), "frame has 4 atoms but frame 0 has 3", frame=1, line=6)
    chk(xyz_text(lattice=""), "no Lattice=", frame=0, line=2)
    chk(xyz_text(lattice='Lattice="5 0 0 0 0 0 0 0 5"'), "positive volume", frame=0, line=2)
    chk(xyz_text(values=lambda k, i: f"A {'nan' if (k, i) == (1, 1) else 0.5} 1.0 2.0"),
        "column 'pos' has a non-finite value", frame=1, line=9)
    chk(xyz_text(values=lambda k, i: f"A {'x1' if (k, i) == (0, 2) else 0.5} 1.0 2.0"),
        "column 'pos': expected a number, found 'x1'", frame=0, line=5)
    chk(xyz_text(values=lambda k, i: "A 0.5 1.0" if (k, i) == (0, 0) else "A 0.5 1.0 2.0"),
        "expected 4 values per atom line", frame=0, line=3)
    chk("three\n", "expected the number of atoms", frame=0, line=1)


# --- GSD ----------------------------------------------------------------------------------

def test_gsd_errors(tmp_path):
    gsd_hoomd = pytest.importorskip("gsd.hoomd")
    p = tmp_path / "bad.gsd"
    p.write_bytes(b"this is not a gsd file at all" * 10)
    with pytest.raises(gr.FormatError, match="bad.gsd: not a readable GSD file"):
        gr.read(p)
    p2 = tmp_path / "nan.gsd"
    with gsd_hoomd.open(p2, "w") as f:
        for k, (box, x0) in enumerate([([4, 4, 4, 0, 0, 0], 0.1), ([4, 4, 4, 0, 0, 0], np.nan),
                                       ([4, 0, 4, 0, 0, 0], 0.1)]):
            s = gsd_hoomd.Frame()
            s.configuration.box = box
            s.configuration.step = k
            s.particles.N = 2
            s.particles.types = ["A"]
            s.particles.position = [[x0, 0, 0], [1, 1, 1]]
            f.append(s)
    traj = gr.read(p2)
    traj[0]
    with pytest.raises(gr.FormatError, match="nan.gsd, frame 1: particle 0 has a non-finite position"):
        traj[1]
    with pytest.raises(gr.FormatError, match=r"nan.gsd, frame 2: box .* needs finite, positive lengths"):
        traj[2]
