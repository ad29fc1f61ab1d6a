"""Scale-out benchmark: a replay_mining backfill with 1 worker vs 2 workers, in the same run.

    uv run --locked python -m benchmarks.scale_out            # 30 days, then 60 and 120 days
    uv run --locked python -m benchmarks.scale_out --quick    # 6 days, for a smoke run

A worker is a run process. 1 worker: the range as one run (the laptop's `single_run` policy).
2 workers: the range in two runs of half the days each, running at the same time, as a backfill
under BACKFILL_MAX_PARTITIONS_PER_RUN=<days/2> is launched on a deployment with two run slots.
Every run is `dagster asset materialize --partition-range` against one Dagster instance
(dagster_home/dagster.yaml: pools, one writer per day) and the stats sandbox over HTTP, so the
per-day locks are taken as in production. The sandbox's replays are generated before the clock
starts (it caches them), so the sandbox's own CPU is not timed. Target: >= 1.6x on 2 cores; the
60- and 120-day times with 2 workers show whether cost grows linearly.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sandboxes.serving import serve_in_background
from sandboxes.stats_server import SandboxConfig, StatsServerSandbox

ROOT = Path(__file__).resolve().parent.parent
LAST_DAY = dt.date(2026, 10, 14)
EPISODES_PER_DAY = 2  # 120 days x 2 stay inside the sandbox's replay cache (256)
MATERIALIZE = [sys.executable, "-m", "dagster", "asset", "materialize"]
MATERIALIZE += ["-m", "pipelines.replay_mining", "--select", "group:replay_mining"]


def sandbox(days: int) -> StatsServerSandbox:
    day_list = [LAST_DAY - dt.timedelta(days=i) for i in range(days)]
    app = StatsServerSandbox(
        SandboxConfig(
            days=days + 1,
            end_date=LAST_DAY,
            overrides={d.isoformat(): EPISODES_PER_DAY for d in day_list},
            versions={d.isoformat(): 4 for d in day_list},
            broken=False,
            min_agents=8,
            max_agents=12,
            min_steps=1200,
            max_steps=1500,
        )
    )
    for episode_id in list(app._episodes):  # warm the cache: generation is not timed
        app.replay_bytes(episode_id)
    return app


def backfill(url: str, work: Path, days: int, workers: int) -> float:
    """Seconds for `days` days ending LAST_DAY in `workers` concurrent range runs."""
    home = work / "dagster_home"
    home.mkdir(parents=True)
    shutil.copy(ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "STATS_API_URL": url,
        "LAKE_ROOT": str(work / "lake"),
    }
    # the instance's tables exist before two runs start (as on a deployed instance)
    subprocess.run(
        [sys.executable, "-c", "from dagster import DagsterInstance; DagsterInstance.get()"],
        env=env,
        check=True,
    )
    first = LAST_DAY - dt.timedelta(days=days - 1)
    per_run = -(-days // workers)
    ranges = []
    for start in range(0, days, per_run):
        low = first + dt.timedelta(days=start)
        high = min(LAST_DAY, low + dt.timedelta(days=per_run - 1))
        ranges.append(f"{low}...{high}")
    began = time.perf_counter()
    runs = [
        subprocess.Popen(
            [*MATERIALIZE, "--partition-range", span],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for span in ranges
    ]
    for run in runs:
        _, err = run.communicate()
        if run.returncode:
            raise RuntimeError(f"a backfill run failed:\n{err.decode()[-3000:]}")
    seconds = time.perf_counter() - began
    published = list((work / "lake" / "datasets" / "replays").glob("*.parquet"))
    assert len(published) == days, f"{len(published)} datasets for {days} days"
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description="replay_mining scale-out benchmark")
    parser.add_argument("--quick", action="store_true", help="6 days, no 60/120-day figures")
    args = parser.parse_args()
    days = 6 if args.quick else 30
    longer = [] if args.quick else [60, 120]
    app = sandbox(max([days, *longer]))
    report = {"cores": os.cpu_count(), "episodes_per_day": EPISODES_PER_DAY}
    with tempfile.TemporaryDirectory() as tmp, serve_in_background(app) as server:
        app.base_url = server.url
        one = backfill(server.url, Path(tmp) / "one", days, workers=1)
        two = backfill(server.url, Path(tmp) / "two", days, workers=2)
        report[f"{days}_days_1_worker_s"] = round(one, 1)
        report[f"{days}_days_2_workers_s"] = round(two, 1)
        for n in longer:
            seconds = backfill(server.url, Path(tmp) / f"two_{n}", n, workers=2)
            report[f"{n}_days_2_workers_s"] = round(seconds, 1)
            report[f"{n}_days_2_workers_s_per_day"] = round(seconds / n, 2)
        report[f"{days}_days_2_workers_s_per_day"] = round(two / days, 2)
    print(json.dumps(report, indent=1))
    print(
        f"speedup with 2 workers: {one / two:.2f} ({one:.1f} s with 1 worker, {two:.1f} s with 2)"
    )


if __name__ == "__main__":
    main()
