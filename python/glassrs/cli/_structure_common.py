"""Helpers shared by the structure commands (``rdf``, ``local``): frame selection, windows
parsing, progress (:mod:`glassrs.progress`), atomic Parquet output."""

from __future__ import annotations

import contextlib


def add_frame_options(p) -> None:
    """The options shared by the structure commands: --frames, --threads, --out (``--species``,
    ``--model``, ``--dt`` come from :func:`glassrs.cli._common.add_data_options`)."""
    p.add_argument("--frames", default=None, help="frame selection: 'a:b:c' slice or comma list (default all)")
    p.add_argument("--threads", type=int, default=None, help="worker threads (default all cores)")
    p.add_argument("--out", default=None, help="output Parquet file (default: print the table)")


def parse_frames(spec: str | None):
    """``"a:b:c"`` → slice, ``"3"`` → [3], None → all frames."""
    if spec is None:
        return None
    if ":" in spec:
        parts = [int(p) if p.strip() else None for p in spec.split(":")]
        return slice(*parts)
    return [int(x) for x in spec.split(",")]


def parse_windows(spec: str | None) -> dict | None:
    """``"A-A=0.9:1.45,A-B=0.7:1.25,B-B=0.7:1.4"`` → {"A-A": (0.9, 1.45), …}."""
    if not spec:
        return None
    out = {}
    for item in spec.split(","):
        try:
            pair, rng = item.split("=")
            lo, hi = rng.split(":")
            out[pair.strip()] = (float(lo), float(hi))
        except ValueError:
            raise ValueError(f"cannot parse window '{item}'; expected PAIR=LO:HI, e.g. A-B=0.7:1.25") from None
    return out


@contextlib.contextmanager
def progress_bar(label: str):
    """Yield a ``progress(done, total)`` callback for a structure kernel: a rich bar on a terminal,
    a stage line otherwise, nothing with --quiet (:mod:`glassrs.progress`)."""
    from glassrs import progress

    with progress.task(label, unit="frames") as t:
        yield t.callback


def write_out(df, path: str | None, what: str) -> None:
    import glassrs as gr

    if path:
        gr.write_parquet(df, path)
        print(f"{what} written to {path} ({df.height} rows)")
    else:
        print(df)
