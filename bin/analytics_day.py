"""Roll whole UTC days of spans up in one process: the day's 24 hours (one run of
`analytics_hourly_job`), then daily_analytics, model_usage_stats and the view (one run of
`analytics_daily_job`).

    bin/analytics-day 2026-12-01                 # one day
    bin/analytics-day 2026-11-01 2026-11-30      # a range of days: still two runs

What `dagster asset materialize` does twice (once per partitioning: the hourly and daily assets
cannot share a run), in one process instead of two: the code location is loaded once. The runs
are ordinary runs of the code location's jobs, recorded in the instance (DAGSTER_HOME; bin/_env.sh
sets the repo's `dagster_home`), each with its job's executor, like a run launched from the UI.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date

import dagster as dg

from pipelines.analytics import defs


def hourly_job() -> dg.JobDefinition:
    return defs.resolve_job_def("analytics_hourly_job")


def daily_job() -> dg.JobDefinition:
    return defs.resolve_job_def("analytics_daily_job")


def _range_tags(first: str, last: str) -> dict[str, str]:
    return {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bin/analytics-day", description=__doc__.split("\n")[0])
    parser.add_argument("first", type=date.fromisoformat, help="first UTC day, YYYY-MM-DD")
    parser.add_argument("last", type=date.fromisoformat, nargs="?", help="last day (inclusive)")
    args = parser.parse_args(argv)
    last = args.last or args.first
    if last < args.first:
        parser.error(f"the last day {last} is before the first {args.first}")
    runs = [
        (hourly_job, _range_tags(f"{args.first}-00:00", f"{last}-23:00")),
        (
            daily_job,
            {"dagster/partition": str(last)}
            if last == args.first
            else _range_tags(str(args.first), str(last)),
        ),
    ]
    with dg.DagsterInstance.get() as instance:
        for job, tags in runs:
            result = dg.execute_job(dg.reconstructable(job), instance, tags=tags)
            if not result.success:
                print(f"{job().name} for {args.first}..{last} failed: see run {result.run_id}")
                return 1
            print(f"{job().name}: run {result.run_id} succeeded")
    print(f"{args.first}..{last}: rolled up")
    return 0


if __name__ == "__main__":
    sys.exit(main())
