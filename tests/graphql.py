"""The Dagster UI's own API, as the UI calls it: GraphQL over HTTP against a running webserver.

A thin client for the tests that drive the whole workspace the way a user's browser does:
launch a partition backfill (`launchPartitionBackfill`), a run from the Launchpad (`launchRun`),
start a schedule, and wait for what the daemon makes of them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

FINISHED_RUN = {"SUCCESS", "FAILURE", "CANCELED"}
FINISHED_BACKFILL = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}

LOCATIONS = """
query {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on PythonError { message }
        }
      }
    }
  }
}
"""

ASSET_NODES = """
query {
  assetNodes {
    assetKey { path }
    groupName
    isPartitioned
    isObservable
    isMaterializable
    partitionDefinition { name description }
    repository { name location { name } }
    dependencyKeys { path }
  }
}
"""

LAUNCH_BACKFILL = """
mutation ($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack }
    ... on InvalidStepError { invalidStepKey }
    ... on InvalidOutputError { stepKey invalidOutputName }
    ... on UnauthorizedError { message }
    ... on PartitionSetNotFoundError { message }
    ... on RunConflict { message }
    ... on InvalidSubsetError { message }
  }
}
"""

BACKFILL = """
query ($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill {
      id
      status
      numPartitions
      error { message }
      runs { runId status tags { key value } }
    }
    ... on PythonError { message }
  }
}
"""

LAUNCH_RUN = """
mutation ($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message stack }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on InvalidSubsetError { message }
    ... on PipelineNotFoundError { message }
    ... on RunConflict { message }
    ... on UnauthorizedError { message }
    ... on PresetNotFoundError { message }
    ... on ConflictingExecutionParamsError { message }
    ... on NoModeProvidedError { message }
  }
}
"""

RUN = """
query ($id: ID!) {
  runOrError(runId: $id) {
    __typename
    ... on Run {
      runId
      status
      jobName
      tags { key value }
      assetMaterializations { assetKey { path } partition }
    }
    ... on PythonError { message }
  }
}
"""

RUNS = """
query ($filter: RunsFilter) {
  runsOrError(filter: $filter) {
    __typename
    ... on Runs { results { runId status jobName tags { key value } } }
    ... on PythonError { message }
  }
}
"""

START_SCHEDULE = """
mutation ($selector: ScheduleSelector!) {
  startSchedule(scheduleSelector: $selector) {
    __typename
    ... on ScheduleStateResult { scheduleState { id status } }
    ... on PythonError { message }
    ... on ScheduleNotFoundError { message }
    ... on UnauthorizedError { message }
  }
}
"""

STOP_SCHEDULE = """
mutation ($id: String!) {
  stopRunningSchedule(id: $id) {
    __typename
    ... on ScheduleStateResult { scheduleState { id status } }
    ... on PythonError { message }
  }
}
"""

RUN_LOGS = """
query ($id: ID!) {
  logsForRun(runId: $id) {
    __typename
    ... on EventConnection {
      events {
        __typename
        ... on MessageEvent { message level }
        ... on EngineEvent { error { message } }
      }
    }
  }
}
"""

CONCURRENCY_LIMIT = """
query ($key: String!) {
  instance { concurrencyLimit(concurrencyKey: $key) { slotCount activeRunIds pendingStepRunIds } }
}
"""


class GraphQLError(AssertionError):
    """The API answered with an error a test should show whole."""


@dataclass
class DagsterGraphQL:
    url: str  # the webserver's base URL, e.g. http://127.0.0.1:3000

    def query(self, query: str, variables: dict | None = None) -> dict:
        answer = requests.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables or {}}, timeout=120
        )
        if answer.status_code == 400:  # a query the schema refuses: show why
            raise GraphQLError(answer.text)
        answer.raise_for_status()
        body = answer.json()
        if body.get("errors"):
            raise GraphQLError(body["errors"])
        return body["data"]

    # --- the workspace --------------------------------------------------------------------------

    def locations(self) -> list[dict]:
        workspace = self.query(LOCATIONS)["workspaceOrError"]
        if workspace["__typename"] != "Workspace":
            raise GraphQLError(workspace)
        return workspace["locationEntries"]

    def asset_nodes(self) -> list[dict]:
        return self.query(ASSET_NODES)["assetNodes"]

    # --- backfills ------------------------------------------------------------------------------

    def launch_asset_backfill(self, asset_paths: list[list[str]], partitions: list[str]) -> str:
        """What the UI sends for Materialize → partitions of the selected assets."""
        result = self.query(
            LAUNCH_BACKFILL,
            {
                "params": {
                    "assetSelection": [{"path": path} for path in asset_paths],
                    "partitionNames": partitions,
                    "fromFailure": False,
                    "tags": [],
                }
            },
        )["launchPartitionBackfill"]
        if result["__typename"] != "LaunchBackfillSuccess":
            raise GraphQLError(result)
        return result["backfillId"]

    def backfill(self, backfill_id: str) -> dict:
        result = self.query(BACKFILL, {"id": backfill_id})["partitionBackfillOrError"]
        if result["__typename"] != "PartitionBackfill":
            raise GraphQLError(result)
        return result

    def wait_for_backfill(self, backfill_id: str, timeout: float = 300) -> dict:
        """The backfill once it and every run it launched have finished."""
        deadline = time.monotonic() + timeout
        while True:
            backfill = self.backfill(backfill_id)
            runs_done = all(r["status"] in FINISHED_RUN for r in backfill["runs"])
            if backfill["status"] in FINISHED_BACKFILL and runs_done:
                return backfill
            if time.monotonic() > deadline:
                raise TimeoutError(f"backfill {backfill_id} still {backfill}")
            time.sleep(1)

    # --- runs -----------------------------------------------------------------------------------

    def launch_run(
        self,
        location: str,
        job: str,
        *,
        asset_paths: list[list[str]] | None = None,
        tags: dict[str, str] | None = None,
        run_config: dict | None = None,
    ) -> str:
        """The Launchpad's call (and the asset page's Materialize for one partition)."""
        selector = {
            "repositoryLocationName": location,
            "repositoryName": "__repository__",
            "pipelineName": job,
        }
        if asset_paths is not None:
            selector["assetSelection"] = [{"path": path} for path in asset_paths]
        result = self.query(
            LAUNCH_RUN,
            {
                "params": {
                    "selector": selector,
                    "runConfigData": run_config or {},
                    "mode": "default",
                    "executionMetadata": {
                        "tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]
                    },
                }
            },
        )["launchRun"]
        if result["__typename"] != "LaunchRunSuccess":
            raise GraphQLError(result)
        return result["run"]["runId"]

    def run(self, run_id: str) -> dict:
        result = self.query(RUN, {"id": run_id})["runOrError"]
        if result["__typename"] != "Run":
            raise GraphQLError(result)
        return result

    def wait_for_run(self, run_id: str, timeout: float = 300) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            run = self.run(run_id)
            if run["status"] in FINISHED_RUN:
                return run
            if time.monotonic() > deadline:
                raise TimeoutError(f"run {run_id} still {run['status']}")
            time.sleep(1)

    def runs(self, **filters) -> list[dict]:
        result = self.query(RUNS, {"filter": filters})["runsOrError"]
        if result["__typename"] != "Runs":
            raise GraphQLError(result)
        return result["results"]

    def run_errors(self, run_id: str) -> list[str]:
        """The run's ERROR-level log messages: what a failed run's page shows."""
        return [e["message"] for e in self._run_events(run_id) if e.get("level") == "ERROR"]

    def run_messages(self, run_id: str) -> list[str]:
        """Every message of the run's log, with the error an engine event carries after it."""
        texts = []
        for event in self._run_events(run_id):
            texts.append(event.get("message") or "")
            if event.get("error"):
                texts.append(event["error"]["message"])
        return texts

    def run_worker_pid(self, run_id: str) -> int | None:
        """The pid of the run's worker process, from its "Started process for run" event."""
        for text in self.run_messages(run_id):
            if match := re.search(r"Started process for run \(pid: (\d+)\)", text):
                return int(match.group(1))
        return None

    def _run_events(self, run_id: str) -> list[dict]:
        return self.query(RUN_LOGS, {"id": run_id})["logsForRun"].get("events", [])

    def concurrency(self, key: str) -> dict:
        """The UI's Concurrency page for one pool: {slotCount, activeRunIds, pendingStepRunIds}."""
        return self.query(CONCURRENCY_LIMIT, {"key": key})["instance"]["concurrencyLimit"]

    # --- schedules ------------------------------------------------------------------------------

    def start_schedule(self, location: str, name: str) -> dict:
        """Automation → the schedule's toggle: its instigation state ({id, status})."""
        selector = {
            "repositoryLocationName": location,
            "repositoryName": "__repository__",
            "scheduleName": name,
        }
        result = self.query(START_SCHEDULE, {"selector": selector})["startSchedule"]
        if result["__typename"] != "ScheduleStateResult":
            raise GraphQLError(result)
        return result["scheduleState"]

    def stop_schedule(self, state_id: str) -> dict:
        result = self.query(STOP_SCHEDULE, {"id": state_id})["stopRunningSchedule"]
        if result["__typename"] != "ScheduleStateResult":
            raise GraphQLError(result)
        return result["scheduleState"]


def tags_of(run: dict) -> dict[str, str]:
    return {t["key"]: t["value"] for t in run["tags"]}


def wait_until_loaded(
    api: DagsterGraphQL, timeout: float = 300, gone: Callable[[], str | None] = lambda: None
) -> list[dict]:
    """Wait until every code location is LOADED (a location that failed to load raises);
    `gone()` names why the server behind `api` can no longer answer, if it cannot."""
    deadline = time.monotonic() + timeout
    entries: list[dict] = []
    while time.monotonic() < deadline:
        if reason := gone():
            raise RuntimeError(reason)
        try:
            entries = api.locations()
        except (requests.RequestException, GraphQLError):  # not listening or not ready yet
            time.sleep(1)
            continue
        if entries and all(e["loadStatus"] == "LOADED" for e in entries):
            errors = [e for e in entries if e["locationOrLoadError"]["__typename"] == "PythonError"]
            if errors:
                raise RuntimeError(f"code locations failed to load: {errors}")
            return entries
        time.sleep(1)
    raise TimeoutError(f"code locations not loaded in {timeout} s: {entries}")
