"""The production topology as separate processes, brought up by deploy/local.py (bin/deploy-local):
the embedded PostgreSQL behind the instance of deploy/dagster.yaml, one gRPC code server per code
location, `dagster-daemon run`, `dagster-webserver`, and a moto S3 server for the compute logs.
Work goes in through the webserver's GraphQL API and is run by the daemon, as in production;
faults are real: a run worker and a code server are SIGKILLed."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from assets.replay_mining.stages import dataset_key
from deploy.local import (
    REPO,
    Topology,
    code_locations,
    grpc_workspace,
    with_psycopg2_driver,
)
from deploy.processes import free_port
from resources.object_store import make_s3_client
from resources.riot.store import RiotStore
from tests.graphql import DagsterGraphQL, GraphQLError, tags_of
from tests.stack import STATS_END, TEST_INSTANCE, free_port_block

# `deployment` (tests/conftest.py): the topology, started once per session (tests/stack.py)
BACKFILL_DAYS = [(STATS_END - dt.timedelta(days=d)).isoformat() for d in (2, 1)]
KILLED_DAY = BACKFILL_DAYS[0]  # killed after the backfill published it cleanly
OTHER_DAY = (STATS_END - dt.timedelta(days=4)).isoformat()
SCHEDULE = "riot_refresh_schedule"  # every minute here (RIOT_REFRESH_CRON)


def test_the_deploy_workspace_serves_every_code_location_on_its_port():
    """deploy/workspace.yaml is the workspace bin/deploy-local starts: one server per location."""
    assert yaml.safe_load((REPO / "deploy/workspace.yaml").read_text()) == grpc_workspace(
        code_locations()
    )
    assert [loc.port for loc in code_locations()] == [4000, 4001, 4002, 4003, 4004]


def test_every_location_loads_from_its_own_code_server(deployment):
    running, api = deployment.running, deployment.api
    assert {e["name"]: e["loadStatus"] for e in api.locations()} == {
        loc.name: "LOADED" for loc in running.locations
    }
    for loc in running.locations:
        assert running.processes[f"code-server-{loc.name}"].popen.poll() is None
    assert "postgresql+psycopg2://" in running.pg_url
    # the instance is deploy/dagster.yaml but for the waits TEST_INSTANCE shortens
    production = yaml.safe_load((REPO / "deploy/dagster.yaml").read_text())
    used = yaml.safe_load((running.home / "dagster.yaml").read_text())
    assert used.keys() == production.keys()
    for section, values in used.items():
        shortened = TEST_INSTANCE.get(section, {})
        assert {k: v for k, v in values.items() if k not in shortened} == {
            k: v for k, v in production[section].items() if k not in shortened
        }, section


def test_a_schedule_tick_launches_a_run_that_succeeds(deployment):
    api = deployment.api
    state = api.start_schedule("riot", SCHEDULE)
    try:
        deadline = time.monotonic() + 150
        runs: list[dict] = []
        while not runs and time.monotonic() < deadline:
            runs = [
                r
                for r in api.runs(pipelineName="riot_refresh_job")
                if tags_of(r).get("dagster/schedule_name") == SCHEDULE
            ]
            time.sleep(2)
        assert runs, f"no tick of {SCHEDULE} launched a run in 150 s"
    finally:
        api.stop_schedule(state["id"])
    run = api.wait_for_run(runs[-1]["runId"], timeout=240)
    assert run["status"] == "SUCCESS", api.run_errors(run["runId"])


@dataclass
class Backfill:
    status: dict  # the backfill and its runs, as the UI shows them
    files: dict[str, dict[str, str]]  # day -> its files in the lake when the backfill ended
    tables: dict[str, pa.Table]  # day -> its published dataset then


@pytest.fixture(scope="module")
def backfill(deployment) -> Backfill:
    """A multi-run backfill of BACKFILL_DAYS launched as the UI does; what it left in the lake."""
    api, lake = deployment.api, deployment.running.root / "lake"
    assets = sorted(
        n["assetKey"]["path"]
        for n in api.asset_nodes()
        if n["groupName"] == "replay_mining" and n["isMaterializable"]
    )
    status = api.wait_for_backfill(api.launch_asset_backfill(assets, BACKFILL_DAYS), 420)
    tables = {}
    for day in BACKFILL_DAYS:
        dataset = lake / dataset_key(dt.date.fromisoformat(day))
        tables[day] = pq.read_table(dataset) if dataset.is_file() else None
    return Backfill(status, {day: day_files(lake, day) for day in BACKFILL_DAYS}, tables)


def test_a_multi_run_backfill_runs_each_day_and_every_run_succeeds(deployment, backfill):
    running, api = deployment.running, deployment.api
    backfill, files = backfill.status, backfill.files
    failed = {r["runId"]: api.run_errors(r["runId"])[-3:] for r in backfill["runs"]
              if r["status"] != "SUCCESS"}  # fmt: skip
    assert backfill["status"] == "COMPLETED_SUCCESS" and not failed, (backfill, failed)
    # BACKFILL_MAX_PARTITIONS_PER_RUN=1: one run per day (a range of one day)
    ranges = sorted(
        (tags_of(r)["dagster/asset_partition_range_start"],
         tags_of(r)["dagster/asset_partition_range_end"])
        for r in backfill["runs"]
    )  # fmt: skip
    assert ranges == [(day, day) for day in BACKFILL_DAYS]
    for day in BACKFILL_DAYS:
        assert files[day][dataset_key(dt.date.fromisoformat(day))], files[day]

    # every run's step logs are in the bucket (S3ComputeLogManager), not on a local disk
    env = running.env
    s3 = make_s3_client(
        env["COMPUTE_LOGS_ENDPOINT_URL"],
        env["AWS_DEFAULT_REGION"],
        env["AWS_ACCESS_KEY_ID"],
        env["AWS_SECRET_ACCESS_KEY"],
    )
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=env["COMPUTE_LOGS_BUCKET"], Prefix=env["COMPUTE_LOGS_PREFIX"] + "/"
    )
    keys = [obj["Key"] for page in pages for obj in page.get("Contents", [])]
    for run in backfill["runs"]:
        run_keys = [k for k in keys if run["runId"] in k]
        assert run_keys, (run["runId"], keys[:20])
        body = s3.get_object(Bucket=env["COMPUTE_LOGS_BUCKET"], Key=run_keys[0])["Body"].read()
        assert body


def day_files(lake: Path, day: str) -> dict[str, str]:
    """Every file of `day` in the lake, hidden and temporary ones too: path -> md5 of its bytes."""
    marks = (f"date={day}", f"replays_{day.replace('-', '')}")
    return {
        path.relative_to(lake).as_posix(): hashlib.md5(path.read_bytes()).hexdigest()
        for path in sorted(lake.rglob("*"))
        if path.is_file() and any(mark in path.relative_to(lake).as_posix() for mark in marks)
    }


def wait_for(what: str, condition, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not after {timeout:.0f} s")
        time.sleep(1)
    return value


def test_a_run_worker_killed_mid_step_fails_and_its_retry_publishes_the_same_day(
    deployment, backfill
):
    running, api = deployment.running, deployment.api
    lake, day = running.root / "lake", KILLED_DAY
    partition = {"dagster/partition": day}
    # the backfill's run of the day was a clean run: what it published is the reference
    clean_files, clean_table = backfill.files[day], backfill.tables[day]
    assert clean_table is not None and clean_table.num_rows > 0, clean_files
    dataset = lake / dataset_key(dt.date.fromisoformat(day))
    for path in clean_files:  # the next run does all the work again
        (lake / path).unlink()

    with deployment.sandboxes.stats_gate.holding("/replays/") as arrived:
        killed = api.launch_run("replay_mining", "replay_mining_dataset_job", tags=partition)
        assert arrived.wait(180), api.run_messages(killed)[-5:]  # in raw_replays, holding the day
        assert api.concurrency(f"replay_mining/{day}")["activeRunIds"] == [killed]
        pid = api.run_worker_pid(killed)
        assert pid is not None
        os.kill(pid, signal.SIGKILL)

    # the run cannot say so itself: the code server that started the worker sees it die (or, if
    # that server is gone too, the daemon's run monitoring: next test) and fails the run
    failed = api.wait_for_run(killed, timeout=120)
    assert failed["status"] == "FAILURE"
    assert any("terminated by signal 9 (SIGKILL)" in m or "Detected run worker status" in m
               for m in api.run_messages(killed)), api.run_messages(killed)  # fmt: skip
    # run_retries: a run that failed because its process died is retried once, from the failure
    retry_id = wait_for(
        "the automatic retry", lambda: tags_of(api.run(killed)).get("dagster/auto_retry_run_id")
    )
    retry = api.wait_for_run(retry_id, timeout=240)
    assert retry["status"] == "SUCCESS", api.run_errors(retry_id)
    assert tags_of(retry)["dagster/parent_run_id"] == killed
    assert tags_of(retry)["dagster/partition"] == day

    # the same files, byte for byte, and nothing else (no temporary or partial file)
    assert day_files(lake, day) == clean_files
    assert pq.read_table(dataset).equals(clean_table)
    # the day's writer slot is free again: held by no run, nobody waiting
    pool = api.concurrency(f"replay_mining/{day}")
    assert pool["activeRunIds"] == [] and pool["pendingStepRunIds"] == [], pool


def location_state(api: DagsterGraphQL, name: str) -> tuple[str | None, str]:
    """("RepositoryLocation" or "PythonError" or None while loading, its error message)."""
    entry = next(e for e in api.locations() if e["name"] == name)
    loaded = entry["locationOrLoadError"] or {}
    return loaded.get("__typename"), loaded.get("message", "")


def test_a_code_server_that_dies_is_reported_and_its_queued_run_waits_for_it(deployment):
    running, api, sandboxes = deployment.running, deployment.api, deployment.sandboxes
    store = RiotStore(sandboxes.env["POSTGRES_URL"])
    store.ensure_schema()
    for player in sandboxes.riot_gate.app.world.players["na1"][:2]:  # work for the refresh
        store.track(player.puuid, player.game_name, player.tag_line, player.platform)
    server = running.processes["code-server-riot"]
    with sandboxes.riot_gate.holding() as arrived:
        in_flight = api.launch_run("riot", "riot_refresh_job")
        assert arrived.wait(180), api.run_messages(in_flight)[-5:]
        queued = api.launch_run("riot", "riot_refresh_job")  # behind it: pipeline/serial=riot
        assert api.run(queued)["status"] == "QUEUED"
        # the server dies as its container or pod does: with the run workers it started
        os.killpg(server.popen.pid, signal.SIGKILL)
        server.popen.wait()
    try:
        # other locations keep working meanwhile (waited for below)
        other = api.launch_run(
            "replay_mining", "replay_mining_dataset_job", tags={"dagster/partition": OTHER_DAY}
        )

        # the UI shows the location as unreachable; the others stay loaded
        _, error = wait_for(
            "riot shown as unreachable",
            lambda: (state := location_state(api, "riot"))[0] == "PythonError" and state,
        )
        assert "Could not reach user code server" in error, error
        assert {loc.name: location_state(api, loc.name)[0] for loc in running.locations} == {
            loc.name: "PythonError" if loc.name == "riot" else "RepositoryLocation"
            for loc in running.locations
        }
        # the run in flight died with the server: nobody is left but the daemon's run
        # monitoring, which asks the run launcher (the worker's pid is gone) and fails it; its
        # automatic retry needs the location, so it is given up
        assert api.wait_for_run(in_flight, timeout=120)["status"] == "FAILURE"
        assert any("Detected run worker status" in e and "Marking run" in e
                   for e in api.run_errors(in_flight)), api.run_errors(in_flight)  # fmt: skip
        wait_for("the retry given up", lambda: "Failed to retry run" in api.run_messages(in_flight))
        # the queued one stays queued while the server is down (max_user_code_failure_retries),
        # saying which location, where, and how to restart it
        why = wait_for(
            "the queued run saying why it waits",
            lambda: [m for m in api.run_messages(queued) if "code server of location 'riot'" in m],
        )
        assert f"localhost:{server_port(running, 'riot')}" in why[0], why
        assert "docker compose -f deploy/compose.yaml restart code-riot" in why[0], why
        assert any("re-submitting the run into the queue" in m for m in api.run_messages(queued))
        # each retry moves it to STARTING for the moment of the attempt, then back to QUEUED
        wait_for("the queued run back in the queue", lambda: api.run(queued)["status"] == "QUEUED")
        assert not any("Started execution" in m for m in api.run_messages(queued))
        # its jobs cannot be launched meanwhile; the other location's run succeeded
        with pytest.raises(GraphQLError, match="Could not reach user code server|riot"):
            api.launch_run("riot", "riot_refresh_job")
        assert api.wait_for_run(other)["status"] == "SUCCESS", api.run_errors(other)

        # bin/deploy-local restarts it (the same function); the webserver and the daemon
        # reconnect by themselves, and the queued run runs
        said = io.StringIO()
        assert running.supervisor.revive(out=said) == ["code-server-riot"]
        assert "code server of location riot exited with -9" in said.getvalue()
        wait_for(
            "riot loaded again", lambda: location_state(api, "riot")[0] == "RepositoryLocation"
        )
        assert api.wait_for_run(queued, timeout=240)["status"] == "SUCCESS", api.run_errors(queued)
    except BaseException:  # the server back for the session's later tests, which need riot
        running.supervisor.revive(out=io.StringIO())
        raise


def server_port(running: Topology, name: str) -> int:
    return next(loc.port for loc in running.locations if loc.name == name)


@pytest.mark.slow
def test_unreachable_postgres_at_start_up_says_what_to_do(tmp_path):
    closed = free_port()  # nothing listens here
    env = {
        **os.environ,
        "DAGSTER_PG_URL": f"postgresql://dagster:secret@127.0.0.1:{closed}/dagster",
    }
    result = subprocess.run(
        [sys.executable, "-m", "deploy.local", "--root", str(tmp_path), "--port", str(free_port())]
        + ["--first-code-server-port", str(free_port_block(5))],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result
    assert f"Cannot reach Dagster's PostgreSQL at postgresql://dagster@127.0.0.1:{closed}" in (
        result.stderr
    )
    assert "DAGSTER_PG_URL" in result.stderr and "secret" not in result.stderr
    assert "Traceback" not in result.stderr
    assert not list((tmp_path / "logs").iterdir())  # nothing was started


def test_dagster_postgres_gets_the_psycopg2_driver():
    assert with_psycopg2_driver("postgresql://u:p@h:5432/d") == "postgresql+psycopg2://u:p@h:5432/d"
    assert with_psycopg2_driver("postgres://u@/d?host=/s") == "postgresql+psycopg2://u@/d?host=/s"
    assert with_psycopg2_driver("postgresql+psycopg2://u@h/d") == "postgresql+psycopg2://u@h/d"
