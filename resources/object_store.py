"""S3-compatible object storage: one client setup for AWS S3, Backblaze B2, Cloudflare R2 and MinIO.

Every pipeline that talks to a bucket (the lake, replay_sync's remote) builds its client here, so
the checksum settings, retries and error messages are the same everywhere.
"""

from __future__ import annotations

import io
import os
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import boto3
import botocore.exceptions
import botocore.session
from boto3.s3.transfer import TransferConfig
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.httpsession import URLLib3Session
from botocore.retries import standard as retry_rules
from botocore.utils import get_environ_proxies, percent_encode

# Objects above this size go up in parts; parts of this size bound the memory of one transfer.
MULTIPART_THRESHOLD = 64 * 1024 * 1024
MULTIPART_CHUNKSIZE = 16 * 1024 * 1024


class ObjectStoreError(RuntimeError):
    """A failure talking to the object store, phrased so a person knows what to do next."""


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str  # no leading or trailing slash; "" for the bucket root

    @classmethod
    def parse(cls, url: str) -> S3Location:
        if not url.startswith("s3://"):
            raise ValueError(f"not an s3:// URL: {url!r}")
        rest = url[len("s3://") :]
        bucket, _, prefix = rest.partition("/")
        if not bucket:
            raise ValueError(f"s3 URL {url!r} names no bucket; expected s3://bucket/prefix")
        return cls(bucket=bucket, prefix=prefix.strip("/"))

    def key(self, relative: str) -> str:
        relative = relative.lstrip("/")
        return f"{self.prefix}/{relative}" if self.prefix else relative


def make_s3_client(
    endpoint_url: str | None = None,
    region: str | None = None,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    max_pool_connections: int = 32,
    bulk: bool = False,
):
    """A boto3 S3 client that works against AWS, B2, R2 and MinIO alike.

    Without explicit keys boto3's default chain applies (AWS_* variables, profiles, instance roles).

    `bulk=True` is for code that makes thousands of requests it builds itself (the replay sync
    engine): botocore's parameter validation is off (~15 % of its CPU per request; our requests
    are typed by construction), timestamps in responses stay strings (dateutil parsing is ~70 %
    of a listing's parse; nobody reads LastModified), and in-memory bodies go without
    `Expect: 100-continue` (a round trip per object that guards nothing when the body is
    already in memory). Other callers keep the defaults: validation turns a wrong argument into
    a clear local error, which is worth more than the CPU there.
    """
    session = _session(_core_session(bulk), region, access_key_id, secret_access_key)
    config = Config(
        # boto3 >= 1.36 sends CRC checksums by default, which B2, R2 and MinIO reject.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        retries={"max_attempts": ATTEMPTS, "mode": "standard"},
        max_pool_connections=max_pool_connections,
        s3={"addressing_style": "path"} if endpoint_url else None,
        parameter_validation=not bulk,
    )
    client = session.client("s3", endpoint_url=endpoint_url or None, config=config)
    if bulk:
        # On the same event as botocore's add_expect_header and after it (a handler on the more
        # specific before-call.s3.PutObject would run first).
        client.meta.events.register_last("before-call.s3", _no_expect_for_bytes)
    return client


ATTEMPTS = 5  # the retry budget of every request, botocore's and SmallObjectPut's


def _core_session(bulk: bool) -> botocore.session.Session:
    core = botocore.session.get_session()
    if bulk:
        core.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=str)
    return core


def _session(
    core: botocore.session.Session,
    region: str | None,
    access_key_id: str | None,
    secret_access_key: str | None,
) -> boto3.session.Session:
    return boto3.session.Session(
        aws_access_key_id=access_key_id or None,
        aws_secret_access_key=secret_access_key or None,
        region_name=region or None,
        botocore_session=core,
    )


def _no_expect_for_bytes(params, **_kwargs) -> None:
    # botocore wraps a bytes body in BytesIO before this event; files keep the header.
    if isinstance(params.get("body"), io.BytesIO):
        params["headers"].pop("Expect", None)


