"""Truncated files: a value cut by the end of the file is an error, and on_truncated="drop"
opens the complete frames and says how many were dropped."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import glassrs as gr


def _dump(nf=3, n=4):
    out = []
    for k in range(nf):
        out.append(f"ITEM: TIMESTEP\n{10 * k}\nITEM: NUMBER OF ATOMS\n{n}\nITEM: BOX BOUNDS pp pp pp\n0 9\n0 9\n0 9\n"
                   "ITEM: ATOMS id type x y z\n")
        for i in range(n):
            out.append(f"{i + 1} 1 {1.25 + i} 1.5 7.51745\n")
    return "".join(out)


def _xyz(nf=3, n=4):
    out = []
    for k in range(nf):
        out.append(f'{n}\nLattice="9 0 0 0 9 0 0 0 9" Properties=species:S:1:pos:R:3 Step={k}\n')
        for i in range(n):
            out.append(f"A {1.25 + i} 1.5 7.51745\n")
    return "".join(out)


@pytest.mark.parametrize("ext,make", [("dump", _dump), ("xyz", _xyz)])
def test_number_cut_at_the_end_is_an_error(tmp_path, ext, make):
    text = make()
    p = tmp_path / f"cut.{ext}"
    p.write_text(text[:-4])  # "7.51745\n" → "7.51"
    with pytest.raises(gr.FormatError) as e:
        traj = gr.read(p)
        for _ in traj:
            pass
    msg = str(e.value)
    assert "frame 2" in msg and "truncated" in msg and "on_truncated" in msg, msg


@pytest.mark.parametrize("ext,make", [("dump", _dump), ("xyz", _xyz)])
@pytest.mark.parametrize("cut", [4, 30, 60])  # in the last value, in the atom lines, in the header
def test_drop_unfinished_last_frame(tmp_path, ext, make, cut):
    text = make()
    p = tmp_path / f"cut.{ext}"
    p.write_text(text[:-cut])
    with pytest.raises(gr.FormatError, match="frame 2"):
        traj = gr.read(p)
        for _ in traj:
            pass
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        traj = gr.read(p, on_truncated="drop")
    assert len(traj) == 2 and traj.dropped_frames == 1
    assert any("dropped" in str(x.message) and "frame 2" in str(x.message) for x in w), [str(x.message) for x in w]
    full = tmp_path / f"full.{ext}"
    full.write_text(make())
    ref = gr.read(full)
    assert ref.dropped_frames == 0
    for k in range(2):
        np.testing.assert_array_equal(traj[k].positions, ref[k].positions)


def test_on_truncated_is_validated(tmp_path):
    p = tmp_path / "a.dump"
    p.write_text(_dump())
    with pytest.raises(ValueError, match="on_truncated"):
        gr.read(p, on_truncated="ignore")


def test_malformed_middle_frame_is_not_dropped(tmp_path):
    text = _dump().replace("ITEM: NUMBER OF ATOMS\n4\nITEM: BOX BOUNDS pp pp pp\n0 9\n0 9\n0 9\nITEM: ATOMS id type x y z\n1 1",
                           "ITEM: NUMBER OF ATOMS\n4\nITEM: BOX BOUNDS pp pp pp\n0 9\n0 9\n0 9\nITEM: ATOMS id type x y z\n1 x", 1)
    p = tmp_path / "bad.dump"
    p.write_text(text)
    with pytest.raises(gr.FormatError):
        traj = gr.read(p, on_truncated="drop")
        for _ in traj:
            pass
