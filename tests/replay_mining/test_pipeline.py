"""replay_mining end to end: the four assets, materialised by Dagster against the sandbox over
HTTP, on the local lake and on an S3 server over HTTP."""

from __future__ import annotations

import datetime as dt
import io
import json

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from dagster import DagsterInstance, load_assets_from_package_module, materialize

import assets.replay_mining
from assets.replay_mining.mettagrid import DATASET_SCHEMA, SORT_KEYS
from assets.replay_mining.parsed_replays import parsed_replays
from assets.replay_mining.raw_replays import raw_replays
from assets.replay_mining.replay_dataset import replay_dataset
from assets.replay_mining.replay_index import replay_index
from assets.replay_mining.spec import SPEC
from assets.replay_mining.stages import (
    PART_SUFFIX,
    dataset_key,
    parse_day,
    parsed_prefix,
    raw_prefix,
    read_index,
)
from resources.lake import LocalLake, open_lake
from sandboxes.serving import serve_in_background
from sandboxes.stats_server import StatsServerSandbox
from schedules.replay_mining import replay_mining_dataset_job
from tests.metadata import table_rows, table_text
from tests.replay_mining.conftest import (
    BUSY_DAY,
    DAY,
    EMPTY_DAY,
    VERSION_DAYS,
    make_resources,
    small_config,
)

# The code location's assets, loaded as pipelines/replay_mining.py loads them.
REPLAY_MINING_ASSETS = load_assets_from_package_module(assets.replay_mining)


