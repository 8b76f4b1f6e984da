import numpy as np
import polars as pl

import glassrs as gr


def test_parquet_roundtrip_keeps_params(tmp_path):
    df = gr.tables.make_table({"a": np.arange(3), "b": [0.5, 1.5, 2.5]}, {"closure": "hnc", "L": [0.0, 0.5]})
    p = tmp_path / "x.parquet"
    gr.write_parquet(df, p)
    back = gr.read_parquet(p)
    assert back.equals(df)
    assert gr.params(back) == {"closure": "hnc", "L": [0.0, 0.5]}
    assert back.glass.params["closure"] == "hnc"
    assert not list(tmp_path.glob(".glassrs-*"))  # atomic write leaves no temporary
    assert isinstance(back, pl.DataFrame)
