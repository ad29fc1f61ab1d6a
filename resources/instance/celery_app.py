"""The Celery app a worker runs: `celery -A resources.instance.celery_app worker -n celery-1@%h`.

dagster-celery's app and step task, with the broker, result backend and settings the executor of
resources/instance/celery_executor.py uses (from the same variables), so runs and workers always agree. A worker
imports no code location: each step names its job's module, which the worker loads from this
image or checkout.
"""

import os

from dagster._core.execution.retries import RetryMode
from dagster_celery.executor import CeleryExecutor
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

from resources.instance.celery_executor import BACKEND_VARIABLE, BROKER_VARIABLE, CELERY_SETTINGS

_broker = os.environ.get(BROKER_VARIABLE)
if not _broker:
    raise SystemExit(
        f"A Celery worker needs {BROKER_VARIABLE}, the broker the runs send their steps to "
        "(e.g. redis://localhost:6379/0), and the same DAGSTER_PG_URL, LAKE_ROOT and pipeline "
        'settings as the code servers (README "Deploying").'
    )

app = make_app(
    CeleryExecutor(
        retries=RetryMode(RetryMode.DISABLED),
        broker=_broker,
        backend=os.environ.get(BACKEND_VARIABLE) or _broker,
        config_source=dict(CELERY_SETTINGS),
    ).app_args()
)
execute_plan = create_task(app)
