"""The lake: where datasets and raw files live, a local folder or an S3-compatible prefix.

`LakeResource` is what assets ask for. Keys are always relative, slash-separated paths
(`datasets/replays/replays_20261101.parquet`); the root decides where they land.

Atomic publish: on a local root every write goes to a hidden temporary name in the target folder
and is renamed into place (rename is atomic on POSIX). On S3 an object becomes visible only when
its PutObject or CompleteMultipartUpload succeeds, so a reader never sees half an object either;
the temporary copy lives in a local spool file until then. Temporary names say which process
writes them (resources/partial_files.py): the next publish of the same key removes what a killed
writer left, never a live writer's file. (A killed multipart upload to S3 leaves parts that only
the bucket's `AbortIncompleteMultipartUpload` lifecycle rule removes: README, Deploying.)
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import botocore.exceptions
from boto3.exceptions import S3UploadFailedError
from dagster import ConfigurableResource
from pydantic import PrivateAttr

from resources.object_store import (
    S3Location,
    explain_s3_error,
    make_s3_client,
    transfer_config,
)
from resources.partial_files import partial_path, remove_stale_partials

TEMP_MARK = ".tmp-"
# S3 writes are spooled here (one folder for every process, so the next write can see a killed
# writer's spool file); local writes go beside their target.
SPOOL = Path(tempfile.gettempdir()) / "asset-graph-lake-spool"
log = logging.getLogger(__name__)


def _fresh_partial(target: Path) -> Path:
    """A temporary name for `target`, after removing a killed writer's leftovers of it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    for path, size in remove_stale_partials(target, TEMP_MARK):
        log.warning("removed %s (%d bytes), left half-written by a killed writer", path, size)
    return partial_path(target, TEMP_MARK)


class LakeFull(OSError):
    """A write to the lake found its disk full (ENOSPC, or a quota): the message says where and
    what to do. Nothing half-written is left; what was published before is unchanged."""


@contextlib.contextmanager
def _disk_full_explained(key: str, where: Path, what: str, variable: str) -> Iterator[None]:
    try:
        yield
    except LakeFull:
        raise
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT) and "No space left" not in str(exc):
            raise
        free = shutil.disk_usage(where).free if where.exists() else 0
        raise LakeFull(
            exc.errno or errno.ENOSPC,
            f"No space left on device writing lake key {key!r}: {what} {where} is full "
            f"({free:,} bytes free). Free space there (or point {variable} at a "
            "larger disk), then re-run the partition: nothing half-written was kept and what "
            "was published before is unchanged.",
        ) from exc


@dataclass(frozen=True)
class ObjectInfo:
    key: str  # relative to the lake root
    size: int


def _check_key(key: str) -> str:
    key = key.strip("/")
    parts = key.split("/")
    if not key or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"invalid lake key {key!r}: keys are relative paths without '.' or '..'")
    return key


