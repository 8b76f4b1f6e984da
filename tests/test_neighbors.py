"""Neighbour lists vs brute force, scipy cKDTree and freud's AABBQuery."""

import numpy as np
import pytest

import glassrs as gr
from conftest import random_frame


def brute_pairs(frame: gr.Frame, r_max: float):
    x = frame.positions
    d = x[None, :, :] - x[:, None, :]
    d = frame.box.min_image(d.reshape(-1, 3)).reshape(d.shape)
    r = np.linalg.norm(d, axis=2)
    np.fill_diagonal(r, np.inf)
    i, j = np.nonzero(r < r_max)
    return i, j, r[i, j], d[i, j]


BOXES = {
    "random": gr.Box.cube(12.0),
    "dense": gr.Box.cube((1000 / 1.2) ** (1 / 3)),
    "triclinic": gr.Box.from_lammps([11.0, 10.0, 9.0], tilts=(3.0, -2.5, 2.0)),
}


@pytest.mark.parametrize("name", list(BOXES))
def test_matches_brute_force(name):
    box = BOXES[name]
    n = 1000 if name == "dense" else 700
    f = random_frame(n, box, seed=1)
    r_max = min(2.5, box.max_cutoff)
    t = gr.neighbors(f, r_max)
    i, j, r, d = brute_pairs(f, r_max)
    assert t.height == len(i)
    assert np.array_equal(t["i"].to_numpy(), i) and np.array_equal(t["j"].to_numpy(), j)
    np.testing.assert_allclose(t["r"].to_numpy(), r, rtol=0, atol=1e-12)
    np.testing.assert_allclose(t.select("dx", "dy", "dz").to_numpy(), d, rtol=0, atol=1e-12)
    h = gr.neighbors(f, r_max, half=True)
    assert h.height * 2 == t.height and (h["j"] > h["i"]).all()


@pytest.mark.parametrize("name", ["random", "dense"])
def test_matches_ckdtree(name):
    from scipy.spatial import cKDTree

    box = BOXES[name]
    f = random_frame(2000, box, seed=2)
    L = np.diag(box.matrix)
    tree = cKDTree(f.positions % L, boxsize=L)
    r_max = 2.5
    ref = tree.query_pairs(r_max, output_type="ndarray")
    # query_pairs uses r <= r_max; a pair at exactly r_max has probability zero here
    t = gr.neighbors(f, r_max, half=True)
    mine = set(zip(t["i"].to_list(), t["j"].to_list()))
    assert mine == set(map(tuple, np.sort(ref, axis=1).tolist()))


def test_matches_freud_aabb():
    freud = pytest.importorskip("freud", reason="freud-analysis oracle not installed")
    box = BOXES["dense"]
    f = random_frame(3000, gr.Box.cube((3000 / 1.2) ** (1 / 3)), seed=3)
    L = float(f.box.matrix[0, 0])
    fb = freud.box.Box.cube(L)
    pts = (f.positions - L / 2).astype(np.float32)
    r_max = 2.5
    nl = freud.locality.AABBQuery(fb, pts).query(pts, {"r_max": r_max, "exclude_ii": True}).toNeighborList()
    ref = {(int(a), int(b)) for a, b in zip(nl.query_point_indices, nl.point_indices)}
    t = gr.neighbors(f, r_max)
    mine = set(zip(t["i"].to_list(), t["j"].to_list()))
    r = dict(zip(zip(t["i"].to_list(), t["j"].to_list()), t["r"].to_list()))
    diff = mine ^ ref
    # freud works in float32: only pairs within 1e-5 of the cutoff may differ
    for p in diff:
        if p in r:
            assert abs(r[p] - r_max) < 1e-5, p
        else:
            d = f.box.min_image(f.positions[p[1]] - f.positions[p[0]])
            assert abs(np.linalg.norm(d) - r_max) < 1e-5, p
    assert len(mine) > 100000


def test_cutoff_too_large():
    f = random_frame(50, gr.Box.cube(4.0))
    with pytest.raises(ValueError, match="half the smallest box height"):
        gr.neighbors(f, 2.5)


def test_nan_coordinates():
    f = random_frame(50, gr.Box.cube(8.0))
    f.positions[7, 1] = np.nan
    with pytest.raises(ValueError, match="particle 7"):
        gr.neighbors(f, 2.0)
