"""The analytics code location: execution spans rolled up hourly and daily in PostgreSQL."""

import dagster as dg

import assets.analytics
from resources.analytics.settings import resources_from_env
from resources.instance.executors import monitored_in_process_executor
from schedules.analytics import jobs, schedules, sensors

defs = dg.Definitions(
    assets=dg.load_assets_from_package_module(assets.analytics),
    jobs=jobs,
    schedules=schedules,
    sensors=sensors,
    resources=resources_from_env(),
    executor=monitored_in_process_executor,
)
