"""Jobs and schedules of the rps pipeline (they replace the platform's CronJobs).

Legacy gameplay every 150 minutes. No cron string says that: the old `*/150 * * * *` fires at
minute 0 of every hour, and the pair `0 0,5,10,15,20 * * *` + `30 2,7,12,17,22 * * *` leaves a
90-minute gap at midnight (a day is not a multiple of 150 minutes). So the schedule looks every
30 minutes and runs only on the 150-minute grid counted from the Unix epoch: exactly 150 minutes
apart, across midnights too (the grid repeats every 5 days).
"""

from __future__ import annotations

from datetime import datetime

from dagster import (
    AssetSelection,
    RunRequest,
    ScheduleEvaluationContext,
    SkipReason,
    define_asset_job,
    schedule,
)

from assets.rps.spec import SPEC
from schedules.alerts import run_failure_alert_sensor

SERIAL_TAG = {"pipeline/serial": "rps"}  # dagster.yaml runs one rps run at a time
GAMEPLAY_PERIOD_MINUTES = 150


def on_gameplay_grid(moment: datetime) -> bool:
    return int(moment.timestamp() // 60) % GAMEPLAY_PERIOD_MINUTES == 0


rps_legacy_gameplay_job = define_asset_job(
    "rps_legacy_gameplay_job",
    selection=AssetSelection.assets(SPEC.key("legacy_games")),
    tags=SERIAL_TAG,
    description="Eight legacy bots play the served models to generate training data.",
)

rps_training_job = define_asset_job(
    "rps_training_job",
    selection=AssetSelection.assets(
        SPEC.key("training_data"),
        SPEC.key("bot_models"),
        SPEC.key("model_promotion"),
        SPEC.key("model_cache"),
    ),
    tags=SERIAL_TAG,
    description="Build training data, train and register the 12 models, promote, sync the cache.",
)


@schedule(
    job=rps_legacy_gameplay_job,
    cron_schedule="0,30 * * * *",
    execution_timezone="UTC",
)
def rps_legacy_gameplay_schedule(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
    """Every 150 minutes; the tick time names the batch, so a retried tick replaces its games."""
    moment = context.scheduled_execution_time
    if not on_gameplay_grid(moment):
        return SkipReason("not on the 150-minute gameplay grid")
    tick = moment.strftime("%Y-%m-%dT%H:%M")
    return RunRequest(
        run_key=tick,
        run_config={"ops": {"rps__legacy_games": {"config": {"batch": tick}}}},
        tags={"rps/batch": tick},
    )


@schedule(
    job=rps_training_job,
    cron_schedule="0 3 * * *",
    execution_timezone="UTC",
)
def rps_training_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    """Daily trainer run at 03:00 UTC; promotion and the cache sync follow in the same run."""
    return RunRequest(run_key=context.scheduled_execution_time.strftime("%Y-%m-%d"))


jobs = [rps_legacy_gameplay_job, rps_training_job]
schedules = [rps_legacy_gameplay_schedule, rps_training_schedule]
sensors = [run_failure_alert_sensor(SPEC.name)]
