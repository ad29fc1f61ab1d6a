"""The game-evaluation stats server, and the replay files its episodes point to.

The server has no "list replays" endpoint: it takes SQL at `POST /sql/query` and cuts every answer
at 1000 rows with no paging. `StatsApiResource.episodes_on(day)` pages itself, by keyset on
(created_at, id), so a busy day is never silently truncated.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

import botocore.exceptions
import requests
from dagster import ConfigurableResource
from pydantic import Field, PrivateAttr

from resources.http import describe_failure, make_session
from resources.object_store import S3Location, explain_s3_error, make_s3_client
from resources.redaction import redact, redacted_cause

SERVER_ROW_CAP = 1000
EPISODE_COLUMNS = ("id", "replay_url", "policy_name", "env_name", "created_at")


class StatsServerError(RuntimeError):
    """The stats server failed or refused; the message says what to do."""


class ReplayFetchError(RuntimeError):
    """One replay could not be fetched; the message is the reason reported for it."""


@dataclass(frozen=True)
class EpisodeRecord:
    episode_id: str
    replay_url: str
    policy: str | None
    environment: str | None
    created_at: str  # as the server gives it (ISO-8601, UTC)


def _literal(value: str) -> str:
    """A SQL string literal. Values are dates and ids we produced or got back from the server."""
    return "'" + str(value).replace("'", "''") + "'"


def episodes_page_query(
    day: dt.date, after: tuple[str, str] | None, limit: int, env_name: str | None
) -> str:
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    end = start + dt.timedelta(days=1)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    where = [
        "replay_url IS NOT NULL",
        # Explicit UTC bounds: DATE(created_at) would follow the server session's time zone.
        f"created_at >= {_literal(start.strftime(fmt))}",
        f"created_at < {_literal(end.strftime(fmt))}",
    ]
    if env_name:
        where.append(f"env_name = {_literal(env_name)}")
    if after:
        created, episode_id = after
        where.append(
            f"(created_at > {_literal(created)} OR (created_at = {_literal(created)} AND id > {_literal(episode_id)}))"
        )
    return (
        f"SELECT {', '.join(EPISODE_COLUMNS)} FROM episodes WHERE {' AND '.join(where)} "
        f"ORDER BY created_at ASC, id ASC LIMIT {limit}"
    )


class StatsApiResource(ConfigurableResource):
    """The stats server at `STATS_API_URL`, with `STATS_API_TOKEN` sent as `X-Auth-Token`."""

    url: str
    token: str | None = None
    env_name: str | None = Field(default=None, description="Only episodes of this environment")
    page_size: int = Field(default=500, le=SERVER_ROW_CAP)
    timeout_seconds: float = 30.0
    retries: int = 4
    backoff_seconds: float = 0.5

    _session: requests.Session | None = PrivateAttr(default=None)

    def _http(self) -> requests.Session:
        if self._session is None:
            headers = {"X-Auth-Token": self.token} if self.token else {}
            self._session = make_session(
                timeout=(5.0, self.timeout_seconds), retries=self.retries, headers=headers
            )
        return self._session

    def query(self, sql: str) -> list[dict]:
        endpoint = self.url.rstrip("/") + "/sql/query"
        try:
            answer = self._http().post(endpoint, json={"query": sql})
        except requests.RequestException as exc:
            raise StatsServerError(
                f"The stats server at {redact(self.url)} did not answer after {self.retries + 1} attempts "
                f"({describe_failure(exc)}). Check STATS_API_URL and that the server is up, then re-run "
                "the partition."
            ) from redacted_cause(exc)
        if answer.status_code in (401, 403):
            raise StatsServerError(
                f"The stats server at {redact(self.url)} refused the request ({answer.status_code}): set "
                "STATS_API_TOKEN to a valid token."
            )
        if answer.status_code != 200:
            if answer.status_code >= 500 or answer.status_code == 429:
                step = (
                    f"the fault is on the server's side and outlasted {self.retries + 1} attempts: "
                    "re-run the partition later (nothing was written for it), and if it keeps "
                    "failing, check the server's health and logs with its operators"
                )
            else:
                step = (
                    "the server refused the query itself: check STATS_API_URL points at the stats "
                    "server (its POST /sql/query), and that its episodes table still has the "
                    f"columns {', '.join(EPISODE_COLUMNS)}"
                )
            raise StatsServerError(
                f"The stats server at {redact(self.url)} answered {answer.status_code} to the episode query: "
                f"{step}. Its answer: {redact(answer.text[:200])}"
            )
        try:
            body = answer.json()
            columns, rows = body["columns"], body["rows"]
        except (ValueError, KeyError, TypeError) as exc:
            raise StatsServerError(
                f"The stats server at {redact(self.url)} sent an answer without columns/rows: {redact(answer.text[:200])}"
            ) from redacted_cause(exc)
        return [dict(zip(columns, row, strict=True)) for row in rows]

    def episodes_on(self, day: dt.date) -> list[EpisodeRecord]:
        """Every episode of the UTC day that has a replay, oldest first."""
        episodes: list[EpisodeRecord] = []
        after = None
        while True:
            page = self.query(episodes_page_query(day, after, self.page_size, self.env_name))
            for row in page:
                episodes.append(
                    EpisodeRecord(
                        episode_id=str(row["id"]),
                        replay_url=row["replay_url"],
                        policy=row.get("policy_name"),
                        environment=row.get("env_name"),
                        created_at=str(row["created_at"]),
                    )
                )
            if len(page) < self.page_size:
                return episodes
            after = (episodes[-1].created_at, episodes[-1].episode_id)


_MD5_ETAG = re.compile(r'^"?([0-9a-f]{32})"?$')


@dataclass(frozen=True)
class RemoteFileInfo:
    size: int | None
    md5: str | None  # known when the server's ETag is a plain MD5 (single-part uploads)


class ReplayFilesResource(ConfigurableResource):
    """Fetches replay files by URL: `https://` (or `http://`) directly, `s3://` with boto3.

    S3 settings (`REPLAY_S3_ENDPOINT_URL`, `REPLAY_S3_REGION`, keys) apply to `s3://` URLs only.
    """

    timeout_seconds: float = 60.0
    retries: int = 4
    backoff_seconds: float = 0.5
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None

    _session: requests.Session | None = PrivateAttr(default=None)
    _s3 = PrivateAttr(default=None)

    def _http(self) -> requests.Session:
        if self._session is None:
            self._session = make_session(
                timeout=(5.0, self.timeout_seconds), retries=self.retries, pool_size=32
            )
        return self._session

    def _s3_client(self):
        if self._s3 is None:
            self._s3 = make_s3_client(
                self.s3_endpoint_url,
                self.s3_region,
                self.s3_access_key_id,
                self.s3_secret_access_key,
            )
        return self._s3

    def info(self, url: str) -> RemoteFileInfo:
        if url.startswith("s3://"):
            location = S3Location.parse(url)
            try:
                head = self._s3_client().head_object(Bucket=location.bucket, Key=location.prefix)
            except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
                raise ReplayFetchError(
                    str(explain_s3_error(exc, location.bucket, f"inspect {url}"))
                ) from redacted_cause(exc)
            match = _MD5_ETAG.match(head.get("ETag", ""))
            return RemoteFileInfo(int(head["ContentLength"]), match.group(1) if match else None)
        try:
            answer = self._http().head(url, allow_redirects=True)
        except requests.RequestException as exc:
            raise ReplayFetchError(
                f"no answer from {redact(url)}: {describe_failure(exc)}"
            ) from redacted_cause(exc)
        if answer.status_code != 200:
            raise ReplayFetchError(f"HTTP {answer.status_code} for {redact(url)}")
        match = _MD5_ETAG.match(answer.headers.get("ETag", ""))
        length = answer.headers.get("Content-Length")
        return RemoteFileInfo(int(length) if length else None, match.group(1) if match else None)

    def fetch(self, url: str) -> bytes:
        if url.startswith("s3://"):
            location = S3Location.parse(url)
            try:
                return (
                    self._s3_client()
                    .get_object(Bucket=location.bucket, Key=location.prefix)["Body"]
                    .read()
                )
            except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
                raise ReplayFetchError(
                    str(explain_s3_error(exc, location.bucket, f"download {url}"))
                ) from redacted_cause(exc)
        try:
            answer = self._http().get(url)
        except requests.RequestException as exc:
            raise ReplayFetchError(
                f"no answer from {redact(url)} after {self.retries + 1} attempts: {describe_failure(exc)}"
            ) from redacted_cause(exc)
        if answer.status_code != 200:
            hint = (
                " (gave up after retries)"
                if answer.status_code >= 500 or answer.status_code == 429
                else ""
            )
            raise ReplayFetchError(f"HTTP {answer.status_code} for {redact(url)}{hint}")
        return answer.content


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()
