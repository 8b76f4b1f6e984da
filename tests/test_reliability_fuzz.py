"""Seeded mutation fuzzing of the three readers (LAMMPS dump, extended XYZ, GSD). Every case runs in
a subprocess (batched) and must end in a frame set that is consistent or in an expected error
(FormatError / ValueError / OSError): no panic, no crash (signal), no hang, no other exception,
no silently inconsistent frame. Default run: 300 cases; ``-m slow``: 3000."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

_WORKER = textwrap.dedent("""
    import json, sys, warnings
    import numpy as np
    import glassrs as gr
    warnings.simplefilter("ignore")
    for line in sys.stdin:
        path, fmt = json.loads(line)
        res = {"path": path}
        try:
            traj = gr.read(path, format=fmt)
            frames = list(traj)
            f0 = frames[0]
            bad = None
            for k, f in enumerate(frames):
                if f.n_particles != f0.n_particles or not np.array_equal(f.types, f0.types):
                    bad = f"frame {k}: particles differ"
                elif (f.ids is None) != (f0.ids is None) or (f.ids is not None and not np.array_equal(f.ids, f0.ids)):
                    bad = f"frame {k}: ids differ"
                elif not np.all(np.isfinite(f.positions)):
                    bad = f"frame {k}: non-finite positions"
                elif not np.linalg.det(f.box.matrix) > 0:
                    bad = f"frame {k}: bad box"
                if bad:
                    break
            res["outcome"] = "inconsistent" if bad else "ok"
            res["detail"] = bad
        except (gr.FormatError, ValueError, OSError) as e:
            res["outcome"] = "error"
            res["detail"] = type(e).__name__
        except BaseException as e:  # PanicException derives from BaseException
            res["outcome"] = "unexpected"
            res["detail"] = f"{type(e).__module__}.{type(e).__name__}: {str(e)[:200]}"
        print(json.dumps(res), flush=True)
