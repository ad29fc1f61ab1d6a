"""What every analytics asset declares alike (group and key prefix `analytics`, owners), once,
and what several of them share: the hourly and daily partitions, the freshness policies, the code
version and the span source's key.

The pipeline has no one partitioning (hourly and daily rollups, an unpartitioned view), so the
rollups pass their own partitions to `SPEC.asset_args(...)`.
"""

from datetime import timedelta

import dagster as dg

from assets.catalog import sql_columns, table_metadata
from assets.common import PipelineSpec
from resources.analytics.rollup_migrations import rollup_migrations
from resources.analytics.source_schema import SOURCE_TABLE_DDL
from resources.env import load_time_text

SPEC = PipelineSpec("analytics")

START = "2024-01-01"
HOURLY_PARTITIONS = dg.HourlyPartitionsDefinition(start_date=f"{START}-00:00", timezone="UTC")
DAILY_PARTITIONS = dg.DailyPartitionsDefinition(start_date=START, timezone="UTC")
CODE_VERSION = "1"
# The schedules roll each hour up at :05 and each day at 00:05 UTC; a rollup older than one
# missed run plus slack is late (the UI's freshness, evaluated by the daemon, no sensor needed).
HOURLY_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=2), warn_window=timedelta(minutes=75)
)
DAILY_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=26), warn_window=timedelta(hours=25)
)

# Asset keys carry the pipeline (`analytics/hourly_analytics`): unique across the workspace.
EXECUTION_SPANS = SPEC.key("execution_spans")
DAILY_ANALYTICS = SPEC.key("daily_analytics")


# The schemas the catalog names, read when the code location loads (runs read the same variables
# at launch, through the analytics_db resource).
SOURCE_SCHEMA = load_time_text("ANALYTICS_SOURCE_SCHEMA", "public")
ROLLUP_SCHEMA = load_time_text("ANALYTICS_SCHEMA", "public")


def catalog_metadata(table: str) -> dict:
    """The table's (or view's) columns from the DDL that creates it, and its qualified name.
    `execution_spans` is the platform's layout (the typed columns some databases add are ours)."""
    if table == EXECUTION_SPANS.path[-1]:
        schema, ddl = SOURCE_SCHEMA, SOURCE_TABLE_DDL.format(src=SOURCE_SCHEMA)
    else:
        schema, ddl = ROLLUP_SCHEMA, rollup_migrations(ROLLUP_SCHEMA)
    return table_metadata(sql_columns(ddl, table), f"{schema}.{table}", "postgres")
