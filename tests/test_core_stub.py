"""The hand-written ``_core.pyi`` matches the native module: same names, and for every function
and method the same parameter names in the same order with the same defaults (pydantic-core's
practice)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import glassrs._core as core

STUB = Path(__file__).resolve().parents[1] / "python" / "glassrs" / "_core.pyi"


def _stub():
    tree = ast.parse(STUB.read_text())
    funcs, classes, names = {}, {}, set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            funcs[node.name] = node
        elif isinstance(node, ast.ClassDef):
            classes[node.name] = {n.name: n for n in node.body if isinstance(n, ast.FunctionDef)}
        elif isinstance(node, ast.AnnAssign):
            names.add(node.target.id)
    return funcs, classes, names


def _stub_params(fn: ast.FunctionDef) -> list[tuple[str, object]]:
    a = fn.args
    pos = a.posonlyargs + a.args
    defaults = [None] * (len(pos) - len(a.defaults)) + list(a.defaults)
    out = [(p.arg, d) for p, d in zip(pos, defaults)] + list(zip([p.arg for p in a.kwonlyargs], a.kw_defaults))
    out = [(n, d) for n, d in out if n != "self"]
    return [(n, "<required>" if d is None else ast.literal_eval(d)) for n, d in out]


def _native_params(obj) -> list[tuple[str, object]] | None:
    try:
        sig = inspect.signature(obj)
    except (ValueError, TypeError):
        return None
    out = []
    for p in sig.parameters.values():
        if p.name == "self":
            continue
        d = "<required>" if p.default is inspect.Parameter.empty else p.default
        out.append((p.name, d))
    return out


def _same(native, stub) -> bool:
    """Equal names and defaults; a Rust default that is an expression (e.g. NThreads(None),
    DEFAULT_CHUNKS) shows as ``...`` in the native signature and matches any stub default."""
    return len(native) == len(stub) and all(
        n == m and (d is Ellipsis or d == e) for (n, d), (m, e) in zip(native, stub))


def test_stub_names_match_module():
    funcs, classes, names = _stub()
    public = {k for k in dir(core) if not k.startswith("_") or k == "__version__"}
    assert public == set(funcs) | set(classes) | names


def test_stub_signatures_match_module():
    funcs, classes, _ = _stub()
    mismatches = []
    for name, fn in funcs.items():
        got = _native_params(getattr(core, name))
        if got is not None and not _same(got, _stub_params(fn)):
            mismatches.append((name, got, _stub_params(fn)))
    for cname, methods in classes.items():
        cls = getattr(core, cname)
        for mname, fn in methods.items():
            if mname.startswith("__") and mname != "__init__":
                continue
            target = cls if mname == "__init__" else getattr(cls, mname, None)
            assert target is not None, f"{cname}.{mname} is in the stub but not in the module"
            if isinstance(inspect.getattr_static(cls, mname, None), property) or not callable(target):
                continue
            got = _native_params(target)
            if got is not None and not _same(got, _stub_params(fn)):
                mismatches.append((f"{cname}.{mname}", got, _stub_params(fn)))
    assert not mismatches, "\n".join(f"{n}: module {g} != stub {s}" for n, g, s in mismatches)
