"""replay_mining benchmarks, each against a baseline measured in the same run.

    uv run python -m benchmarks.replay_mining            # full: the issue's figures
    uv run python -m benchmarks.replay_mining --quick    # smaller, for a smoke run

1. throughput: parse-and-write (our parse stage + dataset stage) vs the raw limit: zlib/gzip
   decompress + stdlib `json.loads` of the same files with the cyclic GC paused, measured in the
   same run. Target: at least 50% of it, on the sandbox's version-4 day and on the real replays in
   ../shared/fixtures/mettagrid/ when that folder is there (`--fixtures DIR` to point elsewhere).
   Both figures are printed, with the rows per second.
2. memory: peak RSS of the whole pipeline on a 2,000-replay version-4 day vs a 200-replay one,
   each in a fresh process. Target: at most 1.5x.
3. backfill: a 30-day `dagster asset materialize --partition-range` (one run) of version-4 days vs
   30 single-partition CLI runs of the same days. Target: at least 10x faster.
4. bombs: peak RSS of the whole pipeline on a day served with the hostile replays (a 2 GiB zlib
   bomb, an int64-overflow agent_id, JSON nested 200,000 deep, in every block of 100) vs the same
   day without them, each in a fresh process. Target: no higher (at most 1.05x, the noise of
   two runs).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import gzip
import hashlib
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
FIXTURES = ROOT.parent.parent / "shared" / "fixtures" / "mettagrid"  # beside the checkout
if not FIXTURES.is_dir():
    FIXTURES = ROOT.parent / "shared" / "fixtures" / "mettagrid"


def sandbox(overrides: dict[str, int], broken: bool = False, **kwargs) -> StatsServerSandbox:
    config = SandboxConfig(
        days=1,
        end_date=BENCH_DAY,
        overrides=overrides,
        versions={day: 4 for day in overrides},  # today's format
        broken=broken,
        # The generator's replays alone, so the figures compare with the earlier runs'.
        **{"min_agents": 4, "max_agents": 12, "min_steps": 200, "max_steps": 600,
           "simulator_share": 0.0, **kwargs},
    )  # fmt: skip
    return StatsServerSandbox(config)


# --- 1. throughput --------------------------------------------------------------------------


def _decompress(data: bytes) -> bytes:
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else zlib.decompress(data)


def _measure(lake, index: list[dict], files: list[Path]) -> dict:
    """Our parse stage + dataset stage against the raw limit on the same files, interleaved so
    both see the same machine load; each one's best of three after a warm-up."""
    from assets.replay_mining.stages import parse_day, write_dataset

    def raw_limit(collector: bool) -> float:
        """Decompress and json.loads every file; with the cyclic GC paused (the baseline the
        target is set against, since our parser pauses it too) or running."""
        if not collector:
            gc.disable()
        try:
            start = time.perf_counter()
            for path in files:
                json.loads(_decompress(path.read_bytes()))
            return time.perf_counter() - start
        finally:
            gc.enable()

    def ours() -> tuple[float, int]:
        lake.delete_prefix("parsed")
        start = time.perf_counter()
        parse_day(lake, BENCH_DAY, index, progress=lambda _: None)
        result = write_dataset(lake, BENCH_DAY)
        return time.perf_counter() - start, result.rows

    raw_limit(False)
    ours()
    paused_runs, collector_runs, our_runs = [], [], []
    for _ in range(3):
        paused_runs.append(raw_limit(collector=False))
        collector_runs.append(raw_limit(collector=True))
        our_runs.append(ours())
    paused_s, collector_s = min(paused_runs), min(collector_runs)
    ours_s, rows = min(our_runs)
    return {
        "replays": len(files),
        "compressed_MB": round(sum(p.stat().st_size for p in files) / 1e6, 1),
        "rows": rows,
        "parse_and_write_s": round(ours_s, 3),
        "parse_and_write_rows_per_s": int(rows / ours_s),
        "raw_limit_gc_paused_s": round(paused_s, 3),
        "raw_limit_gc_paused_rows_per_s": int(rows / paused_s),
        "share_of_raw_limit_gc_paused": round(paused_s / ours_s, 2),
        "target": ">= 0.50",
        "raw_limit_with_gc_s": round(collector_s, 3),
        "share_of_raw_limit_with_gc": round(collector_s / ours_s, 2),
    }


def bench_throughput(replays: int) -> dict:
    from assets.replay_mining.stages import download_day, write_index
    from resources.lake import LocalLake
    from resources.replay_mining.stats_api import ReplayFilesResource, StatsApiResource

    app = sandbox({BENCH_DAY.isoformat(): replays})
    with tempfile.TemporaryDirectory() as tmp, serve_in_background(app) as server:
        app.base_url = server.url
        lake = LocalLake(Path(tmp) / "lake")
        episodes = StatsApiResource(url=server.url).episodes_on(BENCH_DAY)
        write_index(lake, BENCH_DAY, episodes)
        index = [e.__dict__ for e in episodes]
        download_day(lake, ReplayFilesResource(), BENCH_DAY, index, progress=lambda _: None)
        files = sorted((Path(tmp) / "lake" / "raw").rglob("*.json.z"))
        gzipped = sum(p.read_bytes()[:2] == b"\x1f\x8b" for p in files)
        return {"day": "sandbox, version 4", "gzip_replays": gzipped} | _measure(lake, index, files)


