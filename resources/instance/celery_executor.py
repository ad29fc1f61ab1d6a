"""dagster-celery's executor, watched: before the first step it checks that the broker answers
and that a worker listens (otherwise the run fails at once and says what to start), and a step
whose worker stops answering (killed, out of memory, machine gone) fails the run after
`CELERY_WORKER_LOST_SECONDS` instead of leaving it "running" forever. Chosen by
`DAGSTER_EXECUTOR=celery` (resources/instance/executors.py).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping

from dagster import Field, executor, multiple_process_executor_requirements
from dagster._core.errors import DagsterError
from dagster._core.events import EngineEventData
from dagster._core.execution.retries import RetryMode
from dagster._utils.error import serializable_error_info_from_exc_info
from dagster_celery.core_execution_loop import core_celery_execution_loop
from dagster_celery.executor import CELERY_CONFIG, CeleryExecutor, _submit_task
from dagster_celery.make_app import make_app

from resources.env import load_time_int
from resources.instance.run_worker import RecordsRunWorker
from resources.redaction import first_line, redact, redacted_cause

BROKER_VARIABLE = "CELERY_BROKER_URL"
BACKEND_VARIABLE = "CELERY_RESULT_BACKEND"
LOST_VARIABLE = "CELERY_WORKER_LOST_SECONDS"
DEFAULT_LOST_SECONDS = 30
# What both sides of the queue need alike (the executor here, the workers in celery_app.py):
# a started task records its worker's hostname and pid; a worker takes a step only when it has
# a free process (no step waits reserved behind a long one while another worker is idle).
CELERY_SETTINGS = {
    "task_track_started": True,
    "worker_prefetch_multiplier": 1,
    "worker_disable_prefetch": True,
}
CHECK_SECONDS = 5  # how often a running step's worker is pinged
PING_SECONDS = 1.0
REEXECUTE = (
    "re-execute the run from failure (UI: Re-execute > From failure) or materialize its "
    "partitions again"
)


class CeleryUnavailable(DagsterError):
    """The broker or the workers cannot take the run's steps; the message says what to start."""


class CeleryStepLost(DagsterError):
    """A step's worker died or stopped answering while running it."""


def celery_executor_config(env: Mapping[str, str] = os.environ) -> dict:
    """The executor's config: broker and result backend by variable name (read where the run
    runs, never written into a definition), the settings the workers share."""
    if not env.get(BROKER_VARIABLE):
        raise ValueError(
            f"DAGSTER_EXECUTOR=celery needs {BROKER_VARIABLE}, the broker the Celery workers "
            "listen on (e.g. redis://localhost:6379/0; bin/deploy-local --celery-workers 2 starts "
            f"Redis and workers). Set it, or unset DAGSTER_EXECUTOR to run steps in-process."
        )
    backend = BACKEND_VARIABLE if env.get(BACKEND_VARIABLE) else BROKER_VARIABLE
    return {
        "broker": {"env": BROKER_VARIABLE},
        "backend": {"env": backend},
        "config_source": dict(CELERY_SETTINGS),
        "worker_lost_after_seconds": load_time_int(
            LOST_VARIABLE, DEFAULT_LOST_SECONDS, minimum=1, env=env
        ),
    }


def check_celery(app, broker: str, wait_for_workers_seconds: float) -> None:
    """Fail before the first step when nothing could run it: the broker unreachable, no worker."""
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=2, interval_start=0.2, interval_step=0.5)
    except Exception as exc:
        raise CeleryUnavailable(
            f"Cannot reach the Celery broker at {redact(broker)} ({first_line(exc)}). Start it "
            f"(bin/deploy-local --celery-workers 2 starts Redis and two workers) or correct "
            f"{BROKER_VARIABLE}; or unset DAGSTER_EXECUTOR to run the steps in-process. "
            "Nothing was written."
        ) from redacted_cause(exc)
    deadline = time.monotonic() + wait_for_workers_seconds
    while not app.control.ping(timeout=PING_SECONDS):
        if time.monotonic() > deadline:
            raise CeleryUnavailable(
                f"No Celery worker answers on the broker at {redact(broker)} after "
                f"{wait_for_workers_seconds:.0f} s. Start one with the same {BROKER_VARIABLE} "
                '(`celery -A resources.instance.celery_app worker`, README "Deploying"), or unset '
                f"DAGSTER_EXECUTOR to run the steps in-process. Nothing was written."
            )


