"""The sandbox serves what the real API sends, over real HTTP: match bodies of every era held to
the keys of real answers (tests/riot/real_match_keys.py), Arena and flex games, patch numbers
that follow the date, league entries and summoner answers of older shapes, miniSeries and
CHERRY entries, accounts without a Riot ID, and the 2025-2026 404 body."""

from __future__ import annotations

import collections
from datetime import UTC, datetime

import pytest
import requests

from sandboxes.riot.app import DEFAULT_KEY
from sandboxes.riot.shapes import ARENA, era_of
from sandboxes.riot.world import World
from tests.conftest import fresh_database
from tests.riot import real_match_keys as real
from tests.riot.conftest import FAST_LIMITS, FAST_METHODS, make_client, running_sandbox

REGION = "americas"


def shapes_world(**kwargs) -> World:
    """Enough old players and matches that every era and Arena of 8 and 16 are in it."""
    kwargs.setdefault("missing_every", 25)
    return World(
        seed=11,
        players_per_platform={"na1": 80},
        matches_per_platform={"na1": 400},
        dormant_share=0.3,
        **kwargs,
    )


@pytest.fixture(scope="module")
def served(pg_server_url):
    """Every match the sandbox lists, fetched over HTTP with the project's client."""
    with (
        fresh_database(pg_server_url) as pg_url,
        running_sandbox(
            world=shapes_world(), app_limits=FAST_LIMITS, method_limits=FAST_METHODS
        ) as box,
    ):
        client = make_client(pg_url, box.base_url, app=FAST_LIMITS)
        try:
            bodies = {
                plan.match_id: client.match(REGION, plan.match_id)
                for plan in box.world.matches.values()
                if box.world.visible(plan, box.clock())
            }
            yield box, client, bodies
        finally:
            client.close()


def test_participants_and_challenges_of_every_era_have_the_real_keys(served):
    box, _, bodies = served
    participants = collections.defaultdict(set)
    challenges = collections.defaultdict(set)
    info = collections.defaultdict(set)
    arena_2023: set[str] = set()
    for match_id, body in bodies.items():
        plan = box.world.matches[match_id]
        if body is None:
            continue
        era = era_of(plan.start_ms).name
        info[era] |= set(body["info"])
        for p in body["info"]["participants"]:
            if plan.queue == ARENA and era == "12_9":
                arena_2023 |= set(p)
                continue
            participants[era] |= set(p)
            challenges[era] |= set(p.get("challenges", {}))
    for era, (keys, challenge_keys, info_keys) in real.ERAS.items():
        assert participants[era] == keys, (era, participants[era] ^ keys)
        assert challenges[era] == challenge_keys, (era, challenges[era] ^ challenge_keys)
        assert info[era] == info_keys, (era, info[era] ^ info_keys)
    assert arena_2023 == real.ARENA_2023, arena_2023 ^ real.ARENA_2023
    # what an analysis reads is in every current body: items, runes, damage, vision, challenges
    current = next(
        b
        for i, b in bodies.items()
        if b and era_of(box.world.matches[i].start_ms).name == "current"
    )
    p = current["info"]["participants"][0]
    assert {f"item{i}" for i in range(7)} <= set(p)
    assert len(p["perks"]["styles"]) == 2 and len(p["perks"]["styles"][0]["selections"]) == 4
    assert (
        p["physicalDamageDealtToChampions"]
        + p["magicDamageDealtToChampions"]
        + p["trueDamageDealtToChampions"]
        == p["totalDamageDealtToChampions"]
    )
    assert p["challenges"]["kda"] >= 0 and 0 <= p["challenges"]["killParticipation"] <= 1


def test_teams_carry_objectives_and_since_2025_feats(served):
    box, _, bodies = served
    for match_id, body in bodies.items():
        if body is None or box.world.matches[match_id].queue == ARENA:
            continue
        start = box.world.matches[match_id].start_ms
        for team in body["info"]["teams"]:
            year = datetime.fromtimestamp(start / 1000, UTC).year
            expected = real.OBJECTIVES_2021 | ({"horde"} if year >= 2024 else set())
            assert expected <= set(team["objectives"]) <= real.OBJECTIVES_CURRENT
            assert all(set(o) == {"first", "kills"} for o in team["objectives"].values())
            if era_of(start).name == "current":
                assert set(team["feats"]) == real.FEATS
        kills = sum(p["kills"] for p in body["info"]["participants"])
        assert sum(t["objectives"]["champion"]["kills"] for t in body["info"]["teams"]) == kills


def test_game_version_follows_the_date_and_durations_their_unit(served):
    box, _, bodies = served
    for match_id, body in bodies.items():
        if body is None:
            continue
        plan = box.world.matches[match_id]
        day = datetime.fromtimestamp(plan.start_ms / 1000, UTC)
        major, minor = (int(x) for x in body["info"]["gameVersion"].split(".")[:2])
        assert major in (day.year - 2010, day.year - 2011) and 1 <= minor <= 24
        if day.month > 1:
            assert major == day.year - 2010  # 2026 games are 16.x, not 15.x
        old = (major, minor) < (11, 20)
        assert ("gameEndTimestamp" in body["info"]) is not old
        scale = 1000 if old else 1
        assert body["info"]["gameDuration"] // scale == plan.duration_s


