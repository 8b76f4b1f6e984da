"""Command-line interface: ``python -m glassrs <command> ...``.

Each command lives in its own module exposing ``add_parser(subparsers)``, which registers
the sub-parser and sets ``func`` to a callable taking the parsed namespace and returning
an exit code. Errors from glassrs become one clear line on stderr and exit code 1.
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
    return p


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
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("glassrs: interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError, RuntimeError) as e:
        print(f"glassrs {args.command}: error: {e}", file=sys.stderr)
        return 1
