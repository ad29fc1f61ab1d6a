"""The replay index and dataset loaded the Dagster way after a day is materialised against the
stats-server sandbox: `defs.load_asset_value(...)` and a downstream `AssetIn` give exactly the
published rows (pandas and pyarrow), from a local lake and from S3 over HTTP; a day never
materialised is a clear error; the IO manager writes nothing."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pytest
from dagster import (
    AssetKey,
    DagsterInstance,
    Definitions,
    TimeWindowPartitionMapping,
    build_output_context,
    load_assets_from_package_module,
    materialize,
)

import assets.replay_mining
from assets.replay_mining.spec import SPEC, daily_partitions
from assets.replay_mining.stages import dataset_key, index_key
from tests.loading import load_error, published, reader_of
from tests.replay_mining.conftest import DAY, make_resources

ASSETS = load_assets_from_package_module(assets.replay_mining)
DATASET, INDEX = SPEC.key("replay_dataset"), SPEC.key("replay_index")
DAY_BEFORE = DAY - dt.timedelta(days=1)  # a version-3 day of the sandbox
NEVER = DAY + dt.timedelta(days=3)


def s3_settings(s3_bucket) -> dict:
    server = s3_bucket.server
    return dict(
        endpoint_url=server.endpoint_url,
        region=server.region,
        access_key_id=server.access_key_id,
        secret_access_key=server.secret_access_key,
    )


@pytest.fixture(params=["local", "s3"])
def lake_resources(request, stats_sandbox, tmp_path) -> dict:
    """The code location's resources on the sandbox, with the lake in a folder or on S3."""
    _, url = stats_sandbox
    if request.param == "local":
        return make_resources(url, str(tmp_path / "lake"))
    s3_bucket = request.getfixturevalue("s3_bucket")
    return make_resources(url, f"s3://{s3_bucket.name}/lake", **s3_settings(s3_bucket))


def materialise(resources: dict, instance: DagsterInstance, *days: dt.date) -> None:
    for day in days:
        result = materialize(
            ASSETS, partition_key=day.isoformat(), resources=resources, instance=instance
        )
        assert result.success


def test_a_day_loads_as_exactly_the_published_rows(lake_resources, instance):
    materialise(lake_resources, instance, DAY)
    defs = Definitions(assets=ASSETS, resources=lake_resources)
    lake = lake_resources["lake"].lake
    for key, lake_path in ((DATASET, dataset_key(DAY)), (INDEX, index_key(DAY))):
        expected = published(lake, lake_path)
        assert expected.num_rows > 0
        frame = defs.load_asset_value(key, partition_key=DAY.isoformat(), instance=instance)
        assert isinstance(frame, pd.DataFrame)
        pd.testing.assert_frame_equal(frame, expected.to_pandas())
        table = defs.load_asset_value(
            key, partition_key=DAY.isoformat(), python_type=pa.Table, instance=instance
        )
        assert isinstance(table, pa.Table) and table.equals(expected)
        assert table.schema.equals(expected.schema, check_metadata=True)


def test_a_downstream_asset_reads_the_days_it_depends_on(lake_resources, instance):
    materialise(lake_resources, instance, DAY_BEFORE, DAY)
    lake = lake_resources["lake"].lake
    # One day as pandas; the day and the one before as one pyarrow table, in partition order.
    one_day, seen_frames = reader_of(
        DATASET, pd.DataFrame, "episode_steps", partitions_def=daily_partitions
    )
    two_days, seen_tables = reader_of(
        DATASET,
        pa.Table,
        "two_day_steps",
        partitions_def=daily_partitions,
        partition_mapping=TimeWindowPartitionMapping(start_offset=-1),
    )
    result = materialize(
        [*ASSETS, one_day, two_days],
        selection=[one_day.key, two_days.key],
        partition_key=DAY.isoformat(),
        resources=lake_resources,
        instance=instance,
    )
    assert result.success
    day, before = published(lake, dataset_key(DAY)), published(lake, dataset_key(DAY_BEFORE))
    pd.testing.assert_frame_equal(seen_frames[0], day.to_pandas())
    assert seen_tables[0].equals(pa.concat_tables([before, day]))
    assert before.num_rows and day.num_rows


