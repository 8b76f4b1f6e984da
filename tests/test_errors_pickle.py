"""glassrs's exceptions cross process boundaries (pickle, process pools, Dask workers) with
their message and location intact."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import pickle

import numpy as np
import pytest

import glassrs as gr


def _read(path: str):
    return gr.read(path)[0]


def _fire_unconverged():
    box = gr.Box.cube(6.0)
    rng = np.random.default_rng(0)
    fr = gr.Frame(positions=rng.random((60, 3)) * 6.0, types=np.zeros(60, int), box=box, species=("A",))
    model = gr.models.lj_mixture(species=["A"], epsilon=[[1.0]], sigma=[[1.0]], cutoff=[[2.5]], shift="energy",
                                 composition=[1.0], density=60 / 216)
    return gr.minimize.fire(fr, model, max_iter=3)


@pytest.fixture
def bad_dump(tmp_path):
    p = tmp_path / "bad.lammpstrj"
    p.write_text("ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n2\nITEM: BOX BOUNDS pp pp pp\n0 5\n0 5\n0 5\n"
                 "ITEM: ATOMS id type x y z\n1 1 0.5 0.5 0.5\n2 1 1.5 abc 1.5\n")
    return str(p)


def test_format_error_raised_by_the_core_keeps_file_and_line(bad_dump):
    with pytest.raises(gr.FormatError) as info:
        _read(bad_dump)
    e = info.value
    assert e.file == bad_dump and e.frame == 0 and e.line == 11
    assert bad_dump in str(e) and "line 11" in str(e)
    e2 = pickle.loads(pickle.dumps(e))
    assert type(e2) is gr.FormatError and isinstance(e2, ValueError)
    assert (str(e2), e2.file, e2.frame, e2.line) == (str(e), e.file, e.frame, e.line)


def test_convergence_error_pickles():
    with pytest.raises(gr.ConvergenceError) as info:
        _fire_unconverged()
    e2 = pickle.loads(pickle.dumps(info.value))
    assert type(e2) is gr.ConvergenceError and str(e2) == str(info.value) and "max|F|" in str(e2)


def test_errors_reach_the_parent_of_a_process_pool(bad_dump):
    # spawn, as Dask's nanny does: a forked child would inherit a thread pool without its threads
    with cf.ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as ex:
        with pytest.raises(gr.FormatError) as info:
            ex.submit(_read, bad_dump).result()
        assert info.value.file == bad_dump and info.value.line == 11
        with pytest.raises(gr.ConvergenceError, match="max"):
            ex.submit(_fire_unconverged).result()


def test_python_raised_format_error_without_location_pickles():
    e = gr.FormatError("table.txt, line 3: not a number")
    e2 = pickle.loads(pickle.dumps(e))
    assert str(e2) == str(e) and e2.file is None and e2.line is None
