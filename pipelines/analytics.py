"""The analytics code location: execution spans rolled up hourly and daily in PostgreSQL."""

from dagster import Definitions, in_process_executor

from assets.analytics.rollups import execution_spans, rollup_assets
from resources.analytics_config import analytics_db_from_env
from schedules.analytics import (
    daily_job,
    daily_schedule,
    hourly_job,
    hourly_schedule,
    late_spans_sensor,
    observe_job,
    observe_schedule,
)

defs = Definitions(
    assets=[execution_spans, *rollup_assets],
    jobs=[hourly_job, daily_job, observe_job],
    schedules=[hourly_schedule, daily_schedule, observe_schedule],
    sensors=[late_spans_sensor],
    resources={"analytics_db": analytics_db_from_env()},
    executor=in_process_executor,
)
