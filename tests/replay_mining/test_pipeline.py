"""replay_mining end to end: the four assets, materialised by Dagster against the sandbox over
HTTP, on the local lake and on an S3 server over HTTP."""

from __future__ import annotations

import datetime as dt
import io
import json

import pyarrow.parquet as pq
import pytest
from dagster import DagsterInstance, materialize

from assets.replay_mining import replay_mining_assets
from assets.replay_mining.mettagrid import DATASET_SCHEMA, SORT_KEYS
from assets.replay_mining.partitions import asset_key
from assets.replay_mining.settings import ReplayMiningSettings
from assets.replay_mining.stages import dataset_key, parse_day, parsed_prefix, read_index
from resources.lake import LocalLake, open_lake
from tests.replay_mining.conftest import BUSY_DAY, DAY, EMPTY_DAY, make_resources


def run(resources: dict, day: dt.date, raise_on_error: bool = True):
    return materialize(
        replay_mining_assets,
        partition_key=day.isoformat(),
        resources=resources,
        raise_on_error=raise_on_error,
    )


def read_dataset(lake, day):
    return pq.read_table(io.BytesIO(lake.read_bytes(dataset_key(day))))


def assert_sorted_and_unique(table):
    keys = list(zip(*(table.column(k).to_pylist() for k in SORT_KEYS), strict=True))
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


def test_local_lake_day_end_to_end(stats_sandbox, tmp_path):
    app, url = stats_sandbox
    resources = make_resources(url, str(tmp_path / "lake"))
    result = run(resources, DAY)
    assert result.success
    lake = LocalLake(tmp_path / "lake")
    table = read_dataset(lake, DAY)
    assert table.schema.equals(DATASET_SCHEMA)
    episodes = read_index(lake, DAY)
    assert len(episodes) >= 5
    assert set(table.column("episode_id").to_pylist()) == {e["episode_id"] for e in episodes}
    assert_sorted_and_unique(table)
    # Every row is checked against an independent parse of the same replay.
    first = episodes[0]
    replay = json.loads(__import__("zlib").decompress(app.replay_bytes(first["episode_id"])))
    assert (
        table.filter(
            __import__("pyarrow.compute").compute.equal(table["episode_id"], first["episode_id"])
        ).num_rows
        == replay["num_agents"] * replay["max_steps"]
    )

    materialization = result.asset_materializations_for_node("replay_mining__replay_dataset")[0]
    assert materialization.metadata["rows"].value == table.num_rows
    assert materialization.metadata["episodes"].value == len(episodes)
    checks = result.get_asset_check_evaluations()
    assert len(checks) == 4 and all(c.passed for c in checks)


def test_running_a_partition_twice_gives_the_same_file(stats_sandbox, tmp_path):
    _, url = stats_sandbox
    resources = make_resources(url, str(tmp_path / "lake"))
    lake = LocalLake(tmp_path / "lake")
    assert run(resources, DAY).success
    first = lake.read_bytes(dataset_key(DAY))
    second_run = run(resources, DAY)
    assert second_run.success
    assert lake.read_bytes(dataset_key(DAY)) == first
    raw = second_run.asset_materializations_for_node("replay_mining__raw_replays")[0].metadata
    assert raw["replays_downloaded"].value == 0 and raw["replays_already_present"].value >= 5
    parsed = second_run.asset_materializations_for_node("replay_mining__parsed_replays")[0].metadata
    assert parsed["replays_parsed_now"].value == 0
    # Nothing but the dataset and its inputs: no temporary or duplicate files left behind.
    names = [o.key for o in lake.list("datasets")]
    assert names == [dataset_key(DAY)]


def test_bad_replays_are_skipped_and_reported(stats_sandbox, tmp_path):
    _, url = stats_sandbox
    result = run(make_resources(url, str(tmp_path / "lake")), BUSY_DAY)
    assert result.success  # 5 of 100 failed: at the 5% threshold, not past it
    metadata = result.asset_materializations_for_node("replay_mining__replay_dataset")[0].metadata
    assert metadata["skipped_replays"].value == 5
    reasons = metadata["skipped_replays_reasons"].value
    for reason in (
        "corrupt zlib",
        "truncated or invalid JSON",
        "unsupported replay format version 3",
        "HTTP 404",
        "HTTP 500",
    ):
        assert reason in reasons
    assert metadata["episodes"].value == 95  # the flaky replay (503 once) was retried and kept


def test_a_day_past_the_failure_threshold_publishes_nothing(stats_sandbox, tmp_path):
    _, url = stats_sandbox
    resources = make_resources(url, str(tmp_path / "lake"))
    resources["replay_mining_settings"] = ReplayMiningSettings(max_failed_percent=4)
    result = run(resources, BUSY_DAY, raise_on_error=False)
    assert not result.success
    failure = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"][0]
    message = failure.step_failure_data.error.message
    assert "5 of 100 replays failed, more than the allowed 4%" in message
    assert not LocalLake(tmp_path / "lake").exists(dataset_key(BUSY_DAY))


