"""End to end: the code location's assets materialised with dagster against moto's S3 server
over HTTP, a local lake and real folders; the sensor and schedule evaluated."""

import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
from dagster import (
    AssetCheckSeverity,
    DagsterInstance,
    build_schedule_context,
    build_sensor_context,
    materialize,
)

from assets.replay_sync.bucket_checkpoints import bucket_checkpoints
from assets.replay_sync.bucket_replays import bucket_replays
from assets.replay_sync.characters import SLUG_TO_EXTERNAL
from assets.replay_sync.replay_index import replay_index
from assets.replay_sync.replay_storage_report import replay_storage_report
from assets.replay_sync.training_replays import training_replays
from assets.replay_sync.workspace_checkpoints import workspace_checkpoints
from sandboxes.slp_writer import random_spec, replay_bytes, write_replay
from schedules.replay_sync import (
    changed_folders,
    replay_sync_local_replays_sensor,
    replay_sync_training_pull_schedule,
)
from tests.metadata import table_rows, table_text
from tests.replay_sync.conftest import (
    bucket_listing,
    local_listing,
    replay_resources,
    write_file,
)

MEWTWO = SLUG_TO_EXTERNAL["mewtwo"]
LONG_AGO = time.time() - 3600


def seed_replays(slp_root: Path, character: str, count: int) -> None:
    for i in range(count):
        path = write_replay(
            slp_root / character / f"game_{i}.slp",
            random_spec(SLUG_TO_EXTERNAL[character], seed=i),
        )
        os.utime(path, (LONG_AGO, LONG_AGO))


def checks(result) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def materialization(result, asset_name: str):
    [event] = [
        m for m in result.get_asset_materialization_events() if m.asset_key.path[-1] == asset_name
    ]
    return event.materialization.metadata


