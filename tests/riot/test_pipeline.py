"""End to end: the riot assets materialized against the sandbox (real HTTP) and real PostgreSQL."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from dagster import (
    DagsterInstance,
    RunRequest,
    SkipReason,
    build_schedule_context,
    instance_for_test,
    materialize,
)
from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus

from assets.riot.ban_checks import ban_checks
from assets.riot.flows import track_player
from assets.riot.player_analyses import player_analyses
from assets.riot.spec import BANS, RIOT_API_POOL
from assets.riot.tracked_player_updates import tracked_player_updates
from resources.riot.store import RiotStore
from schedules.riot import riot_player_tracking_job, riot_refresh_job, riot_refresh_schedule
from tests.metadata import table_text
from tests.riot.conftest import (
    FAST_LIMITS,
    FAST_METHODS,
    make_client,
    riot_resources,
    running_sandbox,
    small_world,
)

# in dependency order: [:1] is the first stage alone, [:2] the first two
riot_assets = [tracked_player_updates, player_analyses, ban_checks]
# the command line's Python (bin/riot runs it in the locked environment with DAGSTER_HOME set)
CLI = [sys.executable, str(Path(__file__).parents[2] / "bin" / "riot.py")]


def metadata(result, step: str) -> dict:
    (mat,) = result.asset_materializations_for_node(step)
    return {k: v.value for k, v in mat.metadata.items()}


@pytest.fixture
def store(pg_url):
    store = RiotStore(pg_url)
    store.ensure_schema()
    return store


def track(store, pg_url, box, *players):
    client = make_client(pg_url, box.base_url, app="200:1,5000:60")
    try:
        for p in players:
            track_player(store, client, f"{p.game_name}#{p.tag_line}", p.platform)
    finally:
        client.close()


def test_refresh_discovers_analyses_and_is_idempotent(pg_url, sandbox, store):
    na1 = sandbox.world.players["na1"]
    track(store, pg_url, sandbox, na1[0], na1[1])
    resources = riot_resources(
        pg_url, sandbox.base_url, max_new_matches_per_player=8, unanalyzed_players_per_run=6
    )
    first = materialize(riot_assets, resources=resources)
    assert first.success
    updates = metadata(first, "riot__tracked_player_updates")
    analyses = metadata(first, "riot__player_analyses")
    assert updates["players_updated"] == 2
    assert 8 <= updates["matches_created"] <= 16
    assert updates["api_requests"] == 2 * 3 + updates["matches_created"]
    assert updates["api_429_answers"] == 0
    # analyses fetch the ranked matches they need too; every match and player is counted once
    assert updates["matches_created"] + analyses["matches_created"] == store.scalar(
        "SELECT count(*) FROM riot_matches"
    )
    players = store.scalar("SELECT count(*) FROM riot_players")
    assert updates["players_discovered"] > 0
    assert updates["players_discovered"] + analyses["players_discovered"] == players - 2
    assert (
        store.scalar("SELECT count(*) FROM riot_players WHERE discovered_from_match IS NOT NULL")
        == players - 2
    )
    assert store.scalar("SELECT count(*) FROM riot_rank_history") >= 2
    # a gone account (summoner-v4 404) is recorded instead of analysed
    assert analyses["players_analysed"] + analyses["gone_accounts"] == 6
    assert store.scalar("SELECT count(*) FROM riot_analyses") == analyses["players_analysed"]
    assert store.scalar("SELECT min(jsonb_array_length(signals)) FROM riot_analyses") == 13
    checks = {c.check_name: c.passed for c in first.get_asset_check_evaluations()}
    assert checks == {
        "matches_complete": True,
        "analyses_explained": True,
        "evidence_supports_status": True,
    }

    matches_before = store.scalar("SELECT count(*) FROM riot_matches")
    participants_before = store.scalar("SELECT count(*) FROM riot_participants")
    second = materialize(riot_assets, resources=resources)
    updates = metadata(second, "riot__tracked_player_updates")
    # nothing new for the tracked players: rank and match list only, no match fetched twice
    assert updates["matches_created"] == 0
    assert updates["api_requests"] == 2 * 3
    assert (
        store.scalar(
            "SELECT count(*) FROM riot_participants WHERE match_id IN "
            "(SELECT match_id FROM riot_matches)"
        )
        >= participants_before
    )
    assert (
        store.scalar(
            # ten players a Rift or ARAM game, sixteen an Arena one: all of them stored
            "SELECT count(*) FROM (SELECT p.match_id FROM riot_participants p JOIN riot_matches m"
            " USING (match_id) GROUP BY p.match_id, m.raw"
            " HAVING count(*) <> jsonb_array_length(m.raw->'metadata'->'participants')) x"
        )
        == 0
    )
    assert store.scalar("SELECT count(*) FROM riot_matches") >= matches_before
    # the next analyses are other players
    assert store.scalar("SELECT count(*) FROM riot_players WHERE analysed") == 12


def test_malformed_matches_are_skipped_recorded_and_not_fetched_again(pg_url, store):
    with running_sandbox(world=small_world(malformed_every=4), app_limits="200:1,5000:60") as box:
        track(store, pg_url, box, box.world.players["na1"][5])
        resources = riot_resources(pg_url, box.base_url, max_bad_match_share="0.5")
        result = materialize(riot_assets[:1], resources=resources)
        updates = metadata(result, "riot__tracked_player_updates")
        bad = store.scalar("SELECT count(*) FROM riot_bad_matches")
        assert updates["skipped_matches"] == bad > 0
        assert "info.participants" in table_text(updates["skipped_matches_reasons"])
        assert updates["matches_created"] + bad == updates["api_requests"] - 3

        # past the threshold the run fails, but what it fetched stays stored
        track(store, pg_url, box, box.world.players["na1"][6])
        strict = riot_resources(pg_url, box.base_url, max_bad_match_share="0.01")
        stored = store.scalar("SELECT count(*) FROM riot_matches")
        failed = materialize(riot_assets[:1], resources=strict, raise_on_error=False)
        assert not failed.success
        (failure,) = [e for e in failed.all_events if e.is_step_failure]
        message = failure.step_failure_data.error.message
        assert "RIOT_MAX_BAD_MATCH_SHARE" in message and "partition" not in message
        assert store.scalar("SELECT count(*) FROM riot_matches") > stored


def test_rate_limited_run_stops_cleanly_and_the_next_continues(pg_url, store):
    with running_sandbox(app_limits="4:1,200:60") as box:
        track(store, pg_url, box, box.world.players["na1"][7])
        resources = riot_resources(
            pg_url, box.base_url, app="4:1", max_new_matches_per_player=20, update_budget_seconds=1
        )
        first = materialize(riot_assets[:1], resources=resources)
        updates = metadata(first, "riot__tracked_player_updates")
        assert first.success and updates["rate_limited"] is True, updates
        assert updates["api_429_answers"] == 0
        stored = store.scalar("SELECT count(*) FROM riot_matches")
        assert 0 < stored < 20
        time.sleep(1.6)  # let the 1 s window pass
        materialize(riot_assets[:1], resources=resources)
        assert store.scalar("SELECT count(*) FROM riot_matches") > stored


def test_an_expired_key_fails_the_run_at_once_with_what_to_do(pg_url, sandbox, store):
    track(store, pg_url, sandbox, sandbox.world.players["na1"][8])
    received = sandbox.count("received")
    resources = riot_resources(pg_url, sandbox.base_url, key="RGAPI-expired-key")
    result = materialize(riot_assets, resources=resources, raise_on_error=False)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    message = str(failure.step_failure_data.error.cause)
    assert "RIOT_API_KEY" in message and "RGAPI-expired-key" not in message
    assert sandbox.count("received") == received + 1


def test_detections_and_ban_checks(pg_url, sandbox, store):
    world = sandbox.world
    track(store, pg_url, sandbox, world.players["na1"][0], world.players["na1"][3])
    resources = riot_resources(
        pg_url,
        sandbox.base_url,
        unanalyzed_players_per_run=60,
        max_new_matches_per_player=20,
        ban_check_days="0",
        min_smurf_confidence="0.5",
    )
    materialize(riot_assets[:2], resources=resources)
    rows = store.rows("SELECT puuid, confidence, is_detection, kind FROM riot_analyses")
    detected = [r for r in rows if r["is_detection"]]
    assert detected, "the sandbox's smurfs and boosted accounts are found"
    assert all(r["confidence"] >= 0.5 for r in detected)
    assert all(not r["is_detection"] for r in rows if r["confidence"] < 0.5)
    right = sum(world.by_puuid[r["puuid"]].archetype == r["kind"] for r in detected)
    assert right / len(detected) >= 0.8

    banned = detected[0]["puuid"]
    sandbox.ban(banned)
    result = materialize(riot_assets, resources=resources, selection=[BANS])
    checks = store.rows("SELECT puuid, status, evidence FROM riot_ban_checks")
    assert (
        metadata(result, "riot__ban_checks")["ban_checks"]
        == len(checks)
        == len({r["puuid"] for r in detected})
    )
    status = {c["puuid"]: c["status"] for c in checks}
    assert status[banned] == "account_missing"
    assert {s for p, s in status.items() if p != banned} <= {"active", "no_games_since_detection"}
    # a missing account is not checked again; the others wait for the next period
    result = materialize(riot_assets, resources=resources, selection=[BANS])
    assert metadata(result, "riot__ban_checks")["ban_checks"] == len(checks) - 1


def test_tracking_job_tracks_untracks_and_lists(pg_url, sandbox, store):
    player = sandbox.world.players["euw1"][2]

    def run(**config):
        return riot_player_tracking_job.execute_in_process(
            run_config={"ops": {"riot_player_tracking": {"config": config}}},
            resources=riot_resources(pg_url, sandbox.base_url),
            raise_on_error=False,
        )

    tracked = run(action="track", player=f"{player.game_name}#{player.tag_line}", platform="euw1")
    assert [p["puuid"] for p in tracked.output_for_node("riot_player_tracking")] == [player.puuid]
    assert run(action="list").output_for_node("riot_player_tracking")[0]["platform"] == "euw1"
    assert run(action="untrack", player=player.puuid).output_for_node("riot_player_tracking") == []
    unknown = run(action="track", player="Nobody Here#EUW", platform="euw1")
    assert not unknown.success


def test_cli_tracks_and_lists_a_player(pg_url, sandbox):
    player = sandbox.world.players["na1"][9]
    env = {
        **os.environ,
        "RIOT_DATABASE_URL": pg_url,
        "RIOT_API_BASE_URL": sandbox.base_url,
        "DAGSTER_HOME": "",
    }
    done = subprocess.run(
        [*CLI, "track", f"{player.game_name}#{player.tag_line}"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    # track prints the tracked list afterwards
    assert f"{player.game_name}#{player.tag_line}" in done.stdout and player.puuid in done.stdout


def test_cli_names_the_variable_to_fix_when_the_database_is_unreachable(tmp_path):
    with socket.socket() as s:  # bound then closed: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "RIOT_DATABASE_URL": f"postgresql://riot:pw-CLI-SECRET@127.0.0.1:{port}/riot",
        "DAGSTER_HOME": "",
    }
    done = subprocess.run(
        [*CLI, "list"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    [line] = [t for t in done.stderr.splitlines() if t.startswith("failed:")]
    assert line.startswith("failed: Cannot connect to PostgreSQL at postgresql://")
    assert f"@127.0.0.1:{port}/riot" in line
    assert "RIOT_DATABASE_URL" in line and "OperationalError" not in line
    assert "pw-CLI-SECRET" not in done.stdout + done.stderr


def test_schedule_runs_every_two_minutes_and_skips_while_a_run_is_in_progress():
    assert riot_refresh_schedule.cron_schedule == "*/2 * * * *"
    assert riot_refresh_job.tags["dagster/max_runtime"] == "90"
    with instance_for_test() as instance:
        request = riot_refresh_schedule(build_schedule_context(instance=instance))
        assert isinstance(request, RunRequest)
        assert request.tags == {"dagster/max_runtime": "90", "pipeline/serial": "riot"}
        instance.add_run(
            DagsterRun(
                job_name="riot_refresh_job", run_id="a" * 36, status=DagsterRunStatus.STARTED
            )
        )
        skip = riot_refresh_schedule(build_schedule_context(instance=instance))
        assert isinstance(skip, SkipReason) and "in progress" in skip.skip_message


def test_code_location_loads_with_its_assets_checks_and_jobs():
    from pipelines.riot import defs

    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == {"riot/tracked_player_updates", "riot/player_analyses", "riot/ban_checks"}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.group_name == "riot" and node.code_version
    assert {c.name for c in graph.asset_check_keys} == {
        "matches_complete",
        "analyses_explained",
        "evidence_supports_status",
    }
    assert defs.resolve_job_def("riot_refresh_job") and defs.resolve_job_def(
        "riot_player_tracking_job"
    )
    # in a fresh process: this one's earlier tests (rps) may have imported them already
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, pipelines.riot; "
         "print(sorted({'mlflow', 'xgboost'} & set(sys.modules)))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert loaded == "[]", loaded


def test_a_second_riot_refresh_waits_for_the_riot_api_slot(pg_url, sandbox, store, tmp_path):
    """Every riot stage holds the one-slot pool riot_api (assets/pools.py), also outside the run
    queue: while another run holds it (here the test, as a refresh in flight would), a refresh
    waits, sleeping between its checks (Dagster 1.13's own pool wait spins a core), then runs
    when the slot is freed."""
    shutil.copy(Path(__file__).parents[2] / "dagster_home" / "dagster.yaml", tmp_path)
    resources = riot_resources(pg_url, sandbox.base_url)
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        storage = instance.event_log_storage
        storage.set_concurrency_slots(RIOT_API_POOL, 1)
        assert storage.claim_concurrency_slot(RIOT_API_POOL, "refresh-in-flight", "step").is_claimed
        results = []
        second = threading.Thread(
            target=lambda: results.append(
                materialize(riot_assets, resources=resources, instance=instance)
            )
        )
        second.start()
        deadline = time.monotonic() + 120
        while not storage.get_concurrency_info(RIOT_API_POOL).pending_run_ids:
            assert time.monotonic() < deadline and second.is_alive(), "the refresh did not wait"
            time.sleep(0.2)
        cpu, since = time.process_time(), time.monotonic()
        time.sleep(3)  # this thread sleeps: the process's CPU time is the waiting refresh's
        assert second.is_alive()  # still waiting while the slot is held
        share = (time.process_time() - cpu) / (time.monotonic() - since)
        assert share < 0.3, f"the waiting refresh used {share:.0%} of a core"
        storage.free_concurrency_slots_for_run("refresh-in-flight")
        second.join(120)
    assert results and results[0].success


def test_a_refresh_waiting_for_the_riot_api_slot_stops_on_sigterm(pg_url, sandbox, tmp_path):
    """A CLI refresh that waits for riot_api ends on SIGTERM (the wait sleeps; it does not spin
    past signals) and leaves no claim or queue place behind."""
    shutil.copy(Path(__file__).parents[2] / "dagster_home" / "dagster.yaml", tmp_path)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path),
        "RIOT_DATABASE_URL": pg_url,
        "RIOT_API_BASE_URL": sandbox.base_url,
    }
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        storage = instance.event_log_storage
        storage.set_concurrency_slots(RIOT_API_POOL, 1)
        assert storage.claim_concurrency_slot(RIOT_API_POOL, "refresh-in-flight", "step").is_claimed
        cli = subprocess.Popen(
            [sys.executable, "-m", "dagster", "asset", "materialize", "-m", "pipelines.riot",
             "--select", "riot/tracked_player_updates"],
            env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while not storage.get_concurrency_info(RIOT_API_POOL).pending_run_ids:
                if cli.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"the CLI did not wait: {cli.stderr.read()[-2000:]}")
                time.sleep(0.2)
            cli.send_signal(signal.SIGTERM)
            _, err = cli.communicate(timeout=60)
        finally:
            cli.kill()
        assert cli.returncode != 0, err.decode()[-2000:]
        info = storage.get_concurrency_info(RIOT_API_POOL)
        assert info.pending_run_ids == set() and info.active_run_ids == {"refresh-in-flight"}


def test_refresh_job_succeeds_every_run_with_gone_accounts_in_the_mix(pg_url, store):
    """Issue 14: gone accounts (summoner-v4 404) are answers: recorded, never counted toward
    RIOT_MAX_BAD_MATCH_SHARE, and ban checks still run. Every third player is gone here."""
    from dagster import Definitions, in_process_executor

    world = small_world(gone_every=3)
    with running_sandbox(world=world, app_limits=FAST_LIMITS, method_limits=FAST_METHODS) as box:
        na1 = world.players["na1"]
        track(store, pg_url, box, na1[0], na1[1], na1[2])  # na1[2] goes before the first run
        job = Definitions(
            assets=riot_assets,
            jobs=[riot_refresh_job],
            resources=riot_resources(
                pg_url,
                box.base_url,
                max_new_matches_per_player=4,
                unanalyzed_players_per_run=8,
                ban_check_days="0",
                min_smurf_confidence="0.3",
            ),
            executor=in_process_executor,
        ).resolve_job_def("riot_refresh_job")
        gone_seen = 0
        for _ in range(8):
            result = job.execute_in_process(raise_on_error=False)
            assert result.success, [
                e.step_failure_data.error.message for e in result.all_events if e.is_step_failure
            ]
            assert metadata(result, "riot__ban_checks")["ban_checks"] >= 0
            gone_seen += metadata(result, "riot__player_analyses")["gone_accounts"]
        gone = store.rows("SELECT puuid FROM riot_players WHERE gone_at IS NOT NULL")
        assert gone_seen > 0 and len(gone) >= gone_seen
        assert all(world.by_puuid[r["puuid"]].gone for r in gone)
        assert na1[2].puuid in {r["puuid"] for r in gone}  # a tracked player gone is recorded
        assert (
            store.scalar(
                "SELECT count(*) FROM riot_analyses WHERE puuid = ANY(%s)",
                ([r["puuid"] for r in gone],),
            )
            == 0
        )
        detections = store.scalar("SELECT count(*) FROM riot_analyses WHERE is_detection")
        assert detections > 0 and store.scalar("SELECT count(*) FROM riot_ban_checks") > 0
        # before the Riot ID change the name was summonerName: the store keeps it
        assert (
            store.scalar("SELECT count(*) FROM riot_players WHERE coalesce(game_name, '') = ''")
            == 0
        )
