"""The sandbox's data world: players and matches, deterministic for a seed.

Players of several archetypes (normal, smurf, boosted; banned, i.e. smurfs whose account
disappears `ban_delay` seconds after the sandbox starts, see `app.RiotSandbox`) and matches: most
over the last weeks, and matches dated in the future appear as time passes, so a schedule finds
new matches. As on the real API:

- Histories go back years. A share of the matches (`history_share`) is spread over every era
  match-v5 still serves, from June 2021 on, and each answer has its era's shape
  (`sandboxes/riot/shapes.py`: milliseconds before 11.20, no Riot ID before 2024, 146 keys now).
  Some players stopped playing long ago (`dormant_share`): their newest matches are of one old
  era, so tracking or analysing them meets those bodies.
- The queues are ranked solo and flex, draft, ARAM and Arena (`CHERRY`, 8 or 16 players).
- Some participants of stored matches are already gone (every `gone_every`-th player: banned or
  deleted before the anchor, so account-v1 and summoner-v4 answer 404 for them), and some listed
  matches answer 404 when fetched (every `missing_every`-th: purged or not indexed yet).
- account-v1 answers some players who left before the Riot ID without `gameName`/`tagLine`
  (`riot_id_less`); they are known by the summoner name of their old matches.
- League entries and summoner answers of some players keep older shapes (`answer_shape`: with
  `summonerId`/`accountId`, with `summonerName` and a `miniSeries` before 2024); players who play
  flex have a `RANKED_FLEX_SR` entry and Arena players a `CHERRY` one (no tier, no rank).
"""

from __future__ import annotations

import hashlib
import random
import time
from dataclasses import dataclass, field

from sandboxes.riot import shapes
from sandboxes.riot.shapes import ARENA, DIVISIONS, TIERS, era_of

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
    dormant_era: str | None = None  # stopped playing in this era (shapes.ERAS); None: active
    answer_shape: str = "current"  # summoner-v4/league-v4 shape: current | pre2025 | pre2024
    flex: bool = False  # has a RANKED_FLEX_SR entry
    arena_games: list[bool] = field(default_factory=list)  # wins and losses in Arena
    # account-v1 answers without gameName/tagLine (optional in its answers): a player who left
    # before the Riot ID, known only by the summoner name of their old matches
    riot_id_less: bool = False


@dataclass
class MatchPlan:
    match_id: str
    platform: str
    index: int
    players: list[int]  # indices into the platform's player list (Rift: first five are team 100)
    start_ms: int
    duration_s: int
    queue: int
    remake: bool
    malformed: bool
    missing: bool = False  # listed, but the match answers 404


def _puuid(seed: int, platform: str, index: int) -> str:
    digest = hashlib.sha512(f"{seed}:{platform}:{index}".encode()).hexdigest()
    return (digest + digest)[:78]


