"""The replay_sync code location: Slippi replays kept in an S3-compatible bucket (B2, R2, S3,
MinIO), pulled onto training machines, checkpoints pushed back, replays indexed."""

from dagster import Definitions, in_process_executor

from assets.replay_sync.assets import (
    bucket_checkpoints,
    bucket_replays,
    replay_index,
    replay_storage_report,
    training_replays,
    workspace_checkpoints,
)
from resources.env import env_or, lake_from_env
from resources.replay_folders import ReplayFoldersResource
from resources.replay_store import replay_store_from_env
from schedules.replay_sync import jobs, schedules, sensors

defs = Definitions(
    assets=[
        bucket_replays,
        replay_index,
        training_replays,
        bucket_checkpoints,
        workspace_checkpoints,
        replay_storage_report,
    ],
    jobs=jobs,
    schedules=schedules,
    sensors=sensors,
    resources={
        "replay_store": replay_store_from_env(),
        "replay_folders": ReplayFoldersResource(
            slp_root=env_or("SLP_ROOT", "data/slp"),
            workspace=env_or("REPLAY_SYNC_WORKSPACE", "data/workspace"),
        ),
        "lake": lake_from_env(),
    },
    executor=in_process_executor,
)
