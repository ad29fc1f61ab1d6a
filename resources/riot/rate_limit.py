"""One Riot API rate limit shared by every run, process and machine, kept in PostgreSQL.

Riot counts requests per API key and routing host in fixed windows (application limits such as
20/1 s and 100/120 s, plus a limit per method) that start at the first counted request. A client
cannot see where the server's windows start, so it keeps a *sliding log* instead: a request may
be sent only if, for every window of N requests per W seconds, fewer than N requests were sent in
the last W + margin seconds. Any fixed window on the server then sees at most N of them, whatever
its alignment, as long as a request reaches the server less than `margin` seconds after its claim.
With a 120 s window and a 0.5 s margin that costs 0.4% of the quota.

State, per (key hash, host, scope) where scope is `app` or the method name, in one table:
the limits the API last announced (`X-App-Rate-Limit`, `X-Method-Rate-Limit`; dev-key defaults
before the first answer), the send times of recent requests, and a `blocked_until` set by a 429's
`Retry-After`. A claim is one short transaction under an advisory lock on (key, host), timed by the
database clock so every process agrees. After each answer the `-Count` headers are compared with
the log: if the server counted more than we sent (another client using the same key), the log is
topped up so we slow down. A rejected key (401/403) is recorded once and stops every process at
once, without a request, until the key is changed.

Only a SHA-256 prefix of the key is stored: the key itself is never written anywhere.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Mapping

import psycopg

from resources.postgres import connect

DEV_APP_LIMITS = "20:1,100:120"
# Before the API has announced a method's limits, send one request per second for it.
UNKNOWN_METHOD_LIMITS = "1:1"
DEFAULT_SERVICE_BACKOFF = 2.0
LONG_WAIT_SECONDS = 5.0  # a wait this long is said, not only slept
REJECTION_HOLD_SECONDS = 3600

SCHEMA = """
CREATE TABLE IF NOT EXISTS riot_rate_limits (
    key_hash      text NOT NULL,
    host          text NOT NULL,
    scope         text NOT NULL,
    limits        text,
    sent          double precision[] NOT NULL DEFAULT '{}',
    blocked_until double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (key_hash, host, scope)
);
CREATE TABLE IF NOT EXISTS riot_api_key_rejections (
    key_hash    text PRIMARY KEY,
    rejected_at timestamptz NOT NULL,
    status      integer NOT NULL
);
"""


class RiotKeyRejected(RuntimeError):
    """The API refused the key (401/403): nothing will work until a person renews it."""

    def __init__(self, status: int, message: str | None = None):
        super().__init__(
            message
            or f"The Riot API rejected the API key (HTTP {status}). Development keys expire every "
            "24 hours: create a new one at https://developer.riotgames.com, set it in RIOT_API_KEY "
            "and re-run. Every riot run stops without calling the API until the key changes."
        )
        self.status = status


class RateBudgetExhausted(RuntimeError):
    """Waiting for the rate limit would run past this run's time budget: stop, keep what we have."""


def key_hash(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]


def parse_limits(text: str | None) -> list[tuple[int, float]]:
    """`"20:1,100:120"` -> [(20, 1.0), (100, 120.0)]; malformed parts are ignored."""
    out = []
    for part in (text or "").split(","):
        count, sep, seconds = part.strip().partition(":")
        if sep and count.isdigit():
            try:
                out.append((int(count), float(seconds)))
            except ValueError:
                continue
    return out


def ensure_schema(conn: psycopg.Connection) -> None:
    # Two processes creating the same table at once can collide; serialise on a lock.
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('riot_rate_limits schema'))")
    conn.execute(SCHEMA)


def wait_needed(
    sent: list[float], limits: list[tuple[int, float]], now: float, margin: float
) -> float:
    """Seconds until one more request fits every (count, seconds) window of the sliding log."""
    wait = 0.0
    for count, seconds in limits:
        horizon = seconds + margin
        recent = sorted(t for t in sent if t > now - horizon)
        if len(recent) >= count:
            # the oldest request that must leave the log before one more fits
            wait = max(wait, recent[len(recent) - count] + horizon - now)
    return wait


