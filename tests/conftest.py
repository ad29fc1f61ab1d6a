"""Shared test infrastructure: a real PostgreSQL server, a real S3 API over HTTP, sandboxes.

- PostgreSQL: `POSTGRES_URL` when set (CI with a service), otherwise one embedded server for the
  session; every test that asks for `pg_url` gets a fresh database on it, dropped afterwards.
- S3: moto's server mode on loopback; boto3 reaches it by endpoint URL exactly as it reaches
  B2, R2 or MinIO. `s3_bucket` gives each test its own bucket.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from resources.object_store import make_s3_client
from resources.postgres import embedded_postgres_url, stop_embedded_postgres


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """URL of a PostgreSQL server's maintenance database for this test session."""
    if os.environ.get("POSTGRES_URL"):
        yield os.environ["POSTGRES_URL"]
        return
    # Not under pytest's basetemp: pytest prunes old basetemps, which would pull the data folder
    # from under a server still in use by a concurrent session.
    root = Path(tempfile.mkdtemp(prefix="asset-graph-pg-"))
    data_dir = root / "data"
    yield embedded_postgres_url(data_dir, database="postgres")
    stop_embedded_postgres(data_dir)
    shutil.rmtree(root, ignore_errors=True)


def _with_dbname(url: str, dbname: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(url)
    info["dbname"] = dbname
    return psycopg.conninfo.make_conninfo(**info)


@contextlib.contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the server for the block; dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_dbname(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url(pg_server_url) -> Iterator[str]:
    """A fresh, empty database on the session's server; dropped after the test."""
    with fresh_database(pg_server_url) as url:
        yield url


@pytest.fixture
def second_pg_url(pg_server_url) -> Iterator[str]:
    """Another fresh database on the same server (a second process's or a separate store's)."""
    with fresh_database(pg_server_url) as url:
        yield url


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    access_key_id: str = "testing-key-id"
    secret_access_key: str = "testing-secret-key"
    region: str = "us-east-1"

    def client(self):
        return make_s3_client(
            self.endpoint_url, self.region, self.access_key_id, self.secret_access_key
        )


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's S3 server over real HTTP on loopback."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield S3Server(endpoint_url=f"http://{host}:{port}")
    server.stop()


@dataclass(frozen=True)
class S3Bucket:
    server: S3Server
    name: str

    def client(self):
        return self.server.client()


@pytest.fixture
def s3_bucket(s3_server) -> S3Bucket:
    name = f"test-{uuid.uuid4().hex[:12]}"
    s3_server.client().create_bucket(Bucket=name)
    return S3Bucket(s3_server, name)


@pytest.fixture
def instance():
    """An ephemeral Dagster instance, closed after the test (one left to the garbage collector
    logs "Cannot operate on a closed database" from its SQLite pool: dagster#21586)."""
    from dagster import DagsterInstance

    with DagsterInstance.ephemeral() as instance:
        yield instance
