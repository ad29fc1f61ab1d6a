"""The Riot Games API client: account-v1, summoner-v4, league-v4 and match-v5, behind the shared limiter.

Every request first claims a slot from `PostgresRateLimiter` (shared by all runs and processes),
then goes out with the key in the `X-Riot-Token` header; the answer's rate-limit headers are fed
back to the limiter. Retries are done here, not by urllib3, so that each retry claims a slot too:
429 waits `Retry-After` and goes on; 5xx, timeouts and connection errors are retried a bounded
number of times with backoff; 401/403 stop everything at once with a message to renew the key;
404 is an answer (`None`), not an error.

The key never appears in a log, an error message or metadata: requests puts it only in the
header, messages name the method and host, and the limiter stores a hash of it.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from typing import Any
from urllib.parse import quote

import requests

from resources.http import make_session
from resources.redaction import redact
from resources.riot.rate_limit import PostgresRateLimiter, RateBudgetExhausted, RiotKeyRejected
from resources.riot.routing import PLATFORM_REGION, REGIONS, account_region

SANDBOX_BASE_URL = "http://127.0.0.1:8702/{host}"
PRODUCTION_BASE_URL = "https://{host}.api.riotgames.com"
SANDBOX_KEY = "RGAPI-sandbox-key"  # what the bundled sandbox accepts; not a secret

__all__ = ["RateBudgetExhausted", "RiotApiError", "RiotClient", "RiotKeyRejected"]


class RiotApiError(RuntimeError):
    """The API could not give an answer after the allowed retries, or refused the request."""


class RiotClient:
    """A Riot API client for one process; counts what it did for the run's metadata."""

    def __init__(
        self,
        api_key: str,
        limiter: PostgresRateLimiter,
        base_url_template: str = SANDBOX_BASE_URL,
        timeout: float = 10.0,
        max_attempts: int = 4,
        max_throttled: int = 6,
        backoff: float = 0.5,
        deadline: float | None = None,
    ):
        if not api_key:
            raise RiotKeyRejected(
                401,
                "No Riot API key: set RIOT_API_KEY (a key from https://developer.riotgames.com), "
                "or leave it unset to use the bundled sandbox's key.",
            )
        if "{host}" not in base_url_template:
            raise ValueError(
                f"RIOT_API_BASE_URL must contain '{{host}}' (e.g. {PRODUCTION_BASE_URL})"
            )
        self._key = api_key
        self.limiter = limiter
        self.base_url_template = base_url_template.rstrip("/")
        # Retries happen in `_get` so each one claims a rate-limit slot: none in urllib3.
        self.session = make_session(timeout=(min(3.05, timeout), timeout), retries=0)
        self.max_attempts = max_attempts
        self.max_throttled = max_throttled
        self.backoff = backoff
        self.deadline = deadline
        self.calls: Counter = Counter()  # answered requests per method
        self.throttled = 0  # 429 answers
        self.retries = 0  # 5xx, timeouts, connection errors retried

    @property
    def requests_made(self) -> int:
        return sum(self.calls.values())

    def close(self) -> None:
        self.session.close()
        self.limiter.close()

    def _get(self, host: str, method: str, path: str, params: dict | None = None) -> Any:
        url = self.base_url_template.format(host=host) + path
        failures = throttles = 0
        while True:
            self.limiter.acquire(host, method, self.deadline)
            try:
                answer = self.session.get(url, params=params, headers={"X-Riot-Token": self._key})
            except (requests.ConnectionError, requests.Timeout) as exc:
                failures += 1
                if failures >= self.max_attempts:
                    raise RiotApiError(
                        f"{method} on {host}: no answer after {failures} attempts "
                        f"({type(exc).__name__}). Check that the API at "
                        f"{redact(self.base_url_template)} is reachable (for the sandbox: "
                        "`python -m sandboxes.riot.app --port 8702`)."
                    ) from None
                self.retries += 1
                self._pause(failures)
                continue
            self.calls[method] += 1
            self.limiter.observe(host, method, answer.status_code, answer.headers)
            status = answer.status_code
            if status == 200:
                try:
                    return answer.json()
                except ValueError:
                    raise RiotApiError(f"{method} on {host}: the answer is not JSON") from None
            if status == 404:
                return None
            if status in (401, 403):
                self.limiter.reject_key(status)
                raise RiotKeyRejected(status)
            if status == 429:
                self.throttled += 1
                throttles += 1
                if throttles > self.max_throttled:
                    raise RiotApiError(
                        f"{method} on {host}: still rate limited after {throttles} waits; "
                        "another client may be using this key"
                    )
                continue  # the limiter now holds every process off for Retry-After
            if status >= 500 and failures + 1 < self.max_attempts:
                failures += 1
                self.retries += 1
                self._pause(failures)
                continue
            step = (
                "the fault is on Riot's side and outlasted the retries: the next scheduled "
                "refresh continues from where the data stands; if it persists, check "
                "https://developer.riotgames.com (API status)"
                if status >= 500
                else "check RIOT_API_BASE_URL and the request's routing value"
            )
            raise RiotApiError(f"{method} on {host}: HTTP {status} {_message(answer)}. {step}.")

    def _pause(self, failures: int) -> None:
        delay = min(8.0, self.backoff * 2 ** (failures - 1)) * random.uniform(0.5, 1.0)
        if self.deadline is not None and time.time() + delay > self.deadline:
            raise RateBudgetExhausted("retry backoff would run past this run's time budget")
        time.sleep(delay)

    # -- account-v1 (regional: americas, europe, asia) -------------------------------------------

    def account_by_riot_id(
        self, game_name: str, tag_line: str, platform: str = "na1"
    ) -> dict | None:
        path = (
            "/riot/account/v1/accounts/by-riot-id/"
            f"{quote(game_name, safe='')}/{quote(tag_line, safe='')}"
        )
        return self._get(account_region(platform), "account-v1.getByRiotId", path)

    def account_by_puuid(self, puuid: str, platform: str = "na1") -> dict | None:
        path = f"/riot/account/v1/accounts/by-puuid/{quote(puuid, safe='')}"
        return self._get(account_region(platform), "account-v1.getByPuuid", path)

    # -- summoner-v4, league-v4 (platform) -------------------------------------------------------

    def summoner_by_puuid(self, platform: str, puuid: str) -> dict | None:
        path = f"/lol/summoner/v4/summoners/by-puuid/{quote(puuid, safe='')}"
        return self._get(_platform(platform), "summoner-v4.getByPUUID", path)

    def league_entries(self, platform: str, puuid: str) -> list[dict]:
        path = f"/lol/league/v4/entries/by-puuid/{quote(puuid, safe='')}"
        return self._get(_platform(platform), "league-v4.getLeagueEntriesByPUUID", path) or []

    # -- match-v5 (regional) ---------------------------------------------------------------------

    def match_ids(
        self,
        region: str,
        puuid: str,
        start: int = 0,
        count: int = 20,
        queue: int | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
    ) -> list[str]:
        """Match ids, newest first; `start_time`/`end_time` in epoch seconds."""
        params = {"start": start, "count": max(0, min(100, count))}
        for name, value in (("queue", queue), ("startTime", start_time), ("endTime", end_time)):
            if value is not None:
                params[name] = value
        path = f"/lol/match/v5/matches/by-puuid/{quote(puuid, safe='')}/ids"
        return self._get(_region(region), "match-v5.getMatchIdsByPUUID", path, params) or []

    def match(self, region: str, match_id: str) -> dict | None:
        path = f"/lol/match/v5/matches/{quote(match_id, safe='')}"
        return self._get(_region(region), "match-v5.getMatch", path)


def _platform(platform: str) -> str:
    if platform.lower() not in PLATFORM_REGION:
        raise ValueError(f"unknown platform {platform!r}; use one of {sorted(PLATFORM_REGION)}")
    return platform.lower()


def _region(region: str) -> str:
    if region.lower() not in REGIONS:
        raise ValueError(f"unknown region {region!r}; use one of {sorted(REGIONS)}")
    return region.lower()


def _message(answer: requests.Response) -> str:
    """The answer's message: `{"status": {"message"}}` (the long-standing shape) or
    `{"message"}` (match-v5's since 2025); else the text. Only for messages: what the answer
    means is its status code, as the API's documentation says."""
    try:
        body = answer.json()
        message = body["status"]["message"] if "status" in body else body["message"]
        return redact(str(message)[:200])
    except (ValueError, KeyError, TypeError):
        return redact(answer.text[:200])
