"""Figure conventions shared by the report sections: a colour-blind-safe palette (Okabe–Ito),
readable log ticks, one way to save a figure and embed it in the Markdown."""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

#: Okabe–Ito: distinguishable under the common colour-vision deficiencies
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
#: line styles for a second categorical dimension (species, coarse-graining length)
STYLES = ["-", "--", ":", "-."]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


def pyplot():
    """matplotlib.pyplot on the Agg backend with the report's style (palette, font sizes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from cycler import cycler

    plt.rcParams.update({"axes.prop_cycle": cycler(color=PALETTE), "font.size": 9, "axes.titlesize": 9,
                         "axes.labelsize": 9, "legend.fontsize": 7, "legend.framealpha": 0.85,
                         "xtick.labelsize": 8, "ytick.labelsize": 8, "axes.grid": False})
    return plt


def color(k: int) -> str:
    """The k-th palette colour (cycling)."""
    return PALETTE[k % len(PALETTE)]


def log_axis(ax, which: str = "x") -> None:
    """A log scale with decades labelled 10ⁿ and unlabelled minor ticks (readable at any range)."""
    from matplotlib.ticker import LogFormatterSciNotation, LogLocator, NullFormatter

    axis = ax.xaxis if which == "x" else ax.yaxis
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    axis.set_major_locator(LogLocator(base=10.0, numticks=12))
    axis.set_major_formatter(LogFormatterSciNotation(base=10.0))
    axis.set_minor_locator(LogLocator(base=10.0, subs=tuple(range(2, 10)), numticks=12))
    axis.set_minor_formatter(NullFormatter())


def sub_decade_labels(ax, which: str = "y") -> None:
    """On a log axis (:func:`log_axis`) spanning less than about a decade and a half, also label
    2, 3 and 5 × 10ⁿ — otherwise the axis carries one label or none. Call after plotting."""
    from matplotlib.ticker import FormatStrFormatter, LogLocator

    lo, hi = ax.get_ylim() if which == "y" else ax.get_xlim()
    if lo > 0 and hi / lo < 40:
        axis = ax.yaxis if which == "y" else ax.xaxis
        axis.set_minor_locator(LogLocator(base=10.0, subs=(2.0, 3.0, 5.0), numticks=12))
        axis.set_minor_formatter(FormatStrFormatter("%g"))


def legend(ax, handles: Sequence | None = None, **kw) -> None:
    """A legend for this panel (only if it has labelled artists)."""
    if handles is not None:
        ax.legend(handles=list(handles), **kw)
        return
    h, labels = ax.get_legend_handles_labels()
    if labels:
        ax.legend(**kw)


def save(fig, figdir: str, name: str, alt: str, dpi: int = 110) -> list[str]:
    """Save ``fig`` as ``figdir/name`` (atomically) and return the Markdown lines embedding it."""
    import matplotlib.pyplot as plt

    from glassrs.io._common import atomic_path

    fig.tight_layout()
    dest = os.path.join(figdir, name)
    with atomic_path(dest) as tmp:
        fig.savefig(tmp, dpi=dpi, format=os.path.splitext(name)[1][1:] or "png")
    plt.close(fig)
    return [f"![{alt}]({name})", ""]


def interval_errorbar(ax, x, y, lo, hi, **kw) -> None:
    """Points ``y`` at ``x`` with the interval [lo, hi] as asymmetric error bars (no bar where a
    bound is NaN); ``kw`` go to ``ax.errorbar`` (capsize 3 unless given)."""
    y, lo, hi = (np.asarray(v, dtype=float) for v in (y, lo, hi))
    err = np.vstack([y - np.where(np.isfinite(lo), lo, y), np.where(np.isfinite(hi), hi, y) - y])
    kw.setdefault("capsize", 3)
    ax.errorbar(x, y, yerr=err, **kw)


def warning(text: str) -> list[str]:
    """A warning line (a Markdown block quote starting with ⚠; the HTML page styles it)."""
    return [f"> ⚠ {text}", ""]