def bench_fixtures(folder: Path) -> dict:
    """The same measurement on real replays, laid out as one day in a fresh lake."""
    from assets.replay_mining.stages import raw_prefix
    from resources.lake import LocalLake

    sources = sorted(p for p in folder.glob("*.json*") if p.is_file())
    with tempfile.TemporaryDirectory() as tmp:
        lake = LocalLake(Path(tmp) / "lake")
        index, md5 = [], {}
        for path in sources:
            episode_id = path.name.replace(".", "_")
            data = path.read_bytes()
            lake.write_bytes(f"{raw_prefix(BENCH_DAY)}/{episode_id}.json.z", data)
            md5[episode_id] = hashlib.md5(data).hexdigest()
            index.append(
                {"episode_id": episode_id, "policy": None, "environment": None, "created_at": None}
            )
        manifest = json.dumps({"md5": md5, "failed": {}}).encode()
        lake.write_bytes(f"{raw_prefix(BENCH_DAY)}/_manifest.json", manifest)
        files = sorted((Path(tmp) / "lake" / "raw").rglob("*.json.z"))
        return {"day": f"real replays in {folder}"} | _measure(lake, index, files)


# --- 2. memory --------------------------------------------------------------------------------

CHILD = """
import json, sys, resource
from dagster import load_assets_from_package_module, materialize
import assets.replay_mining
from resources.lake import LakeResource
from resources.replay_mining.settings import build_resources
from schedules.replay_mining import replay_mining_dataset_job
url, lake_root, day, max_failed_percent = sys.argv[1:5]
result = materialize(
    load_assets_from_package_module(assets.replay_mining),
    selection=replay_mining_dataset_job.selection,  # the daily job: the four stages
    partition_key=day,
    resources=build_resources(
        lake=LakeResource(root=lake_root), stats_api_url=url,
        max_failed_percent=int(max_failed_percent),
    ),
)
metadata = result.asset_materializations_for_node("replay_mining__replay_dataset")[0].metadata
print(json.dumps({"rows": metadata["dagster/row_count"].value,
                  "skipped_replays": metadata["skipped_replays"].value,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def pipeline_peak_rss(replays: int, max_failed_percent: int = 5, **trouble) -> dict:
    """`trouble`: the sandbox's `broken` and `hostile` switches (off: only healthy replays)."""
    app = sandbox(
        {BENCH_DAY.isoformat(): replays},
        min_agents=4, max_agents=8, min_steps=200, max_steps=400, **trouble,
    )  # fmt: skip
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
                str(max_failed_percent),
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


def bench_bombs(replays: int) -> dict:
    """The same day with and without the hostile replays (both with the broken ones, so the only
    difference is the hostile three in every 100), in alternated fresh processes; the best of
    two each."""
    runs: dict[str, list[dict]] = {"without_hostile": [], "with_hostile": []}
    for _ in range(2):
        for name, hostile in (("without_hostile", False), ("with_hostile", True)):
            runs[name].append(
                pipeline_peak_rss(replays, max_failed_percent=20, broken=True, hostile=hostile)
            )
    best = {name: min(r, key=lambda f: f["peak_rss_mb"]) for name, r in runs.items()}
    return {
        **best,
        "peak_rss_runs_mb": {n: [round(f["peak_rss_mb"]) for f in r] for n, r in runs.items()},
        "peak_rss_ratio": round(
            best["with_hostile"]["peak_rss_mb"] / best["without_hostile"]["peak_rss_mb"], 3
        ),
        "target": "<= 1.05 (no higher than the day without)",
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
            versions={d.isoformat(): 4 for d in day_list},
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
                '+key:"replay_mining/replay_dataset"',
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
    parser.add_argument(
        "--only", choices=["throughput", "memory", "backfill", "bombs"], action="append"
    )
    parser.add_argument("--fixtures", type=Path, default=FIXTURES, help="real replays to measure")
    args = parser.parse_args()
    only = set(args.only or ["throughput", "memory", "backfill", "bombs"])
    report = {}
    if "throughput" in only:
        report["throughput"] = bench_throughput(20 if args.quick else 150)
        print(json.dumps({"throughput": report["throughput"]}, indent=1), flush=True)
        if args.fixtures.is_dir():
            report["throughput_real"] = bench_fixtures(args.fixtures)
            print(json.dumps({"throughput_real": report["throughput_real"]}, indent=1), flush=True)
        else:
            print(f"(no real replays at {args.fixtures}: skipping their throughput)", flush=True)
    if "memory" in only:
        report["memory"] = bench_memory(20, 200) if args.quick else bench_memory(200, 2000)
        print(json.dumps({"memory": report["memory"]}, indent=1), flush=True)
    if "bombs" in only:
        report["bombs"] = bench_bombs(100 if args.quick else 300)
        print(json.dumps({"bombs": report["bombs"]}, indent=1), flush=True)
    if "backfill" in only:
        report["backfill"] = bench_backfill(5 if args.quick else 30)
        print(json.dumps({"backfill": report["backfill"]}, indent=1), flush=True)


if __name__ == "__main__":
    main()
