"""Fill the analytics source database with realistic demo traffic, so the UI shows real numbers.

    uv run python -m sandboxes.analytics_demo --days 3 --spans-per-day 200000

Writes spans as the workflow platform's writers write them (sandboxes/analytics_traffic.py;
creating the table if the database has none) for the last N days up to now (the runs still going
now are `started`), then brings the analytics schema up to date.
Uses the same configuration as the code location (ANALYTICS_SOURCE_DATABASE_URL, POSTGRES_URL,
else the embedded server in data/postgres).
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

import dagster as dg

from resources.analytics.settings import resources_from_env
from sandboxes.analytics_traffic import generate_span_copy_text


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=3, help="days of traffic up to now")
    parser.add_argument("--spans-per-day", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=None, help="default: a new seed each time")
    args = parser.parse_args(argv)
    if args.days < 1 or args.spans_per_day < 1:
        parser.error("--days and --spans-per-day must be positive")
    # The code location's own resources, with the variables read from os.environ now.
    with dg.build_resources(resources_from_env()) as resources:
        db = resources.analytics_db
        db.create_source_table()
        end = datetime.now(UTC)
        start = end - timedelta(days=args.days)
        seed = args.seed if args.seed is not None else time.time_ns() % 2**32
        began = time.perf_counter()
        spans = db.copy_spans(
            generate_span_copy_text(start, end, args.spans_per_day * args.days, seed=seed)
        )
        db.migrate()
    print(
        f"loaded {spans:,} spans ({start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M} UTC) in "
        f"{time.perf_counter() - began:.1f} s; now roll a day up (its hours, the daily rollups "
        f"and the view), e.g.\n  bin/analytics-day {(end - timedelta(days=1)):%Y-%m-%d}"
    )


if __name__ == "__main__":
    main()