class Lake:
    """Common interface of the two lake backends."""

    def uri(self, key: str) -> str:
        raise NotImplementedError

    def exists(self, key: str) -> bool:
        return self.size(key) is not None

    def size(self, key: str) -> int | None:
        raise NotImplementedError

    def read_bytes(self, key: str) -> bytes:
        raise NotImplementedError

    def download_to(self, key: str, local_path: Path) -> None:
        raise NotImplementedError

    @contextlib.contextmanager
    def publish(self, key: str) -> Iterator[Path]:
        """Yield a local path to write; when the block ends cleanly the file appears at `key` whole.

        If the block raises, nothing is published and the temporary file is removed.
        """
        raise NotImplementedError
        yield  # pragma: no cover

    def write_bytes(self, key: str, data: bytes) -> None:
        with self.publish(key) as path:
            path.write_bytes(data)

    def upload_file(self, local_path: Path, key: str) -> None:
        with self.publish(key) as path:
            shutil.copyfile(local_path, path)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        raise NotImplementedError

    def delete(self, key: str) -> None:
        raise NotImplementedError

    def delete_prefix(self, prefix: str) -> int:
        count = 0
        for info in list(self.list(prefix)):
            self.delete(info.key)
            count += 1
        return count

    def md5(self, key: str) -> str:
        digest = hashlib.md5()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "object"
            self.download_to(key, path)
            with path.open("rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
        return digest.hexdigest()


class LocalLake(Lake):
    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser().resolve()

    def path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def uri(self, key: str) -> str:
        return str(self.path(key))

    def size(self, key: str) -> int | None:
        try:
            return self.path(key).stat().st_size
        except FileNotFoundError:
            return None

    def read_bytes(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def open_read(self, key: str) -> BinaryIO:
        return self.path(key).open("rb")

    def download_to(self, key: str, local_path: Path) -> None:
        shutil.copyfile(self.path(key), local_path)

    @contextlib.contextmanager
    def publish(self, key: str) -> Iterator[Path]:
        target = self.path(key)
        with _disk_full_explained(key, self.root, "the lake's disk", "LAKE_ROOT"):
            tmp = _fresh_partial(target)
            try:
                yield tmp
                if not tmp.exists():
                    raise FileNotFoundError(f"nothing was written for lake key {key!r}")
                os.replace(tmp, target)
            finally:
                tmp.unlink(missing_ok=True)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        base = self.root / prefix.strip("/") if prefix.strip("/") else self.root
        if base.is_file():
            yield ObjectInfo(prefix.strip("/"), base.stat().st_size)
            return
        if not base.is_dir():
            return
        for dirpath, _dirnames, filenames in os.walk(base):
            for name in sorted(filenames):
                if TEMP_MARK in name:
                    continue
                full = Path(dirpath) / name
                yield ObjectInfo(full.relative_to(self.root).as_posix(), full.stat().st_size)

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)


class S3Lake(Lake):
    def __init__(self, location: S3Location, client, max_concurrency: int = 8):
        self.location = location
        self.client = client
        self.transfer = transfer_config(max_concurrency)

    def _fail(self, exc: Exception, action: str):
        return explain_s3_error(exc, self.location.bucket, action)

    def uri(self, key: str) -> str:
        return f"s3://{self.location.bucket}/{self.location.key(_check_key(key))}"

    def size(self, key: str) -> int | None:
        try:
            head = self.client.head_object(
                Bucket=self.location.bucket, Key=self.location.key(_check_key(key))
            )
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise self._fail(exc, f"inspect {key}") from exc
        except botocore.exceptions.BotoCoreError as exc:
            raise self._fail(exc, f"inspect {key}") from exc
        return int(head["ContentLength"])

    def read_bytes(self, key: str) -> bytes:
        try:
            answer = self.client.get_object(
                Bucket=self.location.bucket, Key=self.location.key(_check_key(key))
            )
            return answer["Body"].read()
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise self._fail(exc, f"read {key}") from exc

    def download_to(self, key: str, local_path: Path) -> None:
        try:
            self.client.download_file(
                self.location.bucket,
                self.location.key(_check_key(key)),
                str(local_path),
                Config=self.transfer,
            )
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise self._fail(exc, f"download {key}") from exc

    @contextlib.contextmanager
    def publish(self, key: str) -> Iterator[Path]:
        object_key = self.location.key(_check_key(key))
        path = _fresh_partial(SPOOL / Path(key).name)
        try:
            with _disk_full_explained(key, SPOOL, "the spool folder of S3 writes", "TMPDIR"):
                yield path
            try:
                # upload_file streams from disk and switches to multipart above the threshold,
                # so memory stays at a few parts whatever the file size.
                self.client.upload_file(
                    str(path), self.location.bucket, object_key, Config=self.transfer
                )
            except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
                raise self._fail(exc, f"write {key}") from exc
            except S3UploadFailedError as exc:
                raise self._fail(exc.__cause__ or exc.__context__ or exc, f"write {key}") from exc
        finally:
            path.unlink(missing_ok=True)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        full_prefix = (
            self.location.key(prefix.strip("/")) if prefix.strip("/") else self.location.prefix
        )
        if full_prefix and not full_prefix.endswith("/") and prefix.endswith("/"):
            full_prefix += "/"
        strip = len(self.location.prefix) + 1 if self.location.prefix else 0
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.location.bucket, Prefix=full_prefix):
                for item in page.get("Contents", []):
                    yield ObjectInfo(item["Key"][strip:], int(item["Size"]))
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise self._fail(exc, f"list {prefix or '/'}") from exc

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(
                Bucket=self.location.bucket, Key=self.location.key(_check_key(key))
            )
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise self._fail(exc, f"delete {key}") from exc


def open_lake(
    root: str,
    endpoint_url: str | None = None,
    region: str | None = None,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
) -> Lake:
    if root.startswith("s3://"):
        client = make_s3_client(endpoint_url, region, access_key_id, secret_access_key)
        return S3Lake(S3Location.parse(root), client)
    return LocalLake(root)


class LakeResource(ConfigurableResource):
    """The lake: `LAKE_ROOT` is a local folder (default `data/lake`) or `s3://bucket/prefix`.

    For S3-compatible stores set `LAKE_ENDPOINT_URL` (B2, R2, MinIO), `LAKE_REGION`, and keys in
    `LAKE_ACCESS_KEY_ID` / `LAKE_SECRET_ACCESS_KEY` (or the standard AWS_* variables).
    """

    root: str = "data/lake"
    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None

    _lake: Lake | None = PrivateAttr(default=None)

    @property
    def lake(self) -> Lake:
        if self._lake is None:
            self._lake = open_lake(
                self.root,
                self.endpoint_url,
                self.region,
                self.access_key_id,
                self.secret_access_key,
            )
        return self._lake
