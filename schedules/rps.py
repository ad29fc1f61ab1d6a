"""Schedules of the rps pipeline (they replace the platform's CronJobs).

Legacy gameplay every 150 minutes: no single cron string says that (the old `*/150 * * * *`
fires at minute 0 of every hour), but two do, in one schedule: 00:00, 02:30, 05:00, 07:30, ...
"""

from __future__ import annotations

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    RunRequest,
    ScheduleEvaluationContext,
    define_asset_job,
    schedule,
)

SERIAL_TAG = {"pipeline/serial": "rps"}  # dagster.yaml runs one rps run at a time
EVERY_150_MINUTES = ["0 0,5,10,15,20 * * *", "30 2,7,12,17,22 * * *"]

legacy_gameplay_job = define_asset_job(
    "rps_legacy_gameplay_job",
    selection=AssetSelection.assets("legacy_games"),
    tags=SERIAL_TAG,
    description="Eight legacy bots play the served models to generate training data.",
)

training_job = define_asset_job(
    "rps_training_job",
    selection=AssetSelection.assets(
        "training_data", "bot_models", "model_promotion", "model_cache"
    ),
    tags=SERIAL_TAG,
    description="Build training data, train and register the 12 models, promote, sync the cache.",
)


@schedule(
    job=legacy_gameplay_job,
    cron_schedule=EVERY_150_MINUTES,
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
)
def legacy_gameplay_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    """Every 150 minutes; the tick time names the batch, so a retried tick replaces its games."""
    tick = context.scheduled_execution_time.strftime("%Y-%m-%dT%H:%M")
    return RunRequest(
        run_key=tick,
        run_config={"ops": {"legacy_games": {"config": {"batch": tick}}}},
        tags={"rps/batch": tick},
    )


@schedule(
    job=training_job,
    cron_schedule="0 3 * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
)
def training_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    """Daily trainer run at 03:00 UTC; promotion and the cache sync follow in the same run."""
    return RunRequest(run_key=context.scheduled_execution_time.strftime("%Y-%m-%d"))


rps_jobs = [legacy_gameplay_job, training_job]
rps_schedules = [legacy_gameplay_schedule, training_schedule]
