"""agent_observations end to end: materialised by Dagster from the sandbox over HTTP, read back
with the seed-style `ReplayDataset`, local and on an S3 server over HTTP; opt-in in the daily job."""

from __future__ import annotations

import importlib
import io

import numpy as np
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
from dagster import materialize

from assets.replay_mining.observations import OBSERVATION_SCHEMA
from assets.replay_mining.stages import dataset_key, observations_key
from resources.lake import LocalLake
from resources.replay_mining.replay_dataset_reader import ReplayDataset, merge_datasets
from tests.metadata import table_rows
from tests.replay_mining.conftest import DAY, VERSION_DAYS, make_resources
from tests.replay_mining.test_pipeline import REPLAY_MINING_ASSETS

OLD_DAY = next(d for d, v in VERSION_DAYS.items() if v == 3)


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """DAY (version 4) and a version-3 day, materialised once into a local lake."""
    from sandboxes.serving import serve_in_background
    from sandboxes.stats_server import StatsServerSandbox
    from tests.replay_mining.conftest import small_config

    lake_root = tmp_path_factory.mktemp("lake")
    app = StatsServerSandbox(small_config())
    with serve_in_background(app) as server:
        app.base_url = server.url
        results = {
            day: materialize(
                REPLAY_MINING_ASSETS,
                partition_key=day.isoformat(),
                resources=make_resources(server.url, str(lake_root)),
            )
            for day in (DAY, OLD_DAY)
        }
    return lake_root, results


def read(lake_root, key):
    return pq.read_table(io.BytesIO(LocalLake(lake_root).read_bytes(key)))


def test_one_observation_row_per_dataset_row_with_the_same_action(published):
    lake_root, results = published
    assert results[DAY].success
    observations = read(lake_root, observations_key(DAY))
    dataset = read(lake_root, dataset_key(DAY))
    assert observations.schema.equals(OBSERVATION_SCHEMA)
    assert observations.num_rows == dataset.num_rows
    for column in ("episode_id", "agent_id", "step", "action_id", "action_name"):
        assert observations.column(column).equals(dataset.column(column)), column
    # Every alive row from step 1 on has its observation; step 0 and absent rows have none.
    rebuilt = pc.equal(observations.column("obs_source"), "rebuilt").to_numpy(zero_copy_only=False)
    expected = (dataset.column("step").to_numpy() > 0) & dataset.column("alive").to_numpy(
        zero_copy_only=False
    )
    assert np.array_equal(rebuilt, expected)
    assert observations.column("observation").null_count == int((~rebuilt).sum())
    materialization = results[DAY].asset_materializations_for_node(
        "replay_mining__agent_observations"
    )[0]
    metadata = materialization.metadata
    assert metadata["rows_rebuilt"].value == int(rebuilt.sum())
    assert metadata["tokens_per_observation"].value > 10


def test_older_versions_are_skipped_with_their_reason(published):
    lake_root, results = published
    assert results[OLD_DAY].success
    assert read(lake_root, observations_key(OLD_DAY)).num_rows == 0
    metadata = (
        results[OLD_DAY]
        .asset_materializations_for_node("replay_mining__agent_observations")[0]
        .metadata
    )
    rows = table_rows(metadata["skipped_replays_reasons"])
    assert metadata["skipped_replays"].value >= 5 and rows
    assert all("a version-3 replay without policy_env_interface" in r["reason"] for r in rows)


def test_the_seed_reader_reads_a_day_with_its_constructor_and_item_shape(published):
    lake_root, _ = published
    ds = ReplayDataset(
        start_date=DAY.isoformat(), end_date=DAY.isoformat(), base_path=str(lake_root)
    )
    observations = read(lake_root, observations_key(DAY))
    assert len(ds) == pc.sum(pc.equal(observations.column("obs_source"), "rebuilt")).as_py()
    item = ds[0]
    assert set(item) == {"observation", "action", "agent_id", "episode_id", "timestep"}
    assert item["observation"].dtype == np.uint8 and item["observation"].shape[1] == 3
    assert item["timestep"] >= 1
    # Filters are pushed down: one agent, from step 10 on.
    only = ReplayDataset(
        dates=[DAY], base_path=str(lake_root), filters={"agent_id": 1, "min_step": 10}
    )
    assert len(only) and {only[i]["agent_id"] for i in range(len(only))} == {1}
    assert min(only[i]["timestep"] for i in range(len(only))) == 10
    # Batches for a trainer: padded with the simulator's empty token, all rows once.
    seen = 0
    for batch in ds.batches(batch_size=100):
        assert batch["observation"].ndim == 3 and batch["observation"].shape[2] == 3
        assert len(batch["action"]) == len(batch["episode_id"]) <= 100
        seen += len(batch["action"])
    assert seen == len(ds)
    # merge_datasets joins datasets as the seed's did; a day not materialized reads empty.
    missing = ReplayDataset(start_date="2026-11-02", base_path=str(lake_root))
    assert len(missing) == 0
    assert len(merge_datasets(ds, only, missing)) == len(ds) + len(only)


def test_the_reader_reads_from_s3(published, s3_bucket):
    lake_root, _ = published
    key = observations_key(DAY)
    s3_bucket.client().put_object(
        Bucket=s3_bucket.name, Key=f"lake/{key}", Body=LocalLake(lake_root).read_bytes(key)
    )
    server = s3_bucket.server
    filesystem = pafs.S3FileSystem(
        access_key=server.access_key_id, secret_key=server.secret_access_key,
        region=server.region, endpoint_override=server.endpoint_url.removeprefix("http://"),
        scheme="http",
    )  # fmt: skip
    remote = ReplayDataset(
        dates=[DAY], base_path=f"s3://{s3_bucket.name}/lake", filesystem=filesystem
    )
    local = ReplayDataset(dates=[DAY], base_path=str(lake_root))
    assert len(remote) == len(local) and remote[5]["action"] == local[5]["action"]
    assert np.array_equal(remote[5]["observation"], local[5]["observation"])


def test_the_daily_job_builds_observations_only_where_turned_on(monkeypatch):
    import schedules.replay_mining as schedule

    def selected() -> set[str]:
        job = importlib.reload(schedule).replay_mining_dataset_job
        return {k.path[-1] for k in job.selection.resolve(REPLAY_MINING_ASSETS)}

    monkeypatch.delenv("REPLAY_OBSERVATIONS", raising=False)
    assert "agent_observations" not in selected() and "replay_dataset" in selected()
    monkeypatch.setenv("REPLAY_OBSERVATIONS", "1")
    assert "agent_observations" in selected()
    monkeypatch.delenv("REPLAY_OBSERVATIONS")
    importlib.reload(schedule)
