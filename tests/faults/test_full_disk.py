"""A full disk under the lake during a replay_mining day (issue 24): the lake root is a real
tmpfs of a few MiB, filled to ENOSPC at the raw, parse and dataset stages of a day."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import load_assets_from_package_module, materialize

import assets.replay_mining
from assets.replay_mining.stages import dataset_key
from resources.lake import TEMP_MARK, LocalLake
from sandboxes.serving import serve_in_background
from sandboxes.stats_server import StatsServerSandbox
from schedules.replay_mining import replay_mining_dataset_job
from tests.replay_mining.conftest import DAY, make_resources, small_config

ASSETS = load_assets_from_package_module(assets.replay_mining)
EARLIER = DAY - dt.timedelta(days=1)
DISK_BYTES = 16 * 2**20


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Path]:
    """A real filesystem of DISK_BYTES (tmpfs), unmounted afterwards."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode}): "
                    "the full-disk tests need root (or CAP_SYS_ADMIN)")  # fmt: skip
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def free_bytes(path: Path) -> int:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


def fill(disk: Path, leave: int) -> Path:
    """Take all of the disk's free space but `leave` bytes."""
    filler = disk / "filler"
    with filler.open("wb") as out:
        out.truncate(0)
        remaining = free_bytes(disk) - leave
        chunk = b"\0" * 2**20
        while remaining > 0:
            written = out.write(chunk[: min(len(chunk), remaining)])
            remaining -= written
        out.flush()
        os.fsync(out.fileno())
    return filler


def lake_files(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.md5(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def run_day(url: str, lake_root: Path, day: dt.date):
    return materialize(
        ASSETS,
        selection=replay_mining_dataset_job.selection,  # the daily job's stages
        partition_key=day.isoformat(),
        resources=make_resources(url, str(lake_root)),
        raise_on_error=False,
    )


# The stages of a day in the order they write, each with the lake folder it writes to.
STAGES = [
    ("replay_index", "replay_mining/index/"),
    ("raw_replays", "raw/"),
    ("parsed_replays", "parsed/"),
    ("replay_dataset", "datasets/"),
]
PAGE = 4096  # tmpfs hands out whole pages


def pages(root: Path, prefix: str) -> int:
    return sum(
        -(-p.stat().st_size // PAGE) * PAGE
        for p in root.rglob("*")
        if p.is_file() and p.relative_to(root).as_posix().startswith(prefix)
    )


def failed_step(result) -> tuple[str, str]:
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failures, "the run did not fail a step"
    return failures[0].step_key, failures[0].step_failure_data.error.message


@pytest.mark.slow
@pytest.mark.parametrize("stage", [name for name, _ in STAGES])
def test_a_full_disk_fails_the_day_keeps_what_was_published_and_the_rerun_succeeds(
    stage, small_disk, tmp_path
):
    app = StatsServerSandbox(small_config())
    with serve_in_background(app) as server:
        app.base_url = server.url
        # what each stage of the day writes, and what the day publishes, on a roomy disk
        reference = tmp_path / "reference"
        assert run_day(server.url, reference, DAY).success
        expected = (reference / dataset_key(DAY)).read_bytes()
        before_stage = [prefix for name, prefix in STAGES[: [n for n, _ in STAGES].index(stage)]]
        stage_prefix = dict(STAGES)[stage]
        # room for the stages before it and half of its own files: it fills the disk mid-way
        leave = sum(pages(reference, p) for p in before_stage) + pages(reference, stage_prefix) // 2

        lake_root = small_disk / "lake"
        assert run_day(server.url, lake_root, EARLIER).success
        before = lake_files(lake_root)
        filler = fill(small_disk, leave=leave)

        result = run_day(server.url, lake_root, DAY)
        assert not result.success
        step, message = failed_step(result)
        assert step == f"replay_mining__{stage}", message
        # the message says what happened, where, and what to do
        assert "No space left on device" in message, message
        assert f"the lake's disk {lake_root} is full" in message, message
        assert "Free space there (or point LAKE_ROOT at a larger disk)" in message, message
        assert "re-run the partition" in message, message
        # nothing half-written is visible, nothing published before is changed or lost
        files = lake_files(lake_root)
        assert not [k for k in files if TEMP_MARK in k], "a half-written file is left"
        assert not LocalLake(lake_root).exists(dataset_key(DAY))
        assert {k: v for k, v in files.items() if k in before} == before

        filler.unlink()  # the operator frees space; nothing else is cleaned by hand
        rerun = run_day(server.url, lake_root, DAY)
        assert rerun.success
        assert (lake_root / dataset_key(DAY)).read_bytes() == expected
        assert not [k for k in lake_files(lake_root) if TEMP_MARK in k]
        assert {k: v for k, v in lake_files(lake_root).items() if k in before} == before
