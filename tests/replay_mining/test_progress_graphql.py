"""Progress as it happens (issue 20), through the UI's own API: a 3-day range run launched from the
CLI is held in the middle of its download stage (the sandbox's `Gate` holds the second day's
replays), and the webserver already shows the first day of that stage materialised, with its own
metadata, while the run is in progress."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from deploy.local import free_port
from tests.graphql import DagsterGraphQL, wait_until_loaded
from tests.replay_mining.test_schedule_and_cli import MATERIALIZE, ROOT, cli_environment
from tests.stack import Gate

DAYS = ["2026-11-08", "2026-11-09", "2026-11-10"]
WEBSERVER = str(Path(sys.executable).with_name("dagster-webserver"))

PARTITIONS = """
query ($key: AssetKeyInput!, $partitions: [String!]) {
  assetNodeOrError(assetKey: $key) {
    __typename
    ... on AssetNode {
      assetMaterializations(partitions: $partitions) {
        partition
        runId
        metadataEntries {
          label
          ... on IntMetadataEntry { intValue }
          ... on PathMetadataEntry { path }
        }
      }
      assetPartitionStatuses {
        ... on TimePartitionStatuses { ranges { status startKey endKey } }
      }
    }
  }
}
"""


@contextlib.contextmanager
def webserver(env: dict) -> Iterator[DagsterGraphQL]:
    """`dagster-webserver` on the replay_mining code location and the test's instance."""
    port = free_port()
    log = Path(env["DAGSTER_HOME"]) / "webserver.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [WEBSERVER, "-m", "pipelines.replay_mining", "-h", "127.0.0.1", "-p", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    api = DagsterGraphQL(f"http://127.0.0.1:{port}")
    try:
        wait_until_loaded(
            api,
            gone=lambda: process.poll() is not None and f"webserver exited: {log.read_text()}",
        )
        yield api
    finally:
        process.terminate()
        process.wait(60)


def partitions(api: DagsterGraphQL, stage: str) -> tuple[dict[str, dict], dict[str, str]]:
    """Each day's latest materialization (its run and metadata) and each day's status, as the
    asset's Partitions page reads them."""
    node = api.query(PARTITIONS, {"key": {"path": ["replay_mining", stage]}, "partitions": DAYS})[
        "assetNodeOrError"
    ]
    latest: dict[str, dict] = {}
    for event in node["assetMaterializations"]:  # newest first
        entries = {e["label"]: e.get("intValue", e.get("path")) for e in event["metadataEntries"]}
        latest.setdefault(event["partition"], {"run": event["runId"], **entries})
    status = {}
    for span in node["assetPartitionStatuses"]["ranges"]:
        for day in DAYS:
            if span["startKey"] <= day <= span["endKey"]:
                status[day] = span["status"]
    return latest, status


@pytest.mark.slow  # a webserver watching a range run, ~17 s
def test_a_range_run_shows_each_day_done_as_it_is_published(tmp_path):
    gates: list[Gate] = []

    def gated(app) -> Gate:
        gates.append(Gate(app))
        return gates[0]

    with cli_environment(tmp_path, wrap=gated) as env, webserver(env) as api:
        with gates[0].holding(f"/replays/{DAYS[1]}/") as arrived:
            run = subprocess.Popen(
                [*MATERIALIZE, "--partition-range", f"{DAYS[0]}...{DAYS[-1]}"],
                env=env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            try:
                assert arrived.wait(240), "the run never asked for the second day's replays"
                [in_progress] = api.runs()
                assert in_progress["status"] == "STARTED"
                raw, raw_status = partitions(api, "raw_replays")
                dataset, _ = partitions(api, "replay_dataset")
            except BaseException:
                run.kill()
                raise
        # Held in the middle of the download stage: its first day is recorded, as its own.
        assert list(raw) == [DAYS[0]] and raw[DAYS[0]]["run"] == in_progress["runId"]
        assert raw[DAYS[0]]["path"].endswith(f"raw/replays/date={DAYS[0]}")
        assert raw[DAYS[0]]["replays_downloaded"] == raw[DAYS[0]]["replays"] > 0
        assert raw_status[DAYS[0]] == "MATERIALIZED"
        assert {raw_status.get(day) for day in DAYS[1:]} == {"MATERIALIZING"}
        assert dataset == {}  # the last stage had not started
        output = run.communicate(timeout=300)[0]
        assert run.returncode == 0, output[-3000:]
        dataset, status = partitions(api, "replay_dataset")
    assert status == dict.fromkeys(DAYS, "MATERIALIZED")
    for day in DAYS:  # each day its own file and its own count, which the file holds
        path = tmp_path / "lake" / f"datasets/replays/replays_{day.replace('-', '')}.parquet"
        assert dataset[day]["path"] == str(path)
        assert dataset[day]["dagster/row_count"] == pq.read_metadata(path).num_rows
    assert len({dataset[day]["dagster/row_count"] for day in DAYS}) == 3
