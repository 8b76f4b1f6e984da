"""Reading a campaign dataset back: one Polars LazyFrame per quantity, and the task status.

>>> ds = gr.campaign.open("data/")
>>> ds.quantities                       # ['dynamics', 'relaxation', 'rdf', ...] (those with data)
>>> lf = ds["relaxation"]               # LazyFrame: system, T, config, species, tau_alpha, ...
>>> lf.filter(pl.col("species") == "all").group_by("system", "T").agg(pl.col("tau_alpha").mean()).collect()
>>> ds.plan, ds.manifest                # the plan that produced it; per-task status and hashes

Every LazyFrame is a ``scan_parquet`` over ``DIR/<quantity>/**/part-*.parquet`` with hive
partitioning and the explicit schema of :mod:`glassrs.campaign.schema` (``T`` reads back as
Float64, ``config`` as Int64), so filters on partitions prune files. Parameters live in the
dataset (``manifest.json``: plan, version, seeds), not on DataFrame objects.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

import polars as pl

from glassrs.campaign import plan as plan_mod
from glassrs.campaign import schema
from glassrs.campaign.runner import MANIFEST, is_done, read_manifest, tasks_of


@dataclass
class Dataset:
    """A campaign dataset folder: ``ds[quantity]`` is a LazyFrame over all its partitions."""

    path: str
    manifest: dict

    @property
    def plan(self) -> dict:
        return self.manifest.get("plan", {})

    @property
    def quantities(self) -> list[str]:
        """The quantities that have data in this dataset."""
        return [q for q in schema.QUANTITIES if _files(self.path, q)]

    def __getitem__(self, quantity: str) -> pl.LazyFrame:
        schema.columns(quantity)  # ValueError for an unknown quantity
        if not _files(self.path, quantity):
            raise KeyError(f"{self.path}: no '{quantity}' data (quantities with data: {self.quantities})")
        return pl.scan_parquet(os.path.join(self.path, quantity, "**", "part-*.parquet"),
                               hive_partitioning=True, hive_schema=schema.partitions(quantity),
                               schema=schema.columns(quantity), missing_columns="raise") \
            .select(list(schema.full_schema(quantity)))

    def __contains__(self, quantity: str) -> bool:
        return quantity in self.quantities

    def collect(self, quantity: str) -> pl.DataFrame:
        """``ds[quantity].collect()``."""
        return self[quantity].collect()


def _files(path: str, quantity: str) -> bool:
    d = os.path.join(path, quantity)
    return os.path.isdir(d) and any(f.startswith("part-") and f.endswith(".parquet")
                                    for _, _, fs in os.walk(d) for f in fs)


def open(path: str | os.PathLike) -> Dataset:  # noqa: A001 - mirrors gsd.hoomd.open / xarray.open_dataset
    """Open the campaign dataset in ``path`` (raises FileNotFoundError when it has no manifest)."""
    path = os.fspath(path)
    if not os.path.exists(os.path.join(path, MANIFEST)):
        raise FileNotFoundError(f"{path}: not a glassrs campaign dataset (no {MANIFEST})")
    return Dataset(path, read_manifest(path))


def status(source: str | os.PathLike | Mapping, *, verify: bool = False) -> pl.DataFrame:
    """Task status of a campaign: a dataset folder (what has run), or a plan (TOML/dict, what
    would run). One row per task: task, kind, system, T, config, status (done | pending |
    failed | blocked | cancelled), seconds (measured), projected_seconds (single-core cost
    model, or the measured mean of done tasks of the same kind and system), error."""
    if isinstance(source, Mapping):
        p, manifest, out = plan_mod.load(source), {}, None
    else:
        src = os.fspath(source)
        if os.path.isdir(src):
            manifest, out = read_manifest(src), src
            if not manifest:
                raise FileNotFoundError(f"{src}: not a glassrs campaign dataset (no {MANIFEST})")
            p = manifest["plan"]
        else:
            p, manifest, out = plan_mod.load(src), {}, None
    tasks = tasks_of(p)
    entries = manifest.get("tasks", {})
    rows = []
    for tid, t in tasks.items():
        e = entries.get(tid)
        st = "pending"
        if e is not None:
            st = e.get("status", "pending")
            if st == "done" and (e.get("key") != t.key or (out and not is_done(out, e, t.key, verify))):
                st = "pending"
        rows.append({"task": tid, "kind": t.kind, "system": t.spec["system"]["name"], "T": t.spec["T"],
                     "config": t.spec["config"], "status": st,
                     "seconds": (e or {}).get("seconds") if st == "done" else None,
                     "cost_model_seconds": float(t.cost), "error": (e or {}).get("error")})
    df = pl.DataFrame(rows, schema={"task": pl.String, "kind": pl.String, "system": pl.String, "T": pl.Float64,
                                    "config": pl.Int64, "status": pl.String, "seconds": pl.Float64,
                                    "cost_model_seconds": pl.Float64, "error": pl.String})
    # projection: measured mean per (kind, system) where available, else the cost model
    measured = df.filter(pl.col("status") == "done").group_by("kind", "system").agg(
        pl.col("seconds").mean().alias("_mean"))
    return (df.join(measured, on=["kind", "system"], how="left")
            .with_columns(pl.when(pl.col("status") == "done").then(pl.col("seconds"))
                          .otherwise(pl.coalesce("_mean", "cost_model_seconds")).alias("projected_seconds"))
            .drop("_mean"))
