"""The Riot API client against the sandbox over real HTTP: shapes, routing and every failure mode."""

import pytest

from resources.riot.api import RiotApiError, RiotKeyRejected
from resources.riot.routing import platform_of_match
from tests.riot.conftest import make_client, running_sandbox


def test_endpoints_answer_with_the_real_shapes(client, sandbox):
    player = sandbox.world.players["na1"][0]
    account = client.account_by_riot_id(player.game_name, player.tag_line, "na1")
    assert account == {
        "puuid": player.puuid,
        "gameName": player.game_name,
        "tagLine": player.tag_line,
    }
    assert client.account_by_puuid(player.puuid)["gameName"] == player.game_name
    summoner = client.summoner_by_puuid("na1", player.puuid)
    assert set(summoner) == {"puuid", "profileIconId", "revisionDate", "summonerLevel"}
    entry = client.league_entries("na1", player.puuid)[0]
    assert entry["queueType"] == "RANKED_SOLO_5x5" and entry["tier"] == player.tier
    ids = client.match_ids("americas", player.puuid, count=5)
    assert 0 < len(ids) <= 5
    match = client.match("americas", ids[0])
    assert match["metadata"]["matchId"] == ids[0]
    assert player.puuid in match["metadata"]["participants"]
    assert len(match["info"]["participants"]) == len(match["metadata"]["participants"])
    starts = [client.match("americas", i)["info"]["gameStartTimestamp"] for i in ids[:3]]
    assert starts == sorted(starts, reverse=True), "newest first"


def test_routing_sends_each_call_to_its_host(client, sandbox):
    player = sandbox.world.players["euw1"][0]
    assert client.summoner_by_puuid("na1", player.puuid) is None  # wrong platform
    assert client.summoner_by_puuid("euw1", player.puuid)["puuid"] == player.puuid
    (match_id, *_) = client.match_ids("europe", player.puuid, count=1)
    assert platform_of_match(match_id) == "euw1"
    assert client.match("americas", match_id) is None  # a match lives in its own region
    assert client.match("europe", match_id)["info"]["platformId"] == "EUW1"
    assert sandbox.count("requests", "europe") >= 2


def test_unknown_player_is_none_not_an_error(client):
    assert client.account_by_riot_id("No Such Player", "NA1") is None


def test_bad_key_stops_every_process_at_once_without_retrying(pg_url, sandbox):
    secret = "RGAPI-expired-0000-secret"
    first = make_client(pg_url, sandbox.base_url, key=secret)
    with pytest.raises(RiotKeyRejected) as err:
        first.match_ids("americas", sandbox.world.players["na1"][0].puuid)
    assert "RIOT_API_KEY" in str(err.value) and "developer.riotgames.com" in str(err.value)
    assert secret not in str(err.value)
    assert sandbox.count("received") == 1, "a 403 is not retried"
    # another run (another process, same database) stops before sending anything
    second = make_client(pg_url, sandbox.base_url, key=secret)
    with pytest.raises(RiotKeyRejected):
        second.summoner_by_puuid("na1", sandbox.world.players["na1"][0].puuid)
    assert sandbox.count("received") == 1
    first.close()
    second.close()


def test_a_429_is_waited_out_and_work_goes_on(client, sandbox, pg_url):
    puuid = sandbox.world.players["na1"][1].puuid
    client.match_ids("americas", puuid)  # learn the limits first
    sandbox.inject("/ids", status=429, headers={"Retry-After": "1", "X-Rate-Limit-Type": "service"})
    assert client.match_ids("americas", puuid, count=3)
    assert client.throttled == 1
    assert client.limiter.waited_seconds >= 0.9  # held off for Retry-After, then retried


