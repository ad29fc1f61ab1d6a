"""Helpers of the tests that load published data the Dagster way (`load_asset_value`, `AssetIn`):
a downstream asset that records what its input loaded, and the published file read directly."""

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from dagster import AssetIn, AssetKey, MaterializeResult, asset

from resources.lake import Lake, LocalLake
from resources.lake_tables import PartitionNotMaterialized


def published(lake: Lake, key: str) -> pa.Table:
    """The file the asset published, read without the IO manager."""
    if isinstance(lake, LocalLake):
        return pq.ParquetFile(lake.path(key)).read()
    return pq.ParquetFile(pa.BufferReader(lake.read_bytes(key))).read()


def published_file(path: Path) -> pa.Table:
    return pq.ParquetFile(path).read()


def reader_of(upstream: AssetKey, python_type, name: str, **asset_in):
    """A downstream asset whose input `value` (annotated `python_type`) is `upstream`, and the
    list it appends each loaded value to. `asset_in`: `partition_mapping`, `metadata`; and
    `partitions_def` for the reader itself."""
    seen = []
    partitions_def = asset_in.pop("partitions_def", None)

    def body(value) -> MaterializeResult:
        seen.append(value)
        return MaterializeResult(metadata={"rows": len(value)})

    body.__annotations__["value"] = python_type
    reader = asset(
        name=name,
        ins={"value": AssetIn(upstream, **asset_in)},
        partitions_def=partitions_def,
    )(body)
    return reader, seen


def load_error(defs, key: AssetKey, **load) -> str:
    """The message of the PartitionNotMaterialized that `defs.load_asset_value(key, **load)`
    raises. Only the text is kept: a kept traceback holds Dagster's resource generators past the
    test's instance, whose SQLite pool then logs errors when they are collected (dagster#21586)."""
    try:
        defs.load_asset_value(key, **load)
    except PartitionNotMaterialized as exc:
        return str(exc)
    raise AssertionError(f"{key.to_user_string()} loaded, but it was never materialised")


def as_records(frame: pd.DataFrame) -> list[dict]:
    """DataFrame rows as plain values, comparable with psycopg's (NaN as None)."""
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return [
        {k: (v.to_pydatetime() if isinstance(v, pd.Timestamp) else v) for k, v in r.items()}
        for r in records
    ]
