"""Campaigns: state-point sweeps and isoconfigurational campaigns on Dask, one Parquet dataset.

>>> import glassrs as gr
>>> gr.campaign.run("plan.toml", out="data/")            # embedded LocalCluster; resumable
>>> ds = gr.campaign.open("data/")                        # Dataset: one LazyFrame per quantity
>>> ds["relaxation"].filter(pl.col("species") == "all").collect()
>>> gr.campaign.reduce.tau_alpha(ds["relaxation"])        # mean over configurations with CIs

* :mod:`glassrs.campaign.plan` — the plan (TOML or dict) and its validation.
* :mod:`glassrs.campaign.tasks` — what each task computes and writes.
* :mod:`glassrs.campaign.runner` — the task graph, the manifest, resume, Dask execution.
* :mod:`glassrs.campaign.dataset` — reading the dataset back as Polars LazyFrames.
* :mod:`glassrs.campaign.reduce` — reductions with bootstrap intervals over configurations.
* :mod:`glassrs.campaign.schema` — the quantities, their columns and units.
"""

from glassrs.campaign import reduce, schema
from glassrs.campaign.dataset import Dataset, open, status
from glassrs.campaign.plan import PlanError, load as load_plan, shipped_plan, shipped_plans
from glassrs.campaign.runner import CampaignError, Summary, run

__all__ = ["run", "open", "status", "Dataset", "PlanError", "CampaignError", "Summary", "load_plan", "reduce", "schema", "shipped_plan", "shipped_plans"]
