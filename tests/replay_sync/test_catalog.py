"""The catalog's column schema of replay_sync/replay_index is the schema of the file a run
writes; the run records its row count and where it wrote."""

from __future__ import annotations

import pyarrow.parquet as pq
from dagster import AssetKey, DagsterInstance, materialize

from assets.catalog import arrow_columns
from assets.replay_sync.bucket_replays import bucket_replays
from assets.replay_sync.replay_index import replay_index
from tests.replay_sync.test_pipeline import materialization, seed_replays


def test_index_file_has_the_catalogs_column_schema(resources, tmp_path):
    seed_replays(tmp_path / "slp", "mewtwo", 2)
    result = materialize(
        [bucket_replays, replay_index],
        partition_key="mewtwo",
        resources=resources,
        instance=DagsterInstance.ephemeral(),
    )
    path = tmp_path / "lake/datasets/slp_index/mewtwo.parquet"
    spec = replay_index.specs_by_key[AssetKey(["replay_sync", "replay_index"])]
    assert arrow_columns(pq.read_schema(path)) == spec.metadata["dagster/column_schema"]
    metadata = materialization(result, "replay_index")
    assert metadata["dagster/row_count"].value == pq.read_metadata(path).num_rows == 2
    assert metadata["dagster/uri"].value == str(path)
