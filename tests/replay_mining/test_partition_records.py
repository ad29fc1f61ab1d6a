"""Each partition its own record (issue 20): after a range run every day of every stage shows its
own metadata, path and check results, and a day is recorded when it is published, so a run that
fails on a later day leaves the days it published recorded."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq
from dagster import (
    AssetCheckKey,
    AssetKey,
    AssetRecordsFilter,
    DagsterEventType,
    DagsterInstance,
    materialize,
)

from assets.replay_mining.replay_dataset import CHECKS
from assets.replay_mining.spec import SPEC
from assets.replay_mining.stages import dataset_key, index_key, parsed_prefix, raw_prefix
from tests.metadata import table_text
from tests.replay_mining.conftest import BUSY_DAY, make_resources
from tests.replay_mining.test_pipeline import REPLAY_MINING_ASSETS, range_tags

DAYS = ["2026-11-09", "2026-11-10"]
STAGES = ["replay_index", "raw_replays", "parsed_replays", "replay_dataset"]


def latest_records(instance: DagsterInstance, key: AssetKey, days: list[str]) -> dict:
    """Each partition's latest materialization: what the UI's partition panel shows."""
    latest = {}
    for day in days:
        [record] = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=key, asset_partitions=[day]), limit=1
        ).records
        latest[day] = record.asset_materialization.metadata
    return latest


def assert_each_day_is_its_own(instance: DagsterInstance, lake_root: Path, days: list[str]):
    """Every stage's record of every day names that day's own file, and the dataset's row count
    is the number of rows in that file."""
    own_paths = {
        "replay_index": lambda d: index_key(d),
        "raw_replays": lambda d: raw_prefix(d),
        "parsed_replays": lambda d: parsed_prefix(d),
        "replay_dataset": lambda d: dataset_key(d),
    }
    for stage in STAGES:
        records = latest_records(instance, SPEC.key(stage), days)
        for day, metadata in records.items():
            expected = lake_root / own_paths[stage](dt.date.fromisoformat(day))
            assert metadata["path"].value == str(expected), (stage, day)
    dataset = latest_records(instance, SPEC.key("replay_dataset"), days)
    parsed = latest_records(instance, SPEC.key("parsed_replays"), days)
    index = latest_records(instance, SPEC.key("replay_index"), days)
    counts = []
    for day, metadata in dataset.items():
        table = pq.read_table(metadata["path"].value)
        assert metadata["dagster/row_count"].value == table.num_rows
        assert parsed[day]["dagster/row_count"].value == table.num_rows
        assert metadata["episodes"].value == len(set(table["episode_id"].to_pylist()))
        assert index[day]["dagster/row_count"].value == metadata["episodes"].value
        assert metadata["bytes"].value == Path(metadata["path"].value).stat().st_size
        counts.append(table.num_rows)
    assert len(set(counts)) == len(counts), "the days should differ, or the test proves nothing"


def test_a_range_run_records_each_day_with_its_own_metadata_and_checks(stats_sandbox, tmp_path):
    _, url = stats_sandbox
    instance = DagsterInstance.ephemeral()
    result = materialize(
        REPLAY_MINING_ASSETS,
        resources=make_resources(url, str(tmp_path / "lake")),
        instance=instance,
        tags=range_tags(*DAYS),
    )
    assert result.success
    assert_each_day_is_its_own(instance, tmp_path / "lake", DAYS)
    # Each day's four checks evaluated against that day's latest materialization (current).
    check_keys = [AssetCheckKey(SPEC.key("replay_dataset"), name) for name in CHECKS]
    infos = instance.event_log_storage.get_asset_check_partition_info(check_keys)
    evaluated = {(i.check_key.name, i.partition_key): i for i in infos}
    assert set(evaluated) == {(name, day) for name in CHECKS for day in DAYS}
    for info in evaluated.values():
        assert info.latest_execution_status.value == "SUCCEEDED" and info.is_current


def test_the_first_day_is_recorded_when_it_is_published_not_when_the_stage_ends(
    stats_sandbox, tmp_path
):
    """Each stage's record of its first day is written before the stage writes its second
    day's file (the file's modification time, the event's timestamp: the same clock)."""
    _, url = stats_sandbox
    instance = DagsterInstance.ephemeral()
    result = materialize(
        REPLAY_MINING_ASSETS,
        resources=make_resources(url, str(tmp_path / "lake")),
        instance=instance,
        tags=range_tags(*DAYS),
    )
    assert result.success
    second = dt.date.fromisoformat(DAYS[1])
    written_last = {  # the last file each stage writes for a day
        "replay_index": index_key(second),
        "raw_replays": f"{raw_prefix(second)}/_manifest.json",
        "parsed_replays": f"{parsed_prefix(second)}/_manifest.json",
        "replay_dataset": dataset_key(second),
    }
    for stage, key in written_last.items():
        [first_record] = [
            entry
            for entry in instance.all_logs(result.run_id)
            if entry.dagster_event_type == DagsterEventType.ASSET_MATERIALIZATION
            and entry.step_key == f"replay_mining__{stage}"
            and entry.dagster_event.partition == DAYS[0]
        ][:1]
        second_written = (tmp_path / "lake" / key).stat().st_mtime
        assert first_record.timestamp < second_written, stage


