"""Where a job's steps run: in the run's own process (every pipeline's default) or, for the heavy
jobs, on Celery workers on any number of machines (`DAGSTER_EXECUTOR=celery`, README "Deploying";
the watched Celery executor is resources/instance/celery_executor.py, imported only then).

Both record the run's own process and keep a heartbeat on the run while it executes
(resources/instance/run_worker.py), so run monitoring can tell a live `dagster asset
materialize` run from a killed one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from dagster import ExecutorDefinition, executor, in_process_executor
from dagster._core.executor.in_process import InProcessExecutor

from resources.instance.run_worker import RecordsRunWorker

EXECUTOR_VARIABLE = "DAGSTER_EXECUTOR"


class MonitoredInProcessExecutor(RecordsRunWorker, InProcessExecutor):
    def execute_steps(self, plan_context, execution_plan):
        return InProcessExecutor.execute(self, plan_context, execution_plan)


@executor(name="in_process", config_schema=in_process_executor.config_schema)
def monitored_in_process_executor(init_context) -> MonitoredInProcessExecutor:
    """Dagster's in-process executor (same config), with the run's process recorded."""
    base = in_process_executor.executor_creation_fn(init_context)
    return MonitoredInProcessExecutor(
        retries=base.retries,
        marker_to_close=base.marker_to_close,
        step_dependency_config=base.step_dependency_config,
    )


def heavy_job_executor(env: Mapping[str, str] = os.environ) -> ExecutorDefinition:
    """The executor of the heavy pipelines' jobs, chosen by `DAGSTER_EXECUTOR` when the code
    location loads: unset or `in_process` for one process per run, `celery` for Celery workers."""
    choice = env.get(EXECUTOR_VARIABLE, "").strip() or "in_process"
    if choice == "in_process":
        return monitored_in_process_executor
    if choice == "celery":
        from resources.instance.celery_executor import (
            celery_executor_config,
            watched_celery_executor,
        )

        return watched_celery_executor.configured(
            celery_executor_config(env), name="watched_celery"
        )
    raise ValueError(f"{EXECUTOR_VARIABLE}={choice!r} is not an executor: set it to `celery` "
                     "(steps on Celery workers) or `in_process`, or unset it.")  # fmt: skip
