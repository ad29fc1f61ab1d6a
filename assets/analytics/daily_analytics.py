"""`analytics/daily_analytics`: the spans rolled up per UTC day (made by `rollup.py`)."""

from assets.analytics.rollup import rollup_asset
from assets.analytics.spec import DAILY_FRESHNESS, DAILY_PARTITIONS
from resources.analytics.rollup_queries import DAILY

daily_analytics = rollup_asset(
    DAILY,
    DAILY_PARTITIONS,
    DAILY_FRESHNESS,
    """Per UTC day, user, entity type and entity: the same measures as hourly_analytics,
    computed from the raw spans (percentiles do not combine from hours).""",
)
