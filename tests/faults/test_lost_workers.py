"""A lost worker of the local production topology (issue 22): SIGKILLed, it is started again and
reported by bin/deploy-local's supervisor (deploy/processes.py), and never takes the other
processes down; the run in progress goes on or fails with the documented message, and the next
run succeeds with nobody doing anything.

- the daemon and the webserver, in the session's topology (`deployment`, tests/stack.py);
- a Celery worker, beside a Redis and a PostgreSQL-backed instance of its own (the session's
  topology runs its steps in-process), its step lost with it.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dagster import DagsterInstance

from assets.replay_mining.stages import dataset_key
from deploy.local import (
    LOST,
    celery_worker_ready,
    launch_celery_worker,
    start_redis,
)
from deploy.processes import Supervisor, start_process, stop_processes
from resources.lake import TEMP_MARK
from resources.riot.store import RiotStore
from sandboxes.serving import serve_in_background
from sandboxes.stats_server import StatsServerSandbox
from tests.conftest import fresh_database
from tests.deploy.test_celery import sqlalchemy_url
from tests.graphql import wait_until_loaded
from tests.replay_mining.conftest import DAY, TOKEN, small_config
from tests.replay_mining.test_schedule_and_cli import MATERIALIZE
from tests.stack import Gate

ROOT = Path(__file__).resolve().parents[2]


def kill(process) -> None:
    """SIGKILL the process and everything it started (its process group)."""
    os.killpg(process.popen.pid, signal.SIGKILL)
    process.popen.wait()


def test_a_killed_daemon_and_webserver_are_restarted_and_nothing_else_stops(deployment):
    running, api, sandboxes = deployment.running, deployment.api, deployment.sandboxes
    store = RiotStore(sandboxes.env["POSTGRES_URL"])
    store.ensure_schema()
    for player in sandboxes.riot_gate.app.world.players["na1"][:2]:  # work for the refresh
        store.track(player.puuid, player.game_name, player.tag_line, player.platform)
    others = {
        name: process.popen.pid
        for name, process in running.processes.items()
        if name not in ("daemon", "webserver")
    }
    said = io.StringIO()
    with sandboxes.riot_gate.holding() as arrived:
        in_flight = api.launch_run("riot", "riot_refresh_job")
        assert arrived.wait(180), api.run_messages(in_flight)[-5:]
        kill(running.processes["daemon"])
        assert running.supervisor.revive(out=said) == ["daemon"]
    # the run in progress never needed the daemon; the new daemon monitors it to its end
    assert api.wait_for_run(in_flight, timeout=180)["status"] == "SUCCESS"
    assert "dagster-daemon exited with -9" in said.getvalue()
    assert LOST["daemon"] in said.getvalue()

    kill(running.processes["webserver"])
    assert running.supervisor.revive(out=said) == ["webserver"]
    assert "dagster-webserver exited with -9" in said.getvalue()
    wait_until_loaded(api, timeout=240)  # the UI is back on its address, every location loaded

    # nothing else was stopped or restarted
    assert {n: p.popen.pid for n, p in running.processes.items() if n in others} == others
    assert all(running.processes[n].popen.poll() is None for n in others)
    # the new daemon takes queued runs: the next run succeeds by itself
    queued = api.launch_run("riot", "riot_refresh_job")
    assert api.wait_for_run(queued, timeout=240)["status"] == "SUCCESS", api.run_errors(queued)


@pytest.mark.slow
def test_a_killed_celery_worker_is_restarted_its_run_fails_saying_so_and_the_next_succeeds(
    tmp_path, pg_server_url
):
    logs, home, lake = tmp_path / "logs", tmp_path / "dagster_home", tmp_path / "lake"
    logs.mkdir()
    home.mkdir()
    storage = {"storage": {"postgres": {"postgres_url": {"env": "DAGSTER_PG_URL"}}}}
    (home / "dagster.yaml").write_text(yaml.safe_dump({**storage, "telemetry": {"enabled": False}}))
    sandbox = StatsServerSandbox(small_config())
    gate = Gate(sandbox)
    supervisor = Supervisor()
    started = []
    with (
        fresh_database(pg_server_url) as dagster_db,
        serve_in_background(gate) as server,
        pytest.MonkeyPatch.context() as patch,
    ):
        sandbox.base_url = server.url
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "DAGSTER_"))}
        env.update(
            DAGSTER_HOME=str(home),
            DAGSTER_PG_URL=sqlalchemy_url(dagster_db),
            STATS_API_URL=server.url,
            STATS_API_TOKEN=TOKEN,
            LAKE_ROOT=str(lake),
            DAGSTER_EXECUTOR="celery",
            CELERY_WORKER_LOST_SECONDS="5",
        )
        patch.setenv("DAGSTER_PG_URL", env["DAGSTER_PG_URL"])
        DagsterInstance.from_config(str(home)).dispose()  # the schema, once
        try:
            started.append(redis := start_redis(env, logs))
            worker = launch_celery_worker(env, logs, 1)
            supervisor.add(worker, lambda: launch_celery_worker(env, logs, 1),
                           ready=celery_worker_ready, what="Celery worker celery-1",
                           lost=LOST["celery"])  # fmt: skip
            celery_worker_ready(worker)
            said = io.StringIO()
            with gate.holding("/replays/") as arrived:
                run = subprocess.Popen(
                    [*MATERIALIZE, "--partition", DAY.isoformat()], env=env, cwd=ROOT,
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                )  # fmt: skip
                assert arrived.wait(180), "the run's step never reached the worker"
                kill(worker)
                # started again under the same name, as compose and Kubernetes restart theirs
                assert supervisor.revive(out=said) == ["celery-1"]
            assert "Celery worker celery-1 exited with -9" in said.getvalue()
            assert "re-execute it from failure" in said.getvalue()
            output = run.communicate(timeout=300)[0]
            assert run.returncode != 0, output[-3000:]
            assert "no longer runs step replay_mining__raw_replays" in output, output[-3000:]
            assert "re-execute the run from failure" in output, output[-3000:]
            assert redis.popen.poll() is None  # the broker was never touched
            assert not (lake / dataset_key(DAY)).exists()
            assert not [p for p in lake.rglob("*") if TEMP_MARK in p.name]

            # the restarted worker takes the next run, which publishes the day
            again = subprocess.run(
                [*MATERIALIZE, "--partition", DAY.isoformat()], env=env, cwd=ROOT,
                capture_output=True, text=True, timeout=300,
            )  # fmt: skip
            assert again.returncode == 0, again.stdout[-3000:]
            assert (lake / dataset_key(DAY)).exists()
        finally:
            stop_processes(supervisor.all_started() + started)


def test_a_process_that_keeps_dying_is_reported_and_left_down_and_the_others_keep_running(
    tmp_path,
):
    env = dict(os.environ)
    supervisor = Supervisor(limit=3, window_seconds=600)
    dying = ["-c", "import sys; sys.exit(3)"]
    sleeping = ["-c", "import time; time.sleep(300)"]
    start_dying = lambda: start_process("dying", [sys.executable, *dying], env, tmp_path)  # noqa: E731
    calm = start_process("calm", [sys.executable, *sleeping], env, tmp_path)
    supervisor.add(start_dying(), start_dying, what="the dying one", lost="It did nothing.")
    supervisor.add(calm, lambda: pytest.fail("calm was restarted"), what="calm", lost="")
    said = io.StringIO()
    try:
        revived = []
        for _ in range(6):
            supervisor.processes["dying"].popen.wait(30)
            revived += supervisor.revive(out=said)
        assert revived == ["dying"] * 3
        text = said.getvalue()
        assert text.count("the dying one exited with 3 (log ") == 3
        assert "It did nothing." in text
        assert text.count("not restarting it; the other processes keep running") == 1
        assert calm.popen.poll() is None and supervisor.processes["calm"] is calm
        assert len(list(tmp_path.glob("dying.*.log"))) == 3  # each dead one's log kept
    finally:
        stop_processes(supervisor.all_started())
