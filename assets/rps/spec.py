"""What every rps asset declares alike, declared once: the pipeline spec (key prefix `rps/`,
group `rps`, owners) and the lake keys the assets share. No partitions: gameplay is a stream of
batches and training uses the whole window since a date, so there is nothing to backfill by date."""

from __future__ import annotations

from datetime import timedelta

from dagster import FreshnessPolicy

from assets.catalog import sql_columns, table_metadata
from assets.common import PipelineSpec
from resources.env import load_time_text
from resources.rps.games_store import schema_sql
from resources.rps.settings import TRAINING_DATA_KEY as TRAINING_DATA_KEY

SPEC = PipelineSpec("rps")

# In the lake: TRAINING_DATA_KEY (resources/rps/settings.py, where the IO manager reading it is
# bound), written by training_data, read by bot_models (and the benchmark).
# The served models, one directory per (family, alias) model: written by model_cache.
MODEL_CACHE_PREFIX = "rps/model_cache"

# The games store's engine, for the catalog: SQLite unless RPS_DATABASE_URL names PostgreSQL (read
# when the code location loads, for its scheme only).
GAMES_STORE_ENGINE = (
    "postgres" if load_time_text("RPS_DATABASE_URL", "sqlite:").startswith("postgres") else "sqlite"
)


def games_store_metadata(table: str) -> dict:
    """A games-store table's columns, from the DDL the store creates it with."""
    return table_metadata(
        sql_columns(schema_sql(GAMES_STORE_ENGINE == "postgres"), table), table, GAMES_STORE_ENGINE
    )


# Gameplay every 150 minutes: a batch missing for 3 h warns, for 5.5 h (two missed) fails.
GAMEPLAY_FRESHNESS = FreshnessPolicy.time_window(
    fail_window=timedelta(hours=5, minutes=30), warn_window=timedelta(hours=3)
)
# Training, promotion and the cache sync at 03:00 UTC (minutes of work): late at 05:00.
TRAINING_FRESHNESS = FreshnessPolicy.cron(
    deadline_cron="0 5 * * *", lower_bound_delta=timedelta(hours=2)
)
