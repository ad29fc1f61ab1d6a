"""A killed run never blocks its pipeline: the instance of dagster_home/dagster.yaml frees its
slots and tells dead run workers from live ones, with nobody freeing anything by hand."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys

from dagster import DagsterInstance, DagsterRunStatus
from dagster._core.events import EngineEventData
from dagster._core.launcher import WorkerStatus
from dagster._core.test_utils import create_run_for_test

from resources.instance.run_launcher import run_worker_started
from tests.stack import REPO, STATS_END

# A day no other test of the workspace runs (tests/workspace/test_ui_graphql.py: 1 to 6 back).
DAY = (STATS_END - dt.timedelta(days=7)).isoformat()


def test_a_killed_run_does_not_block_the_next_run_of_its_day(workspace):
    """On the whole workspace (`dagster dev`, tests/stack.py): run A is SIGKILLed inside its
    replay_index step, holding replay_mining/<DAY>, while its first stats query is held; the
    next run of the day gets the slot and succeeds."""
    api, home = workspace.api, workspace.home
    dataset = workspace.data / "lake/datasets/replays" / f"replays_{DAY.replace('-', '')}.parquet"
    assert not dataset.exists()  # nothing else writes the day
    with DagsterInstance.from_config(str(home)) as instance:
        with workspace.stats_gate.holding("/sql/query") as arrived:
            killed = api.launch_run(
                "replay_mining", "replay_mining_dataset_job", tags={"dagster/partition": DAY}
            )
            assert arrived.wait(180), workspace.log.read_text()[-3000:]
            pid, _ = run_worker_started(instance, killed)
            os.kill(pid, signal.SIGKILL)  # mid-step, holding replay_mining/<DAY>
        following = api.launch_run(
            "replay_mining", "replay_mining_dataset_job", tags={"dagster/partition": DAY}
        )
        run = api.wait_for_run(following, timeout=240)
        assert run["status"] == "SUCCESS", api.run_errors(following)
        assert api.run(killed)["status"] == "FAILURE"
        info = instance.event_log_storage.get_concurrency_info(f"replay_mining/{DAY}")
        assert killed not in info.active_run_ids
    assert dataset.is_file()


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
        assert instance.run_monitoring_max_runtime_seconds > 0  # CLI runs: bounded instead
