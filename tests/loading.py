"""Helpers of the tests that load published data the Dagster way (`load_asset_value`, `AssetIn`):
a downstream asset that records what its input loaded, and the published file read directly."""

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from dagster import AssetIn, AssetKey, MaterializeResult, asset

from resources.lake import Lake, LocalLake


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
