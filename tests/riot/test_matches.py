"""match-v5 parsing: real field names, duration units, remakes, malformed answers."""

import copy

import pytest

from assets.riot.matches import MalformedMatch, parse_match
from sandboxes.riot.world import World


@pytest.fixture(scope="module")
def raw_match():
    world = World(seed=3, players_per_platform={"na1": 12}, matches_per_platform={"na1": 5})
    return world.match_json(world.matches["NA1_5000000000"])


def test_parses_a_match(raw_match):
    match = parse_match(raw_match, "NA1_5000000000")
    assert match.platform == "na1"
    assert len(match.participants) == 10
    first = raw_match["info"]["participants"][0]
    row = match.participants[0]
    assert row.cs == first["totalMinionsKilled"] + first["neutralMinionsKilled"]
    assert row.damage == first["totalDamageDealtToChampions"]
    assert match.duration_s == raw_match["info"]["gameDuration"]


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
        parse_match(broken, "NA1_5000000000")


def test_a_body_from_before_the_riot_id_change_keeps_the_summoner_name():
    """Issue 14: old bodies carry `summonerName` and no `riotIdGameName` (reference/riot.md)."""
    world = World(seed=3, players_per_platform={"na1": 12}, matches_per_platform={"na1": 20})
    old, new = (
        world.match_json(world.matches["NA1_5000000000"]),
        world.match_json(world.matches["NA1_5000000019"]),
    )
    assert "riotIdGameName" not in old["info"]["participants"][0]
    assert new["info"]["participants"][0]["summonerName"] == ""
    for body in (old, new):
        match = parse_match(body, body["metadata"]["matchId"])
        expected = [world.by_puuid[p.puuid].game_name for p in match.participants]
        assert [p.game_name for p in match.participants] == expected
