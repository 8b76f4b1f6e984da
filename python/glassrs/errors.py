"""Exceptions raised by glassrs.

* :class:`FormatError` (a ``ValueError``): a malformed input file; the message names the
  file, frame and line and what was expected, and the same location is kept as attributes
  (``file``, ``frame``, ``line``; ``None`` where unknown).
* :class:`ConvergenceError` (a ``RuntimeError``): a minimiser or solver did not converge.

Invalid arguments raise plain ``ValueError``; Ctrl-C during a long kernel raises
``KeyboardInterrupt``.

Both classes are plain Python exceptions defined here (the Rust core raises these very
classes), so they pickle with their message and location: an error raised inside a Dask
worker or a process pool reaches the client intact.
"""

from __future__ import annotations

__all__ = ["FormatError", "ConvergenceError"]


class FormatError(ValueError):
    """A trajectory or input file is malformed.

    ``str(err)`` is the full message ("FILE, frame F, line L: what was expected");
    ``err.file`` (str), ``err.frame`` (0-based frame index) and ``err.line`` (1-based line
    number) give the location where it is known, else ``None``.
    """

    def __init__(self, message: str, file: str | None = None, frame: int | None = None,
                 line: int | None = None) -> None:
        super().__init__(message)
        self.file = file
        self.frame = frame
        self.line = line

    def __reduce__(self):
        return (type(self), (str(self), self.file, self.frame, self.line))


class ConvergenceError(RuntimeError):
    """An iterative minimiser or solver did not converge; the message says which, after how
    many iterations and how far from the tolerance it stopped."""

    def __reduce__(self):
        return (type(self), self.args)
