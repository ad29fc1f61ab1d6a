"""The run-failure alert every code location has: `<p>_run_failure_sensor`, added by each
`schedules/<p>.py` to its `sensors`.

When a run of the location fails, the sensor POSTs one JSON alert to `ALERT_WEBHOOK_URL` (the
`alert_webhook` resource) and logs it otherwise. The alert names the run, its job and location,
the error's first line (redacted: no key or password leaves in an alert) and, with
`DAGSTER_UI_URL`, links to the run. `text` is a one-line summary, which Slack and Teams incoming
webhooks show as the message. Like every sensor it ships stopped.
"""

from __future__ import annotations

from dagster import RunFailureSensorContext, SensorDefinition, run_failure_sensor

from resources.http import AlertWebhookResource
from resources.redaction import redact


def error_line(context: RunFailureSensorContext) -> str:
    """The failing step's error, first line, redacted (the run's failure message without one)."""
    for event in context.get_step_failure_events():
        error = getattr(event.event_specific_data, "error", None)
        if error is not None and error.message.strip():
            line = error.message.strip().splitlines()[0]
            # "dagster._core.definitions.events.Failure: ..." -> what the step said
            qualified, sep, said = line.partition(": ")
            if sep and qualified.rsplit(".", 1)[-1] == error.cls_name:
                line = said if error.cls_name == "Failure" else f"{error.cls_name}: {said}"
            return redact(line)
    return redact((context.failure_event.message or "the run failed").strip().splitlines()[0])


def failure_alert(
    context: RunFailureSensorContext, location: str, webhook: AlertWebhookResource
) -> dict:
    run = context.dagster_run
    origin = run.remote_job_origin
    location = origin.location_name if origin is not None else location
    error = error_line(context)
    link = webhook.run_link(run.run_id)
    return {
        "text": f"Dagster run failed: {run.job_name} in {location}: {error}"
        + (f" ({link})" if link else ""),
        "run_id": run.run_id,
        "job": run.job_name,
        "location": location,
        "partition": run.tags.get("dagster/partition"),
        "error": error,
        "run_url": link,
    }


def run_failure_alert_sensor(pipeline: str) -> SensorDefinition:
    """`<pipeline>_run_failure_sensor`: watches every job of its own code location."""

    @run_failure_sensor(
        name=f"{pipeline}_run_failure_sensor",
        description=(
            f"Alerts on every failed {pipeline} run: a JSON POST to ALERT_WEBHOOK_URL, "
            "logged when it is not set."
        ),
        minimum_interval_seconds=30,
    )
    def _sensor(context: RunFailureSensorContext, alert_webhook: AlertWebhookResource):
        alert = failure_alert(context, pipeline, alert_webhook)
        if not alert_webhook.url:
            context.log.warning(f"{alert['text']} (ALERT_WEBHOOK_URL is not set: not posted)")
            return
        alert_webhook.post(alert)  # raises when not delivered: the tick fails and says why
        context.log.info(f"alert posted for run {alert['run_id']}")

    return _sensor
