"""What every replay_mining asset declares alike: daily UTC partitions, the backfill policy, and
the pipeline spec (key prefix, group, owners); with the two helpers every stage's body uses."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from datetime import timedelta

from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    DailyPartitionsDefinition,
    Failure,
    FreshnessPolicy,
)

from assets.common import PipelineSpec, deployment_backfill_policy, metadata_table
from assets.replay_mining.stages import CorruptIntermediate, MissingUpstream
from resources.lake import Lake

# The stats server's history starts in 2025; the newest partition is yesterday (a complete day).
daily_partitions = DailyPartitionsDefinition(start_date="2025-01-01", timezone="UTC", end_offset=0)

# What every replay_mining stage declares alike: `@asset(**SPEC.asset_args(kinds=...), deps=...)`.
# Asset keys carry the pipeline (`replay_mining/replay_index`): unique across the workspace.
# A range of days runs as one run (a year of backfill is one process start, not 365), or as runs
# of BACKFILL_MAX_PARTITIONS_PER_RUN days in parallel on a deployment with run workers.
# The 02:00 UTC run publishes yesterday; by 06:00 a day's stages are late (a day takes minutes).
# Dagster's freshness reads an asset's newest materialization, whatever its partition: a backfill
# of old days in the window also counts (the Partitions tab shows which days are missing).
DAILY_RUN_FRESHNESS = FreshnessPolicy.cron(
    deadline_cron="0 6 * * *", lower_bound_delta=timedelta(hours=4)
)
SPEC = PipelineSpec(
    "replay_mining",
    partitions_def=daily_partitions,
    backfill_policy=deployment_backfill_policy(),
    freshness_policy=DAILY_RUN_FRESHNESS,
)
# No pool: a pool would serialise every day. Each stage holds a one-slot pool per day it writes
# (`one_writer_per_partition(SPEC.name)`), so different days run at once, one writer per day.


def partition_days(context: AssetExecutionContext) -> list[dt.date]:
    """The UTC days this run covers: one partition or a whole range."""
    days = [dt.date.fromisoformat(key) for key in context.partition_keys]
    if not days:
        # Dagster turns a reversed range (`--partition-range 2026-11-30...2026-11-28`) into no keys.
        span = context.partition_key_range
        raise Failure(
            description=(
                f"The partition range {span.start}...{span.end} holds no day: the first day must "
                f"come first. Run it as --partition-range {min(span.start, span.end)}..."
                f"{max(span.start, span.end)}."
            )
        )
    return days


@contextlib.contextmanager
def stage_errors() -> Iterator[None]:
    """A missing or damaged upstream file fails the step with the stage's own message (which
    names the file and what to re-run), not a wrapped traceback."""
    try:
        yield
    except (MissingUpstream, CorruptIntermediate) as exc:
        raise Failure(description=str(exc)) from exc


def audit_days(
    context, lake: Lake, audit: Callable[[Lake, dt.date], list[str]]
) -> AssetCheckResult:
    """A stage's check over the days of the run (`assets.replay_mining.stage_audits`): passed
    when no day has a problem; the problems, by day, in the metadata. Checked on its own (the
    asset's Checks tab), with no day in the run, it audits the newest day."""
    tags = context.run.tags
    if "dagster/partition" in tags or "dagster/asset_partition_range_start" in tags:
        days = partition_days(context)
    else:
        days = [dt.date.fromisoformat(daily_partitions.get_last_partition_key())]
    problems = [p for day in days for p in audit(lake, day)]
    return AssetCheckResult(
        passed=not problems,
        description=f"{len(problems)} problems in {len(days)} days" if problems else None,
        metadata={
            "days_checked": len(days),
            "problems": len(problems),
            "first_problems": metadata_table(
                [{"problem": p} for p in problems], columns=["problem"]
            ),
        },
    )
