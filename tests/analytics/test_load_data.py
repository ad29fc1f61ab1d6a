"""The rollups loaded the Dagster way after their partitions are materialised on a real
PostgreSQL server: `defs.load_asset_value(...)` and a downstream `AssetIn` give exactly the rows
of the partition's window (pandas and pyarrow, the table's own types); a window never rolled up
is a clear error; an empty window that was rolled up is an empty table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import dagster as dg
import pandas as pd
import pyarrow as pa
import pytest

from assets.analytics.daily_analytics import daily_analytics
from assets.analytics.execution_spans import execution_spans
from assets.analytics.hourly_analytics import hourly_analytics
from assets.analytics.model_usage_stats import model_usage_stats
from assets.analytics.spec import DAILY_PARTITIONS
from resources.analytics.rollup_queries import DAILY, HOURLY, MODEL_USAGE
from resources.lake_tables import PartitionNotMaterialized
from tests.analytics.conftest import load_traffic, rows_in
from tests.loading import as_records, load_error, reader_of

DAY0 = datetime(2024, 11, 9, tzinfo=UTC)
HOUR = "2024-11-09-13:00"
ASSETS = [execution_spans, hourly_analytics, daily_analytics, model_usage_stats]


def materialise(resources, instance, assets, **partition) -> None:
    result = dg.materialize(
        [*ASSETS], selection=assets, resources=resources, instance=instance, **partition
    )
    assert result.success


def whole_day_of_hours() -> dict:
    return {
        "tags": {
            "dagster/asset_partition_range_start": "2024-11-09-00:00",
            "dagster/asset_partition_range_end": "2024-11-09-23:00",
        }
    }


@pytest.fixture
def rolled_up(analytics_resources, analytics_db, instance):
    """A day of generated traffic; its 24 hours rolled up in one run, the day and its model
    usage in another; the instance that recorded them."""
    load_traffic(analytics_db, DAY0, DAY0 + timedelta(days=1), 3_000, seed=21)
    materialise(analytics_resources, instance, [hourly_analytics.key], **whole_day_of_hours())
    materialise(
        analytics_resources,
        instance,
        [daily_analytics.key, model_usage_stats.key],
        partition_key="2024-11-09",
    )
    return dg.Definitions(assets=ASSETS, resources=analytics_resources), instance


@pytest.mark.parametrize(
    ("asset", "rollup", "partition", "start", "end"),
    [
        (hourly_analytics, HOURLY, HOUR, DAY0 + timedelta(hours=13), DAY0 + timedelta(hours=14)),
        (daily_analytics, DAILY, "2024-11-09", DAY0, DAY0 + timedelta(days=1)),
        (model_usage_stats, MODEL_USAGE, "2024-11-09", DAY0, DAY0 + timedelta(days=1)),
    ],
)
def test_a_partition_loads_as_exactly_its_published_rows(
    rolled_up, analytics_db, asset, rollup, partition, start, end, instance
):
    defs, instance = rolled_up
    expected = rows_in(analytics_db, rollup, start, end)
    assert len(expected) > 3
    table = defs.load_asset_value(
        asset.key, partition_key=partition, python_type=pa.Table, instance=instance
    )
    assert isinstance(table, pa.Table) and table.to_pylist() == expected
    # The table's own types: exact decimals, UTC timestamps, dates, 64-bit counts.
    assert table.schema.field("total_cost").type == pa.decimal128(18, 6)
    assert table.schema.field("rolled_up_at").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field(rollup.key_column).type == (
        pa.timestamp("us", tz="UTC") if rollup is HOURLY else pa.date32()
    )
    assert isinstance(table.column("total_cost")[0].as_py(), Decimal)
    frame = defs.load_asset_value(asset.key, partition_key=partition, instance=instance)
    assert isinstance(frame, pd.DataFrame) and as_records(frame) == expected


def test_a_daily_asset_reads_the_24_hours_of_its_day(rolled_up, analytics_db, analytics_resources):
    _, instance = rolled_up
    reader, seen = reader_of(
        hourly_analytics.key, pd.DataFrame, "hours_of_the_day", partitions_def=DAILY_PARTITIONS
    )
    result = dg.materialize(
        [*ASSETS, reader],
        selection=[reader.key],
        partition_key="2024-11-09",
        resources=analytics_resources,
        instance=instance,
    )
    assert result.success
    expected = rows_in(analytics_db, HOURLY, DAY0, DAY0 + timedelta(days=1))
    assert len({r["hour"] for r in expected}) == 24
    assert as_records(seen[0]) == expected


def test_a_window_never_rolled_up_names_the_asset_the_partition_and_the_command(
    rolled_up, instance
):
    defs, instance = rolled_up
    for asset, partition in (
        (hourly_analytics, "2024-11-10-02:00"),
        (daily_analytics, "2024-11-10"),
        (model_usage_stats, "2024-11-10"),
    ):
        message = load_error(defs, asset.key, partition_key=partition, instance=instance)
        name = asset.key.to_user_string()
        assert f"{name} has no partition {partition}: it was never materialised" in message
        assert (
            f"dagster asset materialize -m pipelines.analytics --select {name} "
            f"--partition {partition}"
        ) in message


def test_a_database_the_rollups_never_ran_on_is_a_clear_error(pg_url):
    from tests.analytics.conftest import make_resources

    defs = dg.Definitions(assets=ASSETS, resources=make_resources(pg_url))
    with pytest.raises(PartitionNotMaterialized, match=r"no such table.*--partition 2024-11-09"):
        defs.load_asset_value(daily_analytics.key, partition_key="2024-11-09")


def test_an_empty_window_that_was_rolled_up_loads_as_an_empty_table(
    analytics_resources, analytics_db, monkeypatch, instance
):
    """A quiet hour or day (no spans) was rolled up: it is empty, not missing. The hourly and
    daily rollups leave a watermark; model usage is known from the instance's record."""
    materialise(analytics_resources, instance, [hourly_analytics.key], partition_key=HOUR)
    materialise(
        analytics_resources,
        instance,
        [daily_analytics.key, model_usage_stats.key],
        partition_key="2024-11-09",
    )
    defs = dg.Definitions(assets=ASSETS, resources=analytics_resources)
    for asset, partition in (
        (hourly_analytics, HOUR),
        (daily_analytics, "2024-11-09"),
        (model_usage_stats, "2024-11-09"),
    ):
        frame = defs.load_asset_value(asset.key, partition_key=partition, instance=instance)
        assert frame.empty and "total_cost" in frame.columns
    # Without an instance the watermarks still tell; model usage cannot be told from never.
    monkeypatch.delenv("DAGSTER_HOME", raising=False)  # bin/test sets it: no instance at all
    assert defs.load_asset_value(hourly_analytics.key, partition_key=HOUR).empty
    with pytest.raises(PartitionNotMaterialized, match="no Dagster instance to ask"):
        defs.load_asset_value(model_usage_stats.key, partition_key="2024-11-09")
