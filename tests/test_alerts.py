"""Alert when a run fails: each location's `<p>_run_failure_sensor`, evaluated on a run that
really failed, POSTs its alert to a real HTTP receiver on loopback (or only logs it), with the
error's first line redacted and a link to the run."""

from __future__ import annotations

import json
import threading

import pytest
from dagster import (
    DagsterEventType,
    DagsterInstance,
    Failure,
    build_run_status_sensor_context,
    job,
    op,
)

from resources.http import AlertNotDelivered, AlertWebhookResource
from sandboxes.serving import serve_in_background
from schedules.alerts import run_failure_alert_sensor

SECRET = "s3cr3t-alert-token-value"


class Receiver:
    """A webhook receiver: keeps every JSON body it is sent, answers `status`."""

    def __init__(self, status: int = 200):
        self.status, self.bodies, self.lock = status, [], threading.Lock()

    def __call__(self, environ, start_response):
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(size)
        with self.lock:
            self.bodies.append((environ["REQUEST_METHOD"], environ.get("CONTENT_TYPE"), body))
        start_response(f"{self.status} X", [("Content-Type", "text/plain")])
        return [b"ok" if self.status < 400 else b"refused"]


@op
def fetch_the_day():
    raise Failure(
        description=f"the stats server refused token={SECRET}: check STATS_API_TOKEN\nsecond line"
    )


@job
def replay_mining_dataset_job():
    fetch_the_day()


def failed_run_context(monkeypatch, webhook: AlertWebhookResource, sensor_name: str):
    monkeypatch.setenv("STATS_API_TOKEN", SECRET)  # a secret this process was configured with
    instance = DagsterInstance.ephemeral()
    result = replay_mining_dataset_job.execute_in_process(
        instance=instance, raise_on_error=False, tags={"dagster/partition": "2026-11-10"}
    )
    assert not result.success
    (failure,) = instance.all_logs(result.run_id, of_type=DagsterEventType.RUN_FAILURE)
    return result.run_id, build_run_status_sensor_context(
        sensor_name=sensor_name,
        dagster_event=failure.dagster_event,
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(result.run_id),
        resources={"alert_webhook": webhook},
    ).for_run_failure()


def test_a_failed_run_is_posted_with_its_redacted_error_and_a_link(monkeypatch):
    sensor = run_failure_alert_sensor("replay_mining")
    receiver = Receiver()
    with serve_in_background(receiver) as server:
        webhook = AlertWebhookResource(url=f"{server.url}/hook", ui_url="http://dagster.example/")
        run_id, context = failed_run_context(monkeypatch, webhook, sensor.name)
        sensor(context)
    ((method, content_type, body),) = receiver.bodies
    assert method == "POST" and content_type.startswith("application/json")
    alert = json.loads(body)
    assert alert["run_id"] == run_id
    assert alert["job"] == "replay_mining_dataset_job"
    assert alert["location"] == "replay_mining"
    assert alert["partition"] == "2026-11-10"
    assert alert["run_url"] == f"http://dagster.example/runs/{run_id}"
    assert alert["error"] == "the stats server refused token=***: check STATS_API_TOKEN"
    assert SECRET not in body.decode()
    assert alert["text"].startswith(
        "Dagster run failed: replay_mining_dataset_job in replay_mining"
    )


def test_without_a_webhook_the_alert_is_only_logged(monkeypatch, capfd):
    sensor = run_failure_alert_sensor("replay_mining")
    _, context = failed_run_context(monkeypatch, AlertWebhookResource(), sensor.name)
    capfd.readouterr()  # the failed run's own log
    sensor(context)
    logged = capfd.readouterr().err
    assert "ALERT_WEBHOOK_URL is not set" in logged and "token=***" in logged
    assert SECRET not in logged


def test_a_refused_alert_fails_the_tick_saying_why(monkeypatch):
    sensor = run_failure_alert_sensor("replay_mining")
    with serve_in_background(Receiver(status=403)) as server:
        webhook = AlertWebhookResource(url=f"{server.url}/hook?token={SECRET}")
        _, context = failed_run_context(monkeypatch, webhook, sensor.name)
        with pytest.raises(AlertNotDelivered, match="answered 403") as refused:
            sensor(context)
    assert SECRET not in str(refused.value)
