"""The UI's paths, through the UI's own API, with every code location of workspace.yaml loaded.

For every partitioned asset group a partition-range backfill is launched as the UI launches it
(`launchPartitionBackfill`), run by the daemon on the embedded defaults and the sandboxes, and
must succeed; a `single_run` range must be one run. A single-partition materialization and a job
from the Launchpad (`launchRun`) and a schedule tick complete the UI's ways of starting work.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
from dagster import DagsterInstance

from resources.instance.run_launcher import run_worker_started
from resources.riot.store import RiotStore
from tests.graphql import tags_of
from tests.stack import CHARACTERS, STATS_END

pytestmark = pytest.mark.slow

REPLAY_MINING_DAYS = [(STATS_END - dt.timedelta(days=d)).isoformat() for d in (3, 2, 1)]
YESTERDAY = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)


def _paths(nodes: list[dict], group: str, partition_name: str | None = None) -> list[list[str]]:
    """The materializable assets of a group (optionally: of one partitions definition)."""
    return sorted(
        n["assetKey"]["path"]
        for n in nodes
        if n["groupName"] == group
        and n["isMaterializable"]
        and (
            partition_name is None or (n["partitionDefinition"] or {}).get("name") == partition_name
        )
    )


@pytest.fixture(scope="module")
def nodes(workspace) -> list[dict]:
    return workspace.api.asset_nodes()


@pytest.fixture(scope="module")
def analytics_traffic(workspace) -> None:
    """Two days of generated spans up to now in the embedded PostgreSQL, as `bin/demo` loads them."""
    subprocess.run(
        [sys.executable, "-m", "sandboxes.analytics_demo", "--days", "2"]
        + ["--spans-per-day", "3000", "--seed", "7"],
        env=workspace.env,
        check=True,
        capture_output=True,
    )


def _assert_succeeded(api, backfill: dict) -> None:
    failed = [r for r in backfill["runs"] if r["status"] != "SUCCESS"]
    details = {r["runId"]: api.run_errors(r["runId"])[-3:] for r in failed}
    assert backfill["status"] == "COMPLETED_SUCCESS" and not failed, (backfill, details)


def _backfill_cases(nodes: list[dict]) -> dict[str, list[tuple[list[list[str]], list[str]]]]:
    """Per partitioned group: (assets, partitions) the UI would launch. A group whose roots have
    different partitions (analytics: hourly and daily) is launched once per partitioning, as the
    UI requires."""
    hours = [f"{YESTERDAY.isoformat()}-{h:02d}:00" for h in range(3)]
    analytics_daily = _paths(nodes, "analytics")
    analytics_hourly = [p for p in analytics_daily if p[-1] == "hourly_analytics"]
    analytics_daily = [p for p in analytics_daily if p not in analytics_hourly]
    return {
        "replay_mining": [(_paths(nodes, "replay_mining"), REPLAY_MINING_DAYS)],
        "analytics": [
            (analytics_hourly, hours),
            (analytics_daily, [(YESTERDAY - dt.timedelta(days=1)).isoformat(), str(YESTERDAY)]),
        ],
        "replay_sync": [
            (
                [
                    p
                    for p in _paths(nodes, "replay_sync")
                    if p[-1] in ("bucket_replays", "replay_index")
                ],
                CHARACTERS.split(","),
            )
        ],
    }


def test_every_location_is_loaded(workspace):
    entries = workspace.api.locations()
    assert {e["name"]: e["loadStatus"] for e in entries} == {
        "replay_mining": "LOADED",
        "analytics": "LOADED",
        "rps": "LOADED",
        "riot": "LOADED",
        "replay_sync": "LOADED",
    }


def test_the_catalog_shows_every_asset_once_under_its_pipeline(nodes):
    keys = ["/".join(n["assetKey"]["path"]) for n in nodes]
    assert len(keys) == len(set(keys))
    for node in nodes:
        location = node["repository"]["location"]["name"]
        assert node["assetKey"]["path"][0] == location == node["groupName"], node
        for dep in node["dependencyKeys"]:
            assert dep["path"][0] == location, (node["assetKey"], dep)  # no cross-location edge
    # both replay indexes, each in its own pipeline
    assert {"replay_mining/replay_index", "replay_sync/replay_index"} <= set(keys)


def test_every_partitioned_group_has_a_backfill_case(nodes):
    partitioned = {n["groupName"] for n in nodes if n["isPartitioned"]}
    assert partitioned == set(_backfill_cases(nodes))


GROUPS = ["replay_mining", "analytics", "replay_sync"]


@pytest.fixture(scope="module")
def backfills(request, workspace, nodes, analytics_traffic) -> Iterator[dict[str, Future]]:
    """Every selected group's backfills, launched at once as a user can (the runs of different
    pipelines do not wait for each other), each group's in turn as the UI launches them: group ->
    a future of its finished backfills, one per case of `_backfill_cases`."""
    api, cases = workspace.api, _backfill_cases(nodes)
    selected = [
        item.callspec.params["group"]
        for item in request.session.items
        if item.originalname == "test_a_partition_range_backfill_of_each_group_succeeds"
    ]

    def launch_in_turn(group: str) -> list[dict]:
        return [
            api.wait_for_backfill(api.launch_asset_backfill(assets, partitions), timeout=420)
            for assets, partitions in cases[group]
        ]

    with ThreadPoolExecutor(max_workers=len(GROUPS)) as pool:
        yield {group: pool.submit(launch_in_turn, group) for group in selected}


@pytest.mark.parametrize("group", GROUPS)
def test_a_partition_range_backfill_of_each_group_succeeds(workspace, nodes, backfills, group):
    api = workspace.api
    finished = backfills[group].result()
    for (_, partitions), backfill in zip(_backfill_cases(nodes)[group], finished, strict=True):
        _assert_succeeded(api, backfill)
        if group == "replay_mining":
            # single_run: the whole range is one run, tagged with its bounds
            [run] = backfill["runs"]
            tags = tags_of(run)
            assert tags["dagster/asset_partition_range_start"] == partitions[0]
            assert tags["dagster/asset_partition_range_end"] == partitions[-1]
            for day in partitions:
                dataset = (
                    workspace.data
                    / "lake/datasets/replays"
                    / f"replays_{day.replace('-', '')}.parquet"
                )
                assert dataset.stat().st_size > 0
        if group == "replay_sync":
            # no single_run policy: one run per character
            assert sorted(tags_of(r)["dagster/partition"] for r in backfill["runs"]) == sorted(
                partitions
            )


def test_one_partition_materialized_from_the_asset_page(workspace, nodes):
    api = workspace.api
    day = (STATS_END - dt.timedelta(days=5)).isoformat()
    run_id = api.launch_run(
        "replay_mining",
        "__ASSET_JOB",
        asset_paths=_paths(nodes, "replay_mining"),
        tags={"dagster/partition": day},
    )
    run = api.wait_for_run(run_id)
    assert run["status"] == "SUCCESS", api.run_errors(run_id)
    assert {
        (tuple(m["assetKey"]["path"]), m["partition"]) for m in run["assetMaterializations"]
    } == {(tuple(p), day) for p in _paths(nodes, "replay_mining")}


def test_a_job_from_the_launchpad(workspace):
    api = workspace.api
    day = (STATS_END - dt.timedelta(days=6)).isoformat()
    run_id = api.launch_run(
        "replay_mining", "replay_mining_dataset_job", tags={"dagster/partition": day}
    )
    run = api.wait_for_run(run_id)
    assert run["status"] == "SUCCESS", api.run_errors(run_id)
    assert run["jobName"] == "replay_mining_dataset_job"
    riot = api.wait_for_run(api.launch_run("riot", "riot_refresh_job"))
    assert riot["status"] == "SUCCESS", api.run_errors(riot["runId"])


def test_after_a_killed_refresh_the_next_schedule_tick_succeeds(workspace):
    """Issue 13: a riot refresh SIGKILLed mid-call (holding the one `riot_api` slot) is marked
    failed by run monitoring, its slot freed, and the schedule's next tick runs by itself."""
    api = workspace.api
    store = RiotStore(workspace.env["POSTGRES_URL"])
    store.ensure_schema()
    for player in workspace.riot_gate.app.world.players["na1"][:2]:  # work for the refresh
        store.track(player.puuid, player.game_name, player.tag_line, player.platform)
    with workspace.riot_gate.holding() as arrived:
        killed = api.launch_run("riot", "riot_refresh_job")
        assert arrived.wait(180), api.run_errors(killed)
        with DagsterInstance.from_config(str(workspace.home)) as instance:
            pid, _ = run_worker_started(instance, killed)
        os.kill(pid, signal.SIGKILL)
    name = "riot_refresh_schedule"  # every minute here (RIOT_REFRESH_CRON)
    state = api.start_schedule("riot", name)
    assert state["status"] == "RUNNING"
    try:
        deadline = time.monotonic() + 240
        runs = []
        while not runs and time.monotonic() < deadline:
            runs = [
                r
                for r in api.runs(pipelineName="riot_refresh_job")
                if tags_of(r).get("dagster/schedule_name") == name
            ]
            time.sleep(2)
        assert runs, f"no tick of {name} launched a run in 240 s"
        run = api.wait_for_run(runs[-1]["runId"], timeout=300)
        assert run["status"] == "SUCCESS", api.run_errors(run["runId"])
        assert api.run(killed)["status"] == "FAILURE"
    finally:
        assert api.stop_schedule(state["id"])["status"] == "STOPPED"
