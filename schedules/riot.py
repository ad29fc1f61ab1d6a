"""The riot jobs and schedule: the refresh (every 2 minutes by default, 90 s at most, never two
at once) and the player tracking job (track, untrack, list; Launchpad or bin/riot).

The interval and the timeout are read when the code location loads (`RIOT_REFRESH_CRON`,
`RIOT_RUN_TIMEOUT_SECONDS`): a schedule's cron cannot be an EnvVar resolved at run launch.
"""

import os

from dagster import (
    AssetSelection,
    DagsterRunStatus,
    RunRequest,
    RunsFilter,
    ScheduleEvaluationContext,
    SkipReason,
    define_asset_job,
    job,
    schedule,
)

from assets.riot.player_tracking import riot_player_tracking
from schedules.alerts import run_failure_alert_sensor

RUN_TAGS = {
    # run monitoring (dagster_home/dagster.yaml) fails a run still going after 90 s, so none is
    # left "running" forever
    "dagster/max_runtime": os.environ.get("RIOT_RUN_TIMEOUT_SECONDS", "90"),
    # the instance's run queue lets one run per value of this tag run at a time
    "pipeline/serial": "riot",
}
IN_PROGRESS = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
]

riot_refresh_job = define_asset_job(
    "riot_refresh_job",
    selection=AssetSelection.groups("riot"),
    tags=RUN_TAGS,
    description="Tracked player updates, then player analyses, then ban checks.",
)


@schedule(
    name="riot_refresh_schedule",
    cron_schedule=os.environ.get("RIOT_REFRESH_CRON", "*/2 * * * *"),
    job=riot_refresh_job,
    execution_timezone="UTC",
)
def riot_refresh_schedule(context: ScheduleEvaluationContext):
    """Skips the tick while a riot refresh is queued or running (the replaced "already running"
    guard); the tag limit would only queue it behind the running one."""
    runs = context.instance.get_run_records(
        filters=RunsFilter(job_name=riot_refresh_job.name, statuses=IN_PROGRESS), limit=1
    )
    if runs:
        return SkipReason(f"riot refresh run {runs[0].dagster_run.run_id} is still in progress")
    return RunRequest(tags=RUN_TAGS)


@job(tags={"pipeline/serial": "riot-tracking"})
def riot_player_tracking_job():
    riot_player_tracking()


jobs = [riot_refresh_job, riot_player_tracking_job]
schedules = [riot_refresh_schedule]
sensors = [run_failure_alert_sensor("riot")]
