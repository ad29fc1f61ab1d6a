"""The replay_mining code location: replays from the stats server to a daily parquet dataset."""

from dagster import Definitions, EnvVar

from assets.replay_mining import replay_mining_assets
from assets.replay_mining.settings import ReplayMiningSettings
from resources.env import env_int_or, env_or, lake_from_env
from resources.instance.executors import heavy_job_executor
from resources.stats_api import ReplayFilesResource, StatsApiResource
from schedules.replay_mining import replay_mining_daily, replay_mining_job

defs = Definitions(
    assets=replay_mining_assets,
    jobs=[replay_mining_job],
    schedules=[replay_mining_daily],
    resources={
        "lake": lake_from_env(),
        "stats_api": StatsApiResource(
            url=EnvVar("STATS_API_URL"),
            token=env_or("STATS_API_TOKEN", None),
            env_name=env_or("STATS_API_ENV_NAME", None),
        ),
        "replay_files": ReplayFilesResource(
            s3_endpoint_url=env_or("REPLAY_S3_ENDPOINT_URL", None),
            s3_region=env_or("REPLAY_S3_REGION", None),
            s3_access_key_id=env_or("REPLAY_S3_ACCESS_KEY_ID", None),
            s3_secret_access_key=env_or("REPLAY_S3_SECRET_ACCESS_KEY", None),
        ),
        "replay_mining_settings": ReplayMiningSettings(
            max_failed_percent=env_int_or("REPLAY_MAX_FAILED_PERCENT", 5),
            download_concurrency=env_int_or("REPLAY_DOWNLOAD_CONCURRENCY", 8),
        ),
    },
    # In-process (the laptop default: no process start per step), or on Celery workers on other
    # machines with DAGSTER_EXECUTOR=celery (resources/instance/executors.py).
    executor=heavy_job_executor(),
)
