"""Progress of long jobs — the one implementation behind every bar and stage line of glassrs.

A long job (MD stages, FIRE batches, isoconfigurational runs, elasticity, correlations, the
report's sections) runs inside :func:`task`::

    with progress.task("MD production", total=steps, enabled=progress) as t:
        for ...:
            t.update(done)            # or pass t.callback to a Rust kernel: cb(done, total)

What it shows depends on where standard error goes:

* a terminal: a rich progress bar (nested tasks share one live display, each its own row;
  bars vanish when done);
* not a terminal (a log file, a batch job, a pipe): one line per stage when it ends,
  ``glassrs: MD production: 10000 steps in 12.3 s`` — the command line turns these on
  (:func:`configure`), library calls stay silent unless they ask (``lines=True``);
* ``--quiet`` (or ``configure(quiet=True)``) or ``enabled=False``: nothing.

``enabled`` follows the ``progress=`` argument of the functions that take one: None (auto:
shown on a terminal, and as stage lines where those are on), True (shown: a bar on a
terminal, else a stage line), False (nothing) or a callable ``cb(done, total)`` that receives
the progress instead of any display.
"""

from __future__ import annotations

import contextlib
import sys
import time
from typing import Callable, Iterator

__all__ = ["task", "configure", "configured", "settings"]

_settings = {"quiet": False, "lines": False}
_live = {"bar": None, "users": 0}


def settings() -> dict:
    """The current process-wide settings: ``quiet`` (nothing shown) and ``lines`` (stage lines
    when stderr is not a terminal)."""
    return dict(_settings)


def configure(*, quiet: bool | None = None, lines: bool | None = None) -> None:
    """Set the process-wide display: ``quiet=True`` silences every bar and stage line;
    ``lines=True`` prints one line per finished stage when stderr is not a terminal (the
    command line does this; the library default is False)."""
    if quiet is not None:
        _settings["quiet"] = bool(quiet)
    if lines is not None:
        _settings["lines"] = bool(lines)


@contextlib.contextmanager
def configured(*, quiet: bool | None = None, lines: bool | None = None) -> Iterator[None]:
    """:func:`configure` for the duration of a ``with`` block (then restored)."""
    old = dict(_settings)
    configure(quiet=quiet, lines=lines)
    try:
        yield
    finally:
        _settings.update(old)


def _isatty() -> bool:
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):  # a closed or replaced stderr
        return False


def _format_seconds(s: float) -> str:
    if s < 60:
        return f"{s:.1f} s"
    m, s = divmod(int(round(s)), 60)
    return f"{m} min {s:02d} s" if m < 60 else f"{m // 60} h {m % 60:02d} min"


class Task:
    """One stage of a long job (made by :func:`task`). ``update(done, total=None)``,
    ``advance(n=1)``, ``set_label(text)``, ``set_status(text)``; ``callback`` is ``update`` as ``cb(done, total)`` for
    the Rust kernels; ``elapsed`` the seconds since the start."""

    def __init__(self, label: str, total: int | None, enabled, unit: str):
        self.label = label
        self.total = None if total is None else max(int(total), 0)
        self.unit = unit
        self.done = 0
        self.status = ""
        self.user_cb: Callable[[int, int], None] | None = enabled if callable(enabled) else None
        quiet = _settings["quiet"]
        tty = _isatty()
        if self.user_cb is not None or enabled is False or quiet:
            self.mode = "off"
        elif tty and (enabled is True or enabled is None):
            self.mode = "bar"
        elif enabled is True or (enabled is None and _settings["lines"]):
            self.mode = "line"
        else:
            self.mode = "off"
        self._t0 = time.perf_counter()
        self._task = None

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self._t0

    def _start(self) -> None:
        self._t0 = time.perf_counter()
        if self.mode != "bar":
            return
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        if _live["bar"] is None:
            _live["bar"] = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                                    TextColumn("{task.fields[count]}"),
                                    TimeElapsedColumn(), TimeRemainingColumn(), console=Console(stderr=True),
                                    transient=True)
            _live["bar"].start()
        _live["users"] += 1
        self._task = _live["bar"].add_task(self.label, total=self.total, count=self._count())

    def _count(self) -> str:
        if self.total is None:
            c = f"{self.done} {self.unit}".strip() if self.done else ""
        else:
            c = f"{self.done}/{self.total} {self.unit}".strip()
        return f"{c}  {self.status}" if self.status else c

    def _stop(self, ok: bool) -> None:
        if self.mode == "bar" and self._task is not None:
            bar = _live["bar"]
            bar.remove_task(self._task)
            _live["users"] -= 1
            if _live["users"] <= 0:
                bar.stop()
                _live["bar"], _live["users"] = None, 0
        elif self.mode == "line":
            what = "" if not self.total or not self.unit else f"{self.total} {self.unit} "
            status = "" if ok else " (stopped)"
            print(f"glassrs: {self.label}: {what}in {_format_seconds(self.elapsed)}{status}", file=sys.stderr,
                  flush=True)

    def update(self, done: int, total: int | None = None) -> None:
        """Progress so far: ``done`` out of ``total`` (the task's total when None)."""
        self.done = int(done)
        if total is not None and self.total is None:
            self.total = int(total)
        if self._task is not None:
            _live["bar"].update(self._task, completed=self.done, total=self.total, count=self._count())
        if self.user_cb is not None:
            self.user_cb(self.done, self.total if self.total is not None else self.done)

    def advance(self, n: int = 1) -> None:
        self.update(self.done + int(n))

    def set_label(self, label: str) -> None:
        """Rename the stage (e.g. ``MD melt`` → ``MD production``); the stage line uses the last name."""
        self.label = label
        if self._task is not None:
            _live["bar"].update(self._task, description=label)

    def discard(self) -> None:
        """No stage line for this task (e.g. a report section that had nothing to do)."""
        if self.mode == "line":
            self.mode = "off"

    def set_status(self, text: str) -> None:
        """A short note shown after the count on the bar (e.g. the last finished item); not part of
        the stage line."""
        self.status = text
        if self._task is not None:
            _live["bar"].update(self._task, count=self._count())

    def callback(self, done: int, total: int) -> None:
        """``update`` in the ``cb(done, total)`` form the Rust kernels call (their ``total`` is
        used when the task has none)."""
        self.update(done, total)

    @property
    def cb(self) -> Callable[[int, int], None] | None:
        """:meth:`callback`, or None when nothing is shown or called (a kernel then skips the calls)."""
        return None if self.mode == "off" and self.user_cb is None else self.callback

    def offset(self, base: int) -> Callable[[int, int], None]:
        """A ``cb(done, total)`` for a piece of the task that starts at ``base``: reports ``base + done``."""
        return lambda done, _total: self.update(base + int(done))


@contextlib.contextmanager
def task(label: str, total: int | None = None, *, enabled: bool | None | Callable[[int, int], None] = None,
         unit: str = "") -> Iterator[Task]:
    """A stage of a long job shown as a bar, a stage line or nothing (module docstring).

    ``label``: what is being done ("MD production", "report: dynamics"); ``total``: the amount of
    work (None: unknown); ``unit``: its unit in the display ("steps", "frames", "runs");
    ``enabled``: the ``progress=`` argument of the calling function. Ctrl-C and errors end the
    display before they propagate."""
    t = Task(label, total, enabled, unit)
    t._start()
    ok = False
    try:
        yield t
        ok = True
    finally:
        t._stop(ok)
