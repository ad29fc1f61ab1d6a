"""Every body shape the sandbox serves, through the pipeline: the assets materialized against the
sandbox over real HTTP and real PostgreSQL store each era's matches in seconds, Arena and ARAM
players without a position, flex ranks, a miniSeries, and show players without a tag line
without `#` (metadata tables and bin/riot)."""

from __future__ import annotations

import os
import subprocess

from dagster import materialize

from assets.riot.player_analyses import player_analyses
from assets.riot.tracked_player_updates import tracked_player_updates
from resources.riot.store import RiotStore
from sandboxes.riot.shapes import ARENA, ERAS, era_of
from tests.metadata import table_rows
from tests.riot.conftest import FAST_LIMITS, FAST_METHODS, riot_resources, running_sandbox
from tests.riot.test_pipeline import CLI, metadata, track
from tests.riot.test_sandbox_shapes import shapes_world

NEWEST = 20  # matches fetched per tracked player


def newest(world, player, now: float) -> list:
    plans = [p for p in world.matches_of.get(player.puuid, []) if world.visible(p, now)]
    return sorted(plans, key=lambda p: p.start_ms, reverse=True)[:NEWEST]


def test_every_body_shape_is_stored_and_shown(pg_url):
    world = shapes_world()
    store = RiotStore(pg_url)
    store.ensure_schema()
    with running_sandbox(world=world, app_limits=FAST_LIMITS, method_limits=FAST_METHODS) as box:
        now = box.clock()
        na1 = [p for p in world.players["na1"] if not p.gone]
        # a player who stopped in each old era (their newest matches are of it), then active
        # ones whose newest games include Arena and flex, and one in a promotion series
        chosen = {}
        for p in na1:
            if p.dormant_era and not p.riot_id_less:
                chosen.setdefault(p.dormant_era, p)
        active = [p for p in na1 if p.dormant_era is None]
        chosen["arena"] = next(
            p for p in active if any(m.queue == ARENA for m in newest(world, p, now))
        )
        chosen["flex"] = next(
            p for p in active if p.flex and any(m.queue == 440 for m in newest(world, p, now))
        )
        chosen["miniSeries"] = next(p for p in na1 if p.lp == 100 and p.answer_shape == "pre2024")
        assert set(ERAS) - {"current"} <= set(chosen)
        track(store, pg_url, box, *chosen.values())

        resources = riot_resources(
            pg_url,
            box.base_url,
            max_tracked_players=len(chosen),
            max_new_matches_per_player=NEWEST,
            unanalyzed_players_per_run=25,
        )
        result = materialize([tracked_player_updates, player_analyses], resources=resources)
        assert result.success
        updates = metadata(result, "riot__tracked_player_updates")
        assert updates["skipped_matches"] == 0  # every era's body parses

        # each era's matches, stored with their duration in seconds
        stored = store.rows("SELECT match_id, duration_s, queue_id, game_mode FROM riot_matches")
        plans = {r["match_id"]: world.matches[r["match_id"]] for r in stored}
        assert {era_of(p.start_ms).name for p in plans.values()} == set(ERAS)
        assert all(r["duration_s"] == plans[r["match_id"]].duration_s for r in stored)
        # listed matches the API no longer serves: answered 404 (the 2026 body), reported
        expected_missing = {m.match_id for p in chosen.values() for m in newest(world, p, now)
                            if m.missing}  # fmt: skip
        assert expected_missing and updates["matches_not_found"] >= len(expected_missing)
        listed = {row["match_id"] for row in table_rows(updates["matches_not_found_list"])}
        assert listed == expected_missing

        # Arena and ARAM: no position, the mode stored; every player of an Arena game kept
        arena = [r for r in stored if r["queue_id"] == ARENA]
        assert arena and {r["game_mode"] for r in arena} == {"CHERRY"}
        assert (
            store.scalar("SELECT count(*) FROM riot_participants WHERE position = 'Invalid'") == 0
        )
        positions = store.rows(
            "SELECT m.queue_id, array_agg(DISTINCT p.position) AS positions, count(*) AS players"
            " FROM riot_participants p JOIN riot_matches m USING (match_id)"
            " WHERE m.queue_id IN (450, 1700) GROUP BY m.match_id, m.queue_id"
        )
        assert positions and all(r["positions"] == [""] for r in positions)
        assert {r["players"] for r in positions if r["queue_id"] == ARENA} <= {8, 16}

        # flex: its matches and its rank; Arena's CHERRY entry ranks nothing
        assert any(r["queue_id"] == 440 for r in stored)
        queues = {
            r["queue_type"]
            for r in store.rows(
                "SELECT DISTINCT queue_type FROM riot_rank_history WHERE puuid = %s",
                (chosen["flex"].puuid,),
            )
        }
        assert queues == {"RANKED_SOLO_5x5", "RANKED_FLEX_SR"}
        assert (
            store.scalar("SELECT count(*) FROM riot_rank_history WHERE queue_type = 'CHERRY'") == 0
        )
        promo = store.find_player(chosen["miniSeries"].puuid)
        assert promo["league_points"] == 100 and promo["tier"] == chosen["miniSeries"].tier

        # players known only from bodies before the Riot ID: the old name, no tag line
        tagless = store.rows(
            "SELECT puuid, game_name FROM riot_players WHERE coalesce(tag_line, '') = ''"
        )
        assert tagless
        assert all(r["game_name"] == world.by_puuid[r["puuid"]].game_name for r in tagless)
        analysed = [
            r["player"] for r in table_rows(metadata(result, "riot__player_analyses")["analyses"])
        ]
        shown = [r["player"] for r in table_rows(updates["updates"])] + analysed
        assert not [s for s in shown if s.endswith("#")], shown
        assert {r["game_name"] for r in tagless} & set(analysed)

        # bin/riot: an account without a Riot ID, tracked by PUUID, is listed by its old name
        riot_id_less = next(
            r for r in store.rows("SELECT puuid, game_name FROM riot_players")
            if world.by_puuid[r["puuid"]].riot_id_less
        )  # fmt: skip
        env = {
            **os.environ,
            "RIOT_DATABASE_URL": pg_url,
            "RIOT_API_BASE_URL": box.base_url,
            "DAGSTER_HOME": "",
        }
        done = subprocess.run(
            [*CLI, "track", riot_id_less["puuid"]], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr[-2000:]
        line = next(t for t in done.stdout.splitlines() if riot_id_less["puuid"] in t)
        assert line.split()[0] == riot_id_less["game_name"] and "#" not in line.split()[0]
        assert f"{chosen['flex'].game_name}#{chosen['flex'].tag_line}" in done.stdout
