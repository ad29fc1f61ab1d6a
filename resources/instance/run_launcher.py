"""The run launcher of both instances: Dagster's default one, plus a worker health check.

`DefaultRunLauncher` cannot tell run monitoring whether a run's process is alive, so a run whose
worker was killed together with its code server stayed STARTED for good (issue 13). This one
answers from the run's own record: the code server that launched it says whether it still runs
it; when that server is gone too and ran on this machine, the worker's PID (from the run's
"Started process for run (pid: N)" event) is looked up, and a dead or reused PID means the worker
is gone. Runs not launched by a launcher (`dagster asset materialize`, `dagster job execute`)
are answered from the process the project's executors record for every run
(resources/instance/run_worker.py): alive while that process lives, or, on another machine, while
its heartbeat is fresh. A run whose process is recorded nowhere is left RUNNING (bounded by
`run_monitoring: max_runtime_seconds`): monitoring fails a run only when its worker is known dead.

A run that cannot be launched because its code server is down fails (or, with the run queue's
`max_user_code_failure_retries`, goes back in the queue) with a message that names the location,
the server's address and how to restart it, instead of Dagster's bare gRPC error.
"""

from __future__ import annotations

import json
import time

from dagster import DagsterEventType, DagsterInstance, DagsterRun, DefaultRunLauncher
from dagster._core.errors import DagsterCodeLocationLoadError, DagsterUserCodeUnreachableError
from dagster._core.launcher import CheckRunHealthResult, LaunchRunContext, WorkerStatus
from dagster._core.remote_origin import GrpcServerCodeLocationOrigin
from dagster._core.storage.tags import GRPC_INFO_TAG
from dagster._grpc.types import CanCancelExecutionRequest, CanCancelExecutionResult
from dagster._serdes import deserialize_value

from resources.instance.run_worker import process_status, recorded_run_worker, worker_health
from resources.redaction import first_line

LOCAL_HOSTS = {None, "", "localhost", "127.0.0.1", "::1"}


class HealthCheckingRunLauncher(DefaultRunLauncher):
    def launch_run(self, context: LaunchRunContext) -> None:
        try:
            super().launch_run(context)
        except (DagsterUserCodeUnreachableError, DagsterCodeLocationLoadError) as exc:
            origin = context.dagster_run.remote_job_origin
            location = origin.location_name if origin else "?"
            entry = context.workspace.get_location_entry(location) if context.workspace else None
            # the same type: the run queue re-queues these (max_user_code_failure_retries)
            raise DagsterUserCodeUnreachableError(
                code_server_down_message(location, entry.origin if entry else None, exc)
            ) from exc

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        started = run_worker_started(self._instance, run.run_id)
        if started is None:  # not launched by a launcher: a CLI run, or a notebook's
            worker = recorded_run_worker(self._instance, run.run_id)
            if worker is None:
                return CheckRunHealthResult(
                    WorkerStatus.RUNNING,
                    "no run worker recorded (not started by this project's executors): bounded "
                    "by run_monitoring max_runtime_seconds",
                )
            return worker_health(worker, run.tags, time.time())
        pid, started_at = started
        answer = self._ask_code_server(run)
        if answer is not None:
            return answer
        grpc_info = json.loads(run.tags.get(GRPC_INFO_TAG) or "{}")
        if grpc_info.get("host") not in LOCAL_HOSTS and not grpc_info.get("socket"):
            return CheckRunHealthResult(
                WorkerStatus.UNKNOWN, f"code server {grpc_info.get('host')} unreachable"
            )
        return process_status(pid, started_at)

    def _ask_code_server(self, run: DagsterRun) -> CheckRunHealthResult | None:
        """RUNNING or FAILED as the launching code server sees it; None when it cannot answer."""
        client = self._get_grpc_client_for_termination(run.run_id)
        if client is None:
            return None
        try:
            answer = deserialize_value(
                client.can_cancel_execution(CanCancelExecutionRequest(run_id=run.run_id), 10),
                CanCancelExecutionResult,
            )
        except Exception:  # the server is gone (killed, restarted on another port)
            return None
        if answer.can_cancel:
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        return CheckRunHealthResult(
            WorkerStatus.FAILED, "the code server that launched the run no longer runs it"
        )


def code_server_service(location: str) -> str:
    """The location's code server in deploy/compose.yaml (and its Helm user deployment)."""
    return "code-" + location.replace("_", "-")


def code_server_down_message(location: str, origin: object, exc: BaseException) -> str:
    """Which location, where its server should be, what it said, and how to restart it."""
    where = ""
    if isinstance(origin, GrpcServerCodeLocationOrigin):
        where = f" at {origin.host}:{origin.port}" if origin.port else f" at {origin.socket}"
    reason = first_line(exc)
    service = code_server_service(location)
    return (
        f"Cannot launch the run: the code server of location {location!r}{where} cannot be "
        f"reached ({reason}). Restart it: bin/deploy-local restarts its code servers itself; "
        f"docker compose -f deploy/compose.yaml restart {service}; on Kubernetes the location's "
        "user deployment restarts its pod. Queued runs of the location are retried while it "
        "comes back, then fail (README, Deploying: faults)."
    )


def run_worker_started(instance: DagsterInstance, run_id: str) -> tuple[int, float] | None:
    """(pid, when) of the run's worker process, from its "Started process for run" event."""
    for record in reversed(instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT)):
        data = record.dagster_event.engine_event_data if record.dagster_event else None
        pid = data.metadata.get("pid") if data and data.metadata else None
        if pid is not None and "Started process for run" in (record.message or ""):
            return int(pid.value), record.timestamp
    return None
