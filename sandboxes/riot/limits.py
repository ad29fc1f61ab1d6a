"""What the sandbox puts between a request and its answer: rate windows like the real API's,
and the faults a test injects.

Limits behave like the real ones: per API key and routing host, application and method limits in
fixed windows that start with the first counted request (`Window`); the app sends the
`X-App-Rate-Limit(-Count)` and `X-Method-Rate-Limit(-Count)` headers on every answer, and 429
with `Retry-After` and `X-Rate-Limit-Type` when a client goes over.

Fault injection for tests: `sandbox.inject(path_part, status=503, times=1, delay=0.0)` queues a
`Fault`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

DEV_APP_LIMITS = "20:1,100:120"
DEFAULT_METHOD_LIMITS = {
    "account-v1.getByRiotId": "1000:60",
    "account-v1.getByPuuid": "1000:60",
    "summoner-v4.getByPUUID": "1600:60",
    "league-v4.getLeagueEntriesByPUUID": "20000:10",
    "match-v5.getMatchIdsByPUUID": "2000:10",
    "match-v5.getMatch": "2000:10",
}


def parse_limits(text: str) -> list[tuple[int, int]]:
    """`"20:1,100:120"` -> [(20, 1), (100, 120)] (count, seconds)."""
    out = []
    for part in text.split(","):
        part = part.strip()
        if part:
            count, seconds = part.split(":")
            out.append((int(count), int(seconds)))
    return out


@dataclass
class Window:
    """`limit` requests per `seconds`, in a fixed window started by the first counted request."""

    limit: int
    seconds: int
    start: float | None = None
    count: int = 0

    def current(self, now: float) -> int:
        if self.start is None or now >= self.start + self.seconds:
            return 0
        return self.count

    def retry_after(self, now: float) -> int:
        return max(1, math.ceil(self.start + self.seconds - now))

    def hit(self, now: float) -> None:
        if self.start is None or now >= self.start + self.seconds:
            self.start, self.count = now, 0
        self.count += 1


@dataclass
class Fault:
    """The next `times` requests whose path contains `path_part` answer `status` (after `delay`
    seconds; 200 with a delay is a slow answer), with `headers`."""

    path_part: str
    status: int
    times: int
    delay: float
    headers: dict = field(default_factory=dict)
