"""The schedule targets yesterday; the README's CLI backfill command works as one run."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from dagster import DagsterInstance, build_schedule_context

from pipelines.replay_mining import defs
from sandboxes.serving import serve_in_background
from sandboxes.stats_server import StatsServerSandbox
from tests.replay_mining.conftest import small_config

ROOT = Path(__file__).resolve().parents[2]


def test_daily_schedule_targets_yesterday_at_two_utc():
    replay_mining_daily = defs.resolve_schedule_def("replay_mining_daily")
    assert replay_mining_daily.cron_schedule == "0 2 * * *"
    assert replay_mining_daily.execution_timezone in (None, "UTC")
    with DagsterInstance.ephemeral() as instance:
        context = build_schedule_context(
            instance=instance,
            scheduled_execution_time=dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC),
        )
        requests = replay_mining_daily.evaluate_tick(context).run_requests
    assert [r.partition_key for r in requests] == ["2026-11-22"]


MATERIALIZE = [sys.executable, "-m", "dagster", "asset", "materialize"]
MATERIALIZE += ["-m", "pipelines.replay_mining", "--select", "group:replay_mining"]


@contextlib.contextmanager
def cli_environment(tmp_path: Path) -> Iterator[dict]:
    """The stats sandbox on loopback, and the environment a CLI run needs: a Dagster instance
    configured like dagster_home/ (pools, run queue), the sandbox's URL, a lake in tmp_path."""
    app = StatsServerSandbox(small_config(token=None))
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    # Create the instance's storage once, as a deployed instance has it: two processes that both
    # find it missing would race to create the same SQLite tables.
    DagsterInstance.from_config(str(home)).dispose()
    with serve_in_background(app) as server:
        app.base_url = server.url
        yield {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "STATS_API_URL": server.url,
            "LAKE_ROOT": str(tmp_path / "lake"),
        }


def test_cli_partition_range_is_one_run_and_bad_keys_are_named(tmp_path, monkeypatch):
    with cli_environment(tmp_path) as env:
        done = subprocess.run(
            [*MATERIALIZE, "--partition-range", "2026-11-09...2026-11-10"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        bad = subprocess.run(
            [*MATERIALIZE, "--partition", "2099-13-01"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
    assert sorted(p.name for p in (tmp_path / "lake" / "datasets" / "replays").iterdir()) == [
        "replays_20261109.parquet",
        "replays_20261110.parquet",
    ]
    monkeypatch.setenv("DAGSTER_HOME", env["DAGSTER_HOME"])
    with DagsterInstance.get() as instance:
        assert len(instance.get_run_records()) == 1
    assert bad.returncode != 0
    assert "2099-13-01" in bad.stderr


def test_two_concurrent_cli_runs_never_write_the_partition_at_once(tmp_path):
    """dagster_home/dagster.yaml gives pool `replay_mining` one slot: the second run's steps wait."""
    with cli_environment(tmp_path) as env:
        command = [*MATERIALIZE, "--partition", "2026-11-10"]
        runs = [
            subprocess.Popen(
                command,
                env=env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(2)
        ]
        outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs[0][-2000:] + outputs[1][-2000:]
    assert any("Step blocked by limit for pool replay_mining" in out for out in outputs)
    assert [p.name for p in (tmp_path / "lake" / "datasets" / "replays").iterdir()] == [
        "replays_20261110.parquet"
    ]
