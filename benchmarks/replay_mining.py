"""replay_mining benchmarks, each against a baseline measured in the same run.

    uv run python -m benchmarks.replay_mining            # full: the issue's figures
    uv run python -m benchmarks.replay_mining --quick    # smaller, for a smoke run

1. throughput: parse-and-write (our parse stage + dataset stage) vs the raw limit (zlib
   decompress + JSON parse of the same files). Target: at least 50% of the raw limit.
2. memory: peak RSS of the whole pipeline on a 2,000-replay day vs a 200-replay day, each in a
   fresh process. Target: at most 1.5x.
3. backfill: a 30-day `dagster asset materialize --partition-range` (one run) vs 30
   single-partition CLI runs of the same days. Target: at least 10x faster.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

from sandboxes.serving import serve_in_background
from sandboxes.stats_server import SandboxConfig, StatsServerSandbox

ROOT = Path(__file__).resolve().parent.parent
BENCH_DAY = dt.date(2026, 10, 14)


def sandbox(overrides: dict[str, int], **kwargs) -> StatsServerSandbox:
    config = SandboxConfig(
        days=1,
        end_date=BENCH_DAY,
        overrides=overrides,
        broken=False,
        **{"min_agents": 4, "max_agents": 12, "min_steps": 200, "max_steps": 600, **kwargs},
    )
    return StatsServerSandbox(config)


# --- 1. throughput --------------------------------------------------------------------------


def bench_throughput(replays: int) -> dict:
    from assets.replay_mining.stages import download_day, parse_day, write_dataset, write_index
    from resources.lake import LocalLake
    from resources.stats_api import ReplayFilesResource, StatsApiResource

    app = sandbox({BENCH_DAY.isoformat(): replays})
    with tempfile.TemporaryDirectory() as tmp, serve_in_background(app) as server:
        app.base_url = server.url
        lake = LocalLake(Path(tmp) / "lake")
        episodes = StatsApiResource(url=server.url).episodes_on(BENCH_DAY)
        write_index(lake, BENCH_DAY, episodes)
        index = [e.__dict__ for e in episodes]
        download_day(lake, ReplayFilesResource(), BENCH_DAY, index, progress=lambda _: None)
        files = [p for p in (Path(tmp) / "lake" / "raw").rglob("*.json.z")]
        total_bytes = sum(p.stat().st_size for p in files)

        def raw_limit(collector: bool = True) -> float:
            """Decompress and parse every file; optionally with the cyclic GC paused (the
            stricter baseline, since our parser pauses it too)."""
            if not collector:
                gc.disable()
            try:
                start = time.perf_counter()
                for path in files:
                    json.loads(zlib.decompress(path.read_bytes()))
                return time.perf_counter() - start
            finally:
                gc.enable()

        def ours() -> tuple[float, int]:
            lake.delete_prefix("parsed")
            start = time.perf_counter()
            parsed = parse_day(lake, BENCH_DAY, index, progress=lambda _: None)
            result = write_dataset(lake, BENCH_DAY)
            return time.perf_counter() - start, result.rows + 0 * parsed.rows

        # Warm both paths (page cache, pyarrow's first-call set-up), then interleave the
        # repetitions so both see the same machine load; keep each one's best.
        raw_limit()
        ours()
        raw_runs, strict_runs, our_runs = [], [], []
        for _ in range(3):
            raw_runs.append(raw_limit())
            strict_runs.append(raw_limit(collector=False))
            our_runs.append(ours())
        raw_s, strict_s = min(raw_runs), min(strict_runs)
        ours_s, rows = min(our_runs)
    return {
        "replays": len(files),
        "compressed_MB": round(total_bytes / 1e6, 1),
        "rows": rows,
        "raw_limit_s": round(raw_s, 2),
        "parse_and_write_s": round(ours_s, 2),
        "raw_limit_rows_per_s": int(rows / raw_s),
        "parse_and_write_rows_per_s": int(rows / ours_s),
        "share_of_raw_limit": round(raw_s / ours_s, 2),
        "target": ">= 0.50",
        "raw_limit_gc_paused_s": round(strict_s, 2),
        "share_of_raw_limit_gc_paused": round(strict_s / ours_s, 2),
    }


# --- 2. memory --------------------------------------------------------------------------------

CHILD = """
import json, sys, resource
from dagster import materialize
from assets.replay_mining import replay_mining_assets
from assets.replay_mining.settings import ReplayMiningSettings
from resources.lake import LakeResource
from resources.stats_api import ReplayFilesResource, StatsApiResource
url, lake_root, day = sys.argv[1:4]
result = materialize(replay_mining_assets, partition_key=day, resources={
    "stats_api": StatsApiResource(url=url),
    "replay_files": ReplayFilesResource(),
    "lake": LakeResource(root=lake_root),
    "replay_mining_settings": ReplayMiningSettings(),
})
rows = result.asset_materializations_for_node("replay_mining__replay_dataset")[0].metadata["rows"].value
print(json.dumps({"rows": rows, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def pipeline_peak_rss(replays: int) -> dict:
    app = sandbox(
        {BENCH_DAY.isoformat(): replays}, min_agents=4, max_agents=8, min_steps=200, max_steps=400
    )
    with tempfile.TemporaryDirectory() as tmp, serve_in_background(app) as server:
        app.base_url = server.url
        start = time.perf_counter()
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                CHILD,
                server.url,
                str(Path(tmp) / "lake"),
                BENCH_DAY.isoformat(),
            ],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        figures["seconds"] = round(time.perf_counter() - start, 1)
        figures["replays"] = replays
        return figures


def bench_memory(small: int, large: int) -> dict:
    base = pipeline_peak_rss(small)
    big = pipeline_peak_rss(large)
    return {
        f"{small}_replays": base,
        f"{large}_replays": big,
        "peak_rss_ratio": round(big["peak_rss_mb"] / base["peak_rss_mb"], 2),
        "target": "<= 1.5",
    }


# --- 3. backfill ------------------------------------------------------------------------------


def bench_backfill(days: int) -> dict:
    last = BENCH_DAY
    first = last - dt.timedelta(days=days - 1)
    day_list = [first + dt.timedelta(days=i) for i in range(days)]
    app = StatsServerSandbox(
        SandboxConfig(
            days=1,
            end_date=last,
            overrides={d.isoformat(): 3 for d in day_list},
            broken=False,
            min_agents=2,
            max_agents=4,
            min_steps=100,
            max_steps=200,
        )
    )
    results = {}
    with tempfile.TemporaryDirectory() as tmp, serve_in_background(app) as server:
        app.base_url = server.url
        for mode in ("single_partition_runs", "one_range_run"):
            home = Path(tmp) / mode / "dagster_home"
            home.mkdir(parents=True)
            shutil.copy(ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
            env = {
                **os.environ,
                "DAGSTER_HOME": str(home),
                "STATS_API_URL": server.url,
                "LAKE_ROOT": str(Path(tmp) / mode / "lake"),
            }
            base = [
                sys.executable,
                "-m",
                "dagster",
                "asset",
                "materialize",
                "-m",
                "pipelines.replay_mining",
                "--select",
                "group:replay_mining",
            ]
            start = time.perf_counter()
            if mode == "one_range_run":
                subprocess.run(
                    [*base, "--partition-range", f"{first}...{last}"],
                    check=True,
                    env=env,
                    cwd=ROOT,
                    capture_output=True,
                )
            else:
                for day in day_list:
                    subprocess.run(
                        [*base, "--partition", day.isoformat()],
                        check=True,
                        env=env,
                        cwd=ROOT,
                        capture_output=True,
                    )
            results[mode] = round(time.perf_counter() - start, 1)
            published = sorted(
                (Path(tmp) / mode / "lake" / "datasets" / "replays").glob("*.parquet")
            )
            assert len(published) == days, f"{mode}: {len(published)} datasets for {days} days"
    results["speedup"] = round(results["single_partition_runs"] / results["one_range_run"], 1)
    results["days"] = days
    results["target"] = ">= 10x"
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description="replay_mining benchmarks")
    parser.add_argument("--quick", action="store_true", help="smaller sizes for a smoke run")
    parser.add_argument("--only", choices=["throughput", "memory", "backfill"], action="append")
    args = parser.parse_args()
    only = set(args.only or ["throughput", "memory", "backfill"])
    report = {}
    if "throughput" in only:
        report["throughput"] = bench_throughput(20 if args.quick else 150)
        print(json.dumps({"throughput": report["throughput"]}, indent=1), flush=True)
    if "memory" in only:
        report["memory"] = bench_memory(20, 200) if args.quick else bench_memory(200, 2000)
        print(json.dumps({"memory": report["memory"]}, indent=1), flush=True)
    if "backfill" in only:
        report["backfill"] = bench_backfill(5 if args.quick else 30)
        print(json.dumps({"backfill": report["backfill"]}, indent=1), flush=True)


if __name__ == "__main__":
    main()
