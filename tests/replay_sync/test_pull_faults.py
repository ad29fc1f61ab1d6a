"""Pull faults, for real: a local symlink in a pull with delete, two concurrent pulls of one
folder, and a pull process killed (SIGKILL) mid-download through a store that stalls.

moto's S3 server over HTTP; the stall is a TCP proxy in front of it (tests/replay_sync/slow_s3.py).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from dagster import materialize

from assets.replay_sync.training_replays import training_replays
from resources.replay_sync.engine import LocalTree, is_partial, partial_name, sync_down
from resources.replay_sync.store import ReplayStoreResource
from tests.metadata import table_text
from tests.replay_sync.conftest import local_listing, write_file
from tests.replay_sync.slow_s3 import StallingProxy

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_700_000_000
BIG = 3 * 1024 * 1024  # one GET (below the multipart threshold), stalled after 1.5 MiB


def quiet(_msg: str) -> None:
    pass


def _partials(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if is_partial(p.name)]


def _wait_for_partial(root: Path, what, min_bytes: int = 1) -> Path:
    deadline = time.monotonic() + 60  # a bound on a hang, not a timing assertion
    while time.monotonic() < deadline:
        for p in _partials(root):
            try:
                if p.stat().st_size >= min_bytes:
                    return p
            except FileNotFoundError:
                pass
        if what is not None and what() is not None:
            raise AssertionError("the pull ended before it wrote a partial file")
        time.sleep(0.05)
    raise AssertionError("no partial download appeared")


def _upload(store: ReplayStoreResource, key: str, data: bytes) -> None:
    store.client().put_object(Bucket=store.bucket, Key=key, Body=data)


def _worker(store, endpoint: str, destination: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "REPLAY_SYNC_REGION": store.region,
        "REPLAY_SYNC_ACCESS_KEY_ID": store.access_key_id,
        "REPLAY_SYNC_SECRET_ACCESS_KEY": store.secret_access_key,
    }
    args = [endpoint, store.bucket, "mewtwo", str(destination)]
    return subprocess.Popen(
        [sys.executable, "-m", "tests.replay_sync.pull_worker", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _pull(resources, delete: bool = False):
    return materialize(
        [training_replays],
        resources=resources,
        partition_key="mewtwo",
        run_config={"ops": {"replay_sync__training_replays": {"config": {"delete": delete}}}},
    )


def _metadata(result) -> dict:
    [event] = result.get_asset_materialization_events()
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_pull_with_delete_skips_a_local_symlink_and_deletes_the_rest(resources, store, tmp_path):
    _upload(store, "mewtwo/keep.slp", b"kept in the bucket")
    _upload(store, "mewtwo/x.slp", b"the bucket's x")
    local = tmp_path / "workspace" / "replays" / "mewtwo"
    for name in ("a", "b", "c", "d", "f", "g"):  # six the bucket no longer has
        write_file(local, f"{name}.slp", name.encode() * 10, T0)
    outside = write_file(tmp_path / "elsewhere", "e_target.slp", b"not the sync's", T0)
    os.symlink(outside, local / "e.slp")  # sorted between the fourth and fifth deletion
    x_target = write_file(tmp_path / "elsewhere", "x_target.slp", b"precious", T0)
    os.symlink(x_target, local / "x.slp")  # the bucket has x.slp: the link is not overwritten

    result = _pull(resources, delete=True)
    assert result.success
    meta = _metadata(result)
    assert meta["deletions"] == 6
    assert meta["skipped_symlinks"] == 2
    reasons = table_text(meta["skipped_symlinks_reasons"])
    assert "e.slp is a symlink: not deleted" in reasons
    assert "x.slp is a symlink: not overwritten" in reasons
    assert sorted(p.name for p in local.iterdir()) == ["e.slp", "keep.slp", "x.slp"]
    assert (local / "e.slp").is_symlink() and outside.read_bytes() == b"not the sync's"
    assert (local / "x.slp").is_symlink() and x_target.read_bytes() == b"precious"
    assert (local / "keep.slp").read_bytes() == b"kept in the bucket"
    assert all(c.passed for c in result.get_asset_check_evaluations())


def test_a_second_concurrent_pull_leaves_the_first_ones_partial_file_alone(store, tmp_path):
    data = os.urandom(BIG)
    _upload(store, "mewtwo/big.slp", data)
    destination = tmp_path / "workspace" / "replays" / "mewtwo"
    proxy = StallingProxy(store.endpoint_url, stall_after=3 << 19)
    slow = ReplayStoreResource(
        bucket=store.bucket, endpoint_url=proxy.endpoint_url, region=store.region,
        access_key_id=store.access_key_id, secret_access_key=store.secret_access_key,
    )  # fmt: skip
    outcome: dict = {}

    def first_pull():
        try:
            outcome["report"] = sync_down(slow.tree("mewtwo"), LocalTree(destination), log=quiet)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            outcome["error"] = exc

    thread = threading.Thread(target=first_pull)
    thread.start()
    try:
        in_flight = _wait_for_partial(destination, lambda: outcome or None, 1 << 20)
        second = _worker(store, store.endpoint_url, destination)  # another process, full speed
        out, _ = second.communicate(timeout=120)
        assert second.returncode == 0, out
        assert "transferred=1" in out
        assert in_flight.exists()  # the first pull's file in flight was left alone
    finally:
        proxy.released.set()
        thread.join(timeout=120)
        proxy.close()
    assert "error" not in outcome, outcome.get("error")
    assert outcome["report"].transferred_files == 1
    assert (destination / "big.slp").read_bytes() == data
    assert _partials(destination) == []


def test_a_killed_pull_leaves_a_partial_the_next_pull_removes_and_reports(
    resources, store, tmp_path
):
    data = os.urandom(BIG)
    _upload(store, "mewtwo/big.slp", data)
    _upload(store, "mewtwo/small.slp", b"small")
    destination = tmp_path / "workspace" / "replays" / "mewtwo"
    proxy = StallingProxy(store.endpoint_url, stall_after=3 << 19)
    try:
        pull = _worker(store, proxy.endpoint_url, destination)
        leftover = _wait_for_partial(destination, pull.poll, 1 << 20)
        pull.send_signal(signal.SIGKILL)
        pull.wait(timeout=60)
        assert pull.returncode == -signal.SIGKILL
    finally:
        proxy.close()
    size = leftover.stat().st_size  # the dead process's half-written file
    assert 0 < size < BIG

    result = _pull(resources)
    assert result.success
    meta = _metadata(result)
    assert meta["cleaned_partials"] == 1 and meta["cleaned_partial_bytes"] == size
    assert _partials(destination) == []
    assert local_listing(destination) == {
        "big.slp": (BIG, hashlib.md5(data).hexdigest()),
        "small.slp": (5, hashlib.md5(b"small").hexdigest()),
    }


@pytest.mark.parametrize("age_hours, stale", [(0, False), (7, True)])
def test_a_partial_of_a_live_writer_is_kept_until_it_is_old(tmp_path, age_hours, stale):
    local = LocalTree(tmp_path)
    target = tmp_path / "r.slp"
    mine = partial_name(target)  # this process: alive
    mine.write_bytes(b"in flight")
    old = time.time() - age_hours * 3600
    os.utime(mine, (old, old))
    removed = local.clean_partials()
    assert (removed != []) == stale and mine.exists() != stale
