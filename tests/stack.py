"""The whole stacks the tests drive, each started once per test session, and the one sandbox
configuration they run the pipelines on.

- `workspace_stack`: the whole workspace as a user starts it, `dagster dev -w workspace.yaml`,
  every code location at once, the repo's own `dagster_home/dagster.yaml`, on the embedded
  defaults and the bundled sandboxes (stats server, Riot API, an S3 API), each over real HTTP.
  Its webserver, daemon and one code server per location are real processes, and runs are
  launched by the daemon exactly as they are for a user.
- `deployment_stack`: the production topology as separate processes, brought up by
  deploy/local.py (bin/deploy-local): the embedded PostgreSQL behind the instance of
  deploy/dagster.yaml (its daemon waits shortened, `TEST_INSTANCE`), one gRPC code server per
  location, `dagster-daemon run`, `dagster-webserver`, a moto S3 server for the compute logs.

Both run the same pipelines on the same inputs (`pipeline_sandboxes`, `STATS_CONFIG`). The
session fixtures `workspace` and `deployment` (tests/conftest.py) start each once per pytest
process; under pytest-xdist every test that uses one is kept on one worker (its `xdist_group`),
so each still starts once. Ports are free ones and every folder is the session's own, so
several workers (or several sessions) run side by side.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from deploy.local import Topology, code_locations, topology
from deploy.processes import free_port, port_in_use
from sandboxes.replay_sync_demo import seed_replays
from sandboxes.riot.app import DEFAULT_KEY, RiotSandbox
from sandboxes.riot.world import World
from sandboxes.serving import serve_in_background
from sandboxes.stats_server import SandboxConfig, StatsServerSandbox
from tests.graphql import DagsterGraphQL, wait_until_loaded

REPO = Path(__file__).resolve().parents[1]
DAGSTER = str(Path(sys.executable).with_name("dagster"))

# --- the sandboxes ------------------------------------------------------------------------------

STATS_END = dt.date(2026, 11, 20)  # the stats sandbox's last day
STATS_TOKEN = "workspace-token"
# Every whole-stack test runs the pipelines on this: the days before STATS_END filled with a few
# small healthy replays (the oldest, the day the server started, has none).
STATS_CONFIG = SandboxConfig(
    episodes_per_day=(3, 5),
    days=20,
    end_date=STATS_END,
    token=STATS_TOKEN,
    min_agents=2,
    max_agents=4,
    min_steps=30,
    max_steps=80,
)
CHARACTERS = "mewtwo,fox"  # replay_sync's characters (its partitions)


class Gate:
    """A WSGI app in front of a sandbox that can hold requests (`holding()`), so a test can catch
    a run mid-step, in the middle of a call to the sandbox."""

    def __init__(self, app):
        self.app, self.arrived, self._open = app, threading.Event(), threading.Event()
        self._open.set()
        self._prefix = "/"

    def __call__(self, environ, start_response):
        if not self._open.is_set() and environ["PATH_INFO"].startswith(self._prefix):
            self.arrived.set()
            self._open.wait(300)
        return self.app(environ, start_response)

    @contextlib.contextmanager
    def holding(self, path_prefix: str = "/") -> Iterator[threading.Event]:
        """Hold requests whose path starts with `path_prefix` until the block ends; yields the
        event set when one arrives."""
        self._prefix = path_prefix
        self.arrived.clear()
        self._open.clear()
        try:
            yield self.arrived
        finally:
            self._open.set()


@dataclass
class Sandboxes:
    env: dict[str, str]  # the pipelines' variables, pointing at the servers below
    stats: StatsServerSandbox
    stats_gate: Gate
    riot_gate: Gate


def riot_world() -> World:
    return World(seed=5, players_per_platform={"na1": 20}, matches_per_platform={"na1": 60})


@contextlib.contextmanager
def pipeline_sandboxes(
    data: Path, pg_url: str, stats_config: SandboxConfig = STATS_CONFIG
) -> Iterator[Sandboxes]:
    """The stats server (`stats_config`) and the Riot API served, and the variables of every code
    location that uses them: the pipelines' database `pg_url`; lake, rps and MLflow in `data`."""
    stats = StatsServerSandbox(stats_config)
    stats_gate, riot_gate = Gate(stats), Gate(RiotSandbox(riot_world()))
    with (
        serve_in_background(stats_gate) as stats_server,
        serve_in_background(riot_gate) as riot_server,
    ):
        stats.base_url = stats_server.url  # replay URLs point back at it
        env = {
            "POSTGRES_URL": pg_url,
            "LAKE_ROOT": str(data / "lake"),
            "STATS_API_URL": stats_server.url,
            "RIOT_API_BASE_URL": riot_server.url + "/{host}",
            "RIOT_API_KEY": DEFAULT_KEY,
            # A tick every minute, so a test sees the schedule launch a run.
            "RIOT_REFRESH_CRON": "* * * * *",
            "RPS_DATABASE_URL": f"sqlite:///{data / 'rps.db'}",
            "MLFLOW_TRACKING_URI": f"sqlite:///{data / 'mlflow.db'}",
        }
        if stats_config.token:
            env["STATS_API_TOKEN"] = stats_config.token
        yield Sandboxes(env=env, stats=stats, stats_gate=stats_gate, riot_gate=riot_gate)


# --- the workspace under `dagster dev` ----------------------------------------------------------


