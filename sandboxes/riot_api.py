"""A sandbox of the Riot Games API for the demo, the tests and the benchmark.

Routing: the real API puts the routing value in the host name (`na1.api.riotgames.com`,
`americas.api.riotgames.com`). The sandbox serves every routing host on one loopback port with
the routing value as the first path segment, so the client's base URL template
`https://{host}.api.riotgames.com` becomes `http://127.0.0.1:8702/{host}`:

    GET /na1/lol/summoner/v4/summoners/by-puuid/{puuid}
    GET /americas/lol/match/v5/matches/NA1_5000000123

What it serves, with the real paths and JSON shapes: account-v1 (by Riot ID, by PUUID),
summoner-v4 and league-v4 by PUUID (platform hosts), match-v5 ids by PUUID (start, count, queue,
type, startTime, endTime in epoch seconds, newest first) and match by id (regional hosts).
The world is deterministic for a seed: players of several archetypes (normal, smurf, boosted,
banned, i.e. smurfs whose account disappears `ban_delay` seconds after the sandbox starts) and
matches spread over the last weeks; matches dated in the future appear as time passes,
so a schedule finds new matches. As on the real API, some participants of stored matches are
already gone (every `gone_every`-th player: banned or deleted before the anchor, so
account-v1 and summoner-v4 answer 404 for them), and the oldest matches (`legacy_share`) are
from before the Riot ID change: their participants carry `summonerName` and no
`riotIdGameName`/`riotIdTagline`.

Limits behave like the real ones: per API key and routing host, application and method limits in
fixed windows that start with the first counted request, the `X-App-Rate-Limit(-Count)` and
`X-Method-Rate-Limit(-Count)` headers on every answer, 429 with `Retry-After` and
`X-Rate-Limit-Type` when a client goes over. A missing key is 401, a wrong key 403 (no limit
headers), an unknown player or match 404 (counted, as on the real API).

Fault injection for tests: `sandbox.inject(path_part, status=503, times=1, delay=0.0)`.
`/_sandbox/stats` reports requests and 429s per key and host; `/_sandbox/players` lists players.

Standalone: `python -m sandboxes.riot_api --port 8702` (key `RGAPI-sandbox-key` by default).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from werkzeug.wrappers import Request, Response

from resources.riot.routing import ACCOUNT_REGIONS, PLATFORM_REGION, REGIONS
from sandboxes.serving import serve_forever

DEFAULT_KEY = "RGAPI-sandbox-key"
DEV_APP_LIMITS = "20:1,100:120"
DEFAULT_METHOD_LIMITS = {
    "account-v1.getByRiotId": "1000:60",
    "account-v1.getByPuuid": "1000:60",
    "summoner-v4.getByPUUID": "1600:60",
    "league-v4.getLeagueEntriesByPUUID": "20000:10",
    "match-v5.getMatchIdsByPUUID": "2000:10",
    "match-v5.getMatch": "2000:10",
}

TIERS = [
    "IRON",
    "BRONZE",
    "SILVER",
    "GOLD",
    "PLATINUM",
    "EMERALD",
    "DIAMOND",
    "MASTER",
    "GRANDMASTER",
    "CHALLENGER",
]
DIVISIONS = ["IV", "III", "II", "I"]
POSITIONS = ["TOP", "JUNGLE", "MIDDLE", "BOTTOM", "UTILITY"]
CHAMPIONS = [
    (266, "Aatrox"),
    (103, "Ahri"),
    (84, "Akali"),
    (22, "Ashe"),
    (53, "Blitzcrank"),
    (51, "Caitlyn"),
    (122, "Darius"),
    (81, "Ezreal"),
    (114, "Fiora"),
    (86, "Garen"),
    (104, "Graves"),
    (39, "Irelia"),
    (202, "Jhin"),
    (222, "Jinx"),
    (145, "Kaisa"),
    (64, "LeeSin"),
    (99, "Lux"),
    (21, "MissFortune"),
    (25, "Morgana"),
    (111, "Nautilus"),
    (555, "Pyke"),
    (412, "Thresh"),
    (157, "Yasuo"),
    (238, "Zed"),
]
NAME_WORDS = [
    "Silent",
    "Crimson",
    "Frost",
    "Shadow",
    "Lucky",
    "Iron",
    "Mystic",
    "Rapid",
    "Golden",
    "Lazy",
    "Wild",
    "Neon",
    "Fox",
    "Wolf",
    "Raven",
    "Tiger",
    "Comet",
    "Blade",
    "Storm",
    "Pixel",
    "Otter",
    "Falcon",
    "Ember",
    "Nova",
]
# Typical CS per minute by tier, used to generate plausible stats.
TIER_CS = [4.6, 5.1, 5.6, 6.1, 6.5, 6.8, 7.2, 7.8, 8.1, 8.4]


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
class Player:
    puuid: str
    game_name: str
    tag_line: str
    platform: str
    archetype: str  # normal | smurf | boosted
    banned: bool  # the account disappears `ban_delay` seconds after the anchor
    gone: bool  # banned or deleted before the anchor: 404 from the start
    level: int
    tier: str
    division: str
    lp: int
    wins: int
    losses: int
    skill: float  # performance relative to the tier's typical player
    icon: int


@dataclass
class MatchPlan:
    match_id: str
    platform: str
    index: int
    players: list[int]  # indices into the platform's player list; first five are team 100
    start_ms: int
    duration_s: int
    queue: int
    remake: bool
    malformed: bool
    legacy: bool = False  # from before the Riot ID change: summonerName only


def _puuid(seed: int, platform: str, index: int) -> str:
    digest = hashlib.sha512(f"{seed}:{platform}:{index}".encode()).hexdigest()
    return (digest + digest)[:78]


class World:
    """Deterministic players and matches for a seed, anchored at `anchor` (epoch seconds)."""

    def __init__(
        self,
        seed: int = 7,
        anchor: float | None = None,
        players_per_platform: dict[str, int] | None = None,
        matches_per_platform: dict[str, int] | None = None,
        days: float = 20.0,
        future_days: float = 2.0,
        malformed_every: int = 0,
        gone_every: int = 25,
        legacy_share: float = 0.1,
    ):
        self.seed = seed
        self.gone_every = gone_every
        self.legacy_share = legacy_share
        self.anchor = anchor if anchor is not None else time.time()
        players_per_platform = players_per_platform or {"na1": 200, "euw1": 80}
        matches_per_platform = matches_per_platform or {"na1": 600, "euw1": 240}
        self.players: dict[str, list[Player]] = {}
        self.by_puuid: dict[str, Player] = {}
        self.by_riot_id: dict[tuple[str, str], Player] = {}
        self.matches: dict[str, MatchPlan] = {}
        self.matches_of: dict[str, list[MatchPlan]] = {}
        for platform, n in players_per_platform.items():
            self._make_players(platform, n)
        for platform, n in matches_per_platform.items():
            self._make_matches(platform, n, days, future_days, malformed_every)

    def _make_players(self, platform: str, n: int) -> None:
        rng = random.Random(f"{self.seed}:players:{platform}")
        tag = {"na1": "NA1", "euw1": "EUW"}.get(platform, platform.upper())
        players = []
        for i in range(n):
            roll = rng.random()
            archetype = "smurf" if roll < 0.10 else "boosted" if roll < 0.16 else "normal"
            banned = archetype == "smurf" and i % 3 == 0
            if archetype == "smurf":
                level = rng.randint(30, 55)
                tier = rng.choice(TIERS[1:5])
                games = rng.randint(8, 60)
                win_rate = rng.uniform(0.68, 0.85)
                skill = rng.uniform(1.6, 2.1)
            elif archetype == "boosted":
                level = rng.randint(90, 400)
                tier = rng.choice(TIERS[5:8])
                games = rng.randint(60, 250)
                win_rate = rng.uniform(0.52, 0.6)
                skill = rng.uniform(0.45, 0.65)
            else:
                level = rng.randint(60, 600)
                tier = rng.choices(TIERS[:8], weights=[8, 18, 22, 20, 14, 9, 6, 3])[0]
                games = rng.randint(40, 700)
                win_rate = rng.uniform(0.45, 0.55)
                skill = rng.gauss(1.0, 0.08)
            wins = round(games * win_rate)
            name = f"{rng.choice(NAME_WORDS)}{rng.choice(NAME_WORDS)}{i}"
            player = Player(
                puuid=_puuid(self.seed, platform, i),
                game_name=name,
                tag_line=tag,
                platform=platform,
                archetype=archetype,
                banned=banned,
                # the first players stay live: they are the ones the demo and tests track
                gone=bool(self.gone_every) and i % self.gone_every == self.gone_every - 1,
                level=level,
                tier=tier,
                division="I" if TIERS.index(tier) >= 7 else rng.choice(DIVISIONS),
                lp=rng.randint(0, 99),
                wins=wins,
                losses=games - wins,
                skill=max(0.3, skill),
                icon=rng.randint(1, 5000),
            )
            players.append(player)
            self.by_puuid[player.puuid] = player
            self.by_riot_id[(name.lower(), tag.lower())] = player
        self.players[platform] = players

    def _make_matches(
        self, platform: str, n: int, days: float, future_days: float, malformed_every: int
    ) -> None:
        rng = random.Random(f"{self.seed}:matches:{platform}")
        players = self.players[platform]
        first = self.anchor - days * 86400
        step = (days + future_days) * 86400 / n
        for i in range(n):
            match_id = f"{platform.upper()}_{5_000_000_000 + i}"
            remake = rng.random() < 0.02
            plan = MatchPlan(
                match_id=match_id,
                platform=platform,
                index=i,
                players=rng.sample(range(len(players)), 10),
                start_ms=int((first + i * step + rng.uniform(0, step / 2)) * 1000),
                duration_s=rng.randint(190, 260) if remake else rng.randint(1200, 2300),
                queue=rng.choices([420, 440, 400, 450], weights=[70, 12, 10, 8])[0],
                remake=remake,
                malformed=bool(malformed_every) and i % malformed_every == malformed_every - 1,
                legacy=i < n * self.legacy_share,
            )
            self.matches[match_id] = plan
            for idx in plan.players:
                self.matches_of.setdefault(players[idx].puuid, []).append(plan)

    # -- what the endpoints answer ------------------------------------------------------------

    def visible(self, plan: MatchPlan, now: float) -> bool:
        return plan.start_ms / 1000 + plan.duration_s <= now

    def match_ids(self, puuid: str, now: float, params) -> list[str]:
        plans = [p for p in self.matches_of.get(puuid, []) if self.visible(p, now)]
        plans.sort(key=lambda p: p.start_ms, reverse=True)
        if params.get("queue"):
            plans = [p for p in plans if p.queue == int(params["queue"])]
        if params.get("type") == "ranked":
            plans = [p for p in plans if p.queue in (420, 440)]
        if params.get("startTime"):
            plans = [p for p in plans if p.start_ms // 1000 >= int(params["startTime"])]
        if params.get("endTime"):
            plans = [p for p in plans if p.start_ms // 1000 <= int(params["endTime"])]
        start = int(params.get("start", 0))
        count = min(100, max(0, int(params.get("count", 20))))
        return [p.match_id for p in plans[start : start + count]]

    def match_json(self, plan: MatchPlan) -> dict:
        rng = random.Random(f"{self.seed}:match:{plan.match_id}")
        roster = [self.players[plan.platform][i] for i in plan.players]
        minutes = plan.duration_s / 60
        strength = [sum(p.skill for p in roster[:5]), sum(p.skill for p in roster[5:])]
        p_blue = 1 / (1 + math.exp(-3.0 * (strength[0] - strength[1])))
        blue_wins = rng.random() < p_blue
        participants = []
        for slot, p in enumerate(roster):
            team = 100 if slot < 5 else 200
            win = blue_wins == (team == 100)
            position = POSITIONS[slot % 5]
            support = position == "UTILITY"
            s = p.skill * (1.1 if win else 0.9)
            cs_rate = (1.3 if support else TIER_CS[TIERS.index(p.tier)]) * s**0.5
            kills = max(0, round(rng.gauss(4.5 * s, 2) * minutes / 30))
            deaths = max(0, round(rng.gauss(5.5 / s, 1.8) * minutes / 30))
            assists = max(0, round(rng.gauss((11 if support else 6.5) * s, 3) * minutes / 30))
            lane = round(cs_rate * minutes * rng.uniform(0.88, 1.12))
            jungle = round(lane * (0.8 if position == "JUNGLE" else 0.05))
            champion_id, champion = rng.choice(CHAMPIONS)
            participants.append(
                {
                    "puuid": p.puuid,
                    "riotIdGameName": p.game_name,
                    "riotIdTagline": p.tag_line,
                    "summonerName": "",
                    "summonerLevel": p.level,
                    "profileIcon": p.icon,
                    "participantId": slot + 1,
                    "teamId": team,
                    "win": win,
                    "championId": champion_id,
                    "championName": champion,
                    "champLevel": min(18, max(1, round(minutes / 1.8 * s**0.3))),
                    "teamPosition": position,
                    "individualPosition": position,
                    "lane": position,
                    "role": "SUPPORT" if support else "SOLO",
                    "kills": kills,
                    "deaths": deaths,
                    "assists": assists,
                    "goldEarned": round((280 + 120 * s) * minutes * rng.uniform(0.9, 1.1)),
                    "totalMinionsKilled": lane - jungle if position == "JUNGLE" else lane,
                    "neutralMinionsKilled": jungle,
                    "visionScore": round(
                        minutes * (2.4 if support else 0.9) * rng.uniform(0.8, 1.2)
                    ),
                    "totalDamageDealtToChampions": round(
                        (280 if support else 650) * s * minutes * rng.uniform(0.8, 1.2)
                    ),
                    "timePlayed": plan.duration_s,
                    "gameEndedInEarlySurrender": plan.remake,
                    "gameEndedInSurrender": False,
                    "challenges": {},
                }
            )
        for team in (100, 200):
            members = [x for x in participants if x["teamId"] == team]
            team_kills = sum(x["kills"] for x in members) or 1
            team_damage = sum(x["totalDamageDealtToChampions"] for x in members) or 1
            for x in members:
                x["challenges"] = {
                    "kda": round((x["kills"] + x["assists"]) / max(1, x["deaths"]), 4),
                    "killParticipation": round((x["kills"] + x["assists"]) / team_kills, 4),
                    "teamDamagePercentage": round(
                        x["totalDamageDealtToChampions"] / team_damage, 4
                    ),
                }
        end_ms = plan.start_ms + plan.duration_s * 1000
        game_id = int(plan.match_id.split("_")[1])
        body = {
            "metadata": {
                "dataVersion": "2",
                "matchId": plan.match_id,
                "participants": [p.puuid for p in roster],
            },
            "info": {
                "endOfGameResult": "GameComplete",
                "gameCreation": plan.start_ms - 60_000,
                "gameDuration": plan.duration_s,
                "gameStartTimestamp": plan.start_ms,
                "gameEndTimestamp": end_ms,
                "gameId": game_id,
                "gameMode": "ARAM" if plan.queue == 450 else "CLASSIC",
                "gameName": f"teambuilder-match-{game_id}",
                "gameType": "MATCHED_GAME",
                "gameVersion": "15.22.712.4321",
                "mapId": 12 if plan.queue == 450 else 11,
                "platformId": plan.platform.upper(),
                "queueId": plan.queue,
                "participants": participants,
                "teams": [
                    {"teamId": 100, "win": blue_wins, "bans": [], "objectives": {}},
                    {"teamId": 200, "win": not blue_wins, "bans": [], "objectives": {}},
                ],
                "tournamentCode": "",
            },
        }
        if plan.legacy:
            for x in participants:
                x["summonerName"] = x.pop("riotIdGameName")
                del x["riotIdTagline"]
        if plan.malformed:
            del body["info"]["participants"]
        return body


@dataclass
class Window:
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
    path_part: str
    status: int
    times: int
    delay: float
    headers: dict = field(default_factory=dict)


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
            return _json(_account(player))
        player = world.by_puuid.get(groups[0]) if method != "match-v5.getMatch" else None
        if method == "account-v1.getByPuuid":
            if player is None or self.is_banned(player):
                return _error(404, "Data not found - No results found for player with puuid")
            return _json(_account(player))
        if method == "summoner-v4.getByPUUID":
            if player is None or player.platform != host or self.is_banned(player):
                return _error(404, "Data not found - summoner not found")
            return _json(
                {
                    "puuid": player.puuid,
                    "profileIconId": player.icon,
                    "revisionDate": int(world.anchor * 1000),
                    "summonerLevel": player.level,
                }
            )
        if method == "league-v4.getLeagueEntriesByPUUID":
            if player is None or player.platform != host or self.is_banned(player):
                return _json([])
            return _json(
                [
                    {
                        "leagueId": hashlib.md5(player.tier.encode()).hexdigest(),
                        "queueType": "RANKED_SOLO_5x5",
                        "tier": player.tier,
                        "rank": player.division,
                        "puuid": player.puuid,
                        "leaguePoints": player.lp,
                        "wins": player.wins,
                        "losses": player.losses,
                        "veteran": False,
                        "inactive": False,
                        "freshBlood": player.wins + player.losses < 60,
                        "hotStreak": player.archetype == "smurf",
                    }
                ]
            )
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
            or PLATFORM_REGION[plan.platform] != host
            or not world.visible(plan, self.clock())
        ):
            return _error(404, "Data not found - match file not found")
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
                ]
            )
        return _error(404, "Not found")

    def count(self, what: str = "requests", host: str | None = None) -> int:
        with self._lock:
            return sum(n for (_, h, w), n in self.stats.items() if w == what and host in (None, h))


def _account(player: Player) -> dict:
    return {"puuid": player.puuid, "gameName": player.game_name, "tagLine": player.tag_line}


def _json(body, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _error(status: int, message: str) -> Response:
    return _json({"status": {"message": message, "status_code": status}}, status)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8702)
    parser.add_argument("--key", default=DEFAULT_KEY, help="the API key the sandbox accepts")
    parser.add_argument("--app-limits", default=DEV_APP_LIMITS)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    sandbox = RiotSandbox(World(seed=args.seed), api_keys=(args.key,), app_limits=args.app_limits)
    print("players to track, e.g.:", flush=True)
    for p in sandbox.world.players["na1"][:5]:
        print(f"  {p.game_name}#{p.tag_line} (na1, {p.archetype})", flush=True)
    serve_forever(sandbox, args.host, args.port)


if __name__ == "__main__":
    main()
