"""`analytics/hourly_analytics`: the spans rolled up per UTC hour (made by `rollup.py`)."""

from assets.analytics.rollup import rollup_asset
from assets.analytics.spec import HOURLY_FRESHNESS, HOURLY_PARTITIONS
from resources.analytics.rollup_queries import HOURLY

hourly_analytics = rollup_asset(
    HOURLY,
    HOURLY_PARTITIONS,
    HOURLY_FRESHNESS,
    """Per UTC hour, user, entity type (workflow/agent) and entity: executions (completed,
    failed, cancelled), success rate, tokens and cost (summed over each run's model calls),
    duration average/min/max and exact p50/p95. Runs are bucketed by start; a partition's rows
    are replaced in one transaction.""",
)
