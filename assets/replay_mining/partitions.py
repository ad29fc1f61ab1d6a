"""Daily UTC partitions shared by every replay_mining asset."""

from __future__ import annotations

import datetime as dt

from dagster import AssetExecutionContext, AssetKey, BackfillPolicy, DailyPartitionsDefinition

# The stats server's history starts in 2025; the newest partition is yesterday (a complete day).
daily_partitions = DailyPartitionsDefinition(start_date="2025-01-01", timezone="UTC", end_offset=0)
# A range of days runs as one run: a year of backfill is one process start, not 365.
single_run = BackfillPolicy.single_run()
GROUP = "replay_mining"
# Asset keys carry the pipeline (`replay_mining/replay_index`): unique across the workspace.
KEY_PREFIX = "replay_mining"
# One slot (dagster_home/dagster.yaml): a partition is never written by two runs at once.
POOL = "replay_mining"


# What every replay_mining stage declares alike: `@asset(**STAGE, deps=..., kinds=...)`.
STAGE = dict(
    key_prefix=KEY_PREFIX,
    group_name=GROUP,
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    pool=POOL,
)


def asset_key(name: str) -> AssetKey:
    return AssetKey([KEY_PREFIX, name])


def partition_days(context: AssetExecutionContext) -> list[dt.date]:
    """The UTC days this run covers: one partition or a whole range."""
    return [dt.date.fromisoformat(key) for key in context.partition_keys]
