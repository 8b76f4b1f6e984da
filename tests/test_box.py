import itertools

import numpy as np
import pytest

import glassrs as gr


def brute_min_image(box: gr.Box, d: np.ndarray) -> np.ndarray:
    """Shortest image of each displacement over a 7³ block of lattice translations."""
    shifts = np.array(list(itertools.product(range(-3, 4), repeat=3)), float) @ box.matrix.T
    s = box.fractional(d + box.origin)
    d0 = (s - np.round(s)) @ box.matrix.T
    cand = d0[:, None, :] + shifts[None, :, :]
    k = np.argmin(np.einsum("ijk,ijk->ij", cand, cand), axis=1)
    return cand[np.arange(len(d)), k]


def test_triclinic_min_image_vs_brute_force(rng):
    box = gr.Box.from_lammps([5.0, 6.0, 7.0], tilts=(2.0, -1.5, 1.2))
    d = rng.uniform(-12, 12, size=(5000, 3))
    mine = box.min_image(d)
    ref = brute_min_image(box, d)
    inside = np.linalg.norm(ref, axis=1) < box.max_cutoff
    assert inside.sum() > 200
    np.testing.assert_allclose(mine[inside], ref[inside], atol=1e-12)


def test_box_properties():
    box = gr.Box.from_lammps([4.0, 5.0, 6.0], tilts=(1.0, -0.5, 0.7))
    assert box.volume == pytest.approx(120.0)
    assert box.heights[2] == pytest.approx(6.0)
    assert box.is_triclinic and not gr.Box.cube(3.0).is_triclinic
    x = np.array([[10.3, -4.2, 7.7]])
    w = box.wrap(x)
    s = box.fractional(w)
    assert np.all((s >= 0) & (s < 1))
    np.testing.assert_allclose(box.min_image(w - x), 0.0, atol=1e-12)


@pytest.mark.parametrize("m", [np.diag([1.0, 0.0, 1.0]), np.diag([1.0, -1.0, 1.0]), np.diag([1.0, np.nan, 1.0])])
def test_bad_box(m):
    with pytest.raises(ValueError, match="box"):
        gr.Box(m)
