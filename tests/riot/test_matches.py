"""match-v5 parsing on the sandbox's bodies of every era: duration units, names, positions,
remakes, malformed answers."""

import copy

import pytest

from assets.riot.matches import MalformedMatch, parse_match
from sandboxes.riot.shapes import ARAM, ARENA, ERAS, era_of
from sandboxes.riot.world import World

WORLD = World(seed=3, players_per_platform={"na1": 60}, matches_per_platform={"na1": 400})


def body_of(era: str, queue: int | None = None) -> tuple:
    """The first match of `era` (and `queue`, else a Summoner's Rift one) and its body."""
    plan = next(
        p
        for p in WORLD.matches.values()
        if era_of(p.start_ms).name == era
        and (p.queue == queue if queue else p.queue in (420, 440, 400))
    )
    return plan, WORLD.match_json(plan)


@pytest.fixture(scope="module")
def raw_match():
    return body_of("current")[1]


@pytest.mark.parametrize("era", list(ERAS))
def test_a_body_of_every_era_parses_to_seconds_and_the_players_names(era):
    plan, body = body_of(era)
    match = parse_match(body, plan.match_id)
    assert match.duration_s == plan.duration_s  # milliseconds before 11.20, seconds after
    assert ("gameEndTimestamp" in body["info"]) == (era != "pre_11_20")
    assert match.game_mode == "CLASSIC" and match.queue_id == plan.queue
    first = body["info"]["participants"][0]
    row = match.participants[0]
    assert row.cs == first["totalMinionsKilled"] + first["neutralMinionsKilled"]
    assert row.damage == first["totalDamageDealtToChampions"]
    players = WORLD.roster(plan)
    assert [p.game_name for p in match.participants] == [p.game_name for p in players]
    # the tag line exists only since the Riot ID reached match-v5 (2024 bodies on)
    riot_id = ERAS[era].riot_id == "set"
    assert [p.tag_line for p in match.participants] == [
        p.tag_line if riot_id else "" for p in players
    ]
    assert {p.position for p in match.participants} == {"TOP", "JUNGLE", "MIDDLE", "BOTTOM",
                                                         "UTILITY"}  # fmt: skip


@pytest.mark.parametrize("queue", [ARAM, ARENA])
def test_aram_and_arena_players_have_no_position(queue):
    plan, body = body_of("current", queue)
    assert {p["individualPosition"] for p in body["info"]["participants"]} == {"Invalid"}
    match = parse_match(body, plan.match_id)
    assert {p.position for p in match.participants} == {""}
    assert match.game_mode == ("CHERRY" if queue == ARENA else "ARAM")
    assert len(match.participants) == (16 if queue == ARENA else 10)


def test_duration_in_milliseconds_before_patch_11_20(raw_match):
    old = copy.deepcopy(raw_match)
    del old["info"]["gameEndTimestamp"]
    old["info"]["gameDuration"] = 1_800_000
    assert parse_match(old).duration_s == 1800


def test_early_surrender_is_a_remake(raw_match):
    remade = copy.deepcopy(raw_match)
    remade["info"]["participants"][3]["gameEndedInEarlySurrender"] = True
    assert parse_match(remade).remake


@pytest.mark.parametrize(
    "breakage, reason",
    [
        (lambda m: m["info"].pop("participants"), "info.participants"),
        (lambda m: m["info"]["participants"][0].pop("puuid"), "puuid"),
        (lambda m: m["info"]["participants"][2].update(kills=-1), "kills"),
        (lambda m: m["info"]["participants"][2].update(teamId=300), "teamId"),
        (lambda m: m["metadata"].update(matchId="EUW1_1"), "matchId"),
        (lambda m: m.pop("metadata"), "metadata"),
    ],
)
def test_malformed_matches_are_refused_with_a_reason(raw_match, breakage, reason):
    broken = copy.deepcopy(raw_match)
    breakage(broken)
    with pytest.raises(MalformedMatch, match=reason):
        parse_match(broken, raw_match["metadata"]["matchId"])