def run(resources: dict, day: dt.date, raise_on_error: bool = True):
    # What the daily job selects (agent_observations is opt-in: test_observations_pipeline.py).
    return materialize(
        REPLAY_MINING_ASSETS,
        selection=replay_mining_dataset_job.selection,
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
    # Each episode has one row per agent per step of its replay (as the sandbox generated it).
    for episode in episodes:
        replay = app.replay_of(episode["episode_id"])
        rows = table.filter(pc.equal(table["episode_id"], episode["episode_id"]))
        assert rows.num_rows == replay["num_agents"] * replay["max_steps"]
        assert set(rows["replay_version"].to_pylist()) == {4}
    # Version-4 columns: per-step policies from policy_infos, vibes by name, an honest step 0.
    assert set(table["agent_policy"].drop_null().to_pylist()) > {episodes[0]["policy"]}
    assert None not in table.filter(table["alive"])["vibe_name"].to_pylist()
    first_steps = table.filter(pc.equal(table["step"], 0))
    assert set(first_steps["state_source"].to_pylist()) <= {"configured", "absent"}
    assert first_steps["position_x"].null_count == first_steps.num_rows

    materialization = result.asset_materializations_for_node("replay_mining__replay_dataset")[0]
    assert materialization.metadata["dagster/row_count"].value == table.num_rows
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
    resources = make_resources(url, str(tmp_path / "lake"), max_failed_percent=9)
    result = run(resources, BUSY_DAY)
    assert result.success  # 9 of 100 failed: at the 9% threshold, not past it
    for stage in ("parsed_replays", "replay_dataset"):  # counted in the day's metadata
        metadata = result.asset_materializations_for_node(f"replay_mining__{stage}")[0].metadata
        assert metadata["skipped_replays"].value == 9
    reasons = table_text(metadata["skipped_replays_reasons"])
    for reason in (
        "corrupt zlib data",
        "truncated or invalid JSON",
        "unsupported replay format version 5 (this parser reads versions 1, 2, 3, 4)",
        "gzip stream cut short",
        "missing required key 'objects'",
        "policy_infos at step 0 is a str",
        "inventory item id 9 is outside the replay's 9 item_names",
        "HTTP 404",
        "HTTP 500",
    ):
        assert reason in reasons
    assert "re-run raw_replays" in reasons  # each reason says what a person can do
    assert metadata["episodes"].value == 91  # the flaky replay (503 once) was retried and kept


def test_a_day_with_hostile_replays_publishes_the_rest_with_their_reasons(tmp_path):
    """An agent_id beyond int64, a zlib bomb (2 GiB of zeros) and JSON nested 200,000 deep,
    served by the sandbox among 100 replays: each is skipped with its own reason, the rest of
    the day is published (issue 24)."""
    app = StatsServerSandbox(small_config(hostile=True))
    with serve_in_background(app) as server:
        app.base_url = server.url
        resources = make_resources(server.url, str(tmp_path / "lake"), max_failed_percent=12)
        result = run(resources, BUSY_DAY)
    assert result.success  # 12 of 100 failed: the nine broken ones and the three hostile ones
    metadata = result.asset_materializations_for_node("replay_mining__replay_dataset")[0].metadata
    assert metadata["skipped_replays"].value == 12
    reasons = table_text(metadata["skipped_replays_reasons"])
    assert "an agent_id is outside 0..2^31-1" in reasons
    assert "decompresses to more than 512 MiB (a decompression bomb" in reasons
    assert "nested too deeply to read" in reasons
    assert metadata["episodes"].value == 88
    table = read_dataset(LocalLake(tmp_path / "lake"), BUSY_DAY)
    assert len(set(table["episode_id"].to_pylist())) == 88


def test_a_day_past_the_failure_threshold_publishes_nothing(stats_sandbox, tmp_path):
    _, url = stats_sandbox
    resources = make_resources(url, str(tmp_path / "lake"), max_failed_percent=8)
    result = run(resources, BUSY_DAY, raise_on_error=False)
    assert not result.success
    failure = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"][0]
    message = failure.step_failure_data.error.message
    assert "9 of 100 replays failed, more than the allowed 8%" in message
    assert not LocalLake(tmp_path / "lake").exists(dataset_key(BUSY_DAY))


def test_empty_day_publishes_an_empty_dataset_with_the_schema(stats_sandbox, tmp_path):
    _, url = stats_sandbox
    result = run(make_resources(url, str(tmp_path / "lake")), EMPTY_DAY)
    assert result.success
    table = read_dataset(LocalLake(tmp_path / "lake"), EMPTY_DAY)
    assert table.num_rows == 0 and table.schema.equals(DATASET_SCHEMA)
    preview = result.asset_materializations_for_node("replay_mining__replay_dataset")[0].metadata[
        "preview"
    ]
    assert table_rows(preview) == []  # the preview shows no rows


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

    from schedules.replay_mining import replay_mining_dataset_job

    _, url = stats_sandbox
    defs = Definitions(
        assets=REPLAY_MINING_ASSETS,
        jobs=[replay_mining_dataset_job],
        resources=make_resources(url, str(tmp_path / "lake")),
    )
    instance = DagsterInstance.ephemeral()
    result = defs.resolve_job_def("replay_mining_dataset_job").execute_in_process(
        instance=instance, tags=range_tags("2026-11-08", "2026-11-10")
    )
    assert result.success
    lake = LocalLake(tmp_path / "lake")
    for day, version in ({**VERSION_DAYS, DAY: 4}).items():
        if day < dt.date(2026, 11, 8):
            continue
        table = read_dataset(lake, day)
        assert table.num_rows > 0 and set(table["replay_version"].to_pylist()) == {version}
    assert len(instance.get_run_records()) == 1
    materialized = instance.get_materialized_partitions(SPEC.key("replay_dataset"))
    assert materialized == {"2026-11-08", "2026-11-09", "2026-11-10"}


def range_tags(start: str, end: str) -> dict:
    return {"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end}


def test_a_reversed_partition_range_says_how_to_write_it(stats_sandbox, tmp_path):
    from dagster import Definitions

    from schedules.replay_mining import replay_mining_dataset_job

    _, url = stats_sandbox
    defs = Definitions(
        assets=REPLAY_MINING_ASSETS,
        jobs=[replay_mining_dataset_job],
        resources=make_resources(url, str(tmp_path / "lake")),
    )
    result = defs.resolve_job_def("replay_mining_dataset_job").execute_in_process(
        instance=DagsterInstance.ephemeral(),
        tags=range_tags("2026-11-10", "2026-11-08"),
        raise_on_error=False,
    )
    assert not result.success
    failure = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"][0]
    message = failure.step_failure_data.error.message
    assert "IndexError" not in failure.step_failure_data.error.to_string()
    assert "holds no day" in message and "--partition-range 2026-11-08...2026-11-10" in message


def test_every_format_version_goes_through_the_pipeline(stats_sandbox, tmp_path):
    app, url = stats_sandbox
    resources = make_resources(url, str(tmp_path / "lake"))
    lake = LocalLake(tmp_path / "lake")
    for day, version in VERSION_DAYS.items():
        assert run(resources, day).success
        table = read_dataset(lake, day)
        assert set(table["replay_version"].to_pylist()) == {version}
        episodes = read_index(lake, day)
        assert table.num_rows == sum(
            app.replay_of(e["episode_id"])["num_agents"]
            * app.replay_of(e["episode_id"])["max_steps"]
            for e in episodes
        )
    # Version-3 days serve some replays gzip-compressed (.json.gz), read by their magic bytes.
    urls = [e["replay_url"] for e in read_index(lake, dt.date(2026, 11, 9))]
    assert any(u.endswith(".json.gz") for u in urls)
    assert any(
        lake.read_bytes(f"{raw_prefix(dt.date(2026, 11, 9))}/{e['episode_id']}.json.z")[:2]
        == b"\x1f\x8b"
        for e in read_index(lake, dt.date(2026, 11, 9))
    )


def test_a_truncated_part_names_the_file_and_what_to_rerun(stats_sandbox, tmp_path):
    _, url = stats_sandbox
    resources = make_resources(url, str(tmp_path / "lake"))
    assert run(resources, DAY).success
    lake = LocalLake(tmp_path / "lake")
    episode_id = read_index(lake, DAY)[0]["episode_id"]
    part = tmp_path / "lake" / parsed_prefix(DAY) / f"{episode_id}{PART_SUFFIX}"
    part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])  # a part cut short
    before = lake.read_bytes(dataset_key(DAY))

    result = materialize(
        [replay_dataset], partition_key=DAY.isoformat(), resources=resources, raise_on_error=False
    )
    assert not result.success
    error = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"][0]
    message = error.step_failure_data.error.message
    assert str(part) in message and "re-run parsed_replays" in message
    assert lake.read_bytes(dataset_key(DAY)) == before  # the published file is untouched
    # What the message says works: parsed_replays parses the damaged part again.
    assert run(resources, DAY).success
    assert lake.read_bytes(dataset_key(DAY)) == before