class WatchedResult:
    """A step's Celery result that also becomes ready, as a failure, when its worker is gone."""

    def __init__(self, result, app, step_key: str, plan_context, lost_after_seconds: float):
        self._result, self._app, self._step_key = result, app, step_key
        self._context, self._lost_after = plan_context, lost_after_seconds
        self._next_check = time.monotonic() + CHECK_SECONDS
        self._silent_since: float | None = None
        self._worker: str | None = None
        self._lost: str | None = None

    def _worker_hostname(self) -> str | None:
        if self._worker is None and self._result.state == "STARTED":
            info = self._result.info
            self._worker = info.get("hostname") if isinstance(info, dict) else None
        return self._worker

    def ready(self) -> bool:
        if self._lost or self._result.ready():
            return True
        now = time.monotonic()
        if now < self._next_check:
            return False
        self._next_check = now + CHECK_SECONDS
        worker = self._worker_hostname()  # None while queued: then any worker will do
        answered = self._app.control.ping(
            destination=[worker] if worker else None, timeout=PING_SECONDS
        )
        # A worker restarted under the same name (compose, Kubernetes, bin/deploy-local) answers
        # for the one that died with the step: it counts only while it still runs the step.
        restarted = bool(answered and worker and not self._runs_the_step(worker))
        if answered and not restarted:
            self._silent_since = None
            return False
        self._silent_since = self._silent_since or now
        if now - self._silent_since >= self._lost_after:
            if restarted:
                self._lost = (f"Celery worker {worker} no longer runs step {self._step_key} for "
                              f"{self._lost_after:.0f} s: it was restarted, and the step died "
                              "with its old process")  # fmt: skip
            else:
                who = f"Celery worker {worker} has" if worker else "No Celery worker has"
                doing = "while running" if worker else "to take"
                self._lost = (f"{who} not answered for {self._lost_after:.0f} s {doing} step "
                              f"{self._step_key}")  # fmt: skip
        return bool(self._lost)

    def _runs_the_step(self, worker: str) -> bool:
        active = self._app.control.inspect(destination=[worker], timeout=PING_SECONDS).active()
        running = {task.get("id") for task in (active or {}).get(worker, [])}
        return self._result.id in running or self._result.ready()

    def get(self):
        if self._lost:
            self._fail(self._lost + " (killed, out of memory, or its machine is gone)", None)
        try:
            return self._result.get()
        except Exception as exc:
            # a pool process killed under a living worker (by name: the result backend may rebuild
            # billiard's class as a look-alike)
            if type(exc).__name__ != "WorkerLostError":
                raise
            self._fail(f"The Celery worker process running step {self._step_key} died: "
                       f"{first_line(exc)}", exc)  # fmt: skip

    def _fail(self, what: str, cause: BaseException | None):
        message = (
            f"{what}. The step did not finish and published nothing; its partitions stay as they were. "
            f"Look at the worker's log for why it stopped, then {REEXECUTE}."
        )
        context = self._context
        storage = context.instance.event_log_storage
        if storage.supports_global_concurrency_limits:
            # the dead step cannot free its partitions' slots: a re-run would wait for them
            storage.free_concurrency_slot_for_step(context.run_id, self._step_key)
        try:
            raise CeleryStepLost(message) from (redacted_cause(cause) if cause else None)
        except CeleryStepLost as lost:
            context.instance.report_engine_event(
                message,
                context.dagster_run,
                EngineEventData.engine_error(
                    serializable_error_info_from_exc_info((type(lost), lost, lost.__traceback__))
                ),  # fmt: skip
                step_key=self._step_key,
            )
            raise

    def revoke(self):
        self._result.revoke()


class WatchedCeleryExecutor(RecordsRunWorker, CeleryExecutor):
    def __init__(self, *args, worker_lost_after_seconds: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.worker_lost_after_seconds = worker_lost_after_seconds

    def execute_steps(self, plan_context, execution_plan):
        lost_after = self.worker_lost_after_seconds
        if execution_plan.step_keys_to_execute:
            check_celery(make_app(self.app_args()), self.broker, lost_after)

        def submit(app, context, step, queue, priority, known_state):
            result = _submit_task(app, context, step, queue, priority, known_state)
            return WatchedResult(result, app, step.key, context, lost_after)

        yield from core_celery_execution_loop(
            plan_context, execution_plan, step_execution_fn=submit
        )


@executor(
    name="watched_celery",
    config_schema={
        **CELERY_CONFIG,
        "worker_lost_after_seconds": Field(int, default_value=DEFAULT_LOST_SECONDS),
    },
    requirements=multiple_process_executor_requirements(),
)
def watched_celery_executor(init_context) -> WatchedCeleryExecutor:
    """dagster-celery's executor, failing fast when nothing can run a step (module docstring)."""
    config = init_context.executor_config
    return WatchedCeleryExecutor(
        broker=config.get("broker"),
        backend=config.get("backend"),
        config_source=config.get("config_source"),
        include=config.get("include"),
        retries=RetryMode.from_config(config["retries"]),
        worker_lost_after_seconds=config["worker_lost_after_seconds"],
    )
