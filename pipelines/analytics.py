"""The analytics code location: execution spans rolled up hourly and daily in PostgreSQL."""

import dagster as dg

import assets.analytics
from assets.catalog import with_code_references
from resources.analytics.settings import resources_from_env
from resources.env import alert_webhook_from_env
from resources.instance.executors import monitored_in_process_executor
from schedules.analytics import jobs, schedules, sensors

defs = dg.Definitions(
    assets=with_code_references(dg.load_assets_from_package_module(assets.analytics)),
    asset_checks=dg.load_asset_checks_from_package_module(assets.analytics),
    jobs=jobs,
    schedules=schedules,
    sensors=sensors,
    resources={**resources_from_env(), "alert_webhook": alert_webhook_from_env()},
    executor=monitored_in_process_executor,
)
