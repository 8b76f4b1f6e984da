"""Degenerate inputs raise ValueError naming the parameter (or are documented NaN), never a silent
number."""

from __future__ import annotations

import numpy as np
import pytest

import glassrs as gr


def _traj(nf=6, n=8):
    rng = np.random.default_rng(1)
    u = np.cumsum(0.05 * rng.standard_normal((nf, n, 3)), axis=0) + 1.0
    frames = [gr.Frame(positions=u[k], unwrapped=u[k], types=np.r_[np.zeros(n - 2, int), np.ones(2, int)],
                       box=gr.Box.cube(3.0), species=("A", "B"), step=k) for k in range(nf)]
    return gr.Trajectory.from_frames(frames, dt=1.0)


def test_empty_kvectors_give_nan_fs_not_zero():
    t = gr.dynamics.correlations(_traj(), kvectors=np.zeros((0, 3)), progress=False)
    assert np.all(np.isnan(t["fs"].to_numpy())), t["fs"].to_list()
    assert gr.params(t)["n_k"] == 0
    assert np.all(np.isfinite(t["msd"].to_numpy()))


def test_negative_max_lag():
    with pytest.raises(ValueError, match="max_lag"):
        gr.dynamics.correlations(_traj(), kvectors=np.array([[1.0, 0, 0]]), max_lag=-1.0, progress=False)


def test_negative_temperature_with_the_approx_closure():
    f = _traj(nf=1, n=40)[0]
    for T in (-1.0, 0.0, float("nan")):
        with pytest.raises(ValueError, match="T"):
            gr.structure.local(f, T=T, closure="approx")


@pytest.mark.parametrize("lengths", [[1e-300, 5, 5], [5, 5, 1e-300], [1e-30, 1e-30, 1e30]])
def test_degenerate_box_length(lengths):
    with pytest.raises(ValueError, match="box"):
        gr.Box.orthorhombic(lengths)


def test_degenerate_box_in_a_dump(tmp_path):
    p = tmp_path / "thin.dump"
    p.write_text("ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n1\nITEM: BOX BOUNDS pp pp pp\n0 1e-300\n0 5\n0 5\n"
                 "ITEM: ATOMS id type x y z\n1 1 0 1 1\n")
    with pytest.raises(ValueError, match="box"):
        gr.read(p)[0]


def test_vft_over_identical_temperatures():
    with pytest.raises(ValueError, match="T"):
        gr.fits.vft([0.5, 0.5, 0.5, 0.5], [10.0, 11.0, 12.0, 13.0])
    with pytest.raises(ValueError, match="distinct"):
        gr.fits.vft([0.5, 0.5, 0.6], [10.0, 11.0, 12.0])
