"""Settings and resource wiring of the rps pipeline: the one place that says which resources the
code location binds and where their values come from.

`build_resources(...)` builds the whole resource dict from plain values (what tests and
benchmarks call); `resources_from_env()` reads the environment the Dagster way (`EnvVar` where a
variable is set, the embedded default otherwise, so a fresh machine runs with no configuration)
and calls it (what `pipelines/rps.py` calls).
"""

from __future__ import annotations

from dagster import ConfigurableResource, EnvVar

from resources.env import env_int_or, env_or, lake_from_env
from resources.lake import LakeResource
from resources.lake_tables import LakeTablesIOManager
from resources.rps.games_store import GamesStoreResource
from resources.rps.metrics import RpsMetricsResource
from resources.rps.model_registry import MlflowRegistryResource

# The embedded defaults: a laptop's local stores under data/.
GAMES_URL = "sqlite:///data/rps/rps.db"
TRACKING_URI = "sqlite:///data/mlflow/mlflow.db"
ARTIFACT_LOCATION = "data/mlflow/artifacts"
METRICS_TEXTFILE = "data/metrics/rps.prom"
SINCE_DATE = "2025-10-01T00:00:00Z"
LEGACY_GAME_STRIDE = 5
MAX_TRAINING_ROUNDS = 3000
MIN_TRAINING_ROWS = 200
# Where `rps/training_data` is published in the lake: written by the asset, read by bot_models,
# the benchmark and the IO manager below.
TRAINING_DATA_KEY = "rps/training_data/training_data.parquet"


class RpsTrainingSettings(ConfigurableResource):
    """`TRAINING_DATA_SINCE_DATE` (no rolling window), `TRAINING_LEGACY_GAME_STRIDE` (1 keeps every
    legacy game), `RPS_MAX_TRAINING_ROUNDS` (the newest rows trained on), `RPS_MIN_TRAINING_ROWS`."""

    since_date: str = SINCE_DATE
    legacy_game_stride: int = LEGACY_GAME_STRIDE
    max_training_rounds: int = MAX_TRAINING_ROUNDS
    min_training_rows: int = MIN_TRAINING_ROWS


def build_resources(
    *,
    lake: LakeResource,
    games_url: str | EnvVar = GAMES_URL,
    tracking_uri: str | EnvVar = TRACKING_URI,
    artifact_location: str | EnvVar = ARTIFACT_LOCATION,
    metrics_textfile: str | EnvVar = METRICS_TEXTFILE,
    pushgateway_url: str | EnvVar | None = None,
    since_date: str | EnvVar = SINCE_DATE,
    legacy_game_stride: int | EnvVar = LEGACY_GAME_STRIDE,
    max_training_rounds: int | EnvVar = MAX_TRAINING_ROUNDS,
    min_training_rows: int | EnvVar = MIN_TRAINING_ROWS,
) -> dict[str, object]:
    """The rps code location's resources, by the keys its assets ask for."""
    return {
        "rps_games": GamesStoreResource(url=games_url),
        "mlflow_registry": MlflowRegistryResource(
            tracking_uri=tracking_uri, artifact_location=artifact_location
        ),
        "rps_metrics": RpsMetricsResource(
            textfile_path=metrics_textfile, pushgateway_url=pushgateway_url
        ),
        "rps_training": RpsTrainingSettings(
            since_date=since_date,
            legacy_game_stride=legacy_game_stride,
            max_training_rounds=max_training_rounds,
            min_training_rows=min_training_rows,
        ),
        "lake": lake,
        # `defs.load_asset_value(...)` and an `AssetIn` read the published training data.
        "io_manager": LakeTablesIOManager(
            lake=lake, tables={"rps/training_data": TRAINING_DATA_KEY}
        ),
    }


def resources_from_env() -> dict[str, object]:
    """`RPS_DATABASE_URL`, `MLFLOW_TRACKING_URI`, `RPS_MLFLOW_ARTIFACTS`, `RPS_METRICS_TEXTFILE`,
    `RPS_PUSHGATEWAY_URL`, the training settings' variables and the lake's `LAKE_*`."""
    return build_resources(
        lake=lake_from_env(),
        games_url=env_or("RPS_DATABASE_URL", GAMES_URL),
        tracking_uri=env_or("MLFLOW_TRACKING_URI", TRACKING_URI),
        artifact_location=env_or("RPS_MLFLOW_ARTIFACTS", ARTIFACT_LOCATION),
        metrics_textfile=env_or("RPS_METRICS_TEXTFILE", METRICS_TEXTFILE),
        pushgateway_url=env_or("RPS_PUSHGATEWAY_URL", None),
        since_date=env_or("TRAINING_DATA_SINCE_DATE", SINCE_DATE),
        legacy_game_stride=env_int_or("TRAINING_LEGACY_GAME_STRIDE", LEGACY_GAME_STRIDE),
        max_training_rounds=env_int_or("RPS_MAX_TRAINING_ROUNDS", MAX_TRAINING_ROUNDS),
        min_training_rows=env_int_or("RPS_MIN_TRAINING_ROWS", MIN_TRAINING_ROWS),
    )
