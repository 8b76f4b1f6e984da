"""The report as one self-contained HTML page, rendered from the sections' Markdown.

The sections write a small subset of Markdown — headings, paragraphs, ``- `` lists, pipe tables,
``> ⚠ …`` warnings, images on a line of their own, ``**bold**``, ``*italic*``, ```code```
and ``[text](target)`` links — and :func:`render` turns exactly that subset into HTML: tables become
``<table>`` elements, warnings boxed paragraphs, every image is read from the figure folder and
embedded as a base64 ``data:`` URI (the page needs no other file), and each ``##`` heading gets
an id and an entry in the page's table of contents (in-page links only).
"""

from __future__ import annotations

import base64
import html
import mimetypes
import os
import re

__all__ = ["render"]

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1180px;margin:1.5em auto;
padding:0 1em;color:#1a1a1a;line-height:1.45}
h1{border-bottom:2px solid #0072B2;padding-bottom:.2em}
h2{border-bottom:1px solid #ccc;padding-bottom:.15em;margin-top:2em}
table{border-collapse:collapse;margin:.8em 0;font-size:.88em}
th,td{border:1px solid #bbb;padding:.25em .6em;text-align:left}
th{background:#eef3f8}
tr:nth-child(even) td{background:#fafafa}
td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:1em 0}
figure img{max-width:100%;height:auto;border:1px solid #ddd}
figcaption{font-size:.85em;color:#555}
.warning{background:#fff4e0;border-left:4px solid #E69F00;padding:.4em .8em;margin:.6em 0}
nav.toc{background:#f5f7fa;border:1px solid #dde;padding:.5em 1em;display:inline-block}
nav.toc ul{margin:.2em 0;padding-left:1.2em}
code{background:#f0f0f0;padding:0 .2em;border-radius:3px}
"""

_IMG = re.compile(r"^!\[([^\]]*)\]\(([^)\s]+)\)$")
_NUM = re.compile(r"^[-+−]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")


def _slug(text: str, used: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"
    slug, k = base, 2
    while slug in used:
        slug, k = f"{base}-{k}", k + 1
    used.add(slug)
    return slug


def _inline(text: str) -> str:
    """Escape, then the inline Markdown of the sections: code, bold, italic, links."""
    out = html.escape(text, quote=False)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)
    out = re.sub(r"(?<![*\w])\*([^*\s][^*]*)\*(?![*\w])", r"<em>\1</em>", out)
    out = re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", lambda m: f'<a href="{html.escape(m[2])}">{m[1]}</a>', out)
    return out


def _image(alt: str, src: str, figdir: str) -> str:
    path = os.path.join(figdir, src)
    mime = mimetypes.guess_type(path)[0] or "application/octet-stream"
    with open(path, "rb") as fh:
        data = base64.b64encode(fh.read()).decode("ascii")
    a = html.escape(alt)
    return f'<figure><img src="data:{mime};base64,{data}" alt="{a}"><figcaption>{a}</figcaption></figure>'


def _cells(line: str) -> list[str]:
    s = line.strip()
    if s.startswith("|"):
        s = s[1:]
    if s.endswith("|"):
        s = s[:-1]
    return [c.strip() for c in s.split("|")]


def _table(rows: list[str]) -> str:
    head = _cells(rows[0])
    body = [_cells(r) for r in rows[2:]] if len(rows) > 1 and set(rows[1].replace("|", "").strip()) <= set("-: ") \
        else [_cells(r) for r in rows[1:]]
    out = ["<table>", "<thead><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in head) + "</tr></thead>", "<tbody>"]
    for r in body:
        tds = "".join(f'<td class="num">{_inline(c)}</td>' if _NUM.match(c) else f"<td>{_inline(c)}</td>" for c in r)
        out.append(f"<tr>{tds}</tr>")
    out += ["</tbody>", "</table>"]
    return "\n".join(out)


def render(markdown: str, figdir: str, title: str = "glassrs report") -> str:
    """The HTML page of a report: ``markdown`` (the sections' text) with its images read from
    ``figdir`` and embedded. Returns the whole document as a string."""
    lines = markdown.splitlines()
    body: list[str] = []
    toc: list[tuple[str, str]] = []
    used: set[str] = set()
    para: list[str] = []
    i = 0

    def flush() -> None:
        if para:
            body.append("<p>" + _inline(" ".join(para)) + "</p>")
            para.clear()

    while i < len(lines):
        line = lines[i].rstrip()
        s = line.strip()
        m = re.match(r"^(#{1,4})\s+(.*)$", s)
        if not s:
            flush()
        elif m:
            flush()
            level, text = len(m[1]), m[2]
            slug = _slug(text, used)
            if level == 2:
                toc.append((slug, text))
            body.append(f'<h{level} id="{slug}">{_inline(text)}</h{level}>')
        elif _IMG.match(s):
            flush()
            im = _IMG.match(s)
            body.append(_image(im[1], im[2], figdir))
        elif s.startswith("|"):
            flush()
            rows = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                rows.append(lines[i])
                i += 1
            body.append(_table(rows))
            continue
        elif s.startswith("- "):
            flush()
            items = []
            while i < len(lines) and lines[i].strip().startswith("- "):
                items.append(f"<li>{_inline(lines[i].strip()[2:])}</li>")
                i += 1
            body.append("<ul>" + "".join(items) + "</ul>")
            continue
        elif s.startswith(">"):
            flush()
            quote = []
            while i < len(lines) and lines[i].strip().startswith(">"):
                quote.append(lines[i].strip()[1:].strip())
                i += 1
            text = " ".join(quote)
            cls = ' class="warning"' if text.startswith("⚠") else ""
            body.append(f"<p{cls}>{_inline(text)}</p>")
            continue
        else:
            para.append(s)
        i += 1
    flush()
    nav = ""
    if toc:
        nav = ('<nav class="toc"><strong>Contents</strong><ul>'
               + "".join(f'<li><a href="#{slug}">{_inline(text)}</a></li>' for slug, text in toc) + "</ul></nav>")
    # the title heading first, then the contents
    if body and body[0].startswith("<h1"):
        head, rest = body[0], body[1:]
    else:
        head, rest = f"<h1>{html.escape(title)}</h1>", body
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
            + "\n".join([head, nav, *rest]) + "\n</body>\n</html>\n")
