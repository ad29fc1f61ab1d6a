"""The stats-server client against the sandbox over HTTP: paging past the cap, errors, retries."""

from __future__ import annotations

import datetime as dt

import pytest

from resources.replay_mining.stats_api import (
    ReplayFetchError,
    ReplayFilesResource,
    StatsApiResource,
    StatsServerError,
)
from sandboxes.serving import serve_in_background
from sandboxes.stats_server import StatsServerSandbox
from tests.replay_mining.conftest import DAY, TOKEN, small_config


def test_pages_past_the_servers_1000_row_cap():
    busy = dt.date(2026, 11, 15)
    app = StatsServerSandbox(small_config(overrides={busy.isoformat(): 2345}))
    with serve_in_background(app) as server:
        app.base_url = server.url
        api = StatsApiResource(url=server.url, token=TOKEN, page_size=1000)
        # The server itself never answers more than 1000 rows...
        capped = api.query(
            "SELECT id FROM episodes WHERE created_at >= '2026-11-15' AND created_at < '2026-11-16'"
        )
        assert len(capped) == 1000
        # ...so the client pages by (created_at, id) and gets the whole day.
        episodes = api.episodes_on(busy)
    expected = app.db.execute(
        "SELECT count(*) FROM episodes WHERE replay_url IS NOT NULL AND created_at LIKE '2026-11-15%'"
    ).fetchone()[0]
    assert len(episodes) == expected > 2000
    assert len({e.episode_id for e in episodes}) == len(episodes)
    assert [e.created_at for e in episodes] == sorted(e.created_at for e in episodes)
    assert all(e.replay_url.startswith(server.url) for e in episodes)


def test_utc_day_bounds(stats_sandbox):
    app, url = stats_sandbox
    episodes = StatsApiResource(url=url, token=TOKEN).episodes_on(DAY)
    assert episodes and all(e.created_at.startswith(DAY.isoformat()) for e in episodes)


def test_missing_token_says_which_variable_to_set(stats_sandbox):
    _, url = stats_sandbox
    with pytest.raises(StatsServerError, match="STATS_API_TOKEN"):
        StatsApiResource(url=url, token=None).episodes_on(DAY)


def test_server_down_says_what_to_check():
    api = StatsApiResource(url="http://127.0.0.1:9", retries=1, backoff_seconds=0.01)
    with pytest.raises(
        StatsServerError, match="did not answer after 2 attempts .connection refused.*STATS_API_URL"
    ):
        api.episodes_on(DAY)


def test_slow_server_times_out_with_a_clear_message():
    import time

    def slow_app(environ, start_response):
        time.sleep(1.5)
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"columns": [], "rows": []}']

    with serve_in_background(slow_app) as server:
        api = StatsApiResource(url=server.url, timeout_seconds=0.3, retries=1, backoff_seconds=0.01)
        with pytest.raises(StatsServerError, match="did not answer.*timed out"):
            api.episodes_on(DAY)


def test_replay_download_retries_transient_errors_not_404(stats_sandbox):
    app, url = stats_sandbox
    files = ReplayFilesResource(retries=3, backoff_seconds=0.01)
    episode = "00000000-0000-0000-0000-000000000029"
    app._trouble[episode] = 29  # 503 once, then the replay
    assert files.fetch(f"{url}/replays/2026-11-10/{episode}.json.z")[:2] == b"\x78\x9c"
    assert app.requests.count(f"GET /replays/2026-11-10/{episode}.json.z") == 2

    missing = "00000000-0000-0000-0000-000000000089"
    app._trouble[missing] = 89  # 404 every time: not retried
    with pytest.raises(ReplayFetchError, match="HTTP 404"):
        files.fetch(f"{url}/replays/2026-11-10/{missing}.json.z")
    assert app.requests.count(f"GET /replays/2026-11-10/{missing}.json.z") == 1

    broken = "00000000-0000-0000-0000-000000000097"
    app._trouble[broken] = 97  # 500 every time: retried, then reported
    with pytest.raises(ReplayFetchError, match="HTTP 500.*gave up after retries"):
        files.fetch(f"{url}/replays/2026-11-10/{broken}.json.z")
    assert app.requests.count(f"GET /replays/2026-11-10/{broken}.json.z") == 4


def test_s3_replay_urls_are_fetched_with_boto3(s3_bucket):
    s3_bucket.client().put_object(
        Bucket=s3_bucket.name, Key="replays/a/ep.json.z", Body=b"\x78\x9cabc"
    )
    files = ReplayFilesResource(
        s3_endpoint_url=s3_bucket.server.endpoint_url,
        s3_region="us-east-1",
        s3_access_key_id=s3_bucket.server.access_key_id,
        s3_secret_access_key=s3_bucket.server.secret_access_key,
    )
    url = f"s3://{s3_bucket.name}/replays/a/ep.json.z"
    assert files.fetch(url) == b"\x78\x9cabc"
    assert files.info(url).size == 5
    with pytest.raises(ReplayFetchError):
        files.fetch(f"s3://{s3_bucket.name}/replays/a/missing.json.z")


def test_a_server_error_says_what_to_do_next(stats_sandbox):
    """The sandbox answers 500 to the episode query (fault injected on the server, over HTTP)."""
    app, url = stats_sandbox
    app.query_failures = 10
    api = StatsApiResource(url=url, token=TOKEN, retries=2, backoff_seconds=0.01)
    with pytest.raises(StatsServerError) as failure:
        api.episodes_on(DAY)
    message = str(failure.value)
    assert "answered 500" in message and "outlasted 3 attempts" in message
    assert "re-run the partition later" in message and "operators" in message
    assert app.requests.count("POST /sql/query") == 3  # retried, then explained
    app.query_failures = 0
    assert api.episodes_on(DAY)  # once the server recovers, the same call works


def test_a_refused_query_points_at_the_url_and_schema(stats_sandbox):
    _, url = stats_sandbox
    api = StatsApiResource(url=url, token=TOKEN)
    with pytest.raises(StatsServerError, match="answered 400.*check STATS_API_URL.*columns id"):
        api.query("SELECT no_such_column FROM episodes")
