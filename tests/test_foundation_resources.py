"""The shared resources against the real things: a local lake, S3 over HTTP, PostgreSQL."""

from __future__ import annotations

import os
import shutil
import time

import pytest

from resources.lake import LakeResource, LocalLake, open_lake
from resources.object_store import ObjectStoreError
from resources.postgres import DatabaseUnavailable, PostgresResource, stop_embedded_postgres


def _lakes(tmp_path, s3_bucket):
    return {
        "local": LocalLake(tmp_path / "lake"),
        "s3": open_lake(
            f"s3://{s3_bucket.name}/lake",
            endpoint_url=s3_bucket.server.endpoint_url,
            region="us-east-1",
            access_key_id=s3_bucket.server.access_key_id,
            secret_access_key=s3_bucket.server.secret_access_key,
        ),
    }


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_lake_write_read_list_delete(tmp_path, s3_bucket, kind):
    lake = _lakes(tmp_path, s3_bucket)[kind]
    lake.write_bytes("a/b/one.bin", b"one")
    lake.write_bytes("a/two.bin", b"two!")
    assert lake.read_bytes("a/b/one.bin") == b"one"
    assert lake.size("a/two.bin") == 4
    assert lake.size("a/missing") is None
    assert sorted((o.key, o.size) for o in lake.list("a")) == [("a/b/one.bin", 3), ("a/two.bin", 4)]
    assert lake.delete_prefix("a/b") == 1
    assert [o.key for o in lake.list("a")] == ["a/two.bin"]


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_lake_publish_is_all_or_nothing(tmp_path, s3_bucket, kind):
    lake = _lakes(tmp_path, s3_bucket)[kind]
    lake.write_bytes("d/file.txt", b"old")
    with pytest.raises(RuntimeError), lake.publish("d/file.txt") as path:
        path.write_bytes(b"half")
        raise RuntimeError("crash mid-write")
    assert lake.read_bytes("d/file.txt") == b"old"
    assert [o.key for o in lake.list("d")] == ["d/file.txt"]  # no temporary left visible


def test_s3_lake_multipart_upload(tmp_path, s3_bucket, monkeypatch):
    import resources.object_store as store

    monkeypatch.setattr(store, "MULTIPART_THRESHOLD", 5 * 1024 * 1024)
    monkeypatch.setattr(store, "MULTIPART_CHUNKSIZE", 5 * 1024 * 1024)
    lake = _lakes(tmp_path, s3_bucket)["s3"]
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * (12 * 1024 * 1024))
    lake.upload_file(big, "big/big.bin")
    head = s3_bucket.client().head_object(Bucket=s3_bucket.name, Key="lake/big/big.bin")
    assert "-" in head["ETag"]  # a multipart ETag: the object went up in parts
    assert lake.size("big/big.bin") == 12 * 1024 * 1024


def test_s3_lake_missing_credentials_message(s3_bucket, monkeypatch):
    for var in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_PROFILE",
        "AWS_SHARED_CREDENTIALS_FILE",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    lake = open_lake(
        f"s3://{s3_bucket.name}/x", endpoint_url=s3_bucket.server.endpoint_url, region="us-east-1"
    )
    with pytest.raises(ObjectStoreError, match="No credentials.*AWS_ACCESS_KEY_ID"):
        lake.write_bytes("k", b"v")


def test_s3_lake_unknown_bucket_message(s3_bucket):
    lake = open_lake(
        "s3://no-such-bucket-here/x",
        endpoint_url=s3_bucket.server.endpoint_url,
        region="us-east-1",
        access_key_id="a",
        secret_access_key="b",
    )
    with pytest.raises(ObjectStoreError, match="does not exist"):
        lake.read_bytes("k")


def test_lake_rejects_escaping_keys(tmp_path):
    lake = LocalLake(tmp_path)
    for bad in ("../x", "a/../../x", "", "a//b"):
        with pytest.raises(ValueError):
            lake.path(bad)


def test_lake_resource_defaults_to_local_folder(tmp_path):
    resource = LakeResource(root=str(tmp_path / "lake"))
    resource.lake.write_bytes("k.txt", b"v")
    assert (tmp_path / "lake" / "k.txt").read_bytes() == b"v"


def test_postgres_resource_transaction(pg_url):
    pg = PostgresResource(url=pg_url)
    with pg.connection() as conn:
        conn.execute("CREATE TABLE t (x int)")
        conn.execute("INSERT INTO t VALUES (1), (2)")
    with pytest.raises(ZeroDivisionError), pg.connection() as conn:
        conn.execute("INSERT INTO t VALUES (3)")
        raise ZeroDivisionError
    with pg.connection() as conn:
        assert conn.execute("SELECT sum(x) FROM t").fetchone()[0] == 3


