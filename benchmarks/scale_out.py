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
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from sandboxes.serving import serve_in_background
from sandboxes.stats_server import SandboxConfig, StatsServerSandbox

ROOT = Path(__file__).resolve().parent.parent
LAST_DAY = dt.date(2026, 10, 14)
DISTINCT_REPLAYS = 256  # generated before the clock; the day's episodes are served from them
MATERIALIZE = [sys.executable, "-m", "dagster", "asset", "materialize"]
MATERIALIZE += ["-m", "pipelines.replay_mining", "--select", '+key:"replay_mining/replay_dataset"']


def sandbox_config(days: int) -> SandboxConfig:
    """The sandbox's own days (40-80 episodes of 4-24 agents, 200-1000 steps: ~500,000 rows a
    day), all in the current format (version 4), none deliberately broken."""
    day_list = [LAST_DAY - dt.timedelta(days=i) for i in range(days)]
    return SandboxConfig(
        days=days + 1,
        end_date=LAST_DAY,
        versions={d.isoformat(): 4 for d in day_list},
        broken=False,
    )


_worker_app: StatsServerSandbox | None = None


def _start_generator(config: SandboxConfig) -> None:
    global _worker_app
    _worker_app = StatsServerSandbox(config)


def _generate(episode_id: str) -> bytes:
    return _worker_app.replay_bytes(episode_id)


def sandbox(days: int) -> StatsServerSandbox:
    """The sandbox with DISTINCT_REPLAYS replays generated before the clock starts (on both cores)
    and held in memory; episode k is served the k-th of them, round robin. The dataset's ids come
    from the index, so each episode is parsed and written as a replay of its own, and serving it
    costs the benchmark process nothing (generating 120 days of replays would take ~30 minutes).
    A body keeps its episode's compression."""
    config = sandbox_config(days)
    app = StatsServerSandbox(config)
    episodes = list(app._episodes)
    with ProcessPoolExecutor(2, initializer=_start_generator, initargs=(config,)) as pool:
        bodies = list(pool.map(_generate, episodes[:DISTINCT_REPLAYS], chunksize=8))
    by_compression: dict[str, list[bytes]] = {}  # a .json.gz episode gets a gzip body
    for episode_id, body in zip(episodes, bodies, strict=False):
        by_compression.setdefault(app._episodes[episode_id][1], []).append(body)
    served = {}
    for k, episode_id in enumerate(episodes):
        same = by_compression[app._episodes[episode_id][1]]
        served[episode_id] = same[k % len(same)]
    app.replay_bytes = lambda episode_id, trouble=None: served[episode_id]
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
    parser.add_argument("--no-longer", action="store_true", help="skip the 60/120-day figures")
    args = parser.parse_args()
    days = 6 if args.quick else 30
    longer = [] if args.quick or args.no_longer else [60, 120]
    app = sandbox(max([days, *longer]))
    report = {"cores": os.cpu_count(), "episodes": len(app._episodes)}
    with tempfile.TemporaryDirectory() as tmp, serve_in_background(app) as server:
        app.base_url = server.url
        one = backfill(server.url, Path(tmp) / "one", days, workers=1)
        two = backfill(server.url, Path(tmp) / "two", days, workers=2)
        report[f"{days}_days_1_worker_s"] = round(one, 1)
        report[f"{days}_days_2_workers_s"] = round(two, 1)
        print(json.dumps(report), flush=True)  # the pair first: the longer runs take minutes
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
