"""The whole workspace as a user starts it: `dagster dev -w workspace.yaml`, every code location
at once, the repo's own `dagster_home/dagster.yaml`, on the embedded defaults and the bundled
sandboxes (stats server, Riot API, an S3 API), each served over real HTTP.

One `dagster dev` serves the module: its webserver, daemon and one code server per location are
real processes, and runs are launched by the daemon exactly as they are for a user.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from deploy.local import free_port
from sandboxes.replay_sync_demo import seed_replays
from sandboxes.stats_server import SandboxConfig
from tests.pipeline_sandboxes import Gate, pipeline_sandboxes
from tests.workspace.graphql import DagsterGraphQL, wait_until_loaded

REPO = Path(__file__).resolve().parents[2]
DAGSTER = str(Path(sys.executable).with_name("dagster"))
STATS_TOKEN = "workspace-token"
# Days the stats sandbox fills with a few small healthy replays.
STATS_END = dt.date(2026, 11, 20)
CHARACTERS = "mewtwo,fox"


@dataclass
class Workspace:
    api: DagsterGraphQL
    home: Path
    env: dict[str, str]
    data: Path
    log: Path
    riot_gate: Gate


@pytest.fixture(scope="session")
def workspace(tmp_path_factory, pg_server_url, s3_server) -> Iterator[Workspace]:
    root = tmp_path_factory.mktemp("workspace")
    home = root / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    data = root / "data"
    slp_root = data / "slp"
    seed_replays(slp_root, CHARACTERS.split(","), per_character=3)
    bucket = "workspace-replays"
    s3_server.client().create_bucket(Bucket=bucket)

    stats_config = SandboxConfig(
        episodes_per_day=(3, 5),
        days=20,
        end_date=STATS_END,
        token=STATS_TOKEN,
        min_agents=2,
        max_agents=4,
        min_steps=30,
        max_steps=80,
    )
    with pipeline_sandboxes(data, pg_server_url, stats_config) as sandboxes:
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
                api=api, home=home, env=env, data=data, log=log, riot_gate=sandboxes.riot_gate
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