class SmallObjectPut:
    """PutObject of small in-memory bodies at a fraction of botocore's client CPU.

    A boto3 `put_object` spends ~2 ms of CPU per object on event hooks, endpoint rules, user
    agent and response parsing; for thousands of small replays that CPU (under the GIL, on the
    same cores as the store's own work) is the bottleneck. This sends the same request the
    client would - path-style URL, botocore's own SigV4 signer (`S3SigV4Auth`), botocore's
    own HTTP session (urllib3 pool, CA bundle, proxies, timeouts, its exception types) - and
    retries with botocore's standard-mode rules. Failures are raised as the botocore exceptions
    the client would raise (`ClientError` with the store's code), so `explain_s3_error` applies.

    Only for endpoints given as a URL (B2, R2, MinIO, moto): AWS S3 without one uses
    virtual-hosted addressing, which stays botocore's job (`for_endpoint` returns None).
    """

    def __init__(
        self,
        endpoint_url: str,
        region: str,
        credentials,
        max_pool_connections: int = 32,
        verify: bool | str = True,
        attempts: int = ATTEMPTS,
    ):
        self.endpoint_url = endpoint_url.rstrip("/")
        self.region = region
        self.credentials = credentials
        self.http = URLLib3Session(
            verify=verify,
            proxies=get_environ_proxies(self.endpoint_url),
            max_pool_connections=max_pool_connections,
        )
        # botocore's standard-mode conditions, minus those that need the service model.
        self.retryable = retry_rules.OrRetryChecker(
            [
                retry_rules.TransientRetryableChecker(),
                retry_rules.ThrottledRetryableChecker(),
                retry_rules.ThrottlingStatusCodeChecker(),
            ]
        )
        self.attempts = attempts
        self.backoff = retry_rules.ExponentialBackoff(
            throttling_detector=retry_rules.ThrottlingErrorDetector(retry_rules.RetryEventAdapter())
        )

    @classmethod
    def for_endpoint(
        cls,
        endpoint_url: str | None,
        region: str | None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        max_pool_connections: int = 32,
    ) -> SmallObjectPut | None:
        """The same settings as `make_s3_client` takes; None where botocore must do the job
        (no endpoint URL, or no credentials: then the client's own error says what to set)."""
        if not endpoint_url:
            return None
        core = _core_session(bulk=True)
        session = _session(core, region, access_key_id, secret_access_key)
        credentials = session.get_credentials()
        if credentials is None:
            return None
        # What botocore's client would verify TLS against (AWS_CA_BUNDLE, then requests' variable).
        verify = core.get_config_variable("ca_bundle") or os.environ.get("REQUESTS_CA_BUNDLE")
        return cls(
            endpoint_url,
            session.region_name or "us-east-1",
            credentials,
            max_pool_connections,
            verify or True,
        )

    def put(self, bucket: str, key: str, body: bytes, metadata: dict[str, str]) -> None:
        url = f"{self.endpoint_url}/{percent_encode(bucket)}/{percent_encode(key, safe='/~')}"
        headers = {f"x-amz-meta-{name}": value for name, value in metadata.items()}
        attempt = 0
        while True:
            attempt += 1
            request = AWSRequest("PUT", url, data=body, headers=headers)
            S3SigV4Auth(self.credentials.get_frozen_credentials(), "s3", self.region).add_auth(
                request
            )
            response = error = failure = None
            try:
                response = self.http.send(request.prepare())
                answer = response.content  # read it all: the connection goes back to the pool
                if response.status_code < 300:
                    return
                error = _error_of(response.status_code, answer)
                failure = botocore.exceptions.ClientError(error, "PutObject")
            except (
                botocore.exceptions.ConnectionError,
                botocore.exceptions.HTTPClientError,
            ) as exc:
                failure = exc
            context = retry_rules.RetryContext(
                attempt_number=attempt,
                parsed_response=error,
                http_response=response,
                caught_exception=None if response is not None else failure,
            )
            if attempt >= self.attempts or not self.retryable.is_retryable(context):
                raise failure
            time.sleep(self.backoff.delay_amount(context))


def _error_of(status: int, body: bytes) -> dict:
    """The parsed form botocore gives `ClientError` for an S3 error response."""
    code = message = ""
    try:
        root = ET.fromstring(body) if body else None
    except ET.ParseError:
        root = None
    if root is not None:
        code, message = root.findtext("Code") or "", root.findtext("Message") or ""
    return {
        "Error": {"Code": code or str(status), "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }


def transfer_config(max_concurrency: int = 8) -> TransferConfig:
    return TransferConfig(
        multipart_threshold=MULTIPART_THRESHOLD,
        multipart_chunksize=MULTIPART_CHUNKSIZE,
        max_concurrency=max_concurrency,
        use_threads=True,
    )


def explain_s3_error(exc: Exception, bucket: str, action: str) -> ObjectStoreError:
    """Turn a botocore failure into a message that says what happened and what to do.

    Never includes credentials: botocore's messages name the key id at most, and we don't echo it.
    """
    if isinstance(
        exc, botocore.exceptions.NoCredentialsError | botocore.exceptions.PartialCredentialsError
    ):
        return ObjectStoreError(
            f"No credentials for bucket {bucket!r} while trying to {action}. Set AWS_ACCESS_KEY_ID "
            "and AWS_SECRET_ACCESS_KEY (or LAKE_ACCESS_KEY_ID / LAKE_SECRET_ACCESS_KEY for the lake), "
            "or leave LAKE_ROOT unset to use the local lake."
        )
    if isinstance(exc, botocore.exceptions.EndpointConnectionError):
        return ObjectStoreError(
            f"Could not reach the object store endpoint while trying to {action} in bucket "
            f"{bucket!r}: {exc}. Check the endpoint URL and the network."
        )
    if isinstance(exc, botocore.exceptions.ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        # Before the 403 test: stores answer a bad key or secret with 403 too.
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch"):
            return ObjectStoreError(
                f"The object store rejected the credentials ({code}) while trying to {action} in "
                f"bucket {bucket!r}. Check the key id and secret (and that they belong to this endpoint)."
            )
        if code in ("AccessDenied", "403", "Forbidden") or status == 403:
            return ObjectStoreError(
                f"Permission denied on bucket {bucket!r} while trying to {action}. The key needs "
                "s3:GetObject, s3:PutObject, s3:DeleteObject and s3:ListBucket on this bucket and prefix."
            )
        if code == "NoSuchBucket":
            return ObjectStoreError(
                f"Bucket {bucket!r} does not exist (while trying to {action}). Create it or fix the URL."
            )
        return ObjectStoreError(
            f"Object store error {code or status} on bucket {bucket!r} while trying to {action}: {exc}"
        )
    return ObjectStoreError(
        f"Object store failure on bucket {bucket!r} while trying to {action}: {exc}"
    )