class PostgresRateLimiter:
    """Claims request slots in PostgreSQL; one instance per process (it keeps one connection)."""

    def __init__(
        self,
        database_url: str,
        api_key: str,
        margin: float = 0.5,
        app_defaults: str = DEV_APP_LIMITS,
        sleep=time.sleep,
        variable: str = "RIOT_DATABASE_URL",
        say: Callable[[str], None] | None = None,
    ):
        self.database_url = database_url
        self.say = say  # told about a long wait (a step's log), so a quiet step is explained
        self.variable = variable  # named by a connection failure: what to fix
        self.key = key_hash(api_key)
        self.margin = margin
        self.app_defaults = app_defaults
        self.sleep = sleep
        self.waited_seconds = 0.0
        self._conn: psycopg.Connection | None = None

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = connect(self.database_url, self.variable)
            with self._conn.transaction():
                ensure_schema(self._conn)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _lock(self, conn: psycopg.Connection, host: str) -> float:
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"{self.key}|{host}",))
        return conn.execute("SELECT extract(epoch FROM clock_timestamp())::float8").fetchone()[0]

    def _rows(self, conn, host: str, scopes: list[str]) -> dict[str, dict]:
        rows = conn.execute(
            "SELECT scope, limits, sent, blocked_until FROM riot_rate_limits "
            "WHERE key_hash = %s AND host = %s AND scope = ANY(%s)",
            (self.key, host, scopes),
        ).fetchall()
        found = {
            scope: {"limits": limits, "sent": list(sent), "blocked_until": blocked}
            for scope, limits, sent, blocked in rows
        }
        for scope in scopes:
            found.setdefault(scope, {"limits": None, "sent": [], "blocked_until": 0.0})
        return found

    def _defaults(self, scope: str) -> str:
        return self.app_defaults if scope == "app" else UNKNOWN_METHOD_LIMITS

    def _save(self, conn, host: str, scope: str, row: dict, now: float) -> None:
        limits = parse_limits(row["limits"] or self._defaults(scope))
        longest = max((seconds for _, seconds in limits), default=0) + self.margin
        sent = [t for t in row["sent"] if t > now - longest]
        conn.execute(
            "INSERT INTO riot_rate_limits (key_hash, host, scope, limits, sent, blocked_until) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (key_hash, host, scope) DO UPDATE SET "
            "limits = EXCLUDED.limits, sent = EXCLUDED.sent, blocked_until = EXCLUDED.blocked_until",
            (self.key, host, scope, row["limits"], sent, row["blocked_until"]),
        )

    def _check_key(self, conn) -> None:
        row = conn.execute(
            "SELECT status FROM riot_api_key_rejections WHERE key_hash = %s "
            "AND rejected_at > now() - make_interval(secs => %s)",
            (self.key, REJECTION_HOLD_SECONDS),
        ).fetchone()
        if row:
            raise RiotKeyRejected(row[0])

    def try_claim(self, host: str, method: str) -> float:
        """Claim one request now (returns 0) or return how many seconds to wait first."""
        conn = self._connection()
        with conn.transaction():
            now = self._lock(conn, host)
            self._check_key(conn)
            rows = self._rows(conn, host, ["app", method])
            wait = 0.0
            for scope, row in rows.items():
                limits = parse_limits(row["limits"] or self._defaults(scope))
                wait = max(wait, row["blocked_until"] - now)
                wait = max(wait, wait_needed(row["sent"], limits, now, self.margin))
            if wait > 0:
                return wait
            for scope, row in rows.items():
                row["sent"].append(now)
                self._save(conn, host, scope, row, now)
        return 0.0

    def acquire(self, host: str, method: str, deadline: float | None = None) -> None:
        """Block until a request to `method` on `host` may be sent, or raise RateBudgetExhausted
        when that would be after `deadline` (epoch seconds)."""
        while True:
            wait = self.try_claim(host, method)
            if wait <= 0:
                return
            if deadline is not None and time.time() + wait > deadline:
                raise RateBudgetExhausted(
                    f"the Riot API rate limit on {host} needs a {wait:.1f} s wait, past this "
                    "run's time budget; the next run continues from here"
                )
            if self.say and wait >= LONG_WAIT_SECONDS:
                self.say(
                    f"waiting {wait:.0f} s for a request slot of the Riot API rate limit on "
                    f"{host}: every run with this key shares it"
                )
            self.waited_seconds += wait
            # jitter: processes waiting for the same slot take turns instead of one always winning
            self.sleep(wait + random.uniform(0.002, 0.02))

    def observe(self, host: str, method: str, status: int, headers: Mapping[str, str]) -> None:
        """Learn limits and counts from an answer; after a 429, hold everyone off."""
        announced = {
            "app": (headers.get("X-App-Rate-Limit"), headers.get("X-App-Rate-Limit-Count")),
            method: (headers.get("X-Method-Rate-Limit"), headers.get("X-Method-Rate-Limit-Count")),
        }
        if status != 429 and not any(limit for limit, _ in announced.values()):
            return
        conn = self._connection()
        with conn.transaction():
            now = self._lock(conn, host)
            rows = self._rows(conn, host, ["app", method])
            for scope, (limit_text, count_text) in announced.items():
                row = rows[scope]
                if limit_text and parse_limits(limit_text):
                    row["limits"] = limit_text
                for count, seconds in parse_limits(count_text):
                    ours = sum(1 for t in row["sent"] if t > now - seconds - self.margin)
                    # the server saw more than we sent: someone else uses this key
                    row["sent"].extend([now] * max(0, count - ours))
            if status == 429:
                limit_type = (headers.get("X-Rate-Limit-Type") or "service").lower()
                retry_after = _seconds(headers.get("Retry-After"), DEFAULT_SERVICE_BACKOFF)
                scope = "app" if limit_type == "application" else method
                rows[scope]["blocked_until"] = max(rows[scope]["blocked_until"], now + retry_after)
            for scope, row in rows.items():
                self._save(conn, host, scope, row, now)

    def reject_key(self, status: int) -> None:
        conn = self._connection()
        with conn.transaction():
            conn.execute(
                "INSERT INTO riot_api_key_rejections (key_hash, rejected_at, status) "
                "VALUES (%s, now(), %s) ON CONFLICT (key_hash) DO UPDATE "
                "SET rejected_at = now(), status = EXCLUDED.status",
                (self.key, status),
            )


