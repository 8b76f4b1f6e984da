"""MkDocs hook: the command-line reference, generated from glassrs's argparse parsers.

``docs/cli.md`` holds the placeholder ``<!-- glassrs-cli-reference -->``; at build time it is
replaced by :func:`cli_reference_markdown`, which walks ``glassrs.cli.build_parser()`` — every
command and sub-command (``campaign run|status|plans``) — and writes for each a section with
its summary, description, usage line and a table of its arguments. Nothing is copied by hand,
so the page cannot go stale. tests/test_docs.py checks that every sub-command gets a section.
"""

from __future__ import annotations

import argparse
import functools
import html
import re
from pathlib import Path

PLACEHOLDER = "<!-- glassrs-cli-reference -->"
WIDTH = 96


def _subparsers(parser: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """(name, one-line help, parser) of the direct sub-commands of ``parser``, in order."""
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                out.append((name, helps.get(name, ""), sub))
    return out


def iter_commands(parser: argparse.ArgumentParser | None = None, prefix: tuple[str, ...] = ()):
    """Yield (words, one-line help, parser) for every command below ``parser``, depth first:
    (("report",), …), …, (("campaign",), …), (("campaign", "run"), …), …"""
    if parser is None:
        from glassrs.cli import build_parser

        parser = build_parser()
    for name, helptext, sub in _subparsers(parser):
        words = (*prefix, name)
        yield words, helptext, sub
        yield from iter_commands(sub, words)


def anchor(words: tuple[str, ...]) -> str:
    """The stable heading id of a command: ("campaign", "run") → ``cli-campaign-run``."""
    return "cli-" + "-".join(words)


_CITE = re.compile(r"definitions §(\d+(?:\.\d+)?)")


@functools.lru_cache(maxsize=1)
def _anchors() -> dict[str, str]:
    """Section number → heading id of docs/definitions.md ("2.1" → "rdf")."""
    heading = re.compile(r"^#{2,3} (\d+(?:\.\d+)?)\.? .*\{#([\w-]+)\}\s*$")
    text = (Path(__file__).resolve().parents[1] / "definitions.md").read_text(encoding="utf-8")
    return {m.group(1): m.group(2) for m in map(heading.match, text.splitlines()) if m}


def _cell(text: str) -> str:
    """One line of Markdown: escaped, "|" protected, "definitions §N" linked to section N (an
    unknown section becomes a broken cross-reference, which fails the strict build)."""
    text = html.escape(" ".join(str(text).split()), quote=False).replace("|", "\\|")
    return _CITE.sub(lambda m: f"[definitions §{m.group(1)}][{_anchors().get(m.group(1), 'definitions-' + m.group(1))}]",
                     text)


def _default(action: argparse.Action) -> str:
    if action.required or action.default in (None, False, argparse.SUPPRESS) or action.nargs == 0:
        return ""
    if isinstance(action.default, (list, tuple)):
        return ", ".join(map(str, action.default))
    return str(action.default)


def _name(action: argparse.Action) -> str:
    if not action.option_strings:
        return f"`{action.metavar or action.dest}`"
    names = ", ".join(f"`{o}`" for o in action.option_strings)
    if action.nargs == 0:
        return names
    if isinstance(action.metavar, tuple):
        meta = " ".join(action.metavar)
    elif action.metavar is not None:
        meta = action.metavar
    elif action.choices is not None:
        meta = "{" + ",".join(map(str, action.choices)) + "}"
    else:
        meta = action.dest.upper()
    return f"{names} `{meta}`"


def _arguments_table(parser: argparse.ArgumentParser) -> list[str]:
    rows = []
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        helptext = action.help or ""
        if "%(" in helptext:  # argparse's own expansion (%(default)s, %(prog)s, …)
            helptext = helptext % {**vars(action), "prog": parser.prog}
        if action.choices is not None and not isinstance(action.choices, dict):
            helptext = (helptext + "; one of: " if helptext else "One of: ") + ", ".join(map(str, action.choices))
        if action.option_strings:
            req = "required" if action.required else ""
        else:
            req = "optional" if action.nargs in ("?", "*") else "required"
        rows.append(f"| {_name(action)} | {_cell(helptext)} | {_cell(_default(action))} | {req} |")
    if not rows:
        return []
    return ["| argument | meaning | default | |", "|---|---|---|---|", *rows, ""]


def _usage(parser: argparse.ArgumentParser) -> str:
    cls = parser.formatter_class
    parser.formatter_class = functools.partial(cls, width=WIDTH)
    try:
        return parser.format_usage().strip()
    finally:
        parser.formatter_class = cls


def cli_reference_markdown(parser: argparse.ArgumentParser | None = None) -> str:
    """The Markdown of the whole CLI reference (one section per command and sub-command)."""
    if parser is None:
        from glassrs.cli import build_parser

        parser = build_parser()
    lines = ["## Commands {#cli-commands}", "", "| command | what it does |", "|---|---|"]
    commands = list(iter_commands(parser))
    for words, helptext, _ in commands:
        lines.append(f"| [`{' '.join(words)}`](#{anchor(words)}) | {_cell(helptext)} |")
    lines += ["", "Options of `python -m glassrs` itself:", "", *_arguments_table(parser)]
    for words, helptext, sub in commands:
        level = "#" * (2 + len(words) - 1)
        lines += [f"{level} `python -m glassrs {' '.join(words)}` {{#{anchor(words)}}}", ""]
        if helptext:
            lines += [f"*{_cell(helptext)}*", ""]
        if sub.description:
            lines += [_cell(sub.description), ""]
        lines += ["```text", _usage(sub), "```", ""]
        children = _subparsers(sub)
        if children:
            lines += ["Sub-commands: " + ", ".join(f"[`{n}`](#{anchor((*words, n))})" for n, _, _ in children) + ".", ""]
        lines += _arguments_table(sub)
    return "\n".join(lines) + "\n"


def on_page_markdown(markdown: str, page, config, files) -> str:
    if PLACEHOLDER in markdown:
        return markdown.replace(PLACEHOLDER, cli_reference_markdown())
    return markdown
