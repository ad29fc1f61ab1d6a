"""One HTTP client setup for every external API: timeouts, and retries done by urllib3.

Retries: connection errors, read timeouts, 429 and 5xx, with exponential backoff plus jitter,
honouring `Retry-After`. Other 4xx answers are returned at once: retrying a 401/403/404 never helps.
The one outgoing call we make ourselves, the run-failure alert, goes through the same setup
(`AlertWebhookResource`).
"""

from __future__ import annotations

import requests
from dagster import ConfigurableResource
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from resources.redaction import redact

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class TimeoutSession(requests.Session):
    """A requests session whose every call has a timeout unless the caller gives one."""

    def __init__(self, timeout: float | tuple[float, float]):
        super().__init__()
        self.default_timeout = timeout

    def request(self, method, url, **kwargs):
        kwargs.setdefault("timeout", self.default_timeout)
        return super().request(method, url, **kwargs)


def retry_policy(retries: int = 4, backoff: float = 0.5, max_backoff: float = 30.0) -> Retry:
    return Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=0,
        backoff_factor=backoff,
        backoff_max=max_backoff,
        backoff_jitter=backoff,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=None,  # the APIs we call are read-only, POST included (SQL queries)
        respect_retry_after_header=True,
        raise_on_status=False,  # hand the last answer back so the caller can explain it
    )


def make_session(
    timeout: float | tuple[float, float] = (5.0, 30.0),
    retries: int = 4,
    backoff: float = 0.5,
    pool_size: int = 16,
    headers: dict[str, str] | None = None,
) -> requests.Session:
    session = TimeoutSession(timeout)
    adapter = HTTPAdapter(
        max_retries=retry_policy(retries, backoff),
        pool_connections=pool_size,
        pool_maxsize=pool_size,
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    if headers:
        session.headers.update(headers)
    return session


def describe_failure(exc: Exception) -> str:
    """A short human reason for a request that failed after retries (no URL credentials)."""
    reason = exc.args[0] if exc.args else exc
    reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the last error
    text = str(reason)
    if "timed out" in text.lower() or isinstance(exc, requests.Timeout):
        return "timed out"
    if "refused" in text.lower():
        return "connection refused"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "host name not found"
    return type(reason).__name__


class AlertNotDelivered(RuntimeError):
    """The alert webhook refused the alert or could not be reached (after the retries)."""


class AlertWebhookResource(ConfigurableResource):
    """Where run-failure alerts go: a JSON POST to `url` (`ALERT_WEBHOOK_URL`: Slack, Teams, or
    any receiver that takes JSON); without one, alerts are only logged by the sensor.
    `ui_url` (`DAGSTER_UI_URL`) is this deployment's Dagster UI, for a link to the failed run."""

    url: str | None = None
    ui_url: str | None = None
    timeout_seconds: float = 10.0

    def run_link(self, run_id: str) -> str | None:
        return f"{self.ui_url.rstrip('/')}/runs/{run_id}" if self.ui_url else None

    def post(self, payload: dict) -> int:
        """POST `payload` as JSON; the status code, or AlertNotDelivered (redacted) when the
        receiver cannot be reached or answers with an error."""
        if not self.url:
            raise AlertNotDelivered("no alert webhook is configured (set ALERT_WEBHOOK_URL)")
        with make_session(timeout=self.timeout_seconds, retries=3) as session:
            try:
                answer = session.post(self.url, json=payload)
            except requests.RequestException as exc:
                raise AlertNotDelivered(
                    f"the alert webhook {redact(self.url)} did not answer "
                    f"({describe_failure(exc)}); check ALERT_WEBHOOK_URL"
                ) from None
        if answer.status_code >= 400:
            raise AlertNotDelivered(
                f"the alert webhook {redact(self.url)} answered {answer.status_code}: "
                f"{redact(answer.text[:200])}"
            )
        return answer.status_code
