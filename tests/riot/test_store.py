"""The riot tables on real PostgreSQL: a match seen twice is stored once; rank history on change."""

import pytest

from assets.riot.matches import parse_match
from resources.postgres import DatabaseUnavailable
from resources.riot.settings import resources_from_env
from resources.riot.store import RiotStore
from tests.riot.conftest import small_world


def test_a_match_seen_twice_is_stored_once(pg_url):
    store = RiotStore(pg_url)
    store.ensure_schema()
    store.ensure_schema()  # idempotent
    world = small_world()
    plan = next(p for p in world.matches.values() if p.queue == 420)
    raw = world.match_json(plan)
    match = parse_match(raw)
    assert store.save_match(match, raw) == (True, 10)
    assert store.save_match(match, raw) == (False, 0)
    assert store.scalar("SELECT count(*) FROM riot_matches") == 1
    assert store.scalar("SELECT count(*) FROM riot_participants") == 10
    assert store.scalar("SELECT count(*) FROM riot_players") == 10
    assert store.known_match_ids([plan.match_id, "NA1_1"]) == {plan.match_id}
    assert len(store.player_games(match.participants[0].puuid, 10)) == 1


def test_rank_history_grows_only_when_the_rank_changes(pg_url):
    store = RiotStore(pg_url)
    store.ensure_schema()
    store.track("p" * 78, "Name", "NA1", "na1")
    entry = {
        "queueType": "RANKED_SOLO_5x5",
        "tier": "GOLD",
        "rank": "II",
        "leaguePoints": 40,
        "wins": 10,
        "losses": 8,
    }
    assert store.update_rank("p" * 78, 120, [entry]) == 1
    assert store.update_rank("p" * 78, 120, [entry]) == 0
    assert store.update_rank("p" * 78, 121, [{**entry, "leaguePoints": 61, "wins": 11}]) == 1
    player = store.find_player("name#na1")
    assert (player["tier"], player["league_points"], player["summoner_level"]) == ("GOLD", 61, 121)
    # Arena's entries rank nothing: no tier (or an empty one), no division
    cherry = {"queueType": "CHERRY", "leaguePoints": 0, "wins": 3, "losses": 1}
    assert store.update_rank("p" * 78, 121, [{**entry, "leaguePoints": 61, "wins": 11}, cherry,
                                             {**cherry, "tier": "", "rank": ""}]) == 0  # fmt: skip
    assert store.update_rank("p" * 78, 121, []) == 0  # unranked now: no history row, rank cleared
    assert store.find_player("p" * 78)["tier"] is None


def test_a_player_without_a_tag_line_is_found_by_name(pg_url):
    store = RiotStore(pg_url)
    store.ensure_schema()
    store.track("q" * 78, "OldName", "", "na1")
    store.track("r" * 78, "OldName", "EUW", "euw1")
    assert store.find_player("oldname")["puuid"] == "q" * 78
    assert store.find_player("OldName#EUW")["puuid"] == "r" * 78
    assert store.find_player("q" * 78)["game_name"] == "OldName"
    assert store.find_player("nobody") is None


@pytest.mark.parametrize(
    "env, named",
    [
        ({"RIOT_DATABASE_URL": "postgresql://riot:pw-RIOTDB9@[bad/riot"}, "RIOT_DATABASE_URL"),
        ({"POSTGRES_URL": "postgresql://riot:pw-RIOTDB9@[bad/riot"}, "POSTGRES_URL"),
    ],
)
def test_a_malformed_database_url_names_the_variable_that_gave_it(monkeypatch, env, named):
    monkeypatch.delenv("RIOT_DATABASE_URL", raising=False)
    monkeypatch.delenv("POSTGRES_URL", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    database = resources_from_env()["riot_db"]
    assert database.variable == named
    store = RiotStore(next(iter(env.values())), database.variable)  # as open_store builds it
    with pytest.raises(DatabaseUnavailable) as raised:
        store.ensure_schema()
    message = str(raised.value) + str(raised.value.__cause__)
    assert f"Fix {named}" in message and "pw-RIOTDB9" not in message
