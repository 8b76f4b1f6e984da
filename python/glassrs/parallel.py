"""One thread policy for every glassrs kernel.

Every function that computes in parallel takes ``n_threads`` with one meaning:

* ``None`` (the default) — the process default, set with :func:`set_num_threads` or for a block
  of code with the :func:`threads` context manager. Until set, it is all cores (or
  ``RAYON_NUM_THREADS`` if that is in the environment before the first parallel call).
* a positive int — exactly that many threads (at most 8 per available core).
* anything else (0, a negative number, a bool, a float, a huge count) — ``ValueError`` saying so.

Pools are cached per size: calling a kernel many times with ``n_threads=2`` starts two threads
once. Results do not depend on the thread count except through the order of floating-point
sums where a function says so (MD, FIRE and isoconfigurational runs are bitwise independent of
it by construction).

>>> import glassrs as gr
>>> gr.set_num_threads(1)            # every kernel single-threaded from now on
>>> with gr.threads(2):              # two threads inside the block, then back to 1
...     g = gr.structure.rdf(traj, r_max=4.0)
>>> gr.set_num_threads(None)         # back to all cores
"""

from __future__ import annotations

import contextlib
from typing import Iterator

from glassrs import _core

__all__ = ["set_num_threads", "get_num_threads", "threads"]


def set_num_threads(n: int | None = None) -> None:
    """Set the process default thread count of every kernel (``None``: all cores)."""
    _core.set_num_threads(n)


def get_num_threads() -> int:
    """The number of threads a kernel called with ``n_threads=None`` runs on now."""
    return int(_core.get_num_threads())


@contextlib.contextmanager
def threads(n: int | None) -> Iterator[None]:
    """Use ``n`` threads (``None``: all cores) as the process default inside the block and
    restore the previous default on exit, also on error."""
    previous = _core.num_threads_setting()
    _core.set_num_threads(n)
    try:
        yield
    finally:
        _core.set_num_threads(previous)
