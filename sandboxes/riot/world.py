"""The sandbox's data world: players and matches, deterministic for a seed.

Players of several archetypes (normal, smurf, boosted; banned, i.e. smurfs whose account
disappears `ban_delay` seconds after the sandbox starts, see `app.RiotSandbox`) and matches spread
over the last weeks; matches dated in the future appear as time passes, so a schedule finds new
matches. As on the real API, some participants of stored matches are already gone (every
`gone_every`-th player: banned or deleted before the anchor, so account-v1 and summoner-v4 answer
404 for them), and the oldest matches (`legacy_share`) are from before the Riot ID change: their
participants carry `summonerName` and no `riotIdGameName`/`riotIdTagline`. A match's JSON has
match-v5's real shape (`metadata`, `info.participants` with their real field names).
"""

from __future__ import annotations

import hashlib
import math
import random
import time
from dataclasses import dataclass

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