class InMemoryRateLimiter:
    """The baseline for benchmarks and tests, as the replaced backend had it: the same sliding-log
    rule and Retry-After handling, but in one process's memory and without learning from the
    count headers, so each process believes it has the whole quota to itself."""

    def __init__(self, limits: str = DEV_APP_LIMITS, margin: float = 0.5):
        self.limits = parse_limits(limits)
        self.margin = margin
        self.sent: list[float] = []
        self.blocked_until = 0.0
        self.waited_seconds = 0.0

    def acquire(self, host: str, method: str, deadline: float | None = None) -> None:
        while True:
            now = time.time()
            wait = max(
                self.blocked_until - now, wait_needed(self.sent, self.limits, now, self.margin)
            )
            if wait <= 0:
                longest = max(seconds for _, seconds in self.limits) + self.margin
                self.sent = [t for t in self.sent if t > now - longest] + [now]
                return
            if deadline is not None and now + wait > deadline:
                raise RateBudgetExhausted("past the benchmark's end")
            self.waited_seconds += wait
            time.sleep(wait + 0.005)

    def observe(self, host, method, status, headers) -> None:
        if status == 429:
            self.blocked_until = time.time() + float(headers.get("Retry-After", 1))

    def reject_key(self, status: int) -> None:
        pass

    def close(self) -> None:
        pass


def _seconds(value: str | None, default: float) -> float:
    try:
        return max(0.0, float(value)) if value else default
    except ValueError:
        return default
