"""Which process runs a run, recorded where run monitoring can read it, for every run.

Dagster records the worker of a run its launcher started ("Started process for run (pid: N)"),
but not the process of a run started outside a launcher: `dagster asset materialize`, `dagster
job execute`. Run monitoring asked our launcher about such a run, got "unknown", marked the live
run FAILED within one poll and then freed its pool slots while it still wrote (issue 22). So the
project's executors record the run's own process when execution starts (host, pid, the process's
start time) and keep a heartbeat on the run while it executes; `worker_health` answers from that:

- on this machine: alive while the process lives (a killed run is seen at the next poll);
- on another machine (a CLI run inside another container or host): alive while its heartbeat is
  fresh, so a killed remote run is failed after HEARTBEAT_STALE_SECONDS.

A run whose process is recorded nowhere (`materialize(...)` in a notebook uses Dagster's own
in-process executor) is never failed by monitoring: it is bounded by `max_runtime_seconds`.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import psutil
from dagster import DagsterEventType, DagsterInstance, MetadataValue
from dagster._core.events import DagsterEvent, EngineEventData
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus

RECORDED = "Run worker recorded"  # the engine event's message starts with this
HEARTBEAT_TAG = "asset-graph/worker_heartbeat"
HEARTBEAT_SECONDS = 30.0
# Three missed heartbeats: a remote run worker is gone (killed, out of memory, machine down).
HEARTBEAT_STALE_SECONDS = 3 * HEARTBEAT_SECONDS + 10
# A process started this long after the run's worker event is another process that got the
# dead worker's PID.
PID_REUSE_SLACK_SECONDS = 2.0


@dataclass(frozen=True)
class RunWorker:
    pid: int
    host: str
    recorded_at: float  # when the worker event was written (the process started before it)


def this_host() -> str:
    return socket.gethostname()


def run_worker_event(plan_context) -> DagsterEvent:
    """The engine event an executor yields first: this process runs the run."""
    pid, host = os.getpid(), this_host()
    return DagsterEvent.engine_event(
        plan_context,
        f"{RECORDED}: process {pid} on {host}",
        event_specific_data=EngineEventData(
            metadata={"pid": MetadataValue.int(pid), "host": MetadataValue.text(host)}
        ),
    )


@contextlib.contextmanager
def heartbeat(instance: DagsterInstance, run_id: str) -> Iterator[None]:
    """Stamp the run's heartbeat tag now and every HEARTBEAT_SECONDS until the block ends."""
    stop = threading.Event()

    def beat() -> None:
        while True:
            with contextlib.suppress(Exception):  # a storage hiccup must not fail the run
                instance.add_run_tags(run_id, {HEARTBEAT_TAG: f"{time.time():.0f}"})
            if stop.wait(HEARTBEAT_SECONDS):
                return

    thread = threading.Thread(target=beat, name=f"heartbeat-{run_id[:8]}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def recorded_run_worker(instance: DagsterInstance, run_id: str) -> RunWorker | None:
    """The worker an executor of this project recorded for the run, if any."""
    for record in reversed(instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT)):
        data = record.dagster_event.engine_event_data if record.dagster_event else None
        if not (record.message or "").startswith(RECORDED) or not (data and data.metadata):
            continue
        return RunWorker(
            pid=int(data.metadata["pid"].value),
            host=str(data.metadata["host"].value),
            recorded_at=record.timestamp,
        )
    return None


def worker_health(worker: RunWorker, tags: dict[str, str], now: float) -> CheckRunHealthResult:
    if worker.host == this_host():
        return process_status(worker.pid, worker.recorded_at)
    beat = tags.get(HEARTBEAT_TAG)
    age = now - float(beat) if beat else now - worker.recorded_at
    if age <= HEARTBEAT_STALE_SECONDS:
        return CheckRunHealthResult(WorkerStatus.RUNNING)
    return CheckRunHealthResult(
        WorkerStatus.FAILED,
        f"run worker process {worker.pid} on {worker.host} sent no heartbeat for {age:.0f} s "
        "(killed, out of memory, or its machine is gone)",
    )


def process_status(pid: int, started_by: float) -> CheckRunHealthResult:
    """RUNNING while the process `pid`, started no later than `started_by`, lives; else FAILED."""
    try:
        process = psutil.Process(pid)
        alive = process.status() != psutil.STATUS_ZOMBIE
        reused = process.create_time() > started_by + PID_REUSE_SLACK_SECONDS
    except psutil.NoSuchProcess:
        alive, reused = False, False
    if alive and not reused:
        return CheckRunHealthResult(WorkerStatus.RUNNING)
    return CheckRunHealthResult(
        WorkerStatus.FAILED, f"run worker process {pid} is gone (killed or crashed)"
    )


class RecordsRunWorker:
    """Executor mixin: the run's process is recorded, and heartbeats while `execute_steps` runs."""

    def execute(self, plan_context, execution_plan):
        yield run_worker_event(plan_context)
        with heartbeat(plan_context.instance, plan_context.run_id):
            yield from self.execute_steps(plan_context, execution_plan)

    def execute_steps(self, plan_context, execution_plan):
        raise NotImplementedError
