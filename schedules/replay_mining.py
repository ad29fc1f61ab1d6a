"""The daily replay_mining run: 02:00 UTC, for yesterday's partition."""

from __future__ import annotations

from dagster import AssetSelection, build_schedule_from_partitioned_job, define_asset_job

from assets.replay_mining.spec import SPEC
from schedules.alerts import run_failure_alert_sensor

replay_mining_dataset_job = define_asset_job(
    "replay_mining_dataset_job",
    selection=AssetSelection.groups(SPEC.name),
    description="Query, download, parse and publish the replays of one UTC day (or a range).",
)

# A schedule built from the partitioned job targets the newest complete partition: yesterday.
replay_mining_dataset_schedule = build_schedule_from_partitioned_job(
    replay_mining_dataset_job,
    hour_of_day=2,
    minute_of_hour=0,
    name="replay_mining_dataset_schedule",
)

jobs = [replay_mining_dataset_job]
schedules = [replay_mining_dataset_schedule]
sensors = [run_failure_alert_sensor(SPEC.name)]
