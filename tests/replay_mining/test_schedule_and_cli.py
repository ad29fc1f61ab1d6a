"""The schedule targets yesterday; the README's CLI backfill command works as one run."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import BackfillPolicy, DagsterEventType, DagsterInstance, build_schedule_context

from assets.pools import HOLDING, RELEASING
from pipelines.replay_mining import defs
from sandboxes.serving import serve_in_background
from sandboxes.stats_server import StatsServerSandbox
from tests.replay_mining.conftest import small_config
from tests.replay_mining.test_partition_records import assert_each_day_is_its_own

ROOT = Path(__file__).resolve().parents[2]


def test_daily_schedule_targets_yesterday_at_two_utc():
    schedule = defs.resolve_schedule_def("replay_mining_dataset_schedule")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone in (None, "UTC")
    with DagsterInstance.ephemeral() as instance:
        context = build_schedule_context(
            instance=instance,
            scheduled_execution_time=dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC),
        )
        requests = schedule.evaluate_tick(context).run_requests
    assert [r.partition_key for r in requests] == ["2026-11-22"]


MATERIALIZE = [sys.executable, "-m", "dagster", "asset", "materialize"]
# The daily job's four stages: the dataset and its upstream (not the opt-in observations).
MATERIALIZE += ["-m", "pipelines.replay_mining", "--select", '+key:"replay_mining/replay_dataset"']


@contextlib.contextmanager
def cli_environment(tmp_path: Path, wrap=None) -> Iterator[dict]:
    """The stats sandbox on loopback, and the environment a CLI run needs: a Dagster instance
    configured like dagster_home/ (pools, run queue), the sandbox's URL, a lake in tmp_path.
    `wrap(app)` puts a fault-injecting WSGI layer in front of the sandbox."""
    app = StatsServerSandbox(small_config(token=None))
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    # Create the instance's storage once, as a deployed instance has it: two processes that both
    # find it missing would race to create the same SQLite tables.
    DagsterInstance.from_config(str(home)).dispose()
    with serve_in_background(wrap(app) if wrap else app) as server:
        app.base_url = server.url
        yield {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "STATS_API_URL": server.url,
            "LAKE_ROOT": str(tmp_path / "lake"),
        }


@pytest.mark.slow
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
        # each day its own record: its own row count, and the path of its own file (issue 20)
        assert_each_day_is_its_own(instance, tmp_path / "lake", ["2026-11-09", "2026-11-10"])
    assert bad.returncode != 0
    assert "2099-13-01" in bad.stderr


def start_cli_runs(env: dict, days: list[str]) -> list[subprocess.Popen]:
    return [
        subprocess.Popen(
            [*MATERIALIZE, "--partition", day],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for day in days
    ]


def finish(runs: list[subprocess.Popen]) -> None:
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0] * len(runs), "\n".join(
        o[-2000:] for o in outputs
    )


def step_intervals(home: str, what: str = "step") -> dict[str, list[tuple[str, float, float]]]:
    """Per run: (step, start, end) of every step from the instance's event log; with
    what="held", of the time each step held its day (the lock's Holding/Releasing lines)."""
    begin, end = {
        "step": ({DagsterEventType.STEP_START}, {DagsterEventType.STEP_SUCCESS}),
        "held": ({HOLDING}, {RELEASING}),
    }[what]
    with DagsterInstance.from_config(home) as instance:
        runs = {}
        for record in instance.get_run_records():
            starts, spans = {}, []
            for event in instance.all_logs(record.dagster_run.run_id):
                mark = event.dagster_event_type or event.user_message.split(" ")[0]
                if mark in begin:
                    starts[event.step_key] = event.timestamp
                elif mark in end and event.step_key in starts:
                    spans.append((event.step_key, starts[event.step_key], event.timestamp))
            runs[record.dagster_run.run_id] = spans
    return runs


class Rendezvous:
    """Holds each of the first two stats queries until both have arrived (each run's first
    query, from inside its replay_index step): they meet only if the two runs' steps overlap."""

    def __init__(self, app, timeout: float = 120):
        self.app, self.barrier, self.lock, self.seen = (
            app,
            threading.Barrier(2, timeout=timeout),
            threading.Lock(),
            0,
        )

    def __call__(self, environ, start_response):
        if environ["PATH_INFO"] == "/sql/query":
            with self.lock:
                self.seen += 1
                first_two = self.seen <= 2
            if first_two:
                try:
                    self.barrier.wait()
                except threading.BrokenBarrierError:
                    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
                    return [b"the other run's query never came: the runs did not overlap"]
        return self.app(environ, start_response)


@pytest.mark.slow
def test_cli_runs_of_different_days_run_at_the_same_time(tmp_path):
    """Each run's replay_index step waits in the sandbox for the other's: with one writer per
    pipeline (the old single replay_mining pool) the first would time out and fail."""
    with cli_environment(tmp_path, wrap=Rendezvous) as env:
        finish(start_cli_runs(env, ["2026-11-10", "2026-11-11"]))
    (a,), (b,) = (
        [span for span in spans if span[0].endswith("replay_index")]
        for spans in step_intervals(env["DAGSTER_HOME"]).values()
    )
    assert a[1] < b[2] and b[1] < a[2]  # the two index steps were in progress together
    assert sorted(p.name for p in (tmp_path / "lake" / "datasets" / "replays").iterdir()) == [
        "replays_20261110.parquet",
        "replays_20261111.parquet",
    ]


@pytest.mark.slow
def test_two_cli_runs_of_the_same_day_never_write_it_at_once(tmp_path):
    """The test holds the day's slot until both runs wait for it, then lets go: the runs must
    then write the day one after the other, no step of one overlapping a step of the other."""
    pool = "replay_mining/2026-11-10"
    with (
        cli_environment(tmp_path) as env,
        DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance,
    ):
        storage = instance.event_log_storage
        storage.set_concurrency_slots(pool, 1)
        assert storage.claim_concurrency_slot(pool, "test-holder", "hold").is_claimed
        runs = start_cli_runs(env, ["2026-11-10", "2026-11-10"])
        deadline = time.monotonic() + 120
        while len(storage.get_concurrency_info(pool).pending_run_ids) < 2:
            assert time.monotonic() < deadline, "the runs never waited for the held day"
            assert all(run.poll() is None for run in runs), "a run ended while the day was held"
            time.sleep(0.5)
        storage.free_concurrency_slots_for_run("test-holder")
        finish(runs)
    first, second = step_intervals(env["DAGSTER_HOME"], "held").values()
    assert len(first) == len(second) == 4  # the four stages of MATERIALIZE
    for _, start_a, end_a in first:
        for _, start_b, end_b in second:
            assert end_a <= start_b or end_b <= start_a
    assert [p.name for p in (tmp_path / "lake" / "datasets" / "replays").iterdir()] == [
        "replays_20261110.parquet"
    ]


def test_backfill_policy_is_one_run_by_default_and_n_days_per_run_when_set(monkeypatch):
    from assets.common import deployment_backfill_policy

    assert deployment_backfill_policy() == BackfillPolicy.single_run()
    monkeypatch.setenv("BACKFILL_MAX_PARTITIONS_PER_RUN", "7")
    assert deployment_backfill_policy() == BackfillPolicy.multi_run(max_partitions_per_run=7)
    for bad in ("0", "seven", "-3"):
        monkeypatch.setenv("BACKFILL_MAX_PARTITIONS_PER_RUN", bad)
        with pytest.raises(ValueError, match="BACKFILL_MAX_PARTITIONS_PER_RUN"):
            deployment_backfill_policy()
    # The code location as a deployment loads it: every replay_mining stage takes the setting.
    load = "from pipelines.replay_mining import defs; g = defs.resolve_asset_graph(); "
    load += "print(sorted({str(g.get(k).backfill_policy) for k in g.get_all_asset_keys()}))"
    shown = subprocess.run(
        [sys.executable, "-c", load],
        env={**os.environ, "BACKFILL_MAX_PARTITIONS_PER_RUN": "3"},
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert shown.stdout.strip() == "['BackfillPolicy.multi_run(max_partitions_per_run=3)']"
