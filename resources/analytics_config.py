"""The analytics databases as configured by the environment (embedded PostgreSQL by default)."""

from __future__ import annotations

from resources.analytics_db import AnalyticsDatabase
from resources.settings import env_or, postgres_from_env


def analytics_db_from_env() -> AnalyticsDatabase:
    return AnalyticsDatabase(
        source=postgres_from_env("ANALYTICS_SOURCE_DATABASE_URL"),
        rollup=postgres_from_env("ANALYTICS_DATABASE_URL"),
        source_schema=env_or("ANALYTICS_SOURCE_SCHEMA", "public"),
        rollup_schema=env_or("ANALYTICS_SCHEMA", "public"),
    )
