"""The stats-server sandbox serves what the real server serves today (shared/reference/)."""

from __future__ import annotations

import collections
import datetime as dt

import requests

from sandboxes.serving import serve_in_background
from sandboxes.stats_server import SandboxConfig, StatsServerSandbox, episode_count, version_of


def test_most_days_are_version_4_and_every_older_version_appears():
    config = SandboxConfig(end_date=dt.date(2026, 12, 2))
    days = [config.last_day() - dt.timedelta(days=i) for i in range(config.days)]
    versions = collections.Counter(version_of(day, config) for day in days)
    assert set(versions) == {1, 2, 3, 4}
    assert versions[4] > 0.6 * len(days)


def test_every_day_the_demo_can_pick_has_episodes_and_the_empty_day_is_not_one():
    """bin/demo materialises yesterday (UTC): every such day, first of a month included, has
    episodes; the only empty day is the oldest of the history."""
    for today in (dt.date(2026, 12, 2), dt.date(2027, 3, 1), dt.date(2026, 7, 2)):
        config = SandboxConfig(end_date=today)
        for back in range(1, config.days - 1):
            assert episode_count(today - dt.timedelta(days=back), config) > 0, back
        assert episode_count(config.first_day(), config) == 0
        assert config.first_day() < today - dt.timedelta(days=1)


def test_replays_are_served_zlib_or_gzip_with_matching_urls():
    app = StatsServerSandbox(
        SandboxConfig(
            episodes_per_day=(30, 30),
            days=3,
            end_date=dt.date(2026, 12, 2),
            versions={"2026-12-01": 4},
            min_agents=2,
            max_agents=3,
            min_steps=30,
            max_steps=60,
            broken=False,
        )
    )
    rows = app.db.execute(
        "SELECT replay_url FROM episodes WHERE created_at LIKE '2026-12-01%' AND replay_url IS NOT NULL"
    ).fetchall()
    session = requests.Session()
    session.trust_env = False  # loopback: no proxy
    with serve_in_background(app) as server:
        app.base_url = server.url
        magic = {
            url.rsplit(".", 1)[1]: session.get(server.url + url, timeout=10).content[:2]
            for (url,) in rows
        }
    assert magic == {"gz": b"\x1f\x8b", "z": b"\x78\xda"} or magic == {
        "gz": b"\x1f\x8b",
        "z": b"\x78\x9c",
    }


def test_the_version_5_replay_and_the_other_broken_cases_are_there():
    app = StatsServerSandbox(
        SandboxConfig(overrides={"2026-11-12": 100}, days=2, end_date=dt.date(2026, 11, 13))
    )
    kinds = collections.Counter(app._trouble.values())
    assert set(kinds) == {17, 29, 41, 73, 81, 83, 85, 87, 89, 97}
    version_5 = next(e for e, k in app._trouble.items() if k == 73)
    import zlib

    assert b'"version": 5' in zlib.decompress(app.replay_bytes(version_5, 73))
