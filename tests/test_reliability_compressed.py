"""Compressed dumps: gzip and zstd copies of a LAMMPS-written dump (and a gzip extended XYZ) read
back bit-identical to the plain file, with the same errors."""

from __future__ import annotations

import gzip
import shutil
import subprocess

import numpy as np
import pytest

import glassrs as gr
from test_io_lammps import ORTHO, lammps_run


def _zstd(src, dst, *, split=False):
    if shutil.which("zstd") is None:
        pytest.skip("zstd command not available")
    data = open(src, "rb").read()
    parts = [data[: len(data) // 2], data[len(data) // 2:]] if split else [data]
    with open(dst, "wb") as out:
        for part in parts:  # a multi-frame zstd stream when split
            out.write(subprocess.run(["zstd", "-q", "-c", "-3"], input=part, capture_output=True, check=True).stdout)


def _same(a: gr.Trajectory, b: gr.Trajectory):
    assert len(a) == len(b)
    np.testing.assert_array_equal(a.steps, b.steps)
    for fa, fb in zip(a, b):
        for name in ("positions", "types", "ids", "images", "unwrapped", "velocities"):
            x, y = getattr(fa, name), getattr(fb, name)
            assert (x is None) == (y is None), name
            if x is not None:
                assert x.tobytes() == y.tobytes(), name  # bit-identical
        assert fa.box.matrix.tobytes() == fb.box.matrix.tobytes()


@pytest.fixture(scope="module")
def lammps_dump(tmp_path_factory):
    path, _ = lammps_run(tmp_path_factory.mktemp("lmp"), ORTHO, "id type x y z ix iy iz vx vy vz", segments=6)
    return path


@pytest.mark.parametrize("kind", ["gz", "gz-multi", "zst"])
def test_compressed_lammps_dump_is_bit_identical(tmp_path, lammps_dump, kind):
    plain = gr.read(lammps_dump)
    data = open(lammps_dump, "rb").read()
    p = tmp_path / f"run.dump.{kind.split('-')[0]}"
    if kind == "gz":
        p.write_bytes(gzip.compress(data))
    elif kind == "gz-multi":
        p.write_bytes(gzip.compress(data[:len(data) // 3]) + gzip.compress(data[len(data) // 3:]))
    else:
        _zstd(lammps_dump, p, split=kind == "zst-multi")
    packed = gr.read(p)
    assert packed._source.compression == ("gzip" if kind.startswith("gz") else "zstd")
    _same(plain, packed)
    # random access, backwards and forwards
    for k in (5, 2, 6, 0):
        assert packed[k].positions.tobytes() == plain[k].positions.tobytes()


def test_compressed_truncated_dump_errors_and_drops(tmp_path, lammps_dump):
    data = open(lammps_dump, "rb").read()
    cut = data[:-7]
    p = tmp_path / "cut.dump.gz"
    p.write_bytes(gzip.compress(cut))
    with pytest.raises(gr.FormatError, match="truncated"):
        gr.read(p)
    t = gr.read(p, on_truncated="drop")
    assert t.dropped_frames == 1 and len(t) == len(gr.read(lammps_dump)) - 1
    # a compressed stream that is itself cut
    q = tmp_path / "cutstream.dump.gz"
    q.write_bytes(gzip.compress(data)[:-100])
    with pytest.raises(gr.FormatError):
        traj = gr.read(q)
        for _ in traj:
            pass


def test_gzip_extxyz(tmp_path):
    frames = [gr.Frame(positions=np.array([[0.5, 1.25, 2.0], [3.0, 1.0, 0.125]]) + 0.1 * k, types=[0, 1],
                       box=gr.Box.cube(5.0), species=("A", "B"), step=k) for k in range(4)]
    text = "".join(f'2\nLattice="5 0 0 0 5 0 0 0 5" Properties=species:S:1:pos:R:3 Step={k}\n'
                   + "".join(f"{'AB'[t]} {float(x)!r} {float(y)!r} {float(z)!r}\n" for t, (x, y, z) in zip(f.types, f.positions))
                   for k, f in enumerate(frames))
    (tmp_path / "a.xyz").write_text(text)
    (tmp_path / "a.xyz.gz").write_bytes(gzip.compress(text.encode()))
    _same(gr.read(tmp_path / "a.xyz"), gr.read(tmp_path / "a.xyz.gz", format="extxyz"))
