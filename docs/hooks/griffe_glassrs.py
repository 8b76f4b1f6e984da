"""Griffe extension for the API reference: reads glassrs's docstring dialect as numpy style.

glassrs docstrings are written for ``help()``: types live in the signatures, so a parameter line
is ``name : what it is`` (the text after the colon is a description, not a type), a numpy
section may be followed by a paragraph of prose, a Returns section is prose, and interactive
examples (``>>> …``) sit in the running text. Read literally by griffe's numpy parser, the
description would land in the type column, the prose would turn into bogus parameters (with
warnings that fail ``mkdocs build --strict``) and Markdown would read ``>>>`` as nested block
quotes. This extension rewrites the docstring *text given to the parser* — the package is not
touched — so that:

* ``name : text`` items of Parameters / Attributes / Other Parameters sections become ``name``
  with ``text`` as the description;
* prose after such a section (a line at the section's indentation that is not an item, after a
  blank line) goes to a Notes section instead of being read as parameters;
* a prose Returns section becomes the description of the function's return annotation;
* runs of ``>>>`` lines (up to the next blank line, the doctest rule) become ``pycon`` code blocks;
* Sphinx roles (``:func:`x```, ``:class:`x```, …) become code spans;
* "definitions §N" citations link to section N of the definitions page.
"""

from __future__ import annotations

import re
from pathlib import Path

import griffe

ITEM_SECTIONS = {"Parameters", "Other Parameters", "Attributes", "Arguments", "Args"}
ITEM = re.compile(r"^(\*{0,2}[A-Za-z_]\w*(?:\s*,\s*\*{0,2}[A-Za-z_]\w*)*)\s*:\s*(.*)$")
DASHES = re.compile(r"^\s*-{3,}\s*$")
CITE = re.compile(r"definitions §(\d+(?:\.\d+)?)")
DEFINITIONS = Path(__file__).resolve().parents[1] / "definitions.md"


def section_anchors(path: Path = DEFINITIONS) -> dict[str, str]:
    """Section number → heading id of the definitions page ("2.6" → "sop")."""
    heading = re.compile(r"^#{2,3} (\d+(?:\.\d+)?)\.? .*\{#([\w-]+)\}\s*$")
    return {m.group(1): m.group(2) for m in map(heading.match, path.read_text(encoding="utf-8").splitlines()) if m}


ANCHORS = section_anchors()
ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|data|attr|exc|obj|const):`~?([^`]+)`")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def fence_doctests(lines: list[str]) -> list[str]:
    out: list[str] = []
    in_fence = False
    i = 0
    while i < len(lines):
        stripped = lines[i].lstrip()
        if stripped.startswith("```"):
            in_fence = not in_fence
        if in_fence or not stripped.startswith(">>>"):
            out.append(lines[i])
            i += 1
            continue
        pad = lines[i][: _indent(lines[i])]
        block = []
        while i < len(lines) and lines[i].strip():
            block.append(lines[i][len(pad):] if lines[i].startswith(pad) else lines[i].lstrip())
            i += 1
        if out and out[-1].strip():
            out.append("")
        out += [f"{pad}```pycon", *(pad + b for b in block), f"{pad}```"]
    return out


def _sections(lines: list[str]) -> list[tuple[int, str]]:
    """(index of the header line, title) of every numpy section."""
    return [(k, lines[k].strip()) for k in range(len(lines) - 1)
            if lines[k].strip() and DASHES.match(lines[k + 1]) and not DASHES.match(lines[k])]


def normalise(text: str, returns: str | None = None) -> str:
    # "definitions §2.6" → a cross-reference to that heading (mkdocs-autorefs); an unknown
    # section number is left as a broken reference, which fails the strict build
    text = CITE.sub(lambda m: f"[definitions §{m.group(1)}][{ANCHORS.get(m.group(1), 'definitions-' + m.group(1))}]", text)
    lines = ROLE.sub(r"``\1``", text).splitlines()
    heads = _sections(lines)
    if not heads:
        return "\n".join(fence_doctests(lines))
    out = lines[: heads[0][0]]
    notes: list[str] = []
    for n, (start, title) in enumerate(heads):
        end = heads[n + 1][0] if n + 1 < len(heads) else len(lines)
        base = _indent(lines[start])
        body = lines[start + 2:end]
        out += lines[start:start + 2]
        if title in ITEM_SECTIONS:
            for k, line in enumerate(body):
                if line.strip() and _indent(line) == base:
                    m = ITEM.match(line.strip())
                    if m is None and k > 0 and not body[k - 1].strip():
                        notes += [ln[base:] if _indent(ln) >= base else ln.lstrip() for ln in body[k:]]
                        break
                    if m is not None:
                        out.append(" " * base + m.group(1))
                        if m.group(2):
                            out.append(" " * (base + 4) + m.group(2))
                        continue
                out.append(line)
        elif title == "Returns" and body and not any(
                line.strip() and _indent(line) > base for line in body) and not any(
                ITEM.match(line.strip()) for line in body if line.strip()):
            out.append(" " * base + (returns or "result"))
            out += [(" " * (base + 4) + line[base:]) if line.strip() else "" for line in body]
        else:
            out += body
    if notes:
        while out and not out[-1].strip():
            out.pop()
        out += ["", "Notes", "-----", *notes]
    return "\n".join(fence_doctests(out))


class GlassrsDocstrings(griffe.Extension):
    def on_instance(self, *, node, obj, agent, **kwargs) -> None:
        doc = obj.docstring
        if doc is None:
            return
        returns = getattr(obj, "returns", None) if getattr(obj, "is_function", False) else None
        doc.value = normalise(doc.value, str(returns) if returns is not None else None)
