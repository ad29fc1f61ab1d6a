"""Benchmark: how long a command waits for its code locations, one location against all five.

A `dagster` or `dg` command that takes a workspace starts one code server per location in it and
waits until each has loaded its definitions. This times the same read-only commands, run the way
the README writes them (bin/dagster, bin/dg), on every location alone (`locations/<p>/`) and, as
the baseline in the same run, on the whole workspace (`workspace.yaml`, `dg.toml`):

    uv run --locked python -m benchmarks.workspace_load             # every location, 2 rounds
    uv run --locked python -m benchmarks.workspace_load --quick     # replay_mining only, 1 round

Printed: the median wall time of each command over the rounds (interleaved, so a busy spell hits
both sides), and the load average, since the figures are wall times on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PIPELINES = ["replay_mining", "analytics", "rps", "riot", "replay_sync"]


def commands(pipeline: str) -> dict[str, tuple[list[str], list[str]]]:
    """label -> (one location, all five): the same command on each."""
    return {
        "dagster schedule list": (
            ["bin/dagster", "schedule", "list", "-w", f"locations/{pipeline}/workspace.yaml"],
            ["bin/dagster", "schedule", "list", "-w", "workspace.yaml", "-l", pipeline],
        ),
        "dagster definitions validate": (
            [
                "bin/dagster",
                "definitions",
                "validate",
                "-w",
                f"locations/{pipeline}/workspace.yaml",
            ],
            ["bin/dagster", "definitions", "validate", "-w", "workspace.yaml"],
        ),
        "dg check defs": (
            ["bin/dg", "check", "defs", "--target-path", f"locations/{pipeline}"],
            ["bin/dg", "check", "defs"],
        ),
    }


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="replay_mining only, one round")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    pipelines = ["replay_mining"] if args.quick else PIPELINES
    rounds = 1 if args.quick else args.rounds
    home = Path(tempfile.mkdtemp(prefix="workspace-load-"))
    shutil.copy(ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    timed(["bin/dagster", "--version"], env)  # uv's sync, once, outside the figures
    print(f"load average before: {os.getloadavg()[0]:.1f}, cores: {os.cpu_count()}")
    print(f"{'command':30} {'location':14} {'alone s':>8} {'all five s':>11} {'ratio':>6}")
    try:
        for pipeline in pipelines:
            for label, (alone, everything) in commands(pipeline).items():
                times: dict[str, list[float]] = {"alone": [], "all": []}
                for _ in range(rounds):
                    times["alone"].append(timed(alone, env))
                    times["all"].append(timed(everything, env))
                one, five = statistics.median(times["alone"]), statistics.median(times["all"])
                print(f"{label:30} {pipeline:14} {one:8.1f} {five:11.1f} {five / one:5.1f}x")
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
