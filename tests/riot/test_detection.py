"""The detector on crafted profiles: an obvious smurf, a boosted account, a normal player."""

import math

from assets.riot.detection import (
    BOOSTED_WEIGHTS,
    SMURF_WEIGHTS,
    GameStats,
    PlayerProfile,
    RankPoint,
    climb_speed,
    detect,
    performance,
)

DAY = 86400.0


def games(n, wins, kills, deaths, assists, cs_per_min, damage_share, kill_share, position="MIDDLE"):
    out = []
    for i in range(n):
        minutes = 30
        team_damage = 60000
        team_kills = max(kills, round(kills / kill_share)) if kill_share else 25
        out.append(
            GameStats(
                win=i < wins,
                kills=kills,
                deaths=deaths,
                assists=assists,
                cs=round(cs_per_min * minutes),
                duration_s=minutes * 60,
                damage=round(damage_share * team_damage),
                team_damage=team_damage,
                team_kills=team_kills,
                position=position,
            )
        )
    return out


def smurf_profile():
    return PlayerProfile(
        summoner_level=34,
        tier="SILVER",
        division="II",
        lp=40,
        ranked_wins=22,
        ranked_losses=4,
        games=games(
            15, 13, kills=10, deaths=2, assists=8, cs_per_min=8.2, damage_share=0.36, kill_share=0.4
        ),
        rank_history=[
            RankPoint(0, "BRONZE", "II", 10),
            RankPoint(2 * DAY, "SILVER", "II", 40),
        ],
    )


def boosted_profile():
    return PlayerProfile(
        summoner_level=240,
        tier="DIAMOND",
        division="IV",
        lp=12,
        ranked_wins=170,
        ranked_losses=130,
        games=games(
            15, 5, kills=2, deaths=8, assists=4, cs_per_min=4.6, damage_share=0.11, kill_share=0.08
        ),
    )


def normal_profile():
    return PlayerProfile(
        summoner_level=180,
        tier="GOLD",
        division="II",
        lp=55,
        ranked_wins=205,
        ranked_losses=198,
        games=games(
            15, 8, kills=5, deaths=5, assists=7, cs_per_min=6.1, damage_share=0.2, kill_share=0.2
        ),
        rank_history=[RankPoint(0, "GOLD", "III", 80), RankPoint(10 * DAY, "GOLD", "II", 55)],
    )


def test_weights_are_complete():
    assert math.isclose(sum(SMURF_WEIGHTS.values()), 1.0)
    assert math.isclose(sum(BOOSTED_WEIGHTS.values()), 1.0)


def test_obvious_smurf_is_detected_with_high_confidence():
    result = detect(smurf_profile())
    assert result.kind == "smurf"
    assert result.level == "high"
    assert result.confidence >= 0.8
    assert result.boosted_score < 0.2
    # the explanation: every declared signal is present and every smurf signal is available
    names = {s.name for s in result.signals}
    assert names == set(SMURF_WEIGHTS) | set(BOOSTED_WEIGHTS)
    assert all(s.value is not None for s in result.signals if s.kind == "smurf")


def test_boosted_account_is_detected_as_boosted():
    result = detect(boosted_profile())
    assert result.kind == "boosted"
    assert result.confidence >= 0.6
    assert result.smurf_score < 0.2


def test_normal_player_is_not_flagged():
    result = detect(normal_profile())
    assert result.kind == "normal"
    assert result.level == "none"
    assert result.confidence < 0.25


def test_the_same_poor_stats_are_not_boosted_in_silver():
    profile = boosted_profile()
    profile.tier, profile.division = "SILVER", "II"
    assert detect(profile).boosted_score == 0


def test_remakes_do_not_count_toward_win_rate():
    played = games(6, 3, 5, 5, 5, 6, 0.2, 0.2)
    remakes = [
        GameStats(True, 0, 0, 0, 10, 200, 100, 1000, 1, "MIDDLE", remake=True) for _ in range(10)
    ]
    assert performance(played + remakes).games == 6
    assert performance(played + remakes).win_rate == 0.5


def test_rank_drops_are_not_climbs():
    drop = [RankPoint(0, "PLATINUM", "I", 50), RankPoint(DAY, "SILVER", "IV", 0)]
    assert climb_speed(drop) < 0
    profile = normal_profile()
    profile.rank_history = drop
    signal = next(s for s in detect(profile).signals if s.name == "rank_climb_speed")
    assert signal.value == 0


def test_missing_evidence_counts_for_nothing_and_is_not_renormalised():
    # three games only: performance signals unavailable; unranked: rank signals unavailable
    profile = PlayerProfile(summoner_level=31, tier=None, games=games(3, 3, 15, 0, 10, 9, 0.5, 0.6))
    result = detect(profile)
    assert result.confidence == 0
    assert result.games_considered == 0
    assert all(s.value is None for s in result.signals)


def test_signals_are_stored_with_their_weight_and_contribution():
    result = detect(smurf_profile())
    rows = result.signals_json()
    assert math.isclose(
        sum(r["contribution"] for r in rows if r["kind"] == "smurf"),
        result.smurf_score,
        abs_tol=1e-3,
    )
    assert {"name", "kind", "weight", "value", "observed", "contribution"} <= set(rows[0])
