"""The analytics databases as configured by the environment (embedded PostgreSQL by default)."""

from __future__ import annotations

import os

from resources.analytics_db import AnalyticsDatabase
from resources.env import env_or, postgres_from_env
from resources.postgres import PostgresResource


def _flag(name: str) -> bool:
    # Not a secret and not a string field: read when the code location loads.
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes")


def analytics_db_from_env() -> AnalyticsDatabase:
    return AnalyticsDatabase(
        source=postgres_from_env("ANALYTICS_SOURCE_DATABASE_URL"),
        rollup=postgres_from_env("ANALYTICS_DATABASE_URL"),
        source_schema=env_or("ANALYTICS_SOURCE_SCHEMA", "public"),
        rollup_schema=env_or("ANALYTICS_SCHEMA", "public"),
        add_typed_columns=_flag("ANALYTICS_ADD_TYPED_COLUMNS"),
        work_mem=env_or("ANALYTICS_WORK_MEM", "256MB"),
    )


def analytics_db_outside_dagster() -> AnalyticsDatabase:
    """The same databases for command-line tools (the demo loader), read from os.environ now."""
    env = os.environ.get
    data_dir = env("POSTGRES_DATA_DIR") or "data/postgres"
    return AnalyticsDatabase(
        source=PostgresResource(
            url=env("ANALYTICS_SOURCE_DATABASE_URL") or env("POSTGRES_URL"),
            embedded_data_dir=data_dir,
        ),
        rollup=PostgresResource(
            url=env("ANALYTICS_DATABASE_URL") or env("POSTGRES_URL"), embedded_data_dir=data_dir
        ),
        source_schema=env("ANALYTICS_SOURCE_SCHEMA") or "public",
        rollup_schema=env("ANALYTICS_SCHEMA") or "public",
        add_typed_columns=_flag("ANALYTICS_ADD_TYPED_COLUMNS"),
        work_mem=env("ANALYTICS_WORK_MEM") or "256MB",
    )
