"""When analytics runs: hourly at :05 and daily at 00:05 UTC for the bucket just closed, the
span observation every 15 minutes, and a sensor that re-rolls buckets whose spans changed after
their rollup. (Freshness is the assets' own FreshnessPolicy and the observation's check.)"""

from datetime import UTC, datetime, timedelta

import dagster as dg

from assets.analytics.daily_analytics import daily_analytics
from assets.analytics.execution_spans import execution_spans
from assets.analytics.hourly_analytics import hourly_analytics
from assets.analytics.late_data import changed_model_buckets, stale_buckets
from assets.analytics.model_usage_stats import model_usage_stats
from assets.analytics.recent_activity_summary import recent_activity_summary
from assets.analytics.spec import DAILY_PARTITIONS, HOURLY_PARTITIONS
from resources.analytics.database import AnalyticsDatabase
from resources.analytics.rollup_queries import DAILY, HOURLY
from schedules.alerts import run_failure_alert_sensor

# Every analytics run carries this tag; dagster.yaml queues runs with the same value one at a
# time (the database's advisory locks make an overlap safe anyway).
RUN_TAGS = {"pipeline/serial": "analytics"}
# How far back the late-span sensor looks; older changes need a backfill by hand.
LATE_SPAN_LOOKBACK = timedelta(hours=48)

analytics_hourly_job = dg.define_asset_job(
    "analytics_hourly_job",
    selection=[hourly_analytics],
    tags=RUN_TAGS,
    description="Roll one or more UTC hours of spans up into hourly_analytics.",
)
analytics_daily_job = dg.define_asset_job(
    "analytics_daily_job",
    selection=[daily_analytics, model_usage_stats, recent_activity_summary],
    tags=RUN_TAGS,
    description="Roll UTC days up into daily_analytics and model_usage_stats, refresh the view.",
)
analytics_observe_spans_job = dg.define_asset_job(
    "analytics_observe_spans_job", selection=[execution_spans], tags=RUN_TAGS
)

# Ticks target the latest complete partition: at 14:05 the 13:00 hour, at 00:05 yesterday.
analytics_hourly_schedule = dg.build_schedule_from_partitioned_job(
    analytics_hourly_job, minute_of_hour=5, name="analytics_hourly_schedule"
)
analytics_daily_schedule = dg.build_schedule_from_partitioned_job(
    analytics_daily_job, hour_of_day=0, minute_of_hour=5, name="analytics_daily_schedule"
)
analytics_observe_spans_schedule = dg.ScheduleDefinition(
    name="analytics_observe_spans_schedule",
    job=analytics_observe_spans_job,
    cron_schedule="*/15 * * * *",
    execution_timezone="UTC",
)


def late_span_run_requests(analytics_db: AnalyticsDatabase, now: datetime) -> list[dg.RunRequest]:
    """Run requests for the hours and days whose finished spans changed since their rollup."""
    since = now - LATE_SPAN_LOOKBACK
    requests = []
    for rollup, job, partitions in (
        (HOURLY, analytics_hourly_job, HOURLY_PARTITIONS),
        (DAILY, analytics_daily_job, DAILY_PARTITIONS),
    ):
        marks = analytics_db.watermarks(rollup, since)
        if not marks:
            continue
        source_now = analytics_db.source_state(rollup, min(marks), now)
        stale = stale_buckets(marks, source_now)
        calls_now = analytics_db.model_state(rollup, min(marks), now)
        changed = changed_model_buckets(
            sorted(marks), analytics_db.model_watermarks(rollup, since), calls_now
        )
        for bucket in sorted(set(stale) | set(changed)):
            state = (source_now.get(bucket), calls_now.get(bucket))
            key = bucket.astimezone(UTC).strftime(partitions.fmt)
            requests.append(
                dg.RunRequest(
                    job_name=job.name,
                    partition_key=key,
                    run_key=f"{rollup.table}:{key}:{state}",
                    tags={**RUN_TAGS, "analytics/reason": "late-spans"},
                )
            )
    return requests


@dg.sensor(
    name="analytics_late_spans_sensor",
    jobs=[analytics_hourly_job, analytics_daily_job],
    minimum_interval_seconds=600,
    description="Re-rolls an hour or day of the last 48 h whose finished spans changed "
    "(late-ending, deleted or corrected run and model spans) after it was rolled up.",
)
def analytics_late_spans_sensor(
    context: dg.SensorEvaluationContext, analytics_db: AnalyticsDatabase
):
    requests = late_span_run_requests(analytics_db, datetime.now(UTC))
    if not requests:
        return dg.SkipReason("No rolled-up bucket of the last 48 h changed since its rollup.")
    return requests


# Evaluates the assets' automation conditions (recent_activity_summary follows daily_analytics).
# Declared here so that, like every sensor, it ships stopped (Dagster's default one would not).
analytics_automation_condition_sensor = dg.AutomationConditionSensorDefinition(
    "analytics_automation_condition_sensor",
    target=dg.AssetSelection.assets(recent_activity_summary),
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Refreshes recent_activity_summary after any run that changed daily_analytics.",
)

jobs = [analytics_hourly_job, analytics_daily_job, analytics_observe_spans_job]
schedules = [analytics_hourly_schedule, analytics_daily_schedule, analytics_observe_spans_schedule]
sensors = [
    analytics_late_spans_sensor,
    analytics_automation_condition_sensor,
    run_failure_alert_sensor("analytics"),
]
