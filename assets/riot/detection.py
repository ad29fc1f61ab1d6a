"""Smurf and boosted-account detection: plain, documented functions on plain data.

Two scores in [0, 1], each a weighted sum of signals in [0, 1]:

- **smurf** (an experienced player on a new or low account): recent win rate, KDA and CS per
  minute against what the tier typically shows, share of the team's damage and kills, account
  level against rank, few ranked games for the rank, and rank climb speed;
- **boosted** (an account ranked above its owner's play): KDA, CS, damage and kill share *below*
  the tier's norm, and recent win rate well under the season's ranked win rate; scaled by how
  high the rank is (nobody is boosted into Silver).

Each signal's weight is fixed. A signal that cannot be computed (too few games, unranked, no rank
history) is stored as unavailable and contributes 0: missing evidence is not evidence, and the
weights are never silently renormalised. Rank drops are not climbs. Remakes are ignored.
`confidence = max(smurf, boosted)`; the caller decides what counts as a detection.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

ALGORITHM_VERSION = "riot-detect-2"
TIERS = ["IRON", "BRONZE", "SILVER", "GOLD", "PLATINUM", "EMERALD", "DIAMOND", "MASTER"]
APEX_TIERS = {"MASTER", "GRANDMASTER", "CHALLENGER"}
DIVISIONS = {"IV": 0, "III": 1, "II": 2, "I": 3}
# What a typical player of each tier shows (Iron .. Master+). KDA rises only slowly with rank.
EXPECTED_KDA = [2.0, 2.1, 2.2, 2.3, 2.4, 2.5, 2.6, 2.8]
EXPECTED_CS_PER_MIN = [4.6, 5.1, 5.6, 6.1, 6.5, 6.8, 7.2, 7.8]
TEAM_SHARE = 0.2  # one of five
MIN_GAMES = 5  # fewer recent games and the performance signals are unavailable

SMURF_WEIGHTS = {
    "win_rate": 0.20,
    "kda_vs_tier": 0.15,
    "cs_per_min_vs_tier": 0.10,
    "damage_share": 0.12,
    "kill_share": 0.08,
    "level_vs_rank": 0.15,
    "ranked_games_for_rank": 0.10,
    "rank_climb_speed": 0.10,
}
BOOSTED_WEIGHTS = {
    "kda_below_tier": 0.25,
    "cs_below_tier": 0.20,
    "damage_share_low": 0.20,
    "kill_share_low": 0.10,
    "win_rate_below_ranked": 0.25,
}
LEVELS = [(0.8, "high"), (0.6, "medium"), (0.4, "low")]


@dataclass(frozen=True)
class GameStats:
    win: bool
    kills: int
    deaths: int
    assists: int
    cs: int
    duration_s: int
    damage: int
    team_damage: int
    team_kills: int
    position: str = ""
    remake: bool = False


@dataclass(frozen=True)
class RankPoint:
    at: float  # epoch seconds
    tier: str
    division: str
    lp: int


@dataclass
class PlayerProfile:
    summoner_level: int
    tier: str | None  # solo queue; None when unranked
    division: str | None = None
    lp: int = 0
    ranked_wins: int = 0
    ranked_losses: int = 0
    games: list[GameStats] = field(default_factory=list)
    rank_history: list[RankPoint] = field(default_factory=list)


@dataclass(frozen=True)
class Signal:
    name: str
    kind: str  # smurf | boosted
    weight: float
    value: float | None  # strength of the evidence in [0, 1]; None when unavailable
    observed: float | None  # the measured quantity (a win rate, a ratio, a level)

    @property
    def contribution(self) -> float:
        return self.weight * (self.value or 0.0)


@dataclass(frozen=True)
class Detection:
    confidence: float
    smurf_score: float
    boosted_score: float
    kind: str  # smurf | boosted | normal
    level: str  # high | medium | low | none
    games_considered: int
    signals: tuple[Signal, ...]
    algorithm_version: str = ALGORITHM_VERSION

    def signals_json(self) -> list[dict]:
        return [asdict(s) | {"contribution": round(s.contribution, 4)} for s in self.signals]


def ramp(x: float, lo: float, hi: float) -> float:
    """0 at `lo`, 1 at `hi`, linear between, clamped (works for hi < lo too)."""
    if hi == lo:
        return 1.0 if x >= hi else 0.0
    return min(1.0, max(0.0, (x - lo) / (hi - lo)))


def tier_index(tier: str | None) -> int | None:
    if tier is None:
        return None
    tier = tier.upper()
    if tier in APEX_TIERS:
        return len(TIERS) - 1
    return TIERS.index(tier) if tier in TIERS else None


def ladder_points(point: RankPoint) -> int:
    """A position on one ladder: 400 per tier, 100 per division, plus LP."""
    index = tier_index(point.tier) or 0
    return index * 400 + DIVISIONS.get(point.division, 3) * 100 + point.lp


@dataclass(frozen=True)
class Performance:
    games: int
    win_rate: float
    kda: float
    cs_per_min: float | None  # None when every game was played as support
    damage_share: float
    kill_share: float


def performance(games: list[GameStats]) -> Performance | None:
    played = [g for g in games if not g.remake and g.duration_s > 0]
    if len(played) < MIN_GAMES:
        return None
    kills = sum(g.kills for g in played)
    deaths = sum(g.deaths for g in played)
    assists = sum(g.assists for g in played)
    laners = [g for g in played if g.position != "UTILITY"]
    minutes = sum(g.duration_s for g in laners) / 60
    return Performance(
        games=len(played),
        win_rate=sum(g.win for g in played) / len(played),
        kda=(kills + assists) / max(1, deaths),
        cs_per_min=sum(g.cs for g in laners) / minutes if laners and minutes else None,
        damage_share=sum(g.damage / max(1, g.team_damage) for g in played) / len(played),
        kill_share=sum(g.kills / max(1, g.team_kills) for g in played) / len(played),
    )


def _signal(name: str, kind: str, value: float | None, observed: float | None) -> Signal:
    weights = SMURF_WEIGHTS if kind == "smurf" else BOOSTED_WEIGHTS
    rounded = None if value is None else round(value, 4)
    seen = None if observed is None else round(observed, 4)
    return Signal(name, kind, weights[name], rounded, seen)


def climb_speed(history: list[RankPoint]) -> float | None:
    """Ladder points gained per day between the first and last observation (drops give <= 0)."""
    points = sorted(history, key=lambda p: p.at)
    if len(points) < 2 or points[-1].at - points[0].at < 3600:
        return None
    days = (points[-1].at - points[0].at) / 86400
    return (ladder_points(points[-1]) - ladder_points(points[0])) / days


def smurf_signals(profile: PlayerProfile, perf: Performance | None) -> list[Signal]:
    t = tier_index(profile.tier)
    kda_norm = EXPECTED_KDA[t if t is not None else 2]
    cs_norm = EXPECTED_CS_PER_MIN[t if t is not None else 2]
    signals = []
    if perf:
        confidence_in_sample = min(1.0, perf.games / 15)
        signals += [
            _signal(
                "win_rate",
                "smurf",
                ramp(perf.win_rate, 0.55, 0.75) * confidence_in_sample,
                perf.win_rate,
            ),
            _signal("kda_vs_tier", "smurf", ramp(perf.kda / kda_norm, 1.2, 2.2), perf.kda),
            _signal(
                "cs_per_min_vs_tier",
                "smurf",
                None if perf.cs_per_min is None else ramp(perf.cs_per_min / cs_norm, 1.1, 1.4),
                perf.cs_per_min,
            ),
            _signal(
                "damage_share", "smurf", ramp(perf.damage_share, 0.24, 0.34), perf.damage_share
            ),
            _signal("kill_share", "smurf", ramp(perf.kill_share, 0.25, 0.40), perf.kill_share),
        ]
    else:
        signals += [
            _signal(n, "smurf", None, None)
            for n in ("win_rate", "kda_vs_tier", "cs_per_min_vs_tier", "damage_share", "kill_share")
        ]
    if t is None:
        signals += [
            _signal("level_vs_rank", "smurf", None, profile.summoner_level),
            _signal("ranked_games_for_rank", "smurf", None, None),
        ]
    else:
        # a typical account gains ~25 levels per tier climbed before reaching it
        expected_level = 30 + 25 * t
        level_value = (
            ramp(profile.summoner_level, expected_level, 30) if expected_level > 30 else 0.0
        )
        ranked_games = profile.ranked_wins + profile.ranked_losses
        signals += [
            _signal("level_vs_rank", "smurf", level_value, profile.summoner_level),
            _signal(
                "ranked_games_for_rank",
                "smurf",
                ramp(ranked_games, 150, 20) * min(1.0, (t + 1) / 4),
                ranked_games,
            ),
        ]
    speed = climb_speed(profile.rank_history)
    signals.append(
        _signal("rank_climb_speed", "smurf", None if speed is None else ramp(speed, 50, 300), speed)
    )
    return signals


def boosted_signals(profile: PlayerProfile, perf: Performance | None) -> list[Signal]:
    t = tier_index(profile.tier)
    if perf is None or t is None:
        return [_signal(n, "boosted", None, None) for n in BOOSTED_WEIGHTS]
    kda_ratio = perf.kda / EXPECTED_KDA[t]
    ranked_games = profile.ranked_wins + profile.ranked_losses
    ranked_rate = profile.ranked_wins / ranked_games if ranked_games >= 20 else None
    return [
        _signal("kda_below_tier", "boosted", ramp(kda_ratio, 0.9, 0.5), kda_ratio),
        _signal(
            "cs_below_tier",
            "boosted",
            None
            if perf.cs_per_min is None
            else ramp(perf.cs_per_min / EXPECTED_CS_PER_MIN[t], 0.9, 0.6),
            perf.cs_per_min,
        ),
        _signal(
            "damage_share_low", "boosted", ramp(perf.damage_share, 0.17, 0.10), perf.damage_share
        ),
        _signal("kill_share_low", "boosted", ramp(perf.kill_share, 0.17, 0.08), perf.kill_share),
        _signal(
            "win_rate_below_ranked",
            "boosted",
            None if ranked_rate is None else ramp(ranked_rate - perf.win_rate, 0.05, 0.20),
            None if ranked_rate is None else ranked_rate - perf.win_rate,
        ),
    ]


def detect(profile: PlayerProfile) -> Detection:
    perf = performance(profile.games)
    smurf = smurf_signals(profile, perf)
    boosted = boosted_signals(profile, perf)
    smurf_score = sum(s.contribution for s in smurf)
    t = tier_index(profile.tier)
    # only an account ranked well above average can be carried there
    rank_factor = 0.0 if t is None else ramp(t, 2, 5)
    boosted_score = sum(s.contribution for s in boosted) * rank_factor
    confidence = max(smurf_score, boosted_score)
    level = next((name for floor, name in LEVELS if confidence >= floor), "none")
    kind = "normal" if level == "none" else "smurf" if smurf_score >= boosted_score else "boosted"
    return Detection(
        confidence=round(min(1.0, confidence), 4),
        smurf_score=round(min(1.0, smurf_score), 4),
        boosted_score=round(min(1.0, boosted_score), 4),
        kind=kind,
        level=level,
        games_considered=perf.games if perf else 0,
        signals=tuple(smurf + boosted),
    )