def test_empty_day_publishes_an_empty_dataset_with_the_schema(stats_sandbox, tmp_path):
    _, url = stats_sandbox
    result = run(make_resources(url, str(tmp_path / "lake")), EMPTY_DAY)
    assert result.success
    table = read_dataset(LocalLake(tmp_path / "lake"), EMPTY_DAY)
    assert table.num_rows == 0 and table.schema.equals(DATASET_SCHEMA)
    assert (
        "no rows"
        in result.asset_materializations_for_node("replay_mining__replay_dataset")[0]
        .metadata["preview"]
        .value
    )


def test_s3_lake_day_end_to_end(stats_sandbox, s3_bucket, tmp_path):
    _, url = stats_sandbox
    s3 = dict(
        endpoint_url=s3_bucket.server.endpoint_url,
        region="us-east-1",
        access_key_id=s3_bucket.server.access_key_id,
        secret_access_key=s3_bucket.server.secret_access_key,
    )
    assert run(make_resources(url, f"s3://{s3_bucket.name}/lake", **s3), DAY).success
    lake = open_lake(f"s3://{s3_bucket.name}/lake", **s3)
    table = read_dataset(lake, DAY)
    assert table.num_rows > 0
    assert_sorted_and_unique(table)
    objects = s3_bucket.client().list_objects_v2(Bucket=s3_bucket.name, Prefix="lake/datasets/")[
        "Contents"
    ]
    assert [o["Key"] for o in objects] == [f"lake/{dataset_key(DAY)}"]


def test_s3_permission_error_is_actionable(stats_sandbox, s3_bucket, tmp_path):
    """A bucket that refuses writes (fault injected by a bucket policy denying PutObject)."""
    _, url = stats_sandbox
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{s3_bucket.name}/*",
            }
        ],
    }
    s3_bucket.client().put_bucket_policy(Bucket=s3_bucket.name, Policy=json.dumps(policy))
    lake_kwargs = dict(
        endpoint_url=s3_bucket.server.endpoint_url,
        region="us-east-1",
        access_key_id=s3_bucket.server.access_key_id,
        secret_access_key=s3_bucket.server.secret_access_key,
    )
    result = run(
        make_resources(url, f"s3://{s3_bucket.name}/lake", **lake_kwargs), DAY, raise_on_error=False
    )
    if result.success:
        pytest.skip("this moto version does not enforce bucket policies")
    failure = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"][0]
    assert "Permission denied" in failure.step_failure_data.error.to_string()


def test_partition_range_runs_as_one_run(stats_sandbox, tmp_path):
    from dagster import Definitions

    from schedules.replay_mining import replay_mining_job

    _, url = stats_sandbox
    defs = Definitions(
        assets=replay_mining_assets,
        jobs=[replay_mining_job],
        resources=make_resources(url, str(tmp_path / "lake")),
    )
    instance = DagsterInstance.ephemeral()
    result = defs.resolve_job_def("replay_mining_job").execute_in_process(
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": "2026-11-08",
            "dagster/asset_partition_range_end": "2026-11-10",
        },
    )
    assert result.success
    lake = LocalLake(tmp_path / "lake")
    for day in (dt.date(2026, 11, 8), dt.date(2026, 11, 9), dt.date(2026, 11, 10)):
        assert read_dataset(lake, day).num_rows > 0
    assert len(instance.get_run_records()) == 1
    materialized = instance.get_materialized_partitions(asset_key("replay_dataset"))
    assert materialized == {"2026-11-08", "2026-11-09", "2026-11-10"}


def test_a_crashed_parse_resumes_where_it_stopped(stats_sandbox, tmp_path, monkeypatch):
    _, url = stats_sandbox
    resources = make_resources(url, str(tmp_path / "lake"))
    assert materialize(
        replay_mining_assets[:2], partition_key=DAY.isoformat(), resources=resources
    ).success
    lake = LocalLake(tmp_path / "lake")
    episodes = read_index(lake, DAY)

    # Fault injection: the process dies while publishing the third part.
    import assets.replay_mining.stages as stages

    real_parse = stages.parse_replay
    calls = {"n": 0}

    def dying_parse(data, episode):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("simulated crash")
        return real_parse(data, episode)

    monkeypatch.setattr(stages, "parse_replay", dying_parse)
    with pytest.raises(KeyboardInterrupt):
        parse_day(lake, DAY, episodes)
    assert len([o for o in lake.list(parsed_prefix(DAY)) if o.key.endswith(".arrow")]) == 2
    monkeypatch.setattr(stages, "parse_replay", real_parse)
    result = parse_day(lake, DAY, episodes)
    assert result.resumed == 2 and result.parsed == len(episodes) - 2


def test_partition_key_outside_the_set_is_refused(stats_sandbox, tmp_path):
    _, url = stats_sandbox
    with pytest.raises(Exception, match="2099-01-01"):
        run(make_resources(url, str(tmp_path / "lake")), dt.date(2099, 1, 1))
