"""A killed writer's half-written lake file is removed by the next write of the same key, never
while its writer lives (issue 22): real writer processes, a real SIGKILL, local and S3 lakes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from resources.lake import SPOOL, TEMP_MARK, LocalLake, open_lake
from resources.partial_files import STALE_SECONDS, is_stale, partial_path

ROOT = Path(__file__).resolve().parents[1]
KEY = "datasets/replays/replays_20261110.parquet"

# A writer that publishes KEY, writes 5 MB into its temporary file and then waits (a run killed
# mid-write), printing the temporary path once written.
WRITER = """
import sys, time
from resources.lake import open_lake
lake = open_lake(*sys.argv[1:])
with lake.publish({key!r}) as path:
    path.write_bytes(b"x" * 5_000_000)
    print(path, flush=True)
    time.sleep(600)
"""


def _writer(*lake_args: str) -> tuple[subprocess.Popen, Path]:
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER.format(key=KEY), *lake_args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline().strip()
    assert line, "the writer printed no temporary path"
    return process, Path(line)


def _kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait()


def test_a_killed_local_write_is_removed_by_the_next_write_of_its_key(tmp_path):
    live, live_partial = _writer(str(tmp_path))
    killed, killed_partial = _writer(str(tmp_path))
    try:
        _kill(killed)
        assert killed_partial.exists() and TEMP_MARK in killed_partial.name
        lake = LocalLake(tmp_path)
        assert [info.key for info in lake.list()] == []  # readers never see either
        lake.write_bytes(KEY, b"whole")
        assert not killed_partial.exists()
        assert live_partial.exists(), "a live writer's file in flight was removed"
        assert lake.read_bytes(KEY) == b"whole"
    finally:
        _kill(live)
    lake.write_bytes(KEY, b"again")
    leftovers = sorted(p.name for p in (tmp_path / KEY).parent.iterdir())
    assert leftovers == [Path(KEY).name]


def test_a_killed_s3_write_leaves_no_spool_file_after_the_next_write(s3_bucket, monkeypatch):
    args = (f"s3://{s3_bucket.name}/lake", s3_bucket.server.endpoint_url, "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_bucket.server.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_bucket.server.secret_access_key)
    killed, spooled = _writer(*args)
    _kill(killed)
    assert spooled.exists() and spooled.parent == SPOOL
    lake = open_lake(*args)
    assert list(lake.list()) == []  # nothing was uploaded
    lake.write_bytes(KEY, b"whole")
    assert not spooled.exists()
    assert lake.read_bytes(KEY) == b"whole"


@pytest.mark.parametrize("age, writer, stale", [
    (10, "dead", True),
    (10, "alive", False),
    (10, "another host", False),
    (STALE_SECONDS + 60, "another host", True),
])  # fmt: skip
def test_a_partial_file_is_stale_only_when_its_writer_is_gone(tmp_path, age, writer, stale):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        name = partial_path(tmp_path / "x.parquet", TEMP_MARK).name
        pid = str(os.getpid())
        if writer == "another host":
            name = name.replace(name.split(TEMP_MARK)[1].split("-")[0], "00000000", 1)
        else:  # written by the sleeper, killed below or still alive
            name = name.replace(f"-{pid}-", f"-{sleeper.pid}-")
        if writer == "dead":
            _kill(sleeper)
        now = time.time()
        assert is_stale(name, TEMP_MARK, now - age, now) is stale
    finally:
        if sleeper.poll() is None:
            _kill(sleeper)
