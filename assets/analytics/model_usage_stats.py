"""`analytics/model_usage_stats`: model calls rolled up per UTC day (made by `rollup.py`)."""

from assets.analytics.rollup import rollup_asset
from assets.analytics.spec import DAILY_FRESHNESS, DAILY_PARTITIONS
from resources.analytics.rollup_queries import MODEL_USAGE

model_usage_stats = rollup_asset(
    MODEL_USAGE,
    DAILY_PARTITIONS,
    DAILY_FRESHNESS,
    """Per UTC day, user, provider and model: calls (completed/failed/cancelled), tokens and
    cost with averages per call, latency average and exact p50/p95/p99. A model call's user is
    its trace's run user.""",
)
