"""replay_sync's jobs, sensors and schedule: new replays on the recording machine go up on their
own, training machines pull on a schedule, checkpoints go up when the trainer writes them."""

import json
import time

from dagster import (
    AssetSelection,
    RunRequest,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SkipReason,
    define_asset_job,
    schedule,
    sensor,
)

from assets.replay_sync.bucket_checkpoints import bucket_checkpoints
from assets.replay_sync.bucket_replays import bucket_replays
from assets.replay_sync.replay_index import replay_index
from assets.replay_sync.replay_storage_report import replay_storage_report
from assets.replay_sync.spec import character_partitions
from assets.replay_sync.training_replays import training_replays
from assets.replay_sync.workspace_checkpoints import workspace_checkpoints
from resources.replay_sync.folders import ReplayFoldersResource, folder_fingerprint
from resources.replay_sync.settings import LOAD_TIME
from schedules.alerts import run_failure_alert_sensor

# Runs of this pipeline queue behind one another (dagster_home/dagster.yaml's tag limit), so two
# syncs never write the same prefix at once.
SERIAL_TAGS = {"pipeline/serial": "replay_sync"}
# REPLAY_SYNC_SETTLE_SECONDS, read when the code location loads
SETTLE_SECONDS = LOAD_TIME.settle_seconds

replay_sync_upload_job = define_asset_job(
    "replay_sync_upload_job",
    selection=AssetSelection.assets(bucket_replays, replay_index),
    tags=SERIAL_TAGS,
    description="Push one character's replays to the bucket and index them.",
)
replay_sync_training_pull_job = define_asset_job(
    "replay_sync_training_pull_job",
    selection=AssetSelection.assets(training_replays),
    tags=SERIAL_TAGS,
    description="Pull one character's replays from the bucket into the training workspace.",
)
replay_sync_checkpoint_push_job = define_asset_job(
    "replay_sync_checkpoint_push_job",
    selection=AssetSelection.assets(bucket_checkpoints),
    tags=SERIAL_TAGS,
    description="Push the workspace's checkpoints to the bucket (copy: nothing deleted).",
)
replay_sync_checkpoint_pull_job = define_asset_job(
    "replay_sync_checkpoint_pull_job",
    selection=AssetSelection.assets(workspace_checkpoints),
    tags=SERIAL_TAGS,
    description="Pull checkpoints from the bucket into the workspace.",
)
replay_sync_storage_report_job = define_asset_job(
    "replay_sync_storage_report_job",
    selection=AssetSelection.assets(replay_storage_report),
    tags=SERIAL_TAGS,
)


def changed_folders(
    fingerprints: dict[str, str | None], cursor: dict[str, str]
) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """(folders to sync with their new fingerprint, the next cursor). A folder whose files are
    still being written (fingerprint None) waits; an empty folder never triggers a run."""
    due, next_cursor = [], dict(cursor)
    for name, fingerprint in fingerprints.items():
        if fingerprint is None or fingerprint == cursor.get(name):
            continue
        next_cursor[name] = fingerprint
        if fingerprint:
            due.append((name, fingerprint))
    return due, next_cursor


@sensor(
    job=replay_sync_upload_job,
    minimum_interval_seconds=60,
    description="New or changed replays in `SLP_ROOT/<character>/` -> that character's upload.",
)
def replay_sync_local_replays_sensor(
    context: SensorEvaluationContext, replay_folders: ReplayFoldersResource
):
    cursor = json.loads(context.cursor) if context.cursor else {}
    now = time.time_ns()
    fingerprints = {
        character: folder_fingerprint(replay_folders.source(character), SETTLE_SECONDS, now)
        for character in character_partitions.get_partition_keys()
    }
    due, next_cursor = changed_folders(fingerprints, cursor)
    context.update_cursor(json.dumps(next_cursor, sort_keys=True))
    if not due:
        waiting = [c for c, f in fingerprints.items() if f is None]
        return SkipReason(
            f"replays still being written for {', '.join(waiting)}" if waiting else "no change"
        )
    return [
        RunRequest(run_key=f"{character}:{fingerprint}", partition_key=character, tags=SERIAL_TAGS)
        for character, fingerprint in due
    ]


@sensor(
    job=replay_sync_checkpoint_push_job,
    minimum_interval_seconds=120,
    description="New or changed files in `<workspace>/checkpoints/` -> checkpoint push.",
)
def replay_sync_checkpoints_sensor(
    context: SensorEvaluationContext, replay_folders: ReplayFoldersResource
):
    cursor = json.loads(context.cursor) if context.cursor else {}
    fingerprint = folder_fingerprint(replay_folders.checkpoints(), SETTLE_SECONDS, time.time_ns())
    due, next_cursor = changed_folders({"checkpoints": fingerprint}, cursor)
    context.update_cursor(json.dumps(next_cursor))
    if not due:
        return SkipReason("checkpoints unchanged or still being written")
    return RunRequest(run_key=f"checkpoints:{due[0][1]}", tags=SERIAL_TAGS)


@schedule(
    job=replay_sync_training_pull_job,
    cron_schedule=LOAD_TIME.pull_cron,  # REPLAY_SYNC_PULL_CRON
    execution_timezone="UTC",
    description="Training machines: pull every character's replays (one run per character).",
)
def replay_sync_training_pull_schedule(context: ScheduleEvaluationContext):
    stamp = context.scheduled_execution_time.isoformat()
    return [
        RunRequest(run_key=f"{character}:{stamp}", partition_key=character, tags=SERIAL_TAGS)
        for character in character_partitions.get_partition_keys()
    ]


@schedule(
    job=replay_sync_storage_report_job,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    description="Daily bucket usage and cost report.",
)
def replay_sync_storage_report_schedule(context: ScheduleEvaluationContext):
    return RunRequest(tags=SERIAL_TAGS)


jobs = [
    replay_sync_upload_job,
    replay_sync_training_pull_job,
    replay_sync_checkpoint_push_job,
    replay_sync_checkpoint_pull_job,
    replay_sync_storage_report_job,
]
sensors = [
    replay_sync_local_replays_sensor,
    replay_sync_checkpoints_sensor,
    run_failure_alert_sensor("replay_sync"),
]
schedules = [replay_sync_training_pull_schedule, replay_sync_storage_report_schedule]
