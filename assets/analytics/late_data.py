"""Late spans: which rolled-up buckets changed in the source since they were rolled up.

A bucket (hour or day) is rolled up with a watermark: how many finished run spans it had and the
last end among them, and its finished model calls (count, tokens, cost). A run that finishes
after its bucket was rolled up raises the count (or the last end); a deleted span lowers it; a
model call deleted or corrected changes the model calls. Either way the bucket is stale and is
rolled up again.
"""

from __future__ import annotations

from datetime import datetime

from resources.analytics.windows import BucketState


def stale_buckets(
    rolled_up: dict[datetime, BucketState], source_now: dict[datetime, BucketState]
) -> list[datetime]:
    """Buckets whose source state differs from their watermark, oldest first.

    Only buckets that were rolled up count: one never rolled up is the schedule's or a
    backfill's job, not a late-data re-run.
    """
    stale = []
    for bucket, mark in rolled_up.items():
        now = source_now.get(bucket, BucketState(0, None))
        moved = now.finished_runs and now.last_ended_at != mark.last_ended_at
        if now.finished_runs != mark.finished_runs or moved:
            stale.append(bucket)
    return sorted(stale)


def changed_model_buckets(rolled_up: list[datetime], recorded: dict, source_now: dict) -> list:
    """Rolled-up buckets whose finished model calls (count, tokens, cost) changed since: a model
    span deleted or corrected. A bucket without calls is (0, 0, 0) on either side."""
    empty = (0, 0, 0)
    return sorted(
        b for b in rolled_up if tuple(recorded.get(b, empty)) != tuple(source_now.get(b, empty))
    )
