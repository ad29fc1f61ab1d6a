"""Riot fixtures: the API sandbox over real loopback HTTP, clients sharing a PostgreSQL limiter."""

from __future__ import annotations

import contextlib
import logging

import pytest

from resources.postgres import PostgresResource
from resources.riot.client import RiotClient
from resources.riot.rate_limit import PostgresRateLimiter
from resources.riot.settings import build_resources
from sandboxes.riot.app import DEFAULT_KEY, RiotSandbox
from sandboxes.riot.world import World
from sandboxes.serving import serve_in_background

# Loose limits for flow tests; the limit tests pass their own short windows.
FAST_LIMITS = "200:1,5000:60"
FAST_METHODS = {
    name: "5000:10"
    for name in (
        "account-v1.getByRiotId",
        "account-v1.getByPuuid",
        "summoner-v4.getByPUUID",
        "league-v4.getLeagueEntriesByPUUID",
        "match-v5.getMatchIdsByPUUID",
        "match-v5.getMatch",
    )
}

logging.getLogger("werkzeug").setLevel(logging.WARNING)


def small_world(**kwargs) -> World:
    return World(
        seed=11,
        players_per_platform={"na1": 40, "euw1": 12},
        matches_per_platform={"na1": 160, "euw1": 40},
        **kwargs,
    )


@contextlib.contextmanager
def running_sandbox(**kwargs):
    kwargs.setdefault("world", small_world())
    sandbox = RiotSandbox(**kwargs)
    with serve_in_background(sandbox) as server:
        sandbox.url = server.url
        sandbox.base_url = server.url + "/{host}"
        yield sandbox


@pytest.fixture
def sandbox():
    """A sandbox with loose limits (flow tests)."""
    with running_sandbox(app_limits=FAST_LIMITS, method_limits=FAST_METHODS) as box:
        yield box


def make_client(pg_url: str, base_url: str, key: str = DEFAULT_KEY, **kwargs) -> RiotClient:
    margin = kwargs.pop("margin", 0.5)
    kwargs.setdefault("backoff", 0.05)  # retries in tests need no real backoff
    limiter = PostgresRateLimiter(
        pg_url, key, margin=margin, app_defaults=kwargs.pop("app", "20:1,100:120")
    )
    return RiotClient(key, limiter, base_url, **kwargs)


@pytest.fixture
def client(pg_url, sandbox):
    c = make_client(pg_url, sandbox.base_url, app=FAST_LIMITS)
    yield c
    c.close()


def riot_resources(
    pg_url: str, base_url: str, key: str = DEFAULT_KEY, app: str = FAST_LIMITS, **settings
) -> dict:
    """The code location's resources (`build_resources`) on the test database and sandbox."""
    return build_resources(
        database=PostgresResource(url=pg_url),
        api_key=key,
        base_url_template=base_url,
        app_rate_limits=app,
        settings=settings,
    )
