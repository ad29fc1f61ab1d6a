"""The shared limit holds across two processes, over real HTTP, against short sandbox windows."""

import multiprocessing as mp
import re

import pytest

from resources.riot.rate_limit import LONG_WAIT_SECONDS, PostgresRateLimiter, wait_needed
from sandboxes.riot.app import DEFAULT_KEY
from tests.riot.conftest import running_sandbox
from tests.riot.limit_worker import hammer

# Short windows keep the test to seconds: 5 per second and 15 per 4 seconds.
APP_LIMITS = "5:1,15:4"
WORK_SECONDS = 6.0


def test_sliding_log_waits_for_the_oldest_request_to_leave():
    sent = [10.0, 10.5, 11.0]
    assert wait_needed(sent, [(3, 2.0)], now=11.2, margin=0.5) == pytest.approx(1.3)
    assert wait_needed(sent, [(4, 2.0)], now=11.2, margin=0.5) == 0
    assert wait_needed(sent, [(3, 2.0)], now=12.6, margin=0.5) == 0


class Slept(Exception):
    """Raised by the fake sleep: the wait was decided, the test needs no more."""


@pytest.mark.parametrize("window_seconds", [2, 30])
def test_a_long_wait_for_the_limit_is_said_in_the_steps_log(pg_url, window_seconds):
    said, slept = [], []

    def sleep(seconds):
        slept.append(seconds)
        raise Slept

    limiter = PostgresRateLimiter(
        pg_url, f"key-{window_seconds}", app_defaults=f"1:{window_seconds}", sleep=sleep,
        say=said.append,
    )  # fmt: skip
    try:
        limiter.acquire("americas", "account-v1.getByRiotId")  # the window's one request
        with pytest.raises(Slept):
            limiter.acquire("americas", "account-v1.getByRiotId")
    finally:
        limiter.close()
    assert slept and slept[0] > window_seconds - 1
    if slept[0] >= LONG_WAIT_SECONDS:  # a step quiet for half a minute says why
        assert len(said) == 1, said
        waited = re.match(r"waiting (\d+) s for a request slot", said[0])
        assert waited and abs(int(waited.group(1)) - slept[0]) <= 1, said
        assert "americas" in said[0] and "shares it" in said[0]
    else:  # a short one is only slept
        assert said == []


def run_two_processes(database_urls: list[str]) -> tuple[list[dict], int, int]:
    with running_sandbox(
        app_limits=APP_LIMITS, method_limits={"match-v5.getMatchIdsByPUUID": "1000:10"}
    ) as box:
        puuids = [p.puuid for p in box.world.players["na1"]]
        ctx = mp.get_context("spawn")
        results = ctx.Queue()
        go = ctx.Event()
        procs = [
            ctx.Process(
                target=hammer,
                args=(url, box.base_url, DEFAULT_KEY, puuids, go, WORK_SECONDS, 0.3, results),
            )
            for url in database_urls
        ]
        for p in procs:
            p.start()
        assert [results.get(timeout=60) for _ in procs] == ["ready"] * len(procs)
        go.set()
        rows = [results.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(timeout=30)
        return rows, box.count("requests", "americas"), box.count("429", "americas")


def test_two_processes_share_the_limit_without_a_single_429(pg_url):
    rows, sent, refused = run_two_processes([pg_url, pg_url])
    assert refused == 0
    assert all(r["throttled"] == 0 for r in rows)
    assert all(r["requests"] > 0 for r in rows), "both processes got a share"
    # at least one full 4 s window's quota was used, and never more than the windows allow
    assert 15 <= sent <= 15 * 2 + 5


def test_without_sharing_the_same_load_gets_429s():
    # the replaced backend's design: each process its own limiter -> the server refuses requests
    rows, sent, refused = run_two_processes([None, None])
    assert refused > 0
    assert sum(r["throttled"] for r in rows) == refused
