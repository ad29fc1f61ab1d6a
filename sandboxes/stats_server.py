"""A sandbox of the game-evaluation stats server, over real HTTP.

Speaks the real server's API: `POST /sql/query` with `{"query": "..."}` and an `X-Auth-Token`
header, answering `{"columns": [...], "rows": [[...]], "row_count": n}` and cutting every answer
at 1000 rows with no paging, as the real one does. The SQL runs on an in-memory SQLite copy of an
`episodes` table (id, created_at, replay_url, policy_name, env_name, num_agents, max_steps,
score). Replays are served at `GET /replays/<date>/<episode id>.json.z` (or `.json.gz`),
generated on demand (sandboxes/mettagrid_replays.py).

What the real server serves today: most days' replays are format version 4, some older days' are
version 3, 2 or 1 (`version_of(day)`, about 70/10/10/10 in 100 days; `SandboxConfig.versions`
pins a day); on version-3 and version-4 days about one replay in five is gzip-compressed with a
`.json.gz` URL, as the single-episode runner writes them.

Deliberate trouble, so the pipeline's error handling is exercised (positions within each block of
100 episodes of a day, in created_at order): 17 corrupt zlib, 41 truncated JSON, 73 a version-5
replay (announced by the spec, not written yet: rejected by name), 81 a gzip stream cut short,
83 a version-4 replay without `objects`, 85 an agent whose `policy_infos` is not an object, 87 an
inventory item id outside `item_names`, 89 answers 404, 97 answers 500 every time, 29 answers 503
once and then the replay. With `hostile=True` (off by default: no real server sends them, an
attacker or a broken writer could), also 33 an agent_id beyond int64, 47 a zlib bomb (2 GiB of
zeros in about 2 MB) and 59 JSON nested 200,000 levels deep. The oldest day of the history (`days` before `end_date`) has no
episodes at all: the day the server started. The newest day, today, and every day before it
down to the oldest have episodes, so "yesterday" always has rows.

Run it: `python -m sandboxes.stats_server --port 8701 [--token T] [--days 120]`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import re
import sqlite3
import threading
import uuid
import zlib
from dataclasses import dataclass, field
from functools import lru_cache

from werkzeug.wrappers import Request, Response

from sandboxes.mettagrid_replays import encode_replay, generate_replay, seed_of

MAX_ROWS = 1000
CORRUPT_ZLIB, TRUNCATED_JSON, UNKNOWN_VERSION, NOT_FOUND, SERVER_ERROR, FLAKY = (
    17,
    41,
    73,
    89,
    97,
    29,
)
GZIP_CUT_SHORT, NO_OBJECTS, BAD_POLICY_INFOS, UNKNOWN_ITEM = 81, 83, 85, 87
TROUBLE = (CORRUPT_ZLIB, TRUNCATED_JSON, UNKNOWN_VERSION, NOT_FOUND, SERVER_ERROR, FLAKY)
TROUBLE += (GZIP_CUT_SHORT, NO_OBJECTS, BAD_POLICY_INFOS, UNKNOWN_ITEM)
HUGE_AGENT_ID, ZLIB_BOMB, DEEP_NESTING = 33, 47, 59
HOSTILE = (HUGE_AGENT_ID, ZLIB_BOMB, DEEP_NESTING)
BOMB_BYTES = 2 * 2**30
POLICIES = ["navigator_v3", "hearts_ppo_v12", "cogs_baseline", "mettabox_sweep_7", "random_walk"]
ENVIRONMENTS = ["arena/basic", "arena/combat", "navigation/maze", "cooperation/pens"]
NAMESPACE = uuid.UUID("6c1f4e0e-6b4f-4b59-9a7e-3f0f5f2c9d11")


@dataclass
class SandboxConfig:
    episodes_per_day: tuple[int, int] = (40, 80)  # inclusive range, drawn per day
    days: int = 120  # days of history, ending today (UTC)
    end_date: dt.date | None = None  # default today (UTC)
    overrides: dict[str, int] = field(default_factory=dict)  # date → episode count
    token: str | None = None
    min_agents: int = 4
    max_agents: int = 24
    min_steps: int = 200
    max_steps: int = 1000
    broken: bool = True  # include the deliberately broken replays
    hostile: bool = False  # include the hostile ones (int64 overflow, zlib bomb, deep nesting)
    versions: dict[str, int] = field(default_factory=dict)  # date → replay format version
    gzip_share: float = 0.2  # of replays on version-3 and version-4 days

    def first_day(self) -> dt.date:
        return self.last_day() - dt.timedelta(days=self.days - 1)

    def last_day(self) -> dt.date:
        return self.end_date or dt.datetime.now(dt.UTC).date()


def episode_count(day: dt.date, config: SandboxConfig) -> int:
    key = day.isoformat()
    if key in config.overrides:
        return config.overrides[key]
    if day == config.first_day():  # the server's first day: nothing recorded yet
        return 0
    low, high = config.episodes_per_day
    return low + seed_of(key) % (high - low + 1)


def version_of(day: dt.date, config: SandboxConfig) -> int:
    """The replay format version of a day: mostly 4, some older days 3, 2 or 1."""
    if day.isoformat() in config.versions:
        return config.versions[day.isoformat()]
    draw = seed_of(f"version/{day.isoformat()}") % 100
    return 4 if draw < 70 else 3 if draw < 80 else 2 if draw < 90 else 1


def compression_of(episode_id: str, version: int, config: SandboxConfig) -> str:
    if version < 3:  # gzip only since 2025-12-23 (version 3)
        return "zlib"
    return "gzip" if seed_of(f"gzip/{episode_id}") % 1000 < config.gzip_share * 1000 else "zlib"


def trouble_of(position: int, config: SandboxConfig) -> int | None:
    if not config.broken:
        return None
    p = position % 100
    return p if p in TROUBLE or (config.hostile and p in HOSTILE) else None


class StatsServerSandbox:
    """The WSGI app. `base_url` is where replay URLs point (set once the port is known)."""

    def __init__(
        self, config: SandboxConfig | None = None, base_url: str = "http://127.0.0.1:8701"
    ):
        self.config = config or SandboxConfig()
        self.base_url = base_url.rstrip("/")
        self.db = sqlite3.connect(":memory:", check_same_thread=False)
        self.lock = threading.Lock()
        self.flaky_served: set[str] = set()
        self.requests: list[str] = []
        self.query_failures = 0  # the next N queries answer 500 (fault injection for tests)
        self._trouble: dict[str, int] = {}
        self._episodes: dict[str, tuple[int, str, str]] = {}  # id → version, compression, policy
        self._fill()

    def _fill(self) -> None:
        self.db.execute(
            "CREATE TABLE episodes (id TEXT PRIMARY KEY, created_at TEXT, replay_url TEXT, "
            "policy_name TEXT, env_name TEXT, num_agents INTEGER, max_steps INTEGER, score REAL)"
        )
        end = self.config.last_day()
        days = {end - dt.timedelta(days=i) for i in range(self.config.days)}
        days |= {dt.date.fromisoformat(d) for d in self.config.overrides}
        rows = []
        for day in sorted(days):
            count = episode_count(day, self.config)
            version = version_of(day, self.config)
            # Spread over the day, in time order; ids are stable uuids.
            spacing = 86_400 / max(count, 1)
            for position in range(count):
                episode_id = str(uuid.uuid5(NAMESPACE, f"{day.isoformat()}/{position}"))
                created = dt.datetime.combine(day, dt.time(), dt.UTC) + dt.timedelta(
                    seconds=int(position * spacing) + 1
                )
                rng = seed_of(episode_id)
                trouble = trouble_of(position, self.config)
                compression = compression_of(episode_id, version, self.config)
                if trouble in (GZIP_CUT_SHORT, CORRUPT_ZLIB):
                    compression = "gzip" if trouble == GZIP_CUT_SHORT else "zlib"
                policy = POLICIES[rng % len(POLICIES)]
                self._episodes[episode_id] = (version, compression, policy)
                suffix = "json.gz" if compression == "gzip" else "json.z"
                rows.append(
                    (
                        episode_id,
                        created.strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
                        f"/replays/{day.isoformat()}/{episode_id}.{suffix}",
                        policy,
                        ENVIRONMENTS[(rng >> 8) % len(ENVIRONMENTS)],
                        None,
                        None,
                        round((rng % 1000) / 10, 1),
                    )
                )
                if trouble is not None:
                    self._trouble[episode_id] = trouble
        self.db.executemany("INSERT INTO episodes VALUES (?,?,?,?,?,?,?,?)", rows)
        # A few episodes have no replay at all, as on the real server.
        self.db.execute("UPDATE episodes SET replay_url = NULL WHERE substr(id, 1, 2) = 'ff'")
        self.db.commit()

    # --- HTTP -----------------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.requests.append(f"{request.method} {request.path}")
        if request.path == "/sql/query" and request.method == "POST":
            response = self._query(request)
        elif request.path.startswith("/replays/") and request.method in ("GET", "HEAD"):
            response = self._replay(request)
        elif request.path == "/health":
            response = Response("ok")
        else:
            response = Response(
                json.dumps({"detail": "Not Found"}), status=404, mimetype="application/json"
            )
        return response(environ, start_response)

    def _query(self, request: Request) -> Response:
        if self.query_failures > 0:
            self.query_failures -= 1
            return Response(
                json.dumps({"detail": "Internal Server Error"}),
                status=500,
                mimetype="application/json",
            )
        if self.config.token and request.headers.get("X-Auth-Token") != self.config.token:
            return Response(
                json.dumps({"detail": "Invalid or missing X-Auth-Token"}),
                status=401,
                mimetype="application/json",
            )
        try:
            query = request.get_json(force=True)["query"]
        except Exception:
            return Response(
                json.dumps({"detail": 'body must be {"query": "..."}'}),
                status=400,
                mimetype="application/json",
            )
        if not re.match(r"^\s*(SELECT|WITH)\b", query, re.IGNORECASE):
            return Response(
                json.dumps({"detail": "only read-only queries are allowed"}),
                status=400,
                mimetype="application/json",
            )
        # The real server stores timestamps as timestamptz; SQLite compares our ISO strings fine.
        try:
            with self.lock:
                cursor = self.db.execute(query)
                columns = [d[0] for d in cursor.description]
                rows = cursor.fetchmany(MAX_ROWS)
        except sqlite3.Error as exc:
            return Response(
                json.dumps({"detail": f"query failed: {exc}"}),
                status=400,
                mimetype="application/json",
            )
        rows = [[self._absolute(c, v) for c, v in zip(columns, row, strict=True)] for row in rows]
        return Response(
            json.dumps({"columns": columns, "rows": rows, "row_count": len(rows)}),
            mimetype="application/json",
        )

    def _absolute(self, column: str, value):
        if column == "replay_url" and isinstance(value, str) and value.startswith("/"):
            return self.base_url + value
        return value

    def _replay(self, request: Request) -> Response:
        match = re.fullmatch(
            r"/replays/(\d{4}-\d{2}-\d{2})/([0-9a-f-]{36})\.json\.g?z", request.path
        )
        if not match:
            return Response("not found", status=404)
        episode_id = match.group(2)
        trouble = self._trouble.get(episode_id)
        if trouble == NOT_FOUND:
            return Response(
                "<Error><Code>NoSuchKey</Code></Error>", status=404, mimetype="application/xml"
            )
        if trouble == SERVER_ERROR:
            return Response("internal error", status=500)
        if trouble == FLAKY:
            with self.lock:
                first = episode_id not in self.flaky_served
                self.flaky_served.add(episode_id)
            if first:
                return Response("slow down", status=503, headers={"Retry-After": "0"})
        body = self.replay_bytes(episode_id, trouble)
        # werkzeug answers HEAD with these headers and no body.
        return Response(
            body,
            mimetype="application/octet-stream",
            headers={"ETag": f'"{hashlib.md5(body).hexdigest()}"'},
        )

    def replay_of(self, episode_id: str) -> dict:
        """The replay as JSON (before the deliberate trouble), for tests to compare against."""
        c = self.config
        version, _, policy = self._episodes.get(episode_id, (4, "zlib", None))
        return generate_replay(
            episode_id, c.min_agents, c.max_agents, c.min_steps, c.max_steps, version, policy
        )

    @lru_cache(maxsize=256)  # noqa: B019 - the sandbox lives as long as its cache should
    def replay_bytes(self, episode_id: str, trouble: int | None = None) -> bytes:
        replay = self.replay_of(episode_id)
        compression = self._episodes.get(episode_id, (4, "zlib", None))[1]
        if trouble == ZLIB_BOMB:
            return zlib_bomb(BOMB_BYTES)
        if trouble in (NO_OBJECTS, BAD_POLICY_INFOS, UNKNOWN_ITEM, UNKNOWN_VERSION, HUGE_AGENT_ID):
            replay = generate_replay(
                episode_id, 2, 4, 30, 60, 4, self._episodes.get(episode_id, (4, "", None))[2]
            )  # a small version-4 replay to break
        if trouble == UNKNOWN_VERSION:
            replay["version"] = 5
        elif trouble == NO_OBJECTS:
            del replay["objects"]
        elif trouble == BAD_POLICY_INFOS:
            agent = next(o for o in replay["objects"] if "agent_id" in o)
            agent["policy_infos"] = [[0, "navigator_v3"], [5, "navigator_v3 (retry)"]]
        elif trouble == UNKNOWN_ITEM:
            agent = next(o for o in replay["objects"] if "agent_id" in o)
            agent["inventory"] = [[0, [[0, 100]]], [3, [[0, 99], [len(replay["item_names"]), 1]]]]
        elif trouble == HUGE_AGENT_ID:
            next(o for o in replay["objects"] if "agent_id" in o)["agent_id"] = 2**70
        elif trouble == DEEP_NESTING:
            depth = 200_000
            replay["mg_config"] = "NESTED"
            raw = json.dumps(replay).encode()
            raw = raw.replace(b'"NESTED"', b"[" * depth + b"]" * depth)
            return zlib.compress(raw)
        body = encode_replay(replay, compression)
        if trouble == CORRUPT_ZLIB:
            return body[:2] + bytes(b ^ 0x5A for b in body[2:200]) + body[200:]
        if trouble == TRUNCATED_JSON:
            raw = json.dumps(replay).encode()
            return zlib.compress(raw[: len(raw) // 2])
        if trouble == GZIP_CUT_SHORT:
            return body[: len(body) * 2 // 3]
        return body


@lru_cache(maxsize=1)
def zlib_bomb(size: int) -> bytes:
    """A zlib stream of `size` zero bytes: about 1/1000 of that compressed."""
    compressor, chunk = zlib.compressobj(9), bytes(64 * 2**20)
    parts = [compressor.compress(chunk) for _ in range(size // len(chunk))]
    return b"".join([*parts, compressor.flush()])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8701)
    parser.add_argument("--token", default=None)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--episodes", default="40-80", help="episodes per day, e.g. 40-80 or 200")
    args = parser.parse_args()
    low, _, high = args.episodes.partition("-")
    config = SandboxConfig(
        episodes_per_day=(int(low), int(high or low)), days=args.days, token=args.token
    )
    from sandboxes.serving import serve_forever

    serve_forever(
        StatsServerSandbox(config, base_url=f"http://{args.host}:{args.port}"), args.host, args.port
    )


if __name__ == "__main__":
    main()