@dataclass
class Workspace:
    api: DagsterGraphQL
    home: Path  # DAGSTER_HOME: a copy of dagster_home/dagster.yaml, SQLite storage
    env: dict[str, str]
    data: Path  # the lake (data/lake), rps, MLflow, replay_sync's folders
    log: Path  # dagster dev's output
    stats_gate: Gate
    riot_gate: Gate


@contextlib.contextmanager
def workspace_stack(root: Path, pg_url: str, s3_server) -> Iterator[Workspace]:
    """`dagster dev -w workspace.yaml` in `root` on the sandboxes, the pipelines' database
    `pg_url`, replay_sync's bucket on `s3_server` (tests/conftest.py's S3Server); loaded."""
    home = root / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    data = root / "data"
    slp_root = data / "slp"
    seed_replays(slp_root, CHARACTERS.split(","), per_character=3)
    bucket = "workspace-replays"
    s3_server.client().create_bucket(Bucket=bucket)
    with pipeline_sandboxes(data, pg_url) as sandboxes:
        env = {
            **os.environ,
            **sandboxes.env,
            "DAGSTER_HOME": str(home),
            "REPLAY_SYNC_ENDPOINT_URL": s3_server.endpoint_url,
            "REPLAY_SYNC_BUCKET": bucket,
            "REPLAY_SYNC_ACCESS_KEY_ID": s3_server.access_key_id,
            "REPLAY_SYNC_SECRET_ACCESS_KEY": s3_server.secret_access_key,
            "REPLAY_SYNC_REGION": s3_server.region,
            "REPLAY_SYNC_CHARACTERS": CHARACTERS,
            "SLP_ROOT": str(slp_root),
            "REPLAY_SYNC_WORKSPACE": str(data / "workspace"),
            "RPS_MLFLOW_ARTIFACTS": str(data / "mlflow-artifacts"),
            "RPS_METRICS_TEXTFILE": str(data / "rps.prom"),
        }
        with dagster_dev(REPO / "workspace.yaml", root, env) as (api, log):
            yield Workspace(
                api=api,
                home=home,
                env=env,
                data=data,
                log=log,
                stats_gate=sandboxes.stats_gate,
                riot_gate=sandboxes.riot_gate,
            )


@contextlib.contextmanager
def dagster_dev(
    workspace_file: Path, root: Path, env: dict[str, str]
) -> Iterator[tuple[DagsterGraphQL, Path]]:
    """`dagster dev -w workspace_file` (webserver, daemon, a code server per location) in `root`,
    loaded; stopped with Ctrl-C as a user stops it."""
    port = free_port()
    log = root / "dagster-dev.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [DAGSTER, "dev", "-w", str(workspace_file), "-h", "127.0.0.1", "-p", str(port)],
            cwd=root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    api = DagsterGraphQL(f"http://127.0.0.1:{port}")
    try:
        wait_until_loaded(
            api,
            gone=lambda: (
                process.poll() is not None
                and f"dagster dev exited {process.returncode}:\n{log.read_text()[-4000:]}"
            ),
        )
        yield api, log
    finally:
        # Ctrl-C, as a user stops it: dagster dev stops the daemon, webserver, code servers.
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# --- the production topology --------------------------------------------------------------------

# deploy/dagster.yaml with the daemon's waits shortened, so a test sees a fault handled in
# seconds (production: 15 s polls; queued runs wait 3 x 60 s for a code server to come back, here
# up to 40 x 3 s: longer than a restart takes on a loaded machine)
TEST_INSTANCE = {
    "run_monitoring": {"poll_interval_seconds": 2, "free_slots_after_run_end_seconds": 2},
    "run_coordinator": {
        "config": {
            "dequeue_interval_seconds": 1,
            "max_user_code_failure_retries": 40,
            "user_code_failure_retry_delay": 3,
        }
    },
}


def free_port_block(count: int) -> int:
    """The first of `count` consecutive free ports (the code servers take consecutive ports)."""
    for _ in range(100):
        first = random.randrange(20000, 32000)  # below the ephemeral range
        if not any(port_in_use(p) for p in range(first, first + count)):
            return first
    raise RuntimeError(f"no {count} consecutive free ports")


@dataclass
class Deployment:
    running: Topology
    api: DagsterGraphQL
    sandboxes: Sandboxes


@contextlib.contextmanager
def deployment_stack(pg_url: str) -> Iterator[Deployment]:
    """deploy/local.py's topology on the sandboxes and the pipelines' database `pg_url`, with
    Dagster's own storage on the embedded server it starts; loaded."""
    # Not under pytest's basetemp: its top folder is private to this user (0700), which the
    # embedded PostgreSQL's own user cannot enter (as in tests/conftest.py).
    root = Path(tempfile.mkdtemp(prefix="asset-graph-deploy-"))
    try:
        with pipeline_sandboxes(root, pg_url) as sandboxes:
            env = {
                k: v
                for k, v in os.environ.items()
                if k not in ("DAGSTER_PG_URL", "COMPUTE_LOGS_BUCKET", "DAGSTER_HOME")
            }
            # the pipelines' own database is the sandboxes'; Dagster's is the embedded server
            # deploy/local starts
            env.update(sandboxes.env, BACKFILL_MAX_PARTITIONS_PER_RUN="1")
            with topology(
                root,
                env,
                first_code_server_port=free_port_block(len(code_locations())),
                webserver_port=free_port(),
                instance_overrides=TEST_INSTANCE,
            ) as running:
                api = DagsterGraphQL(running.webserver_url)
                wait_until_loaded(api, timeout=240)
                yield Deployment(running, api, sandboxes)
    finally:
        shutil.rmtree(root, ignore_errors=True)
