"""The production topology as separate processes, brought up by deploy/local.py (bin/deploy-local):
the embedded PostgreSQL behind the instance of deploy/dagster.yaml, one gRPC code server per code
location, `dagster-daemon run`, `dagster-webserver`, and a moto S3 server for the compute logs.
Work goes in through the webserver's GraphQL API and is run by the daemon, as in production."""

from __future__ import annotations

import datetime as dt
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import yaml

from deploy.local import (
    REPO,
    code_locations,
    free_port,
    grpc_workspace,
    port_in_use,
    topology,
    with_psycopg2_driver,
)
from resources.object_store import make_s3_client
from sandboxes.riot_api import DEFAULT_KEY, RiotSandbox, World
from sandboxes.serving import serve_in_background
from sandboxes.stats_server import SandboxConfig, StatsServerSandbox
from tests.conftest import fresh_database
from tests.workspace.graphql import DagsterGraphQL, tags_of, wait_until_loaded

pytestmark = pytest.mark.slow

STATS_END = dt.date(2026, 11, 20)
BACKFILL_DAYS = [(STATS_END - dt.timedelta(days=d)).isoformat() for d in (2, 1)]
SCHEDULE = "riot_refresh_every_2_minutes"  # every minute here (RIOT_REFRESH_CRON)


def free_port_block(count: int) -> int:
    """The first of `count` consecutive free ports (the code servers take consecutive ports)."""
    for _ in range(100):
        first = random.randrange(20000, 32000)  # below the ephemeral range
        if not any(port_in_use(p) for p in range(first, first + count)):
            return first
    raise RuntimeError(f"no {count} consecutive free ports")


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, pg_server_url) -> Iterator[tuple]:
    root = tmp_path_factory.mktemp("deploy")
    stats = StatsServerSandbox(
        SandboxConfig(
            episodes_per_day=(3, 4),
            days=5,
            end_date=STATS_END,
            min_agents=2,
            max_agents=3,
            min_steps=20,
            max_steps=40,
        )
    )
    riot = RiotSandbox(
        World(seed=5, players_per_platform={"na1": 20}, matches_per_platform={"na1": 60})
    )
    with (
        fresh_database(pg_server_url) as pipelines_pg_url,
        serve_in_background(stats) as stats_server,
        serve_in_background(riot) as riot_server,
    ):
        stats.base_url = stats_server.url
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DAGSTER_PG_URL", "COMPUTE_LOGS_BUCKET", "DAGSTER_HOME")
        }
        env.update(
            # the pipelines' own database; Dagster's is the embedded server deploy/local starts
            POSTGRES_URL=pipelines_pg_url,
            LAKE_ROOT=str(root / "lake"),
            STATS_API_URL=stats_server.url,
            RIOT_API_BASE_URL=riot_server.url + "/{host}",
            RIOT_API_KEY=DEFAULT_KEY,
            RIOT_REFRESH_CRON="* * * * *",
            BACKFILL_MAX_PARTITIONS_PER_RUN="1",
            RPS_DATABASE_URL=f"sqlite:///{root / 'rps.db'}",
            MLFLOW_TRACKING_URI=f"sqlite:///{root / 'mlflow.db'}",
        )
        with topology(
            root,
            env,
            first_code_server_port=free_port_block(len(code_locations())),
            webserver_port=free_port(),
        ) as running:
            api = DagsterGraphQL(running.webserver_url)
            wait_until_loaded(api, timeout=240)
            yield running, api


def test_the_deploy_workspace_serves_every_code_location_on_its_port():
    """deploy/workspace.yaml is the workspace bin/deploy-local starts: one server per location."""
    assert yaml.safe_load((REPO / "deploy/workspace.yaml").read_text()) == grpc_workspace(
        code_locations()
    )
    assert [loc.port for loc in code_locations()] == [4000, 4001, 4002, 4003, 4004]


def test_every_location_loads_from_its_own_code_server(deployment):
    running, api = deployment
    assert {e["name"]: e["loadStatus"] for e in api.locations()} == {
        loc.name: "LOADED" for loc in running.locations
    }
    for loc in running.locations:
        assert running.processes[f"code-server-{loc.name}"].popen.poll() is None
    assert "postgresql+psycopg2://" in running.pg_url
    assert (running.home / "dagster.yaml").read_text() == (REPO / "deploy/dagster.yaml").read_text()


def test_a_schedule_tick_launches_a_run_that_succeeds(deployment):
    _, api = deployment
    state = api.start_schedule("riot", SCHEDULE)
    try:
        deadline = time.monotonic() + 150
        runs: list[dict] = []
        while not runs and time.monotonic() < deadline:
            runs = [
                r
                for r in api.runs(pipelineName="riot_refresh")
                if tags_of(r).get("dagster/schedule_name") == SCHEDULE
            ]
            time.sleep(2)
        assert runs, f"no tick of {SCHEDULE} launched a run in 150 s"
    finally:
        api.stop_schedule(state["id"])
    run = api.wait_for_run(runs[-1]["runId"], timeout=240)
    assert run["status"] == "SUCCESS", api.run_errors(run["runId"])


def test_a_multi_run_backfill_runs_each_day_and_every_run_succeeds(deployment):
    running, api = deployment
    assets = sorted(
        n["assetKey"]["path"]
        for n in api.asset_nodes()
        if n["groupName"] == "replay_mining" and n["isMaterializable"]
    )
    backfill = api.wait_for_backfill(api.launch_asset_backfill(assets, BACKFILL_DAYS), 420)
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
        dataset = running.root / "lake/datasets/replays" / f"replays_{day.replace('-', '')}.parquet"
        assert dataset.stat().st_size > 0

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
