"""replay_sync fixtures: a replay bucket on moto's S3 server (real HTTP) and local trees."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from resources.lake import LakeResource
from resources.replay_sync.settings import build_resources
from resources.replay_sync.store import ReplayStoreResource


def replay_resources(s3_bucket, tmp_path: Path, workspace: str = "workspace") -> dict:
    """The code location's resources (`build_resources`) on the test's bucket, with the replay
    source at `tmp_path/slp`, the workspace at `tmp_path/<workspace>`, the lake at
    `tmp_path/lake`."""
    server = s3_bucket.server
    return build_resources(
        bucket=s3_bucket.name,
        endpoint_url=server.endpoint_url,
        region=server.region,
        access_key_id=server.access_key_id,
        secret_access_key=server.secret_access_key,
        transfers=8,
        slp_root=str(tmp_path / "slp"),
        workspace=str(tmp_path / workspace),
        lake=LakeResource(root=str(tmp_path / "lake")),
    )


@pytest.fixture
def resources(s3_bucket, tmp_path) -> dict:
    return replay_resources(s3_bucket, tmp_path)


@pytest.fixture
def store(resources) -> ReplayStoreResource:
    return resources["replay_store"]


def write_file(root: Path, relative: str, data: bytes, mtime_s: float | None = None) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if mtime_s is not None:
        os.utime(path, (mtime_s, mtime_s))
    return path


def local_listing(root: Path) -> dict[str, tuple[int, str]]:
    """relative path -> (size, md5) of every file below root."""
    return {
        p.relative_to(root).as_posix(): (p.stat().st_size, hashlib.md5(p.read_bytes()).hexdigest())
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def bucket_listing(client, bucket: str, prefix: str) -> dict[str, tuple[int, str]]:
    """relative key -> (size, md5) of every object below prefix, read back over HTTP."""
    out = {}
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix + "/"):
        for item in page.get("Contents", []):
            body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            out[item["Key"][len(prefix) + 1 :]] = (len(body), hashlib.md5(body).hexdigest())
    return out
