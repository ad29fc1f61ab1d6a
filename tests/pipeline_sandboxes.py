"""The sandboxes every whole-workspace test runs the pipelines against, and the environment that
points the code locations at them: the stats server and the Riot API over real HTTP (each behind
a `Gate`), a fresh database for the pipelines, and a data folder for the lake, rps and MLflow.

Used by `dagster dev` (tests/workspace/conftest.py) and by the production topology
(tests/deploy/test_topology.py), so both run the same pipelines on the same inputs.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sandboxes.riot.app import DEFAULT_KEY, RiotSandbox
from sandboxes.riot.world import World
from sandboxes.serving import serve_in_background
from sandboxes.stats_server import SandboxConfig, StatsServerSandbox
from tests.conftest import fresh_database


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
    data: Path, pg_server_url: str, stats_config: SandboxConfig
) -> Iterator[Sandboxes]:
    """The stats server (`stats_config`) and the Riot API served, a fresh database, and the
    variables of every code location that uses them; lake, rps and MLflow stores in `data`."""
    stats = StatsServerSandbox(stats_config)
    stats_gate, riot_gate = Gate(stats), Gate(RiotSandbox(riot_world()))
    with (
        fresh_database(pg_server_url) as pg_url,
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
