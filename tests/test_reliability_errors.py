"""Error types and messages: OS errors keep errno and path, overflowing steps are FormatErrors,
a short frame is blamed on itself, non-text files get a hint, an MD blow-up says so, a corrupt
checkpoint names its path; files without newlines are errors, not unbounded reads."""

from __future__ import annotations

import errno
import gzip
import os

import numpy as np
import pytest

import glassrs as gr
from glassrs import _core


def _dump(nf=2, n=3, short=None):
    out = []
    for k in range(nf):
        out.append(f"ITEM: TIMESTEP\n{k}\nITEM: NUMBER OF ATOMS\n{n}\nITEM: BOX BOUNDS pp pp pp\n0 5\n0 5\n0 5\n"
                   "ITEM: ATOMS id type x y z\n")
        for i in range(n - (1 if short == k else 0)):
            out.append(f"{i + 1} 1 {0.5 + i} 1.5 2.5\n")
    return "".join(out)


def test_os_error_keeps_errno_and_path(tmp_path):
    (tmp_path / "file").write_text("x")
    bad = str(tmp_path / "file" / "x.dump")  # ENOTDIR, reachable as root too
    with pytest.raises(OSError) as e:
        _core.LammpsDump(bad)
    assert e.value.errno == errno.ENOTDIR and e.value.filename == bad, (e.value.errno, e.value.filename)
    assert isinstance(e.value, NotADirectoryError)
    if os.geteuid() != 0:
        p = tmp_path / "secret.dump"
        p.write_text(_dump())
        p.chmod(0)
        with pytest.raises(PermissionError) as e:
            gr.read(p)
        assert e.value.errno == errno.EACCES and str(p) in str(e.value)


def test_huge_steps_are_format_errors(tmp_path):
    p = tmp_path / "big.xyz"
    p.write_text('1\nLattice="5 0 0 0 5 0 0 0 5" Step=1e30\nA 1 1 1\n')
    with pytest.raises(gr.FormatError, match=r"big.xyz, frame 0.*Step"):
        gr.read(p)
    gsd_hoomd = pytest.importorskip("gsd.hoomd")
    q = tmp_path / "big.gsd"
    with gsd_hoomd.open(q, "w") as f:
        s = gsd_hoomd.Frame()
        s.configuration.box = [5, 5, 5, 0, 0, 0]
        s.configuration.step = 2**64 - 1
        s.particles.N = 1
        s.particles.types = ["A"]
        s.particles.position = [[0, 0, 0]]
        f.append(s)
    with pytest.raises(gr.FormatError, match=r"big.gsd, frame 0.*step") as e:
        gr.read(q)
    assert e.value.frame == 0


def test_short_frame_is_blamed_on_itself(tmp_path):
    p = tmp_path / "short.dump"
    p.write_text(_dump(nf=3, short=1))
    with pytest.raises(gr.FormatError) as e:
        gr.read(p)
    assert e.value.frame == 1 and "fewer atom lines" in str(e.value), str(e.value)


@pytest.mark.parametrize("data,pattern", [
    (b"\xef\xbb\xbf" + _dump().encode(), "byte-order mark"),
    (_dump().replace("\n", "\r").encode(), "CR only"),
    (b"BZh91AY&SY" + b"\x00" * 50, "bzip2"),
])
def test_non_text_dumps_get_a_hint(tmp_path, data, pattern):
    p = tmp_path / "odd.dump"
    p.write_bytes(data)
    with pytest.raises(gr.FormatError, match=pattern):
        gr.read(p)


def test_gzip_named_dump_is_read(tmp_path):
    p = tmp_path / "packed.dump"  # gzip data under a plain name: recognised by its bytes
    p.write_bytes(gzip.compress(_dump().encode()))
    assert len(gr.read(p)) == 2


def test_file_without_newlines_is_an_error_not_an_abort(tmp_path):
    p = tmp_path / "blob.dump"
    p.write_bytes(b"ITEM: TIMESTEP " + b"7" * (3 << 20))
    with pytest.raises(gr.FormatError, match="longer than"):
        gr.read(p)
    q = tmp_path / "blob.xyz"
    q.write_bytes(b"1" * (3 << 20))
    with pytest.raises(gr.FormatError, match="longer than"):
        gr.read(q)


def test_dev_zero_is_an_error(tmp_path):
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    with pytest.raises(gr.FormatError):
        gr.read("/dev/zero", format="lammps")
    with pytest.raises(gr.FormatError):
        gr.read("/dev/zero", format="extxyz")


def test_absurd_atom_count_is_refused_at_once(tmp_path):
    p = tmp_path / "n.dump"
    p.write_text(_dump(nf=1).replace("NUMBER OF ATOMS\n3", "NUMBER OF ATOMS\n900000000000"))
    with pytest.raises(gr.FormatError, match="NUMBER OF ATOMS = 900000000000"):
        gr.read(p)


def test_md_blow_up_says_unstable(tmp_path):
    with pytest.raises(ValueError) as e:
        gr.md.run(gr.models.kob_andersen(), n=256, T=2.0, steps=2000, dt=0.2, seed=1)
    msg = str(e.value)
    assert "unstable" in msg and "dt" in msg and "step" in msg, msg


def test_corrupt_checkpoint_names_its_path(tmp_path):
    ck = tmp_path / "run.ckpt.npz"
    ck.write_bytes(b"PK\x03\x04 this is not a zip archive" * 3)
    with pytest.raises(ValueError) as e:
        gr.md.run(gr.models.kob_andersen(), n=64, T=1.0, steps=100, checkpoint=str(ck), checkpoint_every=50)
    assert str(ck) in str(e.value) and "checkpoint" in str(e.value), str(e.value)
