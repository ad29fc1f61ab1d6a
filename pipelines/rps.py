"""The rps code location: bot gameplay, training data, 3 model families x 4 aliases in MLflow,
auto-promotion and the 12-model cache. The only location that imports mlflow/xgboost/sklearn."""

from __future__ import annotations

from dagster import Definitions, in_process_executor

from assets.rps.assets import rps_assets
from resources.env import env_or, lake_from_env
from resources.rps.games_store import GamesStoreResource
from resources.rps.metrics import RpsMetricsResource
from resources.rps.model_registry import MlflowRegistryResource
from resources.rps.settings import training_settings_from_env
from schedules.rps import rps_jobs, rps_schedules


def rps_resources() -> dict:
    return {
        "rps_games": GamesStoreResource(
            url=env_or("RPS_DATABASE_URL", "sqlite:///data/rps/rps.db")
        ),
        "mlflow_registry": MlflowRegistryResource(
            tracking_uri=env_or("MLFLOW_TRACKING_URI", "sqlite:///data/mlflow/mlflow.db"),
            artifact_location=env_or("RPS_MLFLOW_ARTIFACTS", "data/mlflow/artifacts"),
        ),
        "rps_metrics": RpsMetricsResource(
            textfile_path=env_or("RPS_METRICS_TEXTFILE", "data/metrics/rps.prom"),
            pushgateway_url=env_or("RPS_PUSHGATEWAY_URL", None),
        ),
        "rps_training": training_settings_from_env(),
        "lake": lake_from_env(),
    }


defs = Definitions(
    assets=rps_assets,
    schedules=rps_schedules,
    jobs=rps_jobs,
    resources=rps_resources(),
    executor=in_process_executor,
)