def test_input_metadata_picks_columns_and_skips_missing_days(stats_sandbox, tmp_path, instance):
    _, url = stats_sandbox
    resources = make_resources(url, str(tmp_path / "lake"))
    materialise(resources, instance, DAY)
    week, seen = reader_of(
        DATASET,
        pa.Table,
        "sparse_week",
        partitions_def=daily_partitions,
        partition_mapping=TimeWindowPartitionMapping(start_offset=-6),
        metadata={"columns": ["episode_id", "step"], "allow_missing_partitions": True},
    )
    result = materialize(
        [*ASSETS, week],
        selection=[week.key],
        partition_key=DAY.isoformat(),
        resources=resources,
        instance=instance,
    )
    assert result.success
    expected = published(resources["lake"].lake, dataset_key(DAY)).select(["episode_id", "step"])
    assert seen[0].equals(expected)  # the one day materialised of the seven


def test_a_day_never_materialised_names_the_asset_the_day_and_the_command(
    stats_sandbox, tmp_path, instance
):
    _, url = stats_sandbox
    resources = make_resources(url, str(tmp_path / "lake"))
    materialise(resources, instance, DAY)
    defs = Definitions(assets=ASSETS, resources=resources)
    message = load_error(defs, DATASET, partition_key=NEVER.isoformat(), instance=instance)
    assert f"replay_mining/replay_dataset has no partition {NEVER.isoformat()}" in message
    assert (
        "dagster asset materialize -m pipelines.replay_mining --select "
        f"replay_mining/replay_dataset --partition {NEVER.isoformat()}"
    ) in message
    assert str(tmp_path / "lake" / dataset_key(NEVER)) in message  # where it looked
    assert "storage" not in message and "pickle" not in message

    with pytest.raises(ValueError, match=r"is partitioned: load one partition.*partition_key="):
        defs.load_asset_value(DATASET, instance=instance)

    # Inside a run, the same message fails the downstream step.
    reader, _ = reader_of(
        DATASET, pd.DataFrame, "reads_a_missing_day", partitions_def=daily_partitions
    )
    result = materialize(
        [*ASSETS, reader],
        selection=[reader.key],
        partition_key=NEVER.isoformat(),
        resources=resources,
        instance=instance,
        raise_on_error=False,
    )
    assert not result.success
    [failure] = result.get_step_failure_events()
    assert f"--partition {NEVER.isoformat()}" in str(failure.step_failure_data.error.to_string())


def test_a_range_with_missing_days_lists_them_and_gives_the_range_command(
    stats_sandbox, tmp_path, instance
):
    _, url = stats_sandbox
    resources = make_resources(url, str(tmp_path / "lake"))
    materialise(resources, instance, DAY)
    reader, _ = reader_of(
        DATASET,
        pa.Table,
        "reads_three_days",
        partitions_def=daily_partitions,
        partition_mapping=TimeWindowPartitionMapping(start_offset=-2),
    )
    result = materialize(
        [*ASSETS, reader],
        selection=[reader.key],
        partition_key=(DAY + dt.timedelta(days=2)).isoformat(),
        resources=resources,
        instance=instance,
        raise_on_error=False,
    )
    assert not result.success
    error = result.get_step_failure_events()[0].step_failure_data.error.to_string()
    after, later = DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=2)
    assert f"2 of the 3 partitions asked for never materialised: {after}, {later}" in error
    assert f"--partition-range {after}...{later}" in error


def test_the_io_manager_never_writes(stats_sandbox, tmp_path):
    _, url = stats_sandbox
    resources = make_resources(url, str(tmp_path / "lake"))
    io_manager = resources["io_manager"]
    context = build_output_context(asset_key=DATASET, partition_key=DAY.isoformat())
    io_manager.handle_output(context, None)  # what a MaterializeResult-returning asset gives
    assert not (tmp_path / "lake").exists()  # nothing written, not even a folder
    with pytest.raises(TypeError, match="publish their own data and return a MaterializeResult"):
        io_manager.handle_output(context, pd.DataFrame({"a": [1]}))
    assert not (tmp_path / "lake").exists()


def test_an_asset_without_a_table_says_which_assets_load():
    defs = Definitions(assets=ASSETS, resources=make_resources("http://127.0.0.1:9", "unused"))
    with pytest.raises(LookupError, match="replay_mining/raw_replays publishes no table"):
        defs.load_asset_value(
            AssetKey(["replay_mining", "raw_replays"]), partition_key="2026-11-10"
        )