def test_upload_index_and_pull_one_character(resources, store, tmp_path):
    slp = tmp_path / "slp"
    seed_replays(slp, "mewtwo", 4)
    good = replay_bytes(random_spec(MEWTWO, seed=99))
    write_file(slp, "mewtwo/truncated.slp", good[: len(good) // 2], LONG_AGO)
    write_file(slp, "fox/other.slp", b"another partition", LONG_AGO)

    result = materialize(
        [bucket_replays, replay_index, training_replays],
        partition_key="mewtwo",
        resources=resources,
        instance=DagsterInstance.ephemeral(),
    )
    assert result.success
    assert checks(result) == {
        "bucket_matches_local": True,
        "index_schema_and_keys": True,
        "valid_replay_share": True,  # 1 of 5 invalid: under the 20 % threshold
        "replays_feature_their_character": True,
    } | {"workspace_matches_bucket": True}
    uploaded = materialization(result, "bucket_replays")
    assert uploaded["new_files"].value == 5 and uploaded["bucket_objects"].value == 5
    assert bucket_listing(store.client(), store.bucket, "mewtwo") == local_listing(slp / "mewtwo")
    assert bucket_listing(store.client(), store.bucket, "fox") == {}  # other partitions untouched
    assert local_listing(tmp_path / "workspace/replays/mewtwo") == local_listing(slp / "mewtwo")

    index = pq.read_table(tmp_path / "lake/datasets/slp_index/mewtwo.parquet").to_pylist()
    assert len(index) == 5 and sum(r["valid"] for r in index) == 4
    [broken] = [r for r in index if not r["valid"]]
    assert broken["path"] == "truncated.slp" and broken["error"].startswith("unreadable replay")
    metadata = materialization(result, "replay_index")
    assert metadata["skipped_invalid_replays"].value == 1
    assert "truncated.slp" in table_text(metadata["skipped_invalid_replays_reasons"])

    again = materialize(
        [bucket_replays, training_replays],
        partition_key="mewtwo",
        resources=resources,
        instance=DagsterInstance.ephemeral(),
    )
    assert materialization(again, "bucket_replays")["transferred_files"].value == 0
    assert materialization(again, "training_replays")["unchanged_files"].value == 5


def test_dry_run_with_delete_changes_nothing(resources, store, tmp_path):
    seed_replays(tmp_path / "slp", "link", 2)
    store.client().put_object(Bucket=store.bucket, Key="link/gone.slp", Body=b"old")
    config = {"ops": {"replay_sync__bucket_replays": {"config": {"delete": True, "dry_run": True}}}}
    result = materialize(
        [bucket_replays],
        partition_key="link",
        resources=resources,
        run_config=config,
        instance=DagsterInstance.ephemeral(),
    )
    assert result.success  # the check warns about the pending changes; it does not fail the run
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.severity == AssetCheckSeverity.WARN
    metadata = materialization(result, "bucket_replays")
    assert metadata["would_delete"].value == 1 and metadata["new_files"].value == 2
    assert "gone.slp" in table_text(metadata["changes"])
    assert set(bucket_listing(store.client(), store.bucket, "link")) == {"gone.slp"}
    assert checks(result) == {"bucket_matches_local": False}  # shows what a real sync would fix


def test_delete_refuses_an_empty_source_folder(resources, store):
    store.client().put_object(Bucket=store.bucket, Key="marth/keep.slp", Body=b"keep")
    result = materialize(
        [bucket_replays],
        partition_key="marth",
        resources=resources,
        run_config={"ops": {"replay_sync__bucket_replays": {"config": {"delete": True}}}},
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert not result.success
    assert "empty or missing" in str(result.all_events)
    assert set(bucket_listing(store.client(), store.bucket, "marth")) == {"keep.slp"}


def test_checkpoints_both_ways_and_storage_report(resources, store, s3_bucket, tmp_path):
    seed_replays(tmp_path / "slp", "fox", 2)
    write_file(tmp_path / "workspace/checkpoints", "run1/step_100.bin", os.urandom(3000), LONG_AGO)
    write_file(tmp_path / "workspace/checkpoints", "run1/config.json", b"{}", LONG_AGO)
    instance = DagsterInstance.ephemeral()
    assert materialize(
        [bucket_replays], partition_key="fox", resources=resources, instance=instance
    ).success
    pushed = materialize([bucket_checkpoints], resources=resources, instance=instance)
    assert materialization(pushed, "bucket_checkpoints")["new_files"].value == 2

    laptop = replay_resources(s3_bucket, tmp_path, workspace="laptop")
    pulled = materialize([workspace_checkpoints], resources=laptop, instance=instance)
    assert checks(pulled) == {"workspace_has_checkpoints": True}
    assert local_listing(tmp_path / "laptop/checkpoints") == local_listing(
        tmp_path / "workspace/checkpoints"
    )

    report = materialize([replay_storage_report], resources=resources, instance=instance)
    metadata = materialization(report, "replay_storage_report")
    assert metadata["objects"].value == 4
    total = sum(s for s, _ in local_listing(tmp_path / "slp/fox").values()) + 3002
    assert metadata["bytes"].value == total
    usage = {row["folder"]: row for row in table_rows(metadata["usage"])}
    assert usage["fox"]["objects"] == 2
    assert (tmp_path / "lake/reports/replay_storage.json").exists()
    # only fox was uploaded: every other configured character is named
    assert checks(report) == {"every_character_in_bucket": False}


def test_sensor_requests_changed_settled_characters(resources, tmp_path):
    seed_replays(tmp_path / "slp", "mewtwo", 2)
    with build_sensor_context(resources=resources) as context:
        first = list(replay_sync_local_replays_sensor(context))
        assert [(r.partition_key, r.tags["pipeline/serial"]) for r in first] == [
            ("mewtwo", "replay_sync")
        ]
        with build_sensor_context(resources=resources, cursor=context.cursor) as second:
            assert "no change" in str(replay_sync_local_replays_sensor(second))
            write_file(tmp_path / "slp", "mewtwo/recording.slp", b"{U\x03raw", None)  # just now
            assert "still being written" in str(replay_sync_local_replays_sensor(second))


def test_changed_folders_rules():
    due, cursor = changed_folders({"a": "1-x", "b": None, "c": "", "d": "2-y"}, {"d": "2-y"})
    assert due == [("a", "1-x")] and cursor == {"a": "1-x", "c": "", "d": "2-y"}


def test_schedule_pulls_every_character_in_its_own_run():
    tick = datetime(2026, 11, 23, 10, 15, tzinfo=UTC)
    with build_schedule_context(scheduled_execution_time=tick) as context:
        requests = replay_sync_training_pull_schedule(context)
    assert requests[0].run_key == "mewtwo:2026-11-23T10:15:00+00:00"
    assert [r.partition_key for r in requests] == ["mewtwo", "ganondorf", "link", "fox", "marth"]
    assert all(r.tags == {"pipeline/serial": "replay_sync"} for r in requests)


def test_definitions_snapshot():
    """What the code location declares; a change here should be a deliberate one."""
    from pipelines.replay_sync import defs

    specs = {spec.key.path[-1]: spec for spec in defs.resolve_all_asset_specs()}
    partitioned = {name for name, spec in specs.items() if spec.partitions_def is not None}
    assert partitioned == {"bucket_replays", "replay_index", "training_replays"}
    assert specs["bucket_replays"].partitions_def.get_partition_keys() == [
        "mewtwo",
        "ganondorf",
        "link",
        "fox",
        "marth",
    ]
    assert {dep.asset_key.path[-1] for dep in specs["replay_index"].deps} == {"bucket_replays"}
    graph = defs.resolve_asset_graph()
    checks = {
        (key.asset_key.path[-1], key.name, graph.get_check_spec(key).blocking)
        for key in graph.asset_check_keys
    }
    assert checks == {
        ("bucket_replays", "bucket_matches_local", True),
        ("replay_index", "index_schema_and_keys", True),
        ("replay_index", "valid_replay_share", True),
        ("replay_index", "replays_feature_their_character", False),
        ("training_replays", "workspace_matches_bucket", False),
        ("bucket_checkpoints", "bucket_has_checkpoints", False),
        ("workspace_checkpoints", "workspace_has_checkpoints", False),
        ("replay_storage_report", "every_character_in_bucket", False),
    }
    assert all(spec.description and spec.code_version == "1" for spec in specs.values())
    assert {s.name: s.cron_schedule for s in defs.schedules} == {
        "replay_sync_training_pull_schedule": "15 * * * *",
        "replay_sync_storage_report_schedule": "0 6 * * *",
    }
    alerts = "replay_sync_run_failure_sensor"  # watches every job (tests/test_alerts.py)
    assert {s.name: s.job_name for s in defs.sensors if s.name != alerts} == {
        "replay_sync_local_replays_sensor": "replay_sync_upload_job",
        "replay_sync_checkpoints_sensor": "replay_sync_checkpoint_push_job",
    }
    assert alerts in {s.name for s in defs.sensors}


def test_code_location_loads_with_its_jobs():
    from pipelines.replay_sync import defs

    for name in (
        "replay_sync_upload_job",
        "replay_sync_training_pull_job",
        "replay_sync_checkpoint_push_job",
    ):
        assert defs.resolve_job_def(name).tags["pipeline/serial"] == "replay_sync"
    specs = {spec.key.path[-1]: spec for spec in defs.resolve_all_asset_specs()}
    assert {name: spec.group_name for name, spec in specs.items()} == dict.fromkeys(
        [
            "bucket_replays",
            "replay_index",
            "training_replays",
            "bucket_checkpoints",
            "workspace_checkpoints",
            "replay_storage_report",
        ],
        "replay_sync",
    )
