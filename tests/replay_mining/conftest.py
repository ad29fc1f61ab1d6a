"""Fixtures for replay_mining: the stats-server sandbox over loopback HTTP, and resources."""

from __future__ import annotations

import datetime as dt

import pytest

from resources.lake import LakeResource
from resources.replay_mining.settings import DEFAULT_MAX_FAILED_PERCENT, build_resources
from sandboxes.serving import serve_in_background
from sandboxes.stats_server import SandboxConfig, StatsServerSandbox

DAY = dt.date(2026, 11, 10)  # a day with a handful of small, healthy version-4 replays
BUSY_DAY = dt.date(2026, 11, 12)  # 100 replays, nine of them broken (one of each kind)
EMPTY_DAY = dt.date(2026, 11, 1)  # the oldest day of the sandbox's history: no episodes
# The partition-range days hold replays of every format version.
VERSION_DAYS = {dt.date(2026, 11, 7): 1, dt.date(2026, 11, 8): 2, dt.date(2026, 11, 9): 3}
TOKEN = "sandbox-token"


def small_config(**overrides) -> SandboxConfig:
    values = dict(
        episodes_per_day=(5, 8),
        days=20,
        end_date=dt.date(2026, 11, 20),
        overrides={BUSY_DAY.isoformat(): 100},
        versions={DAY.isoformat(): 4, BUSY_DAY.isoformat(): 4}
        | {d.isoformat(): v for d, v in VERSION_DAYS.items()},
        token=TOKEN,
        min_agents=2,
        max_agents=5,
        min_steps=30,
        max_steps=120,
    )
    values.update(overrides)
    return SandboxConfig(**values)


@pytest.fixture
def stats_sandbox():
    app = StatsServerSandbox(small_config())
    with serve_in_background(app) as server:
        app.base_url = server.url
        yield app, server.url


def make_resources(
    url: str, lake_root: str, *, max_failed_percent: int = DEFAULT_MAX_FAILED_PERCENT, **lake_kwargs
) -> dict:
    """The code location's resources (`build_resources`) on the sandbox at `url`, quick to
    retry, and a lake at `lake_root` (`lake_kwargs`: its S3 settings)."""
    return build_resources(
        lake=LakeResource(root=lake_root, **lake_kwargs),
        stats_api_url=url,
        stats_api_token=TOKEN,
        retries=2,
        backoff_seconds=0.01,
        max_failed_percent=max_failed_percent,
        download_concurrency=4,
    )
