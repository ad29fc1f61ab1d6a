"""Run monitoring and runs started from the command line (issue 22).

With a daemon running, `dagster asset materialize` runs were marked FAILED within one monitoring
poll ("run worker status UNKNOWN"), and their day's slot was then freed while they still wrote:
a second CLI run of the same day wrote it at the same time. The project's executors now record
the run's process (resources/instance/run_worker.py); monitoring fails a run only when that
process is gone. Tested with a real `dagster-daemon run`, real CLI processes and a real SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from dagster import DagsterInstance, DagsterRunStatus
from dagster._core.launcher import WorkerStatus

from resources.instance.run_worker import (
    HEARTBEAT_STALE_SECONDS,
    HEARTBEAT_TAG,
    RunWorker,
    process_status,
    this_host,
    worker_health,
)
from tests.replay_mining.test_schedule_and_cli import (
    cli_environment,
    finish,
    start_cli_runs,
    step_intervals,
)
from tests.stack import Gate

ROOT = Path(__file__).resolve().parents[1]
DAY = "2026-11-10"
POLL_SECONDS = 2


def test_a_remote_run_worker_is_alive_while_its_heartbeat_is_fresh():
    now = time.time()
    remote = RunWorker(pid=1, host=f"not-{this_host()}", recorded_at=now - 600)
    fresh = worker_health(remote, {HEARTBEAT_TAG: f"{now - 20:.0f}"}, now)
    assert fresh.status == WorkerStatus.RUNNING
    stale = worker_health(remote, {HEARTBEAT_TAG: f"{now - HEARTBEAT_STALE_SECONDS - 5:.0f}"}, now)
    assert stale.status == WorkerStatus.FAILED
    assert remote.host in stale.msg and "heartbeat" in stale.msg
    # recorded, but no heartbeat yet: judged by when it was recorded
    assert worker_health(remote, {}, now).status == WorkerStatus.FAILED
    just_started = RunWorker(pid=1, host=remote.host, recorded_at=now - 5)
    assert worker_health(just_started, {}, now).status == WorkerStatus.RUNNING


def test_a_local_run_worker_is_alive_while_its_process_lives():
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    try:
        recorded = RunWorker(pid=worker.pid, host=this_host(), recorded_at=time.time())
        assert worker_health(recorded, {}, time.time()).status == WorkerStatus.RUNNING
        # a process younger than the record is another one that got the PID
        assert process_status(worker.pid, time.time() - 60).status == WorkerStatus.FAILED
    finally:
        worker.kill()
        worker.wait()
    health = worker_health(recorded, {}, time.time())
    assert health.status == WorkerStatus.FAILED and str(worker.pid) in health.msg


def _daemon(env: dict, tmp_path: Path) -> subprocess.Popen:
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(
        "load_from:\n  - python_module:\n      module_name: pipelines.replay_mining\n"
        "      location_name: replay_mining\n"
    )
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", str(workspace)],
        env=env,
        cwd=ROOT,
        stdout=(tmp_path / "daemon.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _monitoring_polls(log: Path) -> int:
    """Monitoring passes over STARTED runs so far (the daemon logs one line a pass)."""
    return log.read_text().count("runs for monitoring") if log.exists() else 0


def _wait(condition, timeout: float, what: str, log: Path):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}; daemon log:\n{log.read_text()[-3000:]}"
        time.sleep(0.5)


def _run_status(instance: DagsterInstance, run_id: str) -> DagsterRunStatus:
    return instance.get_run_by_id(run_id).status


@pytest.mark.slow
def test_with_a_daemon_cli_runs_of_one_day_are_never_failed_and_write_it_one_at_a_time(
    tmp_path,
):
    gates: list[Gate] = []
    with cli_environment(tmp_path, wrap=lambda app: gates.append(Gate(app)) or gates[0]) as env:
        config_file = Path(env["DAGSTER_HOME"]) / "dagster.yaml"
        config = yaml.safe_load(config_file.read_text())
        config["run_monitoring"].update(
            poll_interval_seconds=POLL_SECONDS, free_slots_after_run_end_seconds=1
        )
        config_file.write_text(yaml.safe_dump(config))
        log = tmp_path / "daemon.log"
        daemon = _daemon(env, tmp_path)
        pool = f"replay_mining/{DAY}"
        try:
            with DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
                storage = instance.event_log_storage
                # A live CLI run held mid-step, holding its day, across many monitoring polls.
                with gates[0].holding("/sql/query") as arrived:
                    (first,) = start_cli_runs(env, [DAY])
                    assert arrived.wait(180), "the first run never asked the stats server"
                    (first_id,) = storage.get_concurrency_info(pool).active_run_ids
                    (second,) = start_cli_runs(env, [DAY])
                    _wait(
                        lambda: storage.get_concurrency_info(pool).pending_run_ids,
                        120,
                        "the second run never waited for the day",
                        log,
                    )
                    polls = _monitoring_polls(log)
                    _wait(
                        lambda: _monitoring_polls(log) >= polls + 3,
                        120,
                        "run monitoring did not poll",
                        log,
                    )
                    assert _run_status(instance, first_id) == DagsterRunStatus.STARTED
                    assert storage.get_concurrency_info(pool).active_run_ids == {first_id}
                    assert first.poll() is None and second.poll() is None
                finish([first, second])
                runs = instance.get_run_records()
                assert [r.dagster_run.status for r in runs] == [DagsterRunStatus.SUCCESS] * 2
                held = list(step_intervals(env["DAGSTER_HOME"], "held").values())
                assert [len(spans) for spans in held] == [4, 4]
                for _, start_a, end_a in held[0]:
                    for _, start_b, end_b in held[1]:
                        assert end_a <= start_b or end_b <= start_a

                # A CLI run killed mid-step is failed by monitoring and frees its day.
                with gates[0].holding("/sql/query") as arrived:
                    (killed,) = start_cli_runs(env, [DAY])
                    assert arrived.wait(180), "the killed run never asked the stats server"
                    (killed_id,) = storage.get_concurrency_info(pool).active_run_ids
                    killed.send_signal(signal.SIGKILL)
                    killed.wait()
                _wait(
                    lambda: _run_status(instance, killed_id) == DagsterRunStatus.FAILURE,
                    60,
                    "monitoring did not fail the killed run",
                    log,
                )
                finish(start_cli_runs(env, [DAY]))
                assert killed_id not in storage.get_concurrency_info(pool).active_run_ids
        finally:
            os.killpg(daemon.pid, signal.SIGTERM)
            daemon.wait(timeout=60)
    assert [p.name for p in (tmp_path / "lake" / "datasets" / "replays").iterdir()] == [
        f"replays_{DAY.replace('-', '')}.parquet"
    ]
