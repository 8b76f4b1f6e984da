"""Neighbour lists do not depend on the number of threads (DESIGN: results independent of the
thread count): the same full and half lists, bit for bit, with RAYON_NUM_THREADS=1 and 2."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

CODE = """
import sys, numpy as np
from glassrs import _core
rng = np.random.default_rng(7)
m = np.array([[9.0, 2.0, -1.5], [0.0, 8.5, 1.0], [0.0, 0.0, 10.0]])
pos = rng.random((3000, 3)) @ m.T
out = [np.ascontiguousarray(a) for half in (False, True) for a in _core.neighbor_list(pos, m, 2.5, half)]
np.savez(sys.argv[1], *out)
"""


def test_thread_count_independent(tmp_path):
    res = []
    for t in (1, 2):
        f = tmp_path / f"nl{t}.npz"
        env = dict(os.environ, RAYON_NUM_THREADS=str(t))
        subprocess.run([sys.executable, "-c", CODE, str(f)], check=True, env=env, timeout=120)
        z = np.load(f)
        res.append([z[k] for k in sorted(z.files)])
    assert len(res[0][0]) > 50000
    for a, b in zip(*res):
        assert a.dtype == b.dtype and np.array_equal(a, b)
