"""Training settings of the rps pipeline, read from the environment the Dagster way."""

from __future__ import annotations

import os

from dagster import ConfigurableResource, EnvVar

from resources.env import env_or


def env_int_or(name: str, default: int):
    return EnvVar.int(name) if os.environ.get(name) else default


class RpsTrainingSettings(ConfigurableResource):
    """`TRAINING_DATA_SINCE_DATE` (no rolling window), `TRAINING_LEGACY_GAME_STRIDE` (1 keeps every
    legacy game), `RPS_MAX_TRAINING_ROUNDS` (the newest rows trained on), `RPS_MIN_TRAINING_ROWS`."""

    since_date: str = "2025-10-01T00:00:00Z"
    legacy_game_stride: int = 5
    max_training_rounds: int = 3000
    min_training_rows: int = 200


def training_settings_from_env() -> RpsTrainingSettings:
    return RpsTrainingSettings(
        since_date=env_or("TRAINING_DATA_SINCE_DATE", "2025-10-01T00:00:00Z"),
        legacy_game_stride=env_int_or("TRAINING_LEGACY_GAME_STRIDE", 5),
        max_training_rounds=env_int_or("RPS_MAX_TRAINING_ROUNDS", 3000),
        min_training_rows=env_int_or("RPS_MIN_TRAINING_ROWS", 200),
    )
