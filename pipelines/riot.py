"""The riot code location: tracked Riot players kept fresh, smurf/boosted analysis, ban checks."""

import dagster as dg

import assets.riot
from assets.catalog import with_code_references
from resources.env import alert_webhook_from_env
from resources.instance.executors import monitored_in_process_executor
from resources.riot.settings import resources_from_env
from schedules.riot import jobs, schedules, sensors

defs = dg.Definitions(
    assets=with_code_references(dg.load_assets_from_package_module(assets.riot)),
    asset_checks=dg.load_asset_checks_from_package_module(assets.riot),
    jobs=jobs,
    schedules=schedules,
    sensors=sensors,
    resources={**resources_from_env(), "alert_webhook": alert_webhook_from_env()},
    executor=monitored_in_process_executor,
)
