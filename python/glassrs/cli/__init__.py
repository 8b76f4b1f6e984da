"""Command-line interface: ``python -m glassrs <command> ...``.

Each command lives in its own module exposing ``add_parser(subparsers)``, which registers
the sub-parser and sets ``func`` to a callable taking the parsed namespace and returning
an exit code. Errors from glassrs become one clear line on stderr and exit code 1. Long jobs
show rich progress bars when stderr is a terminal and one line per stage (with its elapsed
time) when it is not; ``--quiet`` on any command silences both (:mod:`glassrs.progress`).
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = ["report", "info", "dynamics", "rdf", "local", "elastic", "simulate", "minimize", "isoconf", "campaign"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m glassrs",
                                description="glassrs: analysis of glass-forming liquids from particle simulations.")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"glassrs.cli.{name}").add_parser(sub)
    for cmd in sub.choices.values():
        _add_quiet(cmd)
    return p


def _add_quiet(p: argparse.ArgumentParser) -> None:
    """``--quiet`` on every command (and sub-command) that does not define it itself."""
    subs = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
    for a in subs:
        for cmd in a.choices.values():
            _add_quiet(cmd)
    if not subs and "--quiet" not in p._option_string_actions:
        p.add_argument("--quiet", action="store_true",
                       help="no progress bars or stage lines on stderr (errors and warnings still are)")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from glassrs import __version__
        print(__version__)
        return 0
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from glassrs import progress

    try:
        # stage lines when stderr is not a terminal, bars when it is, nothing with --quiet
        with progress.configured(quiet=bool(getattr(args, "quiet", False)), lines=True):
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("glassrs: interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError, RuntimeError) as e:
        print(f"glassrs {args.command}: error: {e}", file=sys.stderr)
        return 1
