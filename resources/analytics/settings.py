"""The analytics code location's resources, built one way: `build_resources(...)` from explicit
values (what tests, the benchmark and the demo loader call) and `resources_from_env()` over it
(what the code location calls): the environment, embedded PostgreSQL by default. The
`io_manager` reads the published rollups (`defs.load_asset_value(...)`, an `AssetIn`)."""

from __future__ import annotations

from resources.analytics.database import AnalyticsDatabase
from resources.analytics.rollup_tables import RollupTablesIOManager
from resources.env import env_or, load_time_flag, postgres_from_env
from resources.postgres import PostgresResource


def build_resources(
    *,
    source: PostgresResource,
    rollup: PostgresResource | None = None,
    source_schema: str = "public",
    rollup_schema: str = "public",
    add_typed_columns: bool = False,
    work_mem: str = "256MB",
) -> dict[str, object]:
    """`analytics_db`: the platform's spans in `source` (schema `source_schema`) and the rollups
    in `rollup` (schema `rollup_schema`), the source's database unless given; the
    `io_manager` reads the rollups from there."""
    analytics_db = AnalyticsDatabase(
        source=source,
        rollup=rollup or source,
        source_schema=source_schema,
        rollup_schema=rollup_schema,
        add_typed_columns=add_typed_columns,
        work_mem=work_mem,
    )
    return {
        "analytics_db": analytics_db,
        "io_manager": RollupTablesIOManager(analytics_db=analytics_db),
    }


def resources_from_env() -> dict[str, object]:
    """The analytics databases as configured by the environment (embedded PostgreSQL by default).

    Outside Dagster (a command-line tool), `dagster.build_resources(resources_from_env())` gives
    the same resources with the variables read from os.environ now."""
    return build_resources(
        source=postgres_from_env("ANALYTICS_SOURCE_DATABASE_URL"),
        rollup=postgres_from_env("ANALYTICS_DATABASE_URL"),
        source_schema=env_or("ANALYTICS_SOURCE_SCHEMA", "public"),
        rollup_schema=env_or("ANALYTICS_SCHEMA", "public"),
        # Not a secret and not a string field: read when the code location loads.
        add_typed_columns=load_time_flag("ANALYTICS_ADD_TYPED_COLUMNS"),
        work_mem=env_or("ANALYTICS_WORK_MEM", "256MB"),
    )
