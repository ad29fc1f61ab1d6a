"""replay_sync's remote: one bucket on any S3-compatible store (AWS S3, Backblaze B2's S3 API,
Cloudflare R2, MinIO), configured from the AWS, B2 or R2 variable names. The sync engine that
uses it is `resources/replay_sync_engine.py`."""

from __future__ import annotations

import os

import boto3
from dagster import ConfigurableResource, EnvVar
from pydantic import PrivateAttr

from resources.env import env_or
from resources.object_store import ObjectStoreError, SmallObjectPut, make_s3_client
from resources.replay_sync_engine import BucketTree
from resources.replay_sync_plan import clean_prefix, join_key

CREDENTIAL_HELP = (
    "Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (AWS S3, MinIO), or B2_KEY_ID and B2_APP_KEY "
    "(Backblaze B2), or R2_ACCESS_KEY and R2_SECRET_KEY (Cloudflare R2)"
)


KEY_PAIRS = (
    ("REPLAY_SYNC_ACCESS_KEY_ID", "REPLAY_SYNC_SECRET_ACCESS_KEY"),
    ("B2_KEY_ID", "B2_APP_KEY"),
    ("R2_ACCESS_KEY", "R2_SECRET_KEY"),
    ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
)


class ReplayStoreResource(ConfigurableResource):
    """The replay bucket on an S3-compatible store.

    Configured from the environment by `replay_store_from_env()`: bucket from
    `REPLAY_SYNC_BUCKET` / `B2_BUCKET` / `R2_BUCKET`; keys from `AWS_ACCESS_KEY_ID` +
    `AWS_SECRET_ACCESS_KEY`, `B2_KEY_ID` + `B2_APP_KEY`, or `R2_ACCESS_KEY` + `R2_SECRET_KEY`;
    endpoint from `REPLAY_SYNC_ENDPOINT_URL` / `R2_ENDPOINT` / `B2_ENDPOINT` (or derived from
    `B2_REGION`); `prefix` puts every key below a base folder (e.g. a player's name).
    """

    bucket: str | None = None
    prefix: str = ""
    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    transfers: int = 8
    multipart_concurrency: int = 4

    _client: object | None = PrivateAttr(default=None)
    _small_put: SmallObjectPut | None = PrivateAttr(default=None)

    def client(self):
        if self._client is None:
            if not self.bucket:
                raise ObjectStoreError(
                    "No replay bucket is configured. Set REPLAY_SYNC_BUCKET (or B2_BUCKET / "
                    "R2_BUCKET) and the endpoint (REPLAY_SYNC_ENDPOINT_URL, R2_ENDPOINT or "
                    "B2_REGION) to the bucket the replays live in."
                )
            if bool(self.access_key_id) != bool(self.secret_access_key):
                raise ObjectStoreError(
                    f"Only half of a key pair is set for bucket {self.bucket!r}. {CREDENTIAL_HELP}."
                )
            if not self.access_key_id and boto3.session.Session().get_credentials() is None:
                raise ObjectStoreError(
                    f"No credentials for the replay bucket {self.bucket!r}. {CREDENTIAL_HELP}."
                )
            self._client = make_s3_client(
                self.endpoint_url,
                self.region,
                self.access_key_id,
                self.secret_access_key,
                max_pool_connections=self._pool_size(),
                bulk=True,
            )
            self._small_put = SmallObjectPut.for_endpoint(
                self.endpoint_url,
                self.region,
                self.access_key_id,
                self.secret_access_key,
                max_pool_connections=self._pool_size(),
            )
        return self._client

    def _pool_size(self) -> int:
        return max(32, self.transfers * 2)

    def tree(self, *parts: str) -> BucketTree:
        client = self.client()  # also sets up self._small_put
        return BucketTree(
            client,
            self.bucket,
            join_key(clean_prefix(self.prefix), *parts),
            max_concurrency=self.multipart_concurrency,
            small_put=self._small_put,
        )

    def usage(self, *parts: str) -> tuple[int, int]:
        """(objects, bytes) below a prefix."""
        listing, _ = self.tree(*parts).list()
        return len(listing), sum(s.size for s in listing.values())

    def top_level_usage(self) -> dict[str, tuple[int, int]]:
        """(objects, bytes) per first-level folder below the base prefix."""
        tree = self.tree()
        listing, _ = tree.list()
        usage: dict[str, list[int]] = {}
        for rel, state in listing.items():
            top = rel.split("/", 1)[0] if "/" in rel else "(root)"
            entry = usage.setdefault(top, [0, 0])
            entry[0] += 1
            entry[1] += state.size
        return {k: (v[0], v[1]) for k, v in usage.items()}


def _first_env(*names: str) -> str | None:
    return next((name for name in names if os.environ.get(name)), None)


def _env_var(*names: str):
    """dagster.EnvVar of the first variable set among `names`, or None."""
    name = _first_env(*names)
    return EnvVar(name) if name else None


def replay_store_from_env() -> ReplayStoreResource:
    """The replay bucket as the environment names it, accepting the AWS, B2 and R2 spellings."""
    endpoint = _env_var(
        "REPLAY_SYNC_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "R2_ENDPOINT", "B2_ENDPOINT"
    )
    region = _env_var("REPLAY_SYNC_REGION", "AWS_REGION", "AWS_DEFAULT_REGION", "B2_REGION")
    if endpoint is None and os.environ.get("B2_REGION"):
        # B2's S3 endpoint is derived from the bucket's region, e.g. us-west-004.
        endpoint = f"https://s3.{os.environ['B2_REGION']}.backblazeb2.com"
    if region is None and _first_env("R2_ENDPOINT", "R2_ACCESS_KEY"):
        region = "auto"  # R2 takes any region; "auto" is what Cloudflare documents
    # Keys travel in pairs: the first provider whose key id is set supplies both halves.
    key_id, secret = next(
        ((kid, sec) for kid, sec in KEY_PAIRS if os.environ.get(kid)), (None, None)
    )
    return ReplayStoreResource(
        bucket=_env_var("REPLAY_SYNC_BUCKET", "B2_BUCKET", "R2_BUCKET"),
        prefix=env_or("REPLAY_SYNC_PREFIX", ""),
        endpoint_url=endpoint,
        region=region,
        access_key_id=_env_var(key_id) if key_id else None,
        secret_access_key=_env_var(secret) if key_id else None,
        transfers=int(os.environ.get("REPLAY_SYNC_TRANSFERS", "8")),
    )
