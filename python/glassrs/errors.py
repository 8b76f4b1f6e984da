"""Exceptions raised by glassrs.

* :class:`FormatError` (a ``ValueError``): a malformed input file; the message names the
  file, frame and line and what was expected.
* :class:`ConvergenceError` (a ``RuntimeError``): a minimiser or solver did not converge.

Invalid arguments raise plain ``ValueError``; Ctrl-C during a long kernel raises
``KeyboardInterrupt``.
"""

from glassrs._core import ConvergenceError, FormatError

__all__ = ["FormatError", "ConvergenceError"]
