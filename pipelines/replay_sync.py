"""The replay_sync code location: Slippi replays kept in an S3-compatible bucket (B2, R2, S3,
MinIO), pulled onto training machines, checkpoints pushed back, replays indexed."""

import dagster as dg

import assets.replay_sync
from assets.catalog import with_code_references
from resources.env import alert_webhook_from_env
from resources.instance.executors import monitored_in_process_executor
from resources.replay_sync.settings import resources_from_env
from schedules.replay_sync import jobs, schedules, sensors

defs = dg.Definitions(
    assets=with_code_references(dg.load_assets_from_package_module(assets.replay_sync)),
    asset_checks=dg.load_asset_checks_from_package_module(assets.replay_sync),
    jobs=jobs,
    schedules=schedules,
    sensors=sensors,
    resources={**resources_from_env(), "alert_webhook": alert_webhook_from_env()},
    executor=monitored_in_process_executor,
)
