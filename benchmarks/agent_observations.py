"""agent_observations: the cross-check against the real simulator, and its cost, each beside a
baseline measured in the same run.

    uv run --locked python -m benchmarks.agent_observations            # all three
    uv run --locked python -m benchmarks.agent_observations --quick    # smaller, a smoke run
    uv run --locked python -m benchmarks.agent_observations --only check|throughput|memory

1. check: seeded episodes of the real simulator (mettagrid 0.26.22, its own environment:
   sandboxes/mettagrid_simulator.py) with `Simulation._c_sim.observations()` kept per step; the
   replays its ReplayLogWriter wrote are rebuilt and compared token by token, per feature.
   Target: 100 % of the tokens of every agent-step the replay records (step 1 on).
2. throughput: rebuilding the observations of the sandbox's version-4 day (the observation
   stage, parquet file included) against parsing it (parse stage + dataset stage, the baseline),
   the same files in the same run, interleaved, best of three. Target: >= 0.5 of the parse rows/s.
3. memory: peak RSS of the pipeline with agent_observations on a 2,000-replay version-4 day vs a
   200-replay one, each in a fresh process. Target: <= 1.5x.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from benchmarks.replay_mining import BENCH_DAY, ROOT, sandbox
from sandboxes.serving import serve_in_background

# --- 1. check ---------------------------------------------------------------------------------


def bench_check() -> dict:
    from assets.replay_mining.observations import rebuild_observations
    from sandboxes.mettagrid_simulator import BY_NAME, load_truth, play_episodes

    folder = play_episodes()
    by_feature: Counter = Counter()
    equal_by_feature: Counter = Counter()
    rows = equal_rows = unrecorded = 0
    for name, spec in BY_NAME.items():
        meta, truth = load_truth(folder, name)
        names = {int(k): v for k, v in meta["features"].items()}
        table = rebuild_observations((folder / spec.file_name).read_bytes(), name).table
        observations = table.column("observation").to_pylist()
        for agent in range(spec.num_agents):
            for step in range(spec.steps):
                got = observations[agent * spec.steps + step]
                want = [
                    tuple(map(int, t)) for t in truth["observations"][step, agent] if t[0] != 255
                ]
                if got is None:
                    unrecorded += 1
                    continue
                got = [tuple(t) for t in np.frombuffer(got, np.uint8).reshape(-1, 3).tolist()]
                rows += 1
                equal_rows += got == want
                for i, token in enumerate(want):
                    kind = "global" if token[0] == 0xFE else "spatial"
                    feature = f"{kind} {names[token[1]]}"
                    by_feature[feature] += 1
                    equal_by_feature[feature] += i < len(got) and got[i] == token
    spatial = sum(n for f, n in by_feature.items() if f.startswith("spatial"))
    spatial_equal = sum(n for f, n in equal_by_feature.items() if f.startswith("spatial"))
    return {
        "episodes": len(BY_NAME),
        "agent_steps_compared": rows,
        "agent_steps_equal": f"{equal_rows / rows:.2%}",
        "spatial_tokens": spatial,
        "spatial_tokens_equal": f"{spatial_equal / spatial:.2%}",
        "target": "100% of spatial tokens of every recorded agent-step",
        "per_feature_equal": {
            f: f"{equal_by_feature[f]}/{n}" for f, n in sorted(by_feature.items())
        },
        "not_compared": {
            "step 0": f"{unrecorded} agent-steps: the state before action 0 is in no replay",
        },
    }


# --- 2. throughput ----------------------------------------------------------------------------


def bench_throughput(replays: int) -> dict:
    from assets.replay_mining.stages import (
        download_day,
        parse_day,
        write_dataset,
        write_index,
        write_observations,
    )
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

        def parse() -> tuple[float, int]:
            lake.delete_prefix("parsed")
            start = time.perf_counter()
            parse_day(lake, BENCH_DAY, index, progress=lambda _: None)
            rows = write_dataset(lake, BENCH_DAY).rows
            return time.perf_counter() - start, rows

        def observe() -> tuple[float, int, int]:
            start = time.perf_counter()
            result = write_observations(lake, BENCH_DAY, progress=lambda _: None)
            return time.perf_counter() - start, result.rows, result.bytes

        parse(), observe()  # warm-up (and the parse manifest the observations read)
        parse_runs, observe_runs = [], []
        for _ in range(3):
            parse_runs.append(parse())
            observe_runs.append(observe())
        parse_s, rows = min(parse_runs)
        observe_s, observed_rows, size = min(observe_runs)
        dataset_bytes = (Path(tmp) / "lake" / "datasets" / "replays").glob("*.parquet")
        return {
            "day": f"sandbox, version 4, {replays} replays",
            "rows": rows,
            "parse_and_write_s": round(parse_s, 3),
            "parse_rows_per_s": int(rows / parse_s),
            "observations_s": round(observe_s, 3),
            "observations_rows_per_s": int(observed_rows / observe_s),
            "share_of_parse_throughput": round(parse_s / observe_s, 2),
            "target": ">= 0.50",
            "observations_MB": round(size / 1e6, 2),
            "dataset_MB": round(sum(p.stat().st_size for p in dataset_bytes) / 1e6, 2),
        }


# --- 3. memory --------------------------------------------------------------------------------

CHILD = """
import json, sys, resource
from dagster import AssetSelection, load_assets_from_package_module, materialize
import assets.replay_mining
from assets.replay_mining.spec import SPEC
from resources.lake import LakeResource
from resources.replay_mining.settings import build_resources
url, lake_root, day = sys.argv[1:4]
selection = AssetSelection.assets(*(SPEC.key(n) for n in
    ("replay_index", "raw_replays", "parsed_replays", "agent_observations")))
result = materialize(
    load_assets_from_package_module(assets.replay_mining), selection=selection,
    partition_key=day,
    resources=build_resources(lake=LakeResource(root=lake_root), stats_api_url=url),
)
meta = result.asset_materializations_for_node("replay_mining__agent_observations")[0].metadata
print(json.dumps({"rows": meta["dagster/row_count"].value, "MB": round(meta["bytes"].value / 1e6, 1),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def peak_rss(replays: int) -> dict:
    app = sandbox(
        {BENCH_DAY.isoformat(): replays}, min_agents=4, max_agents=8, min_steps=200, max_steps=400
    )
    with tempfile.TemporaryDirectory() as tmp, serve_in_background(app) as server:
        app.base_url = server.url
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", CHILD, server.url, str(Path(tmp) / "lake"), str(BENCH_DAY)],
            check=True, capture_output=True, text=True, cwd=ROOT,
        )  # fmt: skip
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        return figures | {"replays": replays, "seconds": round(time.perf_counter() - start, 1)}


def bench_memory(small: int, large: int) -> dict:
    base, big = peak_rss(small), peak_rss(large)
    return {
        f"{small}_replays": base,
        f"{large}_replays": big,
        "peak_rss_ratio": round(big["peak_rss_mb"] / base["peak_rss_mb"], 2),
        "target": "<= 1.5",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=["check", "throughput", "memory"])
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    report = {}
    if args.only in (None, "check"):
        report["check"] = bench_check()
    if args.only in (None, "throughput"):
        report["throughput"] = bench_throughput(40 if args.quick else 150)
    if args.only in (None, "memory"):
        report["memory"] = bench_memory(*((20, 200) if args.quick else (200, 2000)))
    report["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
