"""The replay_mining code location: replays from the stats server to a daily parquet dataset."""

import dagster as dg

import assets.replay_mining
from assets.catalog import with_code_references
from resources.env import alert_webhook_from_env
from resources.instance.executors import heavy_job_executor
from resources.replay_mining.settings import resources_from_env
from schedules.replay_mining import jobs, schedules, sensors

defs = dg.Definitions(
    assets=with_code_references(dg.load_assets_from_package_module(assets.replay_mining)),
    asset_checks=dg.load_asset_checks_from_package_module(assets.replay_mining),
    jobs=jobs,
    schedules=schedules,
    sensors=sensors,
    resources={**resources_from_env(), "alert_webhook": alert_webhook_from_env()},
    # In-process (the laptop default: no process start per step), or on Celery workers on other
    # machines with DAGSTER_EXECUTOR=celery (resources/instance/executors.py).
    executor=heavy_job_executor(),
)
