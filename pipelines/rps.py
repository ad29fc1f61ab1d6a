"""The rps code location: bot gameplay, training data, 3 model families x 4 aliases in MLflow,
auto-promotion and the 12-model cache. The only location that imports mlflow/xgboost/sklearn."""

import dagster as dg

import assets.rps
from assets.catalog import with_code_references
from resources.env import alert_webhook_from_env
from resources.instance.executors import monitored_in_process_executor
from resources.rps.settings import resources_from_env
from schedules.rps import jobs, schedules, sensors

defs = dg.Definitions(
    assets=with_code_references(dg.load_assets_from_package_module(assets.rps)),
    asset_checks=dg.load_asset_checks_from_package_module(assets.rps),
    jobs=jobs,
    schedules=schedules,
    sensors=sensors,
    resources={**resources_from_env(), "alert_webhook": alert_webhook_from_env()},
    executor=monitored_in_process_executor,
)