def test_a_real_429_from_an_unshared_client_is_absorbed(pg_url, second_pg_url):
    # two limiters that do not share state overrun 3 per second; both still finish their work
    with running_sandbox(app_limits="3:1,100:60") as box:
        a = make_client(pg_url, box.base_url, app="20:1,100:120")
        b = make_client(second_pg_url, box.base_url, app="20:1,100:120")
        puuid = box.world.players["na1"][2].puuid
        for _ in range(4):
            assert a.summoner_by_puuid("na1", puuid) and b.summoner_by_puuid("na1", puuid)
        assert box.count("429") > 0
        assert a.throttled + b.throttled == box.count("429")
        a.close()
        b.close()


def test_5xx_is_retried_a_bounded_number_of_times(client, sandbox):
    puuid = sandbox.world.players["na1"][3].puuid
    sandbox.inject("/summoners/", status=503, times=2)
    assert client.summoner_by_puuid("na1", puuid)["puuid"] == puuid
    assert client.retries == 2
    before = sandbox.count("received")
    sandbox.inject("/summoners/", status=500, times=50)
    with pytest.raises(RiotApiError, match="HTTP 500.*the next scheduled refresh continues"):
        client.summoner_by_puuid("na1", puuid)
    assert sandbox.count("received") - before == client.max_attempts


def test_a_timeout_is_retried(pg_url, sandbox):
    slow = make_client(pg_url, sandbox.base_url, timeout=0.5, app="200:1,5000:60")
    puuid = sandbox.world.players["na1"][4].puuid
    sandbox.inject("/entries/", status=200, delay=1.5)
    assert slow.league_entries("na1", puuid)[0]["queueType"] == "RANKED_SOLO_5x5"
    assert slow.retries == 1
    slow.close()


def test_limits_are_learned_from_headers_and_the_key_is_never_stored(client, sandbox, pg_url):
    import psycopg

    client.summoner_by_puuid("na1", sandbox.world.players["na1"][5].puuid)
    with psycopg.connect(pg_url) as conn:
        rows = dict(
            conn.execute("SELECT scope, limits FROM riot_rate_limits WHERE host = 'na1'").fetchall()
        )
        dump = str(conn.execute("SELECT * FROM riot_rate_limits").fetchall())
        dump += str(conn.execute("SELECT * FROM riot_api_key_rejections").fetchall())
    assert rows["app"] == "200:1,5000:60"
    assert rows["summoner-v4.getByPUUID"] == "5000:10"
    assert client._key not in dump


def test_unreachable_api_says_what_to_do(pg_url):
    with running_sandbox() as box:
        url = box.base_url
    dead = make_client(pg_url, url, max_attempts=2, backoff=0.05)
    with pytest.raises(RiotApiError, match="reachable"):
        dead.summoner_by_puuid("na1", "x")
    dead.close()


def test_sandbox_speaks_the_real_limit_headers_and_status_codes():
    import requests

    with running_sandbox(app_limits="2:1,50:60") as box:
        puuid = box.world.players["na1"][0].puuid
        url = f"{box.url}/na1/lol/summoner/v4/summoners/by-puuid/{puuid}"
        key = {"X-Riot-Token": "RGAPI-sandbox-key"}
        first, second, third = (requests.get(url, headers=key) for _ in range(3))
        assert first.headers["X-App-Rate-Limit"] == "2:1,50:60"
        assert first.headers["X-App-Rate-Limit-Count"] == "1:1,1:60"
        assert second.headers["X-App-Rate-Limit-Count"] == "2:1,2:60"
        assert "X-Method-Rate-Limit" in first.headers
        assert third.status_code == 429
        assert third.headers["X-Rate-Limit-Type"] == "application"
        assert int(third.headers["Retry-After"]) >= 1
        assert requests.get(url).status_code == 401
        forbidden = requests.get(url, headers={"X-Riot-Token": "RGAPI-wrong"})
        assert forbidden.status_code == 403 and "X-App-Rate-Limit" not in forbidden.headers


def test_a_missing_key_says_what_to_set(pg_url):
    with pytest.raises(RiotKeyRejected, match="set RIOT_API_KEY"):
        make_client(pg_url, "http://127.0.0.1:9/{host}", key="")
