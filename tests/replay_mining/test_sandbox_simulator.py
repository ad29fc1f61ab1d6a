"""The stats-server sandbox serves replays the real simulator wrote: the shipped pool is what
mettagrid's own ReplayLogWriter writes today, byte for byte, and a sandbox day serves it."""

from __future__ import annotations

import gzip
import json
import zlib

import pytest
import requests

from assets.replay_mining.mettagrid import Episode, parse_replay
from sandboxes.mettagrid_simulator import POOL, play_episodes
from sandboxes.serving import serve_in_background
from sandboxes.stats_server import POOL_DIR, StatsServerSandbox, simulator_pool
from tests.replay_mining.conftest import DAY, small_config


@pytest.fixture(scope="module")
def played(tmp_path_factory):
    return play_episodes([spec.name for spec in POOL], cache_dir=tmp_path_factory.mktemp("pool"))


def test_the_shipped_pool_is_what_the_simulator_writes(played):
    shipped = sorted(p.name for p in POOL_DIR.glob("*.json*"))
    assert shipped == sorted(spec.file_name for spec in POOL)
    for name in shipped:
        assert (POOL_DIR / name).read_bytes() == (played / name).read_bytes(), name


def test_a_version_4_day_serves_real_simulator_replays():
    app = StatsServerSandbox(small_config(overrides={DAY.isoformat(): 40}))
    with serve_in_background(app) as server:
        app.base_url = server.url
        rows = requests.post(
            f"{server.url}/sql/query",
            json={"query": f"SELECT id, replay_url FROM episodes WHERE created_at LIKE '{DAY}%'"},
            headers={"X-Auth-Token": "sandbox-token"},
            timeout=10,
        ).json()["rows"]
        pool = set(simulator_pool().values())
        served_from_pool = 0
        for episode_id, url in rows:
            if url is None:
                continue
            response = requests.get(url, timeout=10)
            if response.status_code != 200:
                continue  # the day's deliberately broken ones
            body = response.content
            try:
                raw = gzip.decompress(body) if body[:2] == b"\x1f\x8b" else zlib.decompress(body)
            except (OSError, EOFError, zlib.error):
                continue  # corrupt or cut short on purpose
            if raw in pool:
                served_from_pool += 1
                assert app.replay_of(episode_id) == json.loads(raw)
                assert url.endswith(".json.gz") == (body[:2] == b"\x1f\x8b")
                parse_replay(body, Episode(episode_id))  # and the parser reads it
    # About half of the healthy version-4 replays (the rest are generated: larger maps,
    # agents that join and leave).
    assert 8 <= served_from_pool <= 32
