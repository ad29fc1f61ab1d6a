"""replay_mining's configuration, in one place: its run settings and the resource dict of the
code location.

- `ReplayMiningSettings`: the run settings that are not I/O (thresholds and pool sizes).
- `build_resources(...)` builds the whole resource dict (`lake`, `stats_api`, `replay_files`,
  `replay_mining_settings`, and the `io_manager` that loads the published tables) from plain
  values: what the tests and benchmarks call.
- `resources_from_env()` reads the environment the Dagster way (`EnvVar` where a variable is set,
  the embedded default otherwise) and calls `build_resources(...)`: what the code location calls.
"""

from __future__ import annotations

from dagster import ConfigurableResource, EnvVar

from resources.env import env_int_or, env_or, lake_from_env
from resources.lake import LakeResource
from resources.lake_tables import LakeTablesIOManager
from resources.replay_mining.stats_api import ReplayFilesResource, StatsApiResource

DEFAULT_MAX_FAILED_PERCENT = 5
DEFAULT_DOWNLOAD_CONCURRENCY = 8
# Where the published tables live in the lake, one file a day (resources/lake_tables.py's
# `lake_key`): the stages write there (assets/replay_mining/stages.py) and the IO manager reads.
INDEX_KEY = "replay_mining/index/date={partition}.parquet"
DATASET_KEY = "datasets/replays/replays_{day:%Y%m%d}.parquet"


class ReplayMiningSettings(ConfigurableResource):
    """`REPLAY_MAX_FAILED_PERCENT` (default 5): a day fails when more of its replays fail.
    `REPLAY_DOWNLOAD_CONCURRENCY` (default 8): replays downloaded at once."""

    max_failed_percent: int = DEFAULT_MAX_FAILED_PERCENT
    download_concurrency: int = DEFAULT_DOWNLOAD_CONCURRENCY


def build_resources(
    *,
    lake: LakeResource,
    stats_api_url: str | EnvVar,
    stats_api_token: str | EnvVar | None = None,
    stats_api_env_name: str | EnvVar | None = None,
    replay_s3_endpoint_url: str | EnvVar | None = None,
    replay_s3_region: str | EnvVar | None = None,
    replay_s3_access_key_id: str | EnvVar | None = None,
    replay_s3_secret_access_key: str | EnvVar | None = None,
    max_failed_percent: int | EnvVar = DEFAULT_MAX_FAILED_PERCENT,
    download_concurrency: int | EnvVar = DEFAULT_DOWNLOAD_CONCURRENCY,
    retries: int | None = None,
    backoff_seconds: float | None = None,
) -> dict[str, object]:
    """The replay_mining code location's resources: the shared lake, the stats server (only
    episodes of `stats_api_env_name` when set), the replay files (the S3 settings apply to
    `s3://` replay URLs only), and the run settings. `retries` and `backoff_seconds`, when
    given, apply to both HTTP resources (otherwise each keeps its own default)."""
    http = {
        name: value
        for name, value in (("retries", retries), ("backoff_seconds", backoff_seconds))
        if value is not None
    }
    return {
        "lake": lake,
        "stats_api": StatsApiResource(
            url=stats_api_url,
            token=stats_api_token,
            env_name=stats_api_env_name,
            **http,
        ),
        "replay_files": ReplayFilesResource(
            s3_endpoint_url=replay_s3_endpoint_url,
            s3_region=replay_s3_region,
            s3_access_key_id=replay_s3_access_key_id,
            s3_secret_access_key=replay_s3_secret_access_key,
            **http,
        ),
        "replay_mining_settings": ReplayMiningSettings(
            max_failed_percent=max_failed_percent,
            download_concurrency=download_concurrency,
        ),
        # `defs.load_asset_value(...)` and an `AssetIn` read the published index and dataset.
        "io_manager": LakeTablesIOManager(
            lake=lake,
            tables={
                "replay_mining/replay_index": INDEX_KEY,
                "replay_mining/replay_dataset": DATASET_KEY,
            },
        ),
    }


def resources_from_env() -> dict[str, object]:
    """The resources as the environment configures them: `STATS_API_URL` (required at run
    launch), `STATS_API_TOKEN`, `STATS_API_ENV_NAME`, `REPLAY_S3_*`, `REPLAY_MAX_FAILED_PERCENT`,
    `REPLAY_DOWNLOAD_CONCURRENCY`, and the lake's `LAKE_*`."""
    return build_resources(
        lake=lake_from_env(),
        stats_api_url=EnvVar("STATS_API_URL"),
        stats_api_token=env_or("STATS_API_TOKEN", None),
        stats_api_env_name=env_or("STATS_API_ENV_NAME", None),
        replay_s3_endpoint_url=env_or("REPLAY_S3_ENDPOINT_URL", None),
        replay_s3_region=env_or("REPLAY_S3_REGION", None),
        replay_s3_access_key_id=env_or("REPLAY_S3_ACCESS_KEY_ID", None),
        replay_s3_secret_access_key=env_or("REPLAY_S3_SECRET_ACCESS_KEY", None),
        max_failed_percent=env_int_or("REPLAY_MAX_FAILED_PERCENT", DEFAULT_MAX_FAILED_PERCENT),
        download_concurrency=env_int_or(
            "REPLAY_DOWNLOAD_CONCURRENCY", DEFAULT_DOWNLOAD_CONCURRENCY
        ),
    )
