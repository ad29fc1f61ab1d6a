"""The Riot API sandbox's WSGI app: routing, the answers, the limits and faults applied.

Routing: the real API puts the routing value in the host name (`na1.api.riotgames.com`,
`americas.api.riotgames.com`). The sandbox serves every routing host on one loopback port with
the routing value as the first path segment, so the client's base URL template
`https://{host}.api.riotgames.com` becomes `http://127.0.0.1:8702/{host}`:

    GET /na1/lol/summoner/v4/summoners/by-puuid/{puuid}
    GET /americas/lol/match/v5/matches/NA1_5000000123

What it serves, with the real paths and JSON shapes: account-v1 (by Riot ID, by PUUID),
summoner-v4 and league-v4 by PUUID (platform hosts), match-v5 ids by PUUID (start, count, queue,
type, startTime, endTime in epoch seconds, newest first) and match by id (regional hosts), from
the data world of `sandboxes/riot/world.py`, behind the rate windows of `sandboxes/riot/limits.py`.
A missing key is 401, a wrong key 403 (no limit headers), an unknown player or match 404
(counted, as on the real API): `{"status": {"message", "status_code"}}`, except match-v5's,
which answers in the 2025-2026 shape `{"httpStatus", "errorCode": "RESOURCE_NOT_FOUND",
"message"}`, also for matches it lists but no longer serves (`World(missing_every=...)`).
The bodies of every era and shape are built by `sandboxes/riot/world.py` and `shapes.py`.

Fault injection for tests: `sandbox.inject(path_part, status=503, times=1, delay=0.0)`.
`/_sandbox/stats` reports requests and 429s per key and host; `/_sandbox/players` lists players.

Standalone: `python -m sandboxes.riot.app --port 8702` (key `RGAPI-sandbox-key` by default).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import threading
import time
from collections import Counter

from werkzeug.wrappers import Request, Response

from resources.riot.routing import ACCOUNT_REGIONS, PLATFORM_REGION, REGIONS
from sandboxes.riot.limits import DEFAULT_METHOD_LIMITS, DEV_APP_LIMITS, Fault, Window, parse_limits
from sandboxes.riot.world import Player, World
from sandboxes.serving import serve_forever

DEFAULT_KEY = "RGAPI-sandbox-key"
# the standalone sandbox (the demo) lists some matches it then answers 404 for, as the real API
# does for matches it has purged or not indexed yet
MISSING_EVERY = 60


class RiotSandbox:
    """The WSGI app. Thread-safe: werkzeug serves each request on its own thread."""

    def __init__(
        self,
        world: World | None = None,
        api_keys: tuple[str, ...] = (DEFAULT_KEY,),
        app_limits: str = DEV_APP_LIMITS,
        method_limits: dict[str, str] | None = None,
        clock=time.time,
        ban_delay: float = 600.0,
    ):
        self.world = world or World()
        self.ban_delay = ban_delay
        self._banned: set[str] = set()
        self.api_keys = set(api_keys)
        self.app_limits = parse_limits(app_limits)
        self.method_limits = {
            name: parse_limits(text)
            for name, text in {**DEFAULT_METHOD_LIMITS, **(method_limits or {})}.items()
        }
        self.clock = clock
        self._lock = threading.Lock()
        self._windows: dict[tuple, list[Window]] = {}
        self._faults: list[Fault] = []
        self.stats: Counter = Counter()

    # -- test hooks -----------------------------------------------------------------------------

    def ban(self, puuid: str) -> None:
        """Ban an account now: account-v1, summoner-v4 and league-v4 stop knowing it."""
        with self._lock:
            self._banned.add(puuid)

    def is_banned(self, player: Player) -> bool:
        if player.gone or player.puuid in self._banned:
            return True
        return player.banned and self.clock() >= self.world.anchor + self.ban_delay

    def inject(
        self,
        path_part: str,
        status: int = 503,
        times: int = 1,
        delay: float = 0.0,
        headers: dict | None = None,
    ) -> None:
        """The next `times` requests whose path contains `path_part` fail with `status` (after
        `delay` seconds; status 200 with a delay simulates a slow answer)."""
        with self._lock:
            self._faults.append(Fault(path_part, status, times, delay, headers or {}))

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.path_part in path and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    # -- rate limits ----------------------------------------------------------------------------

    def _windows_for(self, key: str, host: str, scope: str, limits) -> list[Window]:
        ident = (key, host, scope)
        if ident not in self._windows:
            self._windows[ident] = [Window(limit, seconds) for limit, seconds in limits]
        return self._windows[ident]

    def _admit(self, key: str, host: str, method: str) -> tuple[dict, int | None, str | None]:
        """Count the request or refuse it; returns (headers, retry_after or None, limit type)."""
        now = self.clock()
        method_limits = self.method_limits.get(method, [(2000, 10)])
        with self._lock:
            app = self._windows_for(key, host, "app", self.app_limits)
            meth = self._windows_for(key, host, method, method_limits)
            blocked = None
            for kind, windows in (("application", app), ("method", meth)):
                for w in windows:
                    if w.current(now) >= w.limit:
                        wait = w.retry_after(now)
                        if blocked is None or wait > blocked[0]:
                            blocked = (wait, kind)
            if blocked is None:
                for w in app + meth:
                    w.hit(now)
            headers = {
                "X-App-Rate-Limit": ",".join(f"{w.limit}:{w.seconds}" for w in app),
                "X-App-Rate-Limit-Count": ",".join(f"{w.current(now)}:{w.seconds}" for w in app),
                "X-Method-Rate-Limit": ",".join(f"{w.limit}:{w.seconds}" for w in meth),
                "X-Method-Rate-Limit-Count": ",".join(
                    f"{w.current(now)}:{w.seconds}" for w in meth
                ),
            }
            self.stats[(key, host, "requests")] += 1
            if blocked:
                self.stats[(key, host, "429")] += 1
                return headers, blocked[0], blocked[1]
            return headers, None, None

    # -- routing --------------------------------------------------------------------------------

    ROUTES = [
        (
            re.compile(r"^/riot/account/v1/accounts/by-riot-id/([^/]+)/([^/]+)$"),
            "account-v1.getByRiotId",
            "account",
        ),
        (
            re.compile(r"^/riot/account/v1/accounts/by-puuid/([^/]+)$"),
            "account-v1.getByPuuid",
            "account",
        ),
        (
            re.compile(r"^/lol/summoner/v4/summoners/by-puuid/([^/]+)$"),
            "summoner-v4.getByPUUID",
            "platform",
        ),
        (
            re.compile(r"^/lol/league/v4/entries/by-puuid/([^/]+)$"),
            "league-v4.getLeagueEntriesByPUUID",
            "platform",
        ),
        (
            re.compile(r"^/lol/match/v5/matches/by-puuid/([^/]+)/ids$"),
            "match-v5.getMatchIdsByPUUID",
            "regional",
        ),
        (re.compile(r"^/lol/match/v5/matches/([^/]+)$"), "match-v5.getMatch", "regional"),
    ]

    def __call__(self, environ, start_response):
        request = Request(environ)
        response = self.handle(request)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/_sandbox/"):
            return self._admin(path)
        host, _, rest = path.lstrip("/").partition("/")
        rest = "/" + rest
        route = next(
            ((p.match(rest), method, kind) for p, method, kind in self.ROUTES if p.match(rest)),
            None,
        )
        if route is None:
            return _error(404, "Not found")
        m, method, kind = route
        fault = self._take_fault(path)
        if fault and fault.delay:
            time.sleep(fault.delay)
        key = request.headers.get("X-Riot-Token")
        with self._lock:
            self.stats[(key or "", host, "received")] += 1
        if not key:
            return _error(401, "Unauthorized")
        if key not in self.api_keys:
            return _error(403, "Forbidden")
        headers, retry_after, limit_type = self._admit(key, host, method)
        if retry_after is not None:
            response = _error(429, "Rate limit exceeded")
            response.headers.update(headers)
            response.headers["Retry-After"] = str(retry_after)
            response.headers["X-Rate-Limit-Type"] = limit_type
            return response
        if fault and fault.status != 200:
            response = _error(fault.status, "Injected fault")
            response.headers.update(fault.headers)
            return response
        response = self._answer(host, kind, method, m.groups(), request.args)
        response.headers.update(headers)
        return response

    def _answer(self, host: str, kind: str, method: str, groups, args) -> Response:
        world = self.world
        if kind == "account" and host not in ACCOUNT_REGIONS:
            return _error(404, f"account-v1 is not served on {host}")
        if kind == "platform" and host not in PLATFORM_REGION:
            return _error(404, f"{host} is not a platform routing value")
        if kind == "regional" and host not in REGIONS:
            return _error(404, f"{host} is not a regional routing value")
        if method == "account-v1.getByRiotId":
            player = world.by_riot_id.get((groups[0].lower(), groups[1].lower()))
            if player is None:
                return _error(
                    404,
                    f"Data not found - No results found for player with riot id {groups[0]}#{groups[1]}",
                )
            return _json(world.account_json(player))
        player = world.by_puuid.get(groups[0]) if method != "match-v5.getMatch" else None
        if method == "account-v1.getByPuuid":
            if player is None or self.is_banned(player):
                return _error(404, "Data not found - No results found for player with puuid")
            return _json(world.account_json(player))
        if method == "summoner-v4.getByPUUID":
            if player is None or player.platform != host or self.is_banned(player):
                return _error(404, "Data not found - summoner not found")
            return _json(world.summoner_json(player))
        if method == "league-v4.getLeagueEntriesByPUUID":
            if player is None or player.platform != host or self.is_banned(player):
                return _json([])
            return _json(world.league_json(player))
        if method == "match-v5.getMatchIdsByPUUID":
            if player is None or PLATFORM_REGION[player.platform] != host:
                return _json([])
            try:
                return _json(world.match_ids(player.puuid, self.clock(), args))
            except ValueError:
                return _error(400, "Bad request - invalid query parameter")
        plan = world.matches.get(groups[0])
        if (
            plan is None
            or plan.missing
            or PLATFORM_REGION[plan.platform] != host
            or not world.visible(plan, self.clock())
        ):
            return _not_found_2026("match file not found")
        return _json(world.match_json(plan))

    def _admin(self, path: str) -> Response:
        if path == "/_sandbox/stats":
            with self._lock:
                rows = [
                    {
                        "key_sha256": hashlib.sha256(k.encode()).hexdigest()[:12],
                        "host": h,
                        "what": w,
                        "n": n,
                    }
                    for (k, h, w), n in sorted(self.stats.items())
                ]
            return _json(rows)
        if path == "/_sandbox/players":
            return _json(
                [
                    {
                        "riot_id": f"{p.game_name}#{p.tag_line}",
                        "platform": p.platform,
                        "puuid": p.puuid,
                    }
                    for players in self.world.players.values()
                    for p in players[:20]
                    if not p.riot_id_less  # account-v1 knows no Riot ID for them
                ]
            )
        return _error(404, "Not found")

    def count(self, what: str = "requests", host: str | None = None) -> int:
        with self._lock:
            return sum(n for (_, h, w), n in self.stats.items() if w == what and host in (None, h))


def _json(body, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _error(status: int, message: str) -> Response:
    return _json({"status": {"message": message, "status_code": status}}, status)


def _not_found_2026(message: str) -> Response:
    """match-v5's 404 as answered since 2025: no `status` object (the real API says bodies of
    non-200 answers may change; a client must go by the status code)."""
    return _json({"httpStatus": 404, "errorCode": "RESOURCE_NOT_FOUND", "message": message}, 404)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8702)
    parser.add_argument("--key", default=DEFAULT_KEY, help="the API key the sandbox accepts")
    parser.add_argument("--app-limits", default=DEV_APP_LIMITS)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    sandbox = RiotSandbox(
        World(seed=args.seed, missing_every=MISSING_EVERY),
        api_keys=(args.key,),
        app_limits=args.app_limits,
    )
    print("players to track, e.g.:", flush=True)
    for p in sandbox.world.players["na1"][:5]:
        print(f"  {p.game_name}#{p.tag_line} (na1, {p.archetype})", flush=True)
    serve_forever(sandbox, args.host, args.port)


if __name__ == "__main__":
    main()