def test_postgres_embedded_server_is_reused(tmp_path):
    first = PostgresResource(embedded_data_dir=str(tmp_path / "pg")).resolved_url()
    second = PostgresResource(embedded_data_dir=str(tmp_path / "pg")).resolved_url()
    assert first == second
    with PostgresResource(embedded_data_dir=str(tmp_path / "pg")).connection() as conn:
        assert conn.execute("SELECT current_database()").fetchone()[0] == "asset_graph"
    stop_embedded_postgres(tmp_path / "pg")


def test_each_database_of_one_embedded_server_has_its_own_url(tmp_path):
    """One process asking one server for two databases gets each its own (the first one's URL
    was returned for both)."""
    import psycopg

    from resources.postgres import embedded_postgres_url

    urls = [embedded_postgres_url(tmp_path / "pg", database=name) for name in ("one", "two")]
    try:
        for url, name in zip(urls, ("one", "two"), strict=True):
            with psycopg.connect(url) as conn:
                assert conn.execute("SELECT current_database()").fetchone()[0] == name
        assert embedded_postgres_url(tmp_path / "pg", database="one") == urls[0]
    finally:
        stop_embedded_postgres(tmp_path / "pg")


def test_postgres_unreachable_message():
    pg = PostgresResource(url="postgresql://user:secret@127.0.0.1:1/nothing")
    with pytest.raises(DatabaseUnavailable) as err:
        pg.resolved_url() and pg.connection().__enter__()
    assert "secret" not in str(err.value)
    assert "POSTGRES_URL" in str(err.value)


def test_embedded_server_is_shared_across_processes(tmp_path):
    """A second process (a run worker, the webserver) finds the running server instead of
    starting another one."""
    import subprocess
    import sys

    data_dir = tmp_path / "pg"
    pg = PostgresResource(embedded_data_dir=str(data_dir))
    with pg.connection() as conn:
        conn.execute("CREATE TABLE shared (x int)")
        conn.execute("INSERT INTO shared VALUES (42)")
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from resources.postgres import PostgresResource\n"
            f"pg = PostgresResource(embedded_data_dir={str(data_dir)!r})\n"
            "with pg.connection() as c: print(c.execute('SELECT x FROM shared').fetchone()[0])",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert child.stdout.strip() == "42"
    stop_embedded_postgres(data_dir)
    assert not (data_dir / "postmaster.pid").exists()


def run_at_once(setup: str, body: str, count: int) -> list[tuple[str, str]]:
    """(stdout, stderr) of `count` Python processes that each run `setup` (imports), then `body`
    at the same instant as the others."""
    import subprocess
    import sys

    at = time.time() + 4
    script = f"import time\n{setup}\ntime.sleep(max(0, {at} - time.time()))\n{body}"
    children = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    return [child.communicate() for child in children]


def test_processes_asking_for_a_new_database_at_once_all_get_it(tmp_path):
    """Runs that start at once on a fresh machine (bin/demo's pipelines side by side) each ask
    the embedded server for the same new database: all get it. Two CREATE DATABASE statements
    at once fail one of them with a unique violation, not DuplicateDatabase."""
    data_dir = tmp_path / "pg"
    PostgresResource(embedded_data_dir=str(data_dir)).resolved_url()  # the server is up
    try:
        outcomes = run_at_once(
            "from resources.postgres import PostgresResource\n"
            f"pg = PostgresResource(embedded_data_dir={str(data_dir)!r}, database='fresh_one')",
            "with pg.connection() as c: print(c.execute('SELECT current_database()').fetchone()[0])",
            10,
        )
        assert [out.strip() for out, _ in outcomes] == ["fresh_one"] * 10, [
            err[-500:] for _, err in outcomes
        ]
    finally:
        stop_embedded_postgres(data_dir)


@pytest.mark.skipif(
    os.name != "posix" or os.geteuid() != 0 or shutil.which("useradd") is None,
    reason="the server runs under its own system user only when started as root",
)
def test_first_starts_at_once_create_one_server_user():
    """Several processes creating the server's user at once (a fresh machine's first test
    workers) end with one user that all of them see: useradd alone gave each its own uid."""
    import pwd
    import subprocess

    name = f"ag_probe_{os.getpid()}"  # a throwaway user, never the real one
    try:
        outcomes = run_at_once(
            "from resources.postgres import ensure_server_user",
            f"print(ensure_server_user({name!r}))",
            4,
        )
        uids = {int(out) for out, _ in outcomes}
        assert len(uids) == 1, uids
        assert uids == {pwd.getpwnam(name).pw_uid}
    finally:
        subprocess.run(["userdel", "--remove", name], capture_output=True)