""")


def _seed_lammps() -> bytes:
    out = []
    for k in range(3):
        out.append(f"ITEM: TIMESTEP\n{100 * k}\nITEM: NUMBER OF ATOMS\n6\nITEM: BOX BOUNDS xy xz yz pp pp pp\n"
                   "-0.5 6.5 0.5\n0 6 0\n0 6 0\nITEM: ATOMS id type x y z ix iy iz\n")
        for i in range(6):
            out.append(f"{i + 1} {1 + i % 2} {0.5 + i + 0.01 * k:.6f} {1.5 + 0.1 * k:.6f} 2.75 0 {k % 2} 0\n")
    return "".join(out).encode()


def _seed_xyz() -> bytes:
    out = []
    for k in range(3):
        out.append(f'6\nLattice="6 0 0 0.5 6 0 0 0 6" Properties=species:S:1:pos:R:3:id:I:1 Time={0.5 * k} '
                   f"Step={10 * k}\n")
        for i in range(6):
            out.append(f"{'AB'[i % 2]} {0.5 + i:.5f} {1.5 + 0.1 * k:.5f} 2.75 {i + 1}\n")
    return "".join(out).encode()


def _seed_gsd(tmp) -> bytes | None:
    try:
        import gsd.hoomd
    except ImportError:
        return None
    p = os.path.join(tmp, "seed.gsd")
    with gsd.hoomd.open(p, "w") as f:
        for k in range(3):
            s = gsd.hoomd.Frame()
            s.configuration.box = [6, 6, 6, 0, 0, 0]
            s.configuration.step = k
            s.particles.N = 4
            s.particles.types = ["A", "B"]
            s.particles.typeid = [0, 1, 0, 1]
            s.particles.position = [[0.1 * i + 0.01 * k, 0.2, -0.3] for i in range(4)]
            f.append(s)
    return open(p, "rb").read()


_TOKENS = [b"nan", b"inf", b"-1", b"0", b"1e308", b"99999999999999999999", b"ITEM:", b"ITEM: ATOMS", b"\n", b"\r",
           b"\xef\xbb\xbf", b"\x00", b" ", b"-", b".", b"e", b"9" * 30, b"Lattice=\"", b"\"", b"Step=1e30",
           b"ITEM: TIMESTEP\n", b"2", b"7", b"\t"]


def _mutate(data: bytes, rng: np.random.Generator, text: bool) -> bytes:
    b = bytearray(data)
    for _ in range(int(rng.integers(1, 4))):
        op = int(rng.integers(0, 8 if text else 5))
        if not b:
            b = bytearray(b"x")
        i = int(rng.integers(0, len(b)))
        if op == 0:      # flip a byte
            b[i] = int(rng.integers(0, 256))
        elif op == 1:    # delete a run
            del b[i:i + int(rng.integers(1, 12))]
        elif op == 2:    # truncate
            del b[i:]
        elif op == 3:    # insert random bytes
            b[i:i] = bytes(rng.integers(0, 256, int(rng.integers(1, 6))).astype(np.uint8).tolist())
        elif op == 4:    # duplicate a run
            b[i:i] = b[i:i + int(rng.integers(1, 40))]
        elif op == 5:    # insert a token
            b[i:i] = _TOKENS[int(rng.integers(0, len(_TOKENS)))]
        elif op == 6:    # change a digit
            digits = [j for j, c in enumerate(b) if 48 <= c <= 57]
            if digits:
                b[digits[int(rng.integers(0, len(digits)))]] = int(rng.integers(48, 58))
        else:            # swap two lines
            lines = bytes(b).split(b"\n")
            if len(lines) > 2:
                x, y = rng.integers(0, len(lines), 2)
                lines[x], lines[y] = lines[y], lines[x]
                b = bytearray(b"\n".join(lines))
    return bytes(b)


def _fuzz(tmp_path, n_cases: int, seed: int, batch: int = 150) -> dict:
    rng = np.random.default_rng(seed)
    seeds = [("lammps", _seed_lammps(), True, "dump"), ("extxyz", _seed_xyz(), True, "xyz")]
    g = _seed_gsd(str(tmp_path))
    if g is not None:
        seeds.append(("gsd", g, False, "gsd"))
    cases = []
    for c in range(n_cases):
        fmt, data, text, ext = seeds[c % len(seeds)]
        p = tmp_path / f"case{c:05d}.{ext}"
        p.write_bytes(_mutate(data, rng, text))
        cases.append((str(p), fmt))
    counts = {"ok": 0, "error": 0, "inconsistent": 0, "unexpected": 0, "crash": 0, "hang": 0}
    problems = []
    for a in range(0, len(cases), batch):
        todo = cases[a:a + batch]
        while todo:
            inp = "".join(json.dumps(c) + "\n" for c in todo)
            try:
                r = subprocess.run([sys.executable, "-c", _WORKER], input=inp, capture_output=True, text=True,
                                   timeout=60)
                out, rc = r.stdout, r.returncode
            except subprocess.TimeoutExpired as e:
                out, rc = (e.stdout.decode() if isinstance(e.stdout, bytes) else e.stdout or ""), "timeout"
            done = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
            for d in done:
                counts[d["outcome"]] += 1
                if d["outcome"] in ("inconsistent", "unexpected"):
                    problems.append(d)
            todo = todo[len(done):]
            if todo and rc != 0:  # the next case crashed or hung the worker: count it, go on after it
                kind = "hang" if rc == "timeout" else "crash"
                counts[kind] += 1
                problems.append({"path": todo[0][0], "outcome": kind, "detail": str(rc)})
                todo = todo[1:]
            elif todo:
                raise AssertionError(f"worker stopped early without an error: {r.stderr[-2000:]}")
    return {"counts": counts, "problems": problems[:20]}


def _check(res: dict, n: int):
    c = res["counts"]
    print(f"fuzz: {n} cases: {c}")
    assert sum(c.values()) == n, res
    assert c["unexpected"] == c["crash"] == c["hang"] == c["inconsistent"] == 0, res


def test_fuzz_readers_default(tmp_path):
    _check(_fuzz(tmp_path, 300, seed=20261201), 300)


@pytest.mark.slow
def test_fuzz_readers_slow(tmp_path):
    _check(_fuzz(tmp_path, 3000, seed=7), 3000)
