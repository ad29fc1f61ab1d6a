"""The daily replay_mining run: 02:00 UTC, for yesterday's partition."""

from __future__ import annotations

from dagster import AssetSelection, build_schedule_from_partitioned_job, define_asset_job

from assets.replay_mining.partitions import GROUP

replay_mining_job = define_asset_job(
    "replay_mining_job",
    selection=AssetSelection.groups(GROUP),
    description="Query, download, parse and publish the replays of one UTC day (or a range).",
)

# A schedule built from the partitioned job targets the newest complete partition: yesterday.
replay_mining_daily = build_schedule_from_partitioned_job(
    replay_mining_job, hour_of_day=2, minute_of_hour=0, name="replay_mining_daily"
)
