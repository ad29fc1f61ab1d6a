"""A killed run never blocks its pipeline: the instance of dagster_home/dagster.yaml frees its
slots and tells dead run workers from live ones, with nobody freeing anything by hand."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import threading

import pytest
from dagster import DagsterInstance, DagsterRunStatus
from dagster._core.events import EngineEventData
from dagster._core.launcher import WorkerStatus
from dagster._core.test_utils import create_run_for_test

from resources.instance.run_launcher import run_worker_started
from sandboxes.serving import serve_in_background
from sandboxes.stats_server import SandboxConfig, StatsServerSandbox
from tests.workspace.conftest import REPO, dagster_dev

DAY = "2026-11-18"


class HoldFirstQuery:
    """Holds the first stats query (run A's, from inside its replay_index step, where it holds
    the day) until `release` is set."""

    def __init__(self, app):
        self.app, self.arrived, self.release = app, threading.Event(), threading.Event()

    def __call__(self, environ, start_response):
        if environ["PATH_INFO"] == "/sql/query" and not self.arrived.is_set():
            self.arrived.set()
            self.release.wait(300)
        return self.app(environ, start_response)


@pytest.mark.slow
def test_a_killed_run_does_not_block_the_next_run_of_its_day(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    workspace_file = tmp_path / "workspace.yaml"
    workspace_file.write_text(
        "load_from:\n  - python_module:\n      module_name: pipelines.replay_mining\n"
        "      location_name: replay_mining\n"
    )
    stats = StatsServerSandbox(
        SandboxConfig(
            episodes_per_day=(3, 4),
            days=5,
            end_date=dt.date(2026, 11, 20),
            min_agents=2,
            max_agents=3,
            min_steps=20,
            max_steps=40,
        )
    )
    held = HoldFirstQuery(stats)
    with serve_in_background(held) as server:
        stats.base_url = server.url
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "STATS_API_URL": server.url,
            "LAKE_ROOT": str(tmp_path / "lake"),
        }
        with dagster_dev(workspace_file, tmp_path, env) as (api, log):
            killed = api.launch_run(
                "replay_mining", "replay_mining_dataset_job", tags={"dagster/partition": DAY}
            )
            assert held.arrived.wait(180), log.read_text()[-3000:]
            with DagsterInstance.from_config(str(home)) as instance:
                pid, _ = run_worker_started(instance, killed)
                os.kill(pid, signal.SIGKILL)  # mid-step, holding replay_mining/<DAY>
                held.release.set()
                following = api.launch_run(
                    "replay_mining", "replay_mining_dataset_job", tags={"dagster/partition": DAY}
                )
                run = api.wait_for_run(following, timeout=240)
                assert run["status"] == "SUCCESS", api.run_errors(following)
                assert api.run(killed)["status"] == "FAILURE"
                info = instance.event_log_storage.get_concurrency_info(f"replay_mining/{DAY}")
                assert killed not in info.active_run_ids
    assert (
        tmp_path / "lake" / "datasets" / "replays" / f"replays_{DAY.replace('-', '')}.parquet"
    ).is_file()


def test_the_run_launcher_tells_a_killed_worker_from_a_live_one(tmp_path):
    """What run monitoring asks the launcher of dagster_home/dagster.yaml for a STARTED run
    whose code server is gone: a live worker process is RUNNING, a SIGKILLed one FAILED."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    with DagsterInstance.from_config(str(home)) as instance:
        worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
        try:
            run = create_run_for_test(
                instance, job_name="replay_mining_dataset_job", status=DagsterRunStatus.STARTED
            )
            instance.report_engine_event(
                f"Started process for run (pid: {worker.pid}).",
                run,
                EngineEventData.in_process(worker.pid),
            )
            assert instance.run_launcher.check_run_worker_health(run).status == WorkerStatus.RUNNING
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            health = instance.run_launcher.check_run_worker_health(run)
            assert health.status == WorkerStatus.FAILED
            assert str(worker.pid) in health.msg
        finally:
            worker.kill()
            worker.wait()
        cli_run = create_run_for_test(
            instance, job_name="replay_mining_dataset_job", status=DagsterRunStatus.STARTED
        )
        # a run whose process no executor recorded (a notebook's materialize()) is never failed
        # by monitoring, only bounded by max_runtime_seconds
        assert instance.run_launcher.check_run_worker_health(cli_run).status == WorkerStatus.RUNNING
        assert instance.run_monitoring_max_runtime_seconds > 0
