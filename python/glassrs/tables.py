"""Polars result tables with their parameters attached.

Every result is a long-format :class:`polars.DataFrame`. The parameters that produced it
(closure, windows, δ, a, L, …) travel with it: ``glassrs.params(df)`` returns them, and
``glassrs.write_parquet`` stores them in the Parquet schema metadata (key ``glassrs``) so
``glassrs.read_parquet`` restores them. Polars operations return new frames without the
parameters — keep the original or write it out.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

import numpy as np
import polars as pl

_ATTR = "_glassrs_params"
_KEY = "glassrs"


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return _jsonable(v.tolist())
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return str(v)


def make_table(df: pl.DataFrame | dict, params: dict[str, Any]) -> pl.DataFrame:
    """Build (or tag) a DataFrame and attach ``params`` (JSON-serialisable) to it."""
    if not isinstance(df, pl.DataFrame):
        df = pl.DataFrame(df)
    setattr(df, _ATTR, _jsonable(params))
    return df


def params(df: pl.DataFrame) -> dict[str, Any]:
    """Parameters recorded on a glassrs result table ({} if none)."""
    return dict(getattr(df, _ATTR, {}) or {})


def write_parquet(df: pl.DataFrame, path: str | os.PathLike, params_: dict | None = None) -> None:
    """Write atomically (temporary file + rename) with the parameters in the schema metadata.

    ``params_`` overrides the table's own parameters. A table that carries none (a plain
    DataFrame, or a glassrs table after a Polars operation such as ``filter``, which drops them)
    is written with ``{"params_missing": true}`` and a ``UserWarning`` — never as if ``{}`` were
    its complete parameters; pass ``params_=glassrs.params(original)`` to keep them. The file
    gets mode 0666 less the process umask."""
    path = os.fspath(path)
    if params_ is None:
        meta = params(df)
        if not meta:
            import warnings
            warnings.warn(f"{path}: the table carries no glassrs parameters (Polars operations such as filter or "
                          "select drop them); writing it with params_missing=true — pass "
                          "params_=glassrs.params(original_table) to keep them", UserWarning, stacklevel=2)
            meta = {"params_missing": True}
    else:
        meta = _jsonable(params_)
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".glassrs-", suffix=".parquet.tmp", dir=d)
    os.close(fd)
    try:
        df.write_parquet(tmp, metadata={_KEY: json.dumps(meta)})
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_parquet(path: str | os.PathLike) -> pl.DataFrame:
    """Read a Parquet file written by :func:`write_parquet`, restoring its parameters."""
    df = pl.read_parquet(path)
    meta = pl.read_parquet_metadata(path)
    raw = meta.get(_KEY)
    return make_table(df, json.loads(raw) if raw else {})


@pl.api.register_dataframe_namespace("glass")
class GlassFrame:
    """``df.glass.params`` and ``df.glass.write_parquet(path)``."""

    def __init__(self, df: pl.DataFrame):
        self._df = df

    @property
    def params(self) -> dict[str, Any]:
        return params(self._df)

    def write_parquet(self, path: str | os.PathLike) -> None:
        write_parquet(self._df, path)
