"""The report page: log-binned lags (against an independent numpy pooling, and smooth χ4 on the
embedded KA data), the Markdown → HTML rendering, and the page in a real browser (headless
Chromium): it loads, every image decodes, every link resolves; a screenshot is kept."""

from __future__ import annotations

import base64
import io
import os
import pathlib
import re
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import polars as pl
import pytest

import glassrs as gr
from glassrs.report.html import render
from glassrs.report.logbin import log_bin, log_edges, roughness


# ----------------------------------------------------------------------------- log-binned lags
def _table(seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    lags = np.unique(np.concatenate([[0.0], rng.uniform(0.01, 100.0, 300), np.geomspace(0.005, 0.05, 7)]))
    n_o = rng.integers(3, 40, lags.size)
    parts = []
    for s in ("all", "A"):
        parts.append(pl.DataFrame({"species": s, "lag": lags, "n_origins": n_o,
                                   "msd": lags * (1 + 0.1 * rng.standard_normal(lags.size)),
                                   "chi4": rng.uniform(0, 5, lags.size),
                                   "alpha2": np.where(lags > 0, rng.uniform(0, 1, lags.size), np.nan)}))
    return pl.concat(parts)


def test_log_bin_pools_origins_like_numpy():
    tab = _table()
    per = 5
    got = log_bin(tab, per)
    for s in ("all", "A"):
        sub = tab.filter((pl.col("species") == s) & (pl.col("lag") > 0))
        t, w = sub["lag"].to_numpy(), sub["n_origins"].to_numpy().astype(float)
        # independent binning: floor of log10 t × per, origin-weighted means
        b = np.floor(np.log10(t) * per + 1e-12).astype(int)
        g = got.filter(pl.col("species") == s)
        assert g.height == np.unique(b).size
        for row, k in zip(g.iter_rows(named=True), np.unique(b)):
            m = b == k
            assert row["lag_lo"] == pytest.approx(10 ** (k / per)) and row["lag_hi"] == pytest.approx(10 ** ((k + 1) / per))
            assert row["lag_lo"] <= row["lag"] <= row["lag_hi"]
            assert row["n_lags"] == m.sum() and row["n_origins"] == w[m].sum()
            assert row["lag"] == pytest.approx(np.exp(np.average(np.log(t[m]), weights=w[m])))
            for c in ("msd", "chi4", "alpha2"):
                assert row[c] == pytest.approx(np.average(sub[c].to_numpy()[m], weights=w[m]))
    # lag 0 has no place on a log axis; a common grid for tables binned separately
    assert (got["lag"] > 0).all()
    e = log_edges(tab["lag"].to_numpy(), per)
    assert np.allclose(np.log10(e) * per, np.round(np.log10(e) * per))
    assert log_bin(tab.filter(pl.col("lag") < 1), edges=e)["lag_lo"].is_in(e.tolist()).all()
    with pytest.raises(ValueError, match="n_origins"):
        log_bin(tab.drop("n_origins"))


def test_roughness_measure():
    x = np.linspace(-3, 3, 200)
    bump = np.exp(-x * x)
    assert roughness(bump) == pytest.approx(1.0)
    assert roughness(np.linspace(1, 0, 50)) == pytest.approx(1.0)
    noisy = bump + 0.05 * np.random.default_rng(1).standard_normal(x.size)
    assert roughness(noisy) > 3


@pytest.mark.parametrize("T", [0.6, 0.8])
def test_report_chi4_is_smooth_on_the_embedded_data(T):
    """The smoothness measure: roughness R = Σ|Δχ4| / (2 max χ4 − χ4_first − χ4_last), 1 for a
    curve that rises to one peak and falls. Lag by lag χ4 of the embedded KA data is a noise band
    (R ≈ 23 at T = 0.8, ≈ 38 at T = 0.6); log-binned (8 bins per decade, the report's) R ≈ 1.05."""
    tab = gr.dynamics.correlations(gr.datasets.kob_andersen(T, progress=False), progress=False)
    binned = log_bin(tab)
    raw = tab.filter((pl.col("species") == "all") & (pl.col("lag") > 0)).sort("lag")["chi4"].to_numpy()
    smooth = binned.filter(pl.col("species") == "all")["chi4"].to_numpy()
    assert roughness(raw) > 10
    assert roughness(smooth) < 1.15
    assert roughness(binned.filter(pl.col("species") == "all")["alpha2"].to_numpy()) < 1.15
    assert 25 <= smooth.size <= 45  # ~5 decades of lags at 8 per decade


# ----------------------------------------------------------------------------- Markdown → HTML
def _png(path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1], [1, 0])
    fig.savefig(path, dpi=50)
    plt.close(fig)


def test_render_subset(tmp_path):
    _png(tmp_path / "f.png")
    md = ("# glassrs report\n\n## Data & more\n\nA *short* paragraph with `code`,\n**bold** text.\n\n"
          "| a | b |\n|---|---|\n| x<y | 1.5 |\n\n- one\n- two\n\n> ⚠ VFT: 1 degree of freedom.\n\n"
          "![a figure](f.png)\n\n## Data & more\n")
    page = render(md, str(tmp_path))
    assert page.startswith("<!DOCTYPE html>")
    assert "<table>" in page and "<th>a</th>" in page and '<td class="num">1.5</td>' in page
    assert "<td>x&lt;y</td>" in page  # escaped
    assert "<em>short</em>" in page and "<code>code</code>" in page and "<strong>bold</strong>" in page
    assert "<ul><li>one</li><li>two</li></ul>" in page
    assert '<p class="warning">⚠ VFT: 1 degree of freedom.</p>' in page
    assert 'id="data-more"' in page and 'id="data-more-2"' in page and 'href="#data-more-2"' in page
    m = re.search(r'<img src="data:image/png;base64,([^"]+)" alt="a figure">', page)
    assert m and base64.b64decode(m[1]) == (tmp_path / "f.png").read_bytes()
    assert "f.png" not in page.replace('alt="a figure"', "")  # no file reference left


