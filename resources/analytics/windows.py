"""UTC windows and bucket states, shared by the rollup resource and the analytics assets: explicit
bounds, never the machine's or the session's time zone (plain logic, no I/O)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def require_utc(moment: datetime, what: str = "timestamp") -> datetime:
    """`moment` in UTC; a timezone-naive value is refused (it would be read in a local zone)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"{what} {moment.isoformat()} has no time zone; pass an aware datetime "
            "(e.g. datetime(..., tzinfo=UTC)) so the window is unambiguous."
        )
    return moment.astimezone(UTC)


def window_for_key(key: str, unit: timedelta) -> tuple[datetime, datetime]:
    """The UTC [start, end) of a partition key: `2024-11-09` (day) or `2024-11-09-13:00` (hour)."""
    formats = {DAY: "%Y-%m-%d", HOUR: "%Y-%m-%d-%H:%M"}
    try:
        start = datetime.strptime(key, formats[unit]).replace(tzinfo=UTC)
    except ValueError:
        example = "2024-11-09" if unit == DAY else "2024-11-09-13:00"
        raise ValueError(
            f"Partition key {key!r} is not a valid {'day' if unit == DAY else 'hour'} "
            f"(expected like {example!r}, UTC)."
        ) from None
    if unit == HOUR and start.minute:
        raise ValueError(f"Partition key {key!r} is not on the hour.")
    return start, start + unit


def chunks(start: datetime, end: datetime, size: timedelta) -> Iterator[tuple[datetime, datetime]]:
    """[start, end) cut into consecutive windows of at most `size` (one transaction each)."""
    start, end = require_utc(start, "window start"), require_utc(end, "window end")
    if end <= start:
        raise ValueError(f"Empty window: {start.isoformat()} .. {end.isoformat()}")
    cursor = start
    while cursor < end:
        upper = min(cursor + size, end)
        yield cursor, upper
        cursor = upper


def previous_bucket(moment: datetime, unit: timedelta) -> datetime:
    """Start of the last complete hour/day before `moment` (what a :05 schedule rolls up)."""
    moment = require_utc(moment, "moment")
    if unit == HOUR:
        current = moment.replace(minute=0, second=0, microsecond=0)
    else:
        current = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return current - unit


@dataclass(frozen=True)
class BucketState:
    """What a bucket looked like in the source: its finished run spans and their last end."""

    finished_runs: int
    last_ended_at: datetime | None