@pytest.mark.parametrize(
    "prefix, rerun", [(raw_prefix, "re-run raw_replays"), (parsed_prefix, "re-run parsed_replays")]
)
def test_a_corrupt_manifest_names_the_file_and_what_to_rerun(
    stats_sandbox, tmp_path, prefix, rerun
):
    _, url = stats_sandbox
    resources = make_resources(url, str(tmp_path / "lake"))
    assert run(resources, DAY).success
    manifest = tmp_path / "lake" / prefix(DAY) / "_manifest.json"
    manifest.write_text('{"md5": {"a": ')  # cut short
    stage = parsed_replays if prefix is raw_prefix else replay_dataset
    result = materialize(
        [stage], partition_key=DAY.isoformat(), resources=resources, raise_on_error=False
    )
    assert not result.success
    error = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"][0]
    message = error.step_failure_data.error.message
    assert str(manifest) in message and rerun in message and "JSONDecodeError" not in message
    assert run(resources, DAY).success  # re-running the stages writes it again


def test_a_crashed_parse_resumes_where_it_stopped(stats_sandbox, tmp_path, monkeypatch):
    _, url = stats_sandbox
    resources = make_resources(url, str(tmp_path / "lake"))
    assert materialize(
        [replay_index, raw_replays], partition_key=DAY.isoformat(), resources=resources
    ).success
    lake = LocalLake(tmp_path / "lake")
    episodes = read_index(lake, DAY)

    # Fault injection: the process dies while publishing the third part.
    import assets.replay_mining.stages as stages

    real_parse = stages.parse_replay
    calls = {"n": 0}

    def dying_parse(data, episode, *limits):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("simulated crash")
        return real_parse(data, episode, *limits)

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