# ----------------------------------------------------------------------------- the page in a browser
class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.hrefs, self.imgs = set(), [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and "href" in a:
            self.hrefs.append(a["href"])
        if tag == "img":
            self.imgs.append(a.get("src", ""))


_CHECK = """<script>window.addEventListener('load', () => {
  const imgs = [...document.images];
  const bad = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).length;
  const d = document.createElement('div'); d.id = 'glassrs-check';
  d.textContent = 'images=' + imgs.length + ' broken=' + bad + ' tables=' + document.querySelectorAll('table').length;
  document.body.appendChild(d);
});</script>"""


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _check_in_browser(page_path, tmp_path, name: str) -> str:
    """Load the page in headless Chromium; assert it loads, every image decodes and every link
    resolves; keep a screenshot (copied to $GLASSRS_ARTIFACTS when set). Returns the page."""
    browser = _chromium()
    if browser is None:
        pytest.skip("headless Chromium not installed (Debian: apt-get install -y chromium; .ci/run does it)")
    html = open(page_path, encoding="utf-8").read()
    # every image decodes in Python as well
    from PIL import Image
    p = _Page()
    p.feed(html)
    assert p.imgs, "the page embeds no figure"
    for src in p.imgs:
        assert src.startswith("data:image/png;base64,"), src[:60]
        im = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
        im.load()
        assert im.size[0] > 50 and im.size[1] > 50
    # no broken link: in-page anchors that exist, or files that exist
    for h in p.hrefs:
        if h.startswith("#"):
            assert h[1:] in p.ids, f"broken anchor {h}"
        else:
            assert not re.match(r"^[a-z]+://", h), f"external link {h}"
            assert os.path.exists(os.path.join(os.path.dirname(page_path), h)), f"broken link {h}"
    probe = tmp_path / f"{name}-probe.html"
    probe.write_text(html.replace("</body>", _CHECK + "\n</body>"), encoding="utf-8")
    flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
             "--virtual-time-budget=10000"]
    dom = subprocess.run([browser, *flags, "--dump-dom", probe.as_uri()], capture_output=True, text=True,
                         timeout=180)
    m = re.search(r'<div id="glassrs-check">images=(\d+) broken=(\d+) tables=(\d+)</div>', dom.stdout)
    assert m, f"the page did not load in Chromium: {dom.stderr[-2000:]}"
    assert int(m[1]) == len(p.imgs) and int(m[2]) == 0, m[0]
    assert int(m[3]) == html.count("<table>") > 0
    shot = tmp_path / f"{name}.png"
    subprocess.run([browser, *flags, "--window-size=1280,2400", f"--screenshot={shot}",
                    pathlib.Path(page_path).resolve().as_uri()], capture_output=True, timeout=180)
    assert shot.exists() and shot.stat().st_size > 10_000
    with Image.open(shot) as im:
        assert im.size == (1280, 2400)
        assert len(im.convert("L").getcolors(1 << 16) or []) > 20  # not a blank page
    dest = os.environ.get("GLASSRS_ARTIFACTS")
    if dest:
        os.makedirs(dest, exist_ok=True)
        shutil.copy(shot, os.path.join(dest, shot.name))
    return html


def test_report_html_in_chromium_user_trajectories(tmp_path):
    """User trajectory files with temperatures (FILE:T=…, the CLI) → report.html."""
    from glassrs.cli import main

    if _chromium() is None:
        pytest.skip("headless Chromium not installed (Debian: apt-get install -y chromium; .ci/run does it)")
    specs = []
    for T in (1.0, 0.8, 0.7):
        path = tmp_path / f"ka{T:g}.npz"
        gr.md.save_npz(gr.datasets.kob_andersen(T, progress=False), str(path))
        specs.append(f"{path}:T={T}")
    out = tmp_path / "rep"
    assert main(["report", *specs, "--quiet", "--out", str(out)]) == 0
    html = _check_in_browser(str(out / "report.html"), tmp_path, "report-user-trajectories")
    md = (out / "report.md").read_text()
    # the HTML carries the Markdown's sections, figures and tables
    assert md.count("![") == html.count("<img ") >= 6
    for heading in ("Data", "Static structure", "Dynamics"):
        assert f">{heading}</h2>" in html and f'href="#{heading.lower().replace(" ", "-")}"' in html
    assert "through 3 temperatures" in md and '<p class="warning">⚠ VFT: 3 temperatures' in html
    assert "Linear fits" in md and "γ′" in md


def test_report_html_in_chromium_default_campaign(tmp_path):
    """The embedded default (the shipped ka-default campaign, run once and cached) → report.html
    with the per-trajectory and the campaign figures."""
    from glassrs.report import make_report

    if _chromium() is None:
        pytest.skip("headless Chromium not installed (Debian: apt-get install -y chromium; .ci/run does it)")
    md_path = make_report(None, out=str(tmp_path / "rep"))
    html = _check_in_browser(os.path.join(os.path.dirname(md_path), "report.html"), tmp_path, "report-campaign")
    assert "Campaign results" in html and html.count("<img ") >= 10