def test_arena_has_duos_placements_and_no_positions(served):
    box, _, bodies = served
    sizes = collections.Counter()
    for match_id, body in bodies.items():
        plan = box.world.matches[match_id]
        if body is None or plan.queue != ARENA:
            continue
        info = body["info"]
        players = info["participants"]
        sizes[len(players)] += 1
        assert info["gameMode"] == "CHERRY" and info["mapId"] == 30
        assert {p["individualPosition"] for p in players} == {"Invalid"}
        assert {p["teamPosition"] for p in players} == {""}
        duos = collections.defaultdict(list)
        for p in players:
            duos[p["playerSubteamId"]].append(p)
        assert all(len(d) == 2 and d[0]["placement"] == d[1]["placement"] for d in duos.values())
        assert sorted(d[0]["placement"] for d in duos.values()) == list(range(1, len(duos) + 1))
        assert {p["win"] for p in players if p["placement"] <= len(duos) // 2} == {True}
    assert set(sizes) == {8, 16}  # 2023's four duos, eight since


def test_flex_and_aram_are_among_the_queues(served):
    box, _, bodies = served
    queues = collections.Counter(box.world.matches[i].queue for i, b in bodies.items() if b)
    assert {420, 440, 400, 450, ARENA} <= set(queues)


def test_league_entries_of_every_shape(served):
    box, client, _ = served
    players = box.world.players["na1"]
    seen = collections.Counter()
    for player in players:
        if player.gone:
            continue
        for entry in client.league_entries("na1", player.puuid):
            queue = entry["queueType"]
            if queue == "CHERRY":
                # Arena's entry: games only, no tier, rank or league
                assert not {"tier", "rank", "leagueId"} & set(entry) and entry["wins"] >= 0
                seen["CHERRY"] += 1
                continue
            assert {"leagueId", "tier", "rank", "leaguePoints", "wins", "losses"} <= set(entry)
            if "summonerName" in entry:  # before 2024: no puuid in the entry
                assert "puuid" not in entry and "summonerId" in entry
                seen["pre2024"] += 1
            elif "summonerId" in entry:  # 2024 to July 2025: both
                assert entry["puuid"] == player.puuid
                seen["pre2025"] += 1
            else:
                assert entry["puuid"] == player.puuid
                seen["current"] += 1
            if "miniSeries" in entry:
                assert entry["leaguePoints"] == 100
                assert set(entry["miniSeries"]) == {"losses", "progress", "target", "wins"}
                seen["miniSeries"] += 1
            seen[queue] += 1
    assert {"CHERRY", "pre2024", "pre2025", "current", "miniSeries", "RANKED_FLEX_SR"} <= set(
        seen
    ), seen


def test_summoner_answers_keep_their_era_and_some_accounts_have_no_riot_id(served):
    box, client, _ = served
    shapes = collections.Counter()
    for player in box.world.players["na1"]:
        if player.gone:
            continue
        summoner = client.summoner_by_puuid("na1", player.puuid)
        shapes[frozenset(summoner)] += 1
        account = client.account_by_puuid(player.puuid)
        if player.riot_id_less:
            assert account == {"puuid": player.puuid}
        else:
            assert (account["gameName"], account["tagLine"]) == (player.game_name, player.tag_line)
    now = frozenset({"puuid", "profileIconId", "revisionDate", "summonerLevel"})
    assert set(shapes) == {now, now | {"id", "accountId"}, now | {"id", "accountId", "name"}}
    assert any(p.riot_id_less for p in box.world.players["na1"])


def test_a_listed_match_that_is_gone_answers_the_2026_404(served):
    box, client, bodies = served
    missing = [i for i, b in bodies.items() if b is None]
    assert missing and all(box.world.matches[i].missing for i in missing)
    answer = requests.get(
        f"{box.url}/{REGION}/lol/match/v5/matches/{missing[0]}",
        headers={"X-Riot-Token": DEFAULT_KEY},
        timeout=10,
    )
    assert answer.status_code == 404
    assert answer.json() == {
        "httpStatus": 404,
        "errorCode": "RESOURCE_NOT_FOUND",
        "message": "match file not found",
    }
    # the other endpoints keep the long-standing body
    gone = requests.get(
        f"{box.url}/na1/lol/summoner/v4/summoners/by-puuid/nobody",
        headers={"X-Riot-Token": DEFAULT_KEY},
        timeout=10,
    )
    assert gone.status_code == 404 and gone.json()["status"]["status_code"] == 404
    assert client.match(REGION, missing[0]) is None  # an answer, not an error
