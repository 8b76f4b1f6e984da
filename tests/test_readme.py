"""The README's Python blocks run as written (in a temporary folder, in order, in one namespace)
and it keeps exactly two set-up commands."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_exactly_the_two_setup_commands():
    text = README.read_text()
    setup = text[text.index("## Set up on a fresh machine"):text.index("## Quick tour")]
    cmds = re.findall(r"```bash\n(.*?)```", setup, flags=re.S)
    assert [c.strip() for c in cmds] == ['pip install . && python -m glassrs report',
                                         'pip install ".[test]" && cargo test && python -m pytest']


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = _blocks("python")
    assert blocks, "README has no python block"
    ns: dict = {}
    for k, code in enumerate(blocks):
        exec(compile(code, f"README.md python block {k}", "exec"), ns)
    # the tour's results are what it says they are
    assert ns["traj"].species == ("A", "B") and ns["G"] > 0 and ns["tau"] > 0
    assert set(ns["per_species"]["species"]) == {"A", "B"}
