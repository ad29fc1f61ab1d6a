"""The riot code location: tracked Riot players kept fresh, smurf/boosted analysis, ban checks."""

import dagster as dg

import assets.riot
from resources.instance.executors import monitored_in_process_executor
from resources.riot.settings import resources_from_env
from schedules.riot import jobs, schedules, sensors

defs = dg.Definitions(
    assets=dg.load_assets_from_package_module(assets.riot),
    jobs=jobs,
    schedules=schedules,
    sensors=sensors,
    resources=resources_from_env(),
    executor=monitored_in_process_executor,
)
