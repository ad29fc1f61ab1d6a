"""replay_sync's remote: one bucket on any S3-compatible store (AWS S3, Backblaze B2's S3 API,
Cloudflare R2, MinIO), configured from the AWS, B2 or R2 variable names (read by
`resources/replay_sync/settings.py`). The sync engine that uses it is
`resources/replay_sync/engine.py`."""

from __future__ import annotations

import boto3
from dagster import ConfigurableResource
from pydantic import PrivateAttr

from resources.object_store import ObjectStoreError, SmallObjectPut, make_s3_client
from resources.replay_sync.engine import BucketTree
from resources.replay_sync.plan import clean_prefix, join_key

CREDENTIAL_HELP = (
    "Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (AWS S3, MinIO), or B2_KEY_ID and B2_APP_KEY "
    "(Backblaze B2), or R2_ACCESS_KEY and R2_SECRET_KEY (Cloudflare R2)"
)


class ReplayStoreResource(ConfigurableResource):
    """The replay bucket on an S3-compatible store.

    Configured from the environment by `settings.resources_from_env()`: bucket from
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
