"""`replay_sync/replay_index` loaded the Dagster way after a character is indexed: exactly the
published rows (pandas and pyarrow) from a local lake and from S3 over HTTP, a downstream
`AssetIn` of several characters concatenated, and a character never indexed a clear error."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest
from dagster import (
    AllPartitionMapping,
    AssetKey,
    Definitions,
    materialize,
)

from assets.replay_sync.replay_index import replay_index
from resources.lake import LakeResource
from resources.lake_tables import lake_key
from resources.replay_sync.settings import SLP_INDEX_KEY
from tests.loading import load_error, published, reader_of
from tests.replay_sync.conftest import replay_resources
from tests.replay_sync.test_pipeline import seed_replays

KEY = AssetKey(["replay_sync", "replay_index"])


@pytest.fixture(params=["local", "s3"])
def resources(request, s3_bucket, tmp_path) -> dict:
    resources = replay_resources(s3_bucket, tmp_path)
    if request.param == "s3":
        server = s3_bucket.server
        lake = LakeResource(
            root=f"s3://{s3_bucket.name}/lake",
            endpoint_url=server.endpoint_url,
            region=server.region,
            access_key_id=server.access_key_id,
            secret_access_key=server.secret_access_key,
        )
        resources = resources | {
            "lake": lake,
            "io_manager": resources["io_manager"].model_copy(update={"lake": lake}),
        }
    return resources


def test_a_character_loads_as_exactly_the_published_index(resources, tmp_path, instance):
    seed_replays(tmp_path / "slp", "mewtwo", 3)
    seed_replays(tmp_path / "slp", "fox", 2)
    for character in ("mewtwo", "fox"):
        result = materialize(
            [replay_index], partition_key=character, resources=resources, instance=instance
        )
        assert result.success
    defs = Definitions(assets=[replay_index], resources=resources)
    lake = resources["lake"].lake
    mewtwo = published(lake, lake_key(SLP_INDEX_KEY, "mewtwo"))
    assert mewtwo.num_rows == 3
    frame = defs.load_asset_value(KEY, partition_key="mewtwo", instance=instance)
    pd.testing.assert_frame_equal(frame, mewtwo.to_pandas())
    table = defs.load_asset_value(
        KEY, partition_key="mewtwo", python_type=pa.Table, instance=instance
    )
    assert table.equals(mewtwo)

    # Every character the index has, for an unpartitioned downstream asset.
    reader, seen = reader_of(
        KEY,
        pa.Table,
        "all_indexed_replays",
        partition_mapping=AllPartitionMapping(),
        metadata={"allow_missing_partitions": True},
    )
    result = materialize(
        [replay_index, reader], selection=[reader.key], resources=resources, instance=instance
    )
    assert result.success
    fox = published(lake, lake_key(SLP_INDEX_KEY, "fox"))
    assert seen[0].equals(pa.concat_tables([mewtwo, fox]))  # partition order: mewtwo first

    message = load_error(defs, KEY, partition_key="link", instance=instance)
    assert "replay_sync/replay_index has no partition link" in message
    assert "--select replay_sync/replay_index --partition link" in message