def test_a_range_run_that_fails_on_a_later_day_keeps_the_earlier_days_recorded(
    stats_sandbox, tmp_path
):
    """BUSY_DAY has 9 broken replays of 100, past an 8% threshold: the day before it is parsed
    and recorded, BUSY_DAY is not, and the failure names the day."""
    _, url = stats_sandbox
    before = (BUSY_DAY - dt.timedelta(days=1)).isoformat()
    instance = DagsterInstance.ephemeral()
    result = materialize(
        REPLAY_MINING_ASSETS,
        resources=make_resources(url, str(tmp_path / "lake"), max_failed_percent=8),
        instance=instance,
        tags=range_tags(before, BUSY_DAY.isoformat()),
        raise_on_error=False,
    )
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failure.step_key == "replay_mining__parsed_replays"
    assert (
        f"Failure: {BUSY_DAY}: 9 of 100 replays failed" in failure.step_failure_data.error.message
    )
    parsed = instance.get_materialized_partitions(SPEC.key("parsed_replays"))
    assert parsed == {before}
    [metadata] = latest_records(instance, SPEC.key("parsed_replays"), [before]).values()
    assert metadata["path"].value == str(
        tmp_path / "lake" / parsed_prefix(dt.date.fromisoformat(before))
    )
    # the busy day's downloads were published and recorded with their own failures and reasons
    raw = latest_records(instance, SPEC.key("raw_replays"), [before, BUSY_DAY.isoformat()])
    assert raw[before]["skipped_replays"].value == 0
    assert raw[BUSY_DAY.isoformat()]["skipped_replays"].value == 2  # the 404 and the 500
    assert "HTTP 404" in table_text(raw[BUSY_DAY.isoformat()]["skipped_replays_reasons"])


def test_a_day_its_checks_refuse_records_them_and_keeps_the_day_before(stats_sandbox, tmp_path):
    """Day 2's parsed part loses a column: the dataset stage publishes day 1 (recorded, its checks
    passed), refuses day 2 (nothing published, its schema check recorded as failed for day 2)."""
    from assets.replay_mining.replay_dataset import replay_dataset
    from assets.replay_mining.stages import PART_SUFFIX, read_index, read_part, write_part
    from resources.lake import LocalLake

    _, url = stats_sandbox
    resources = make_resources(url, str(tmp_path / "lake"))
    instance = DagsterInstance.ephemeral()
    assert materialize(
        REPLAY_MINING_ASSETS, resources=resources, instance=instance, tags=range_tags(*DAYS)
    ).success
    lake = LocalLake(tmp_path / "lake")
    second = dt.date.fromisoformat(DAYS[1])
    published_before = lake.read_bytes(dataset_key(second))
    part_key = f"{parsed_prefix(second)}/{read_index(lake, second)[0]['episode_id']}{PART_SUFFIX}"
    part = read_part(lake, part_key)
    write_part(lake, part_key, part.drop_columns(["reward"]))

    result = materialize(
        [replay_dataset],
        resources=resources,
        instance=instance,
        tags=range_tags(*DAYS),
        raise_on_error=False,
    )
    assert not result.success
    evaluations = {
        (e.check_name, e.partition): e.passed for e in result.get_asset_check_evaluations()
    }
    assert evaluations[("schema_matches_documented", DAYS[1])] is False
    assert all(evaluations[(name, DAYS[0])] for name in CHECKS)
    assert lake.read_bytes(dataset_key(second)) == published_before  # write, audit, publish
    # Day 1 was recorded again by this run, day 2 not; day 1's checks are current for it.
    runs = {
        day: record.run_id
        for day in DAYS
        for record in instance.fetch_materializations(
            AssetRecordsFilter(asset_key=SPEC.key("replay_dataset"), asset_partitions=[day]),
            limit=1,
        ).records
    }
    assert runs[DAYS[0]] == result.run_id and runs[DAYS[1]] != result.run_id
    infos = instance.event_log_storage.get_asset_check_partition_info(
        [AssetCheckKey(SPEC.key("replay_dataset"), "schema_matches_documented")]
    )
    status = {i.partition_key: (i.latest_execution_status.value, i.is_current) for i in infos}
    assert status[DAYS[0]] == ("SUCCEEDED", True)
    assert status[DAYS[1]][0] == "FAILED"
