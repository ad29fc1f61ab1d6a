"""One HTTP client setup for every external API: timeouts, and retries done by urllib3.

Retries: connection errors, read timeouts, 429 and 5xx, with exponential backoff plus jitter,
honouring `Retry-After`. Other 4xx answers are returned at once: retrying a 401/403/404 never helps.
"""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

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