# queues of recent matches, with their shares; before Arena existed its share goes to the Rift
QUEUES = {420: 62, 440: 12, 400: 9, 450: 8, ARENA: 9}
# the first players stay live and current: the demo and the tests track them
LIVE_PLAYERS = 5


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
        history_share: float = 0.25,
        dormant_share: float = 0.15,
        missing_every: int = 0,
    ):
        self.seed = seed
        self.gone_every = gone_every
        self.history_share = history_share
        self.dormant_share = dormant_share
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
            self._make_matches(platform, n, days, future_days, malformed_every, missing_every)

    def _make_players(self, platform: str, n: int) -> None:
        rng = random.Random(f"{self.seed}:players:{platform}")
        # a stream of its own, so the players' stats stay what they were before these existed
        shape_rng = random.Random(f"{self.seed}:player-shapes:{platform}")
        historic = shapes.ERA_ORDER[:-1]
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
            dormant = i >= LIVE_PLAYERS and shape_rng.random() < self.dormant_share
            player = Player(
                puuid=_puuid(self.seed, platform, i),
                game_name=name,
                tag_line=tag,
                platform=platform,
                archetype=archetype,
                banned=banned,
                gone=bool(self.gone_every) and i % self.gone_every == self.gone_every - 1,
                level=level,
                tier=tier,
                division="I" if TIERS.index(tier) >= 7 else rng.choice(DIVISIONS),
                lp=rng.randint(0, 99),
                wins=wins,
                losses=games - wins,
                skill=max(0.3, skill),
                icon=rng.randint(1, 5000),
                # dormant players are spread over the old eras in turn, so each has some
                dormant_era=historic[i % len(historic)] if dormant else None,
                answer_shape="pre2024" if i % 9 == 4 else "pre2025" if i % 9 == 7 else "current",
                flex=shape_rng.random() < 0.4,
            )
            if player.answer_shape == "pre2024" and i % 18 == 13:
                player.lp = 100  # in a promotion series (miniSeries), as before 2024
            player.riot_id_less = (
                player.dormant_era == "pre_11_20" and (i // len(historic)) % 2 == 1
            )
            players.append(player)
            self.by_puuid[player.puuid] = player
            if not player.riot_id_less:
                self.by_riot_id[(name.lower(), tag.lower())] = player
        self.players[platform] = players

    def _make_matches(
        self,
        platform: str,
        n: int,
        days: float,
        future_days: float,
        malformed_every: int,
        missing_every: int,
    ) -> None:
        rng = random.Random(f"{self.seed}:matches:{platform}")
        players = self.players[platform]
        active = [i for i, p in enumerate(players) if p.dormant_era is None]
        first = self.anchor - days * 86400
        historic = round(n * self.history_share)
        recent = n - historic
        step = (days + future_days) * 86400 / max(1, recent)
        eras = self._historic_windows(first)
        planned = []  # (start_s, queue, roster)
        for i in range(recent):
            start = first + i * step + rng.uniform(0, step / 2)
            queue = self._queue(rng, start, len(active))
            planned.append((start, queue, self._roster(rng, queue, start, active, [])))
        arena_opened = shapes.ARENA_OPENED.timestamp()
        for i in range(historic if eras else 0):
            era, (lo, hi) = eras[i % len(eras)]
            dormant = [j for j, p in enumerate(players) if p.dormant_era == era]
            if i < len(eras) and hi > arena_opened:
                # every era that had Arena has at least one: its body has a shape of its own
                start = rng.uniform(max(lo, arena_opened), hi)
                queue = (
                    ARENA if len(active) >= shapes.roster_size(ARENA, int(start * 1000)) else 420
                )
            else:
                start = rng.uniform(lo, hi)
                queue = self._queue(rng, start, len(active) + len(dormant))
            planned.append((start, queue, self._roster(rng, queue, start, active, dormant)))
        # match ids grow with time, as the real ones do
        planned.sort(key=lambda m: m[0])
        for i, (start, queue, roster) in enumerate(planned):
            remake = queue != ARENA and rng.random() < 0.02
            if queue == ARENA:
                duration = rng.randint(900, 1400)
            else:
                duration = rng.randint(190, 260) if remake else rng.randint(1200, 2300)
            plan = MatchPlan(
                match_id=f"{platform.upper()}_{5_000_000_000 + i}",
                platform=platform,
                index=i,
                players=roster,
                start_ms=int(start * 1000),
                duration_s=duration,
                queue=queue,
                remake=remake,
                malformed=bool(malformed_every) and i % malformed_every == malformed_every - 1,
                missing=bool(missing_every) and i % missing_every == missing_every // 2,
            )
            self.matches[plan.match_id] = plan
            for idx in roster:
                self.matches_of.setdefault(players[idx].puuid, []).append(plan)
                if queue == ARENA:
                    self._arena_result(plan, players, idx)

    def _historic_windows(self, before: float) -> list[tuple[str, tuple[float, float]]]:
        """(era, (first, last) epoch seconds) of every era before `before`, from June 2021."""
        bounds = []
        day = 86400
        t = shapes.MATCH_V5_FIRST.timestamp()
        while t < before:
            bounds.append((era_of(int(t * 1000)).name, t))
            t += day
        windows: dict[str, list[float]] = {}
        for name, t in bounds:
            windows.setdefault(name, [t, t + day])[1] = t + day
        return [(name, (lo, min(hi, before))) for name, (lo, hi) in windows.items()]

    @staticmethod
    def _queue(rng: random.Random, start: float, players: int) -> int:
        choices = dict(QUEUES)
        arena = shapes.roster_size(ARENA, int(start * 1000))
        if not arena or players < arena:  # no Arena yet, or too few players for one
            choices[420] += choices.pop(ARENA)
        return rng.choices(list(choices), weights=list(choices.values()))[0]

    @staticmethod
    def _roster(
        rng: random.Random, queue: int, start: float, active: list[int], dormant: list[int]
    ) -> list[int]:
        """Who played: some of the era's dormant players (up to four), the rest active ones."""
        size = shapes.roster_size(queue, int(start * 1000))
        chosen = rng.sample(dormant, min(len(dormant), 4, size))
        rest = [i for i in active if i not in chosen]
        chosen += rng.sample(rest, min(len(rest), size - len(chosen)))
        rng.shuffle(chosen)
        return chosen

    def _arena_result(self, plan: MatchPlan, players: list[Player], idx: int) -> None:
        # the CHERRY entry only counts games: a fair coin per game is enough for it (the body
        # places the duos by skill)
        coin = random.Random(f"{self.seed}:arena:{plan.match_id}:{idx}").random()
        players[idx].arena_games.append(coin < 0.5)

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

    def roster(self, plan: MatchPlan) -> list[Player]:
        return [self.players[plan.platform][i] for i in plan.players]

    def match_json(self, plan: MatchPlan) -> dict:
        body = shapes.match_body(plan, self.roster(plan), self.seed)
        if plan.malformed:
            del body["info"]["participants"]
        return body

    def account_json(self, player: Player) -> dict:
        if player.riot_id_less:
            return {"puuid": player.puuid}
        return {"puuid": player.puuid, "gameName": player.game_name, "tagLine": player.tag_line}

    def summoner_json(self, player: Player) -> dict:
        body = {
            "puuid": player.puuid,
            "profileIconId": player.icon,
            "revisionDate": int(self.anchor * 1000),
            "summonerLevel": player.level,
        }
        if player.answer_shape != "current":  # before 7 July 2025: the old ids too
            body = {"accountId": player.puuid[:56], "id": player.puuid[::-1][:48], **body}
        if player.answer_shape == "pre2024":  # before April 2024: the summoner name
            body["name"] = player.game_name
        return body

    def league_json(self, player: Player) -> list[dict]:
        entries = [self._entry(player, "RANKED_SOLO_5x5", player.tier, player.division, player.lp,
                               player.wins, player.losses)]  # fmt: skip
        if player.flex:
            tier = TIERS[max(0, TIERS.index(player.tier) - 1)]
            games = max(5, (player.wins + player.losses) // 5)
            entries.append(
                self._entry(player, "RANKED_FLEX_SR", tier, "I" if tier in TIERS[7:] else
                            player.division, (player.lp * 7) % 100, games // 2, games - games // 2)
            )  # fmt: skip
        if player.arena_games:
            wins = sum(player.arena_games)
            entries.append(
                {  # Arena has no tier, no division and no league in league-v4
                    "puuid": player.puuid,
                    "queueType": "CHERRY",
                    "leaguePoints": 0,
                    "wins": wins,
                    "losses": len(player.arena_games) - wins,
                    "veteran": False,
                    "inactive": False,
                    "freshBlood": False,
                    "hotStreak": False,
                }
            )
        return entries

    def _entry(self, player: Player, queue: str, tier, division, lp, wins, losses) -> dict:
        entry = {
            "leagueId": hashlib.md5(f"{queue}:{tier}".encode()).hexdigest(),
            "queueType": queue,
            "tier": tier,
            "rank": division,
        }
        if player.answer_shape == "current":
            entry["puuid"] = player.puuid
        else:
            entry["summonerId"] = player.puuid[::-1][:48]
            entry["puuid" if player.answer_shape == "pre2025" else "summonerName"] = (
                player.puuid if player.answer_shape == "pre2025" else player.game_name
            )
        entry.update(
            leaguePoints=lp,
            wins=wins,
            losses=losses,
            veteran=False,
            inactive=False,
            freshBlood=wins + losses < 60,
            hotStreak=player.archetype == "smurf",
        )
        if lp == 100 and player.answer_shape == "pre2024":
            # a promotion series: best of five into a new tier, best of three into a division
            target = 3 if division == "I" else 2
            entry["miniSeries"] = {
                "losses": 1,
                "progress": "WLN" + "NN" * (target == 3),
                "target": target,
                "wins": 1,
            }
        return entry
