"""The sync decisions and guards, as plain functions (no I/O, no Dagster)."""

from __future__ import annotations

import os

import pytest

from resources.replay_sync.plan import (
    FileState,
    UnsafeKey,
    check_delete_key,
    check_relative_path,
    listing_ranges,
    md5_from_etag,
    md5_from_metadata,
    md5_to_metadata,
    mtime_from_metadata,
    mtime_to_metadata,
    plan_sync,
    safe_local_path,
    transfer_reason,
)

MD5_A = "0cc175b9c0f1b6a831c399e269772661"
MD5_B = "92eb5ffee6ae2fec3ad71c777531578f"


class Filler:
    """Fills in a fixed md5/mtime and counts how often it was asked (a HEAD or a hash)."""

    def __init__(self, md5=None, mtime_ns=None):
        self.md5, self.mtime_ns, self.calls = md5, mtime_ns, 0

    def __call__(self, state: FileState) -> FileState:
        self.calls += 1
        return FileState(state.path, state.size, state.mtime_ns or self.mtime_ns, self.md5)


def test_new_and_size_change_need_no_lookups():
    fill = Filler(MD5_A)
    src = FileState("a.slp", 10, 1, None)
    assert transfer_reason(src, None, fill, fill) == "new"
    assert transfer_reason(src, FileState("a.slp", 11, None, MD5_A), fill, fill) == "size differs"
    assert fill.calls == 0


def test_equal_mtimes_mean_unchanged_without_hashing():
    fill = Filler(MD5_B)
    src, dst = FileState("a", 5, 7, None), FileState("a", 5, 7, None)
    assert transfer_reason(src, dst, fill, fill) is None
    assert fill.calls == 0


def test_listing_md5_is_compared_with_the_local_hash():
    # upload: remote listing carries the ETag MD5, the local side is hashed once
    local_hash = Filler(MD5_A)
    head = Filler()
    same = transfer_reason(FileState("a", 5, 100), FileState("a", 5, None, MD5_A), local_hash, head)
    changed = transfer_reason(
        FileState("a", 5, 100), FileState("a", 5, None, MD5_B), local_hash, head
    )
    assert (same, changed) == (None, "content differs")
    assert local_hash.calls == 2 and head.calls == 0


def test_multipart_object_is_headed_first_and_its_mtime_spares_the_hash():
    local_hash = Filler(MD5_A)
    head = Filler(md5=MD5_A, mtime_ns=100)  # rclone-style mtime + md5chksum metadata
    assert transfer_reason(FileState("a", 5, 100), FileState("a", 5), local_hash, head) is None
    assert head.calls == 1 and local_hash.calls == 0


def test_multipart_object_with_other_mtime_falls_back_to_md5():
    assert (
        transfer_reason(
            FileState("a", 5, 100), FileState("a", 5), Filler(MD5_A), Filler(MD5_B, 200)
        )
        == "content differs"
    )
    assert (
        transfer_reason(
            FileState("a", 5, 100), FileState("a", 5), Filler(MD5_A), Filler(MD5_A, 200)
        )
        is None
    )


def test_object_without_metadata_or_md5_is_transferred():
    reason = transfer_reason(FileState("a", 5, 100), FileState("a", 5), Filler(MD5_A), Filler())
    assert reason == "cannot compare (no time or checksum)"


def test_plan_lists_transfers_unchanged_and_deletes_only_when_asked():
    source = {
        "new.slp": FileState("new.slp", 1, 1, MD5_A),
        "same.slp": FileState("same.slp", 1, 1, MD5_A),
        "changed.slp": FileState("changed.slp", 1, 1, MD5_A),
    }
    destination = {
        "same.slp": FileState("same.slp", 1, None, MD5_A),
        "changed.slp": FileState("changed.slp", 1, None, MD5_B),
        "gone.slp": FileState("gone.slp", 1, None, MD5_A),
    }

    def decide(s, d):
        return transfer_reason(s, d, Filler(), Filler())

    plan = plan_sync(source, destination, decide, delete=False)
    assert sorted((s.path, r) for s, r in plan.transfers) == [
        ("changed.slp", "content differs"),
        ("new.slp", "new"),
    ]
    assert plan.unchanged == ["same.slp"] and plan.deletes == []
    assert plan_sync(source, destination, decide, delete=True).deletes == ["gone.slp"]


def test_rclone_metadata_round_trips():
    assert mtime_to_metadata(1354040105_123456789) == "1354040105.123456789"
    assert mtime_to_metadata(1354040105_500000000) == "1354040105.5"
    assert mtime_to_metadata(1354040105_000000000) == "1354040105"
    for ns in (1354040105_123456789, 1354040105_500000000, 1354040105_000000000):
        assert mtime_from_metadata(mtime_to_metadata(ns)) == ns
    assert mtime_from_metadata("not a time") is None
    assert md5_from_metadata(md5_to_metadata(MD5_A)) == MD5_A
    assert md5_from_etag(f'"{MD5_A}"') == MD5_A
    assert md5_from_etag('"0cc175b9c0f1b6a831c399e269772661-3"') is None


@pytest.mark.parametrize(
    "key",
    ["../escape.slp", "a/../../escape.slp", "/etc/passwd", "a//b", "./a", "a\\..\\b", "C:/x", ""],
)
def test_unsafe_relative_keys_are_refused(key, tmp_path):
    with pytest.raises(UnsafeKey):
        safe_local_path(tmp_path, key)


def test_symlink_escape_is_refused(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    os.symlink(outside, root / "link")
    (tmp_path / "root2").mkdir()  # a sibling whose name starts with the root's
    os.symlink(tmp_path / "root2", root / "sibling")
    for relative in ("link/file.slp", "sibling/file.slp"):
        with pytest.raises(UnsafeKey):
            safe_local_path(root, relative)
        with pytest.raises(UnsafeKey):
            safe_local_path(root, relative, resolved_root=root.resolve())
    assert safe_local_path(root, "sub/file.slp") == root / "sub/file.slp"
    assert check_relative_path("a/b.slp") == "a/b.slp"


def test_delete_guard_keeps_keys_outside_the_prefix():
    assert check_delete_key("mewtwo", "mewtwo/a.slp") == "mewtwo/a.slp"
    for key in ("mewtwo2/a.slp", "mewtwo", "other/mewtwo/a.slp", "mewtwo/../x.slp"):
        with pytest.raises(UnsafeKey):
            check_delete_key("mewtwo", key)
    with pytest.raises(UnsafeKey):
        check_delete_key("", "anything.slp")


def test_listing_ranges_cover_the_key_space_without_overlap():
    assert listing_ranges(["a", "b"], parts=4) == [(None, None)]  # small: one listing
    keys = [f"p/{i:05d}" for i in range(2000)]
    ranges = listing_ranges(keys, parts=4)
    assert len(ranges) == 4 and ranges[0][0] is None and ranges[-1][1] is None
    assert all(ranges[i][1] == ranges[i + 1][0] for i in range(3))  # (after, up_to] chained
    for key in keys + ["p/", "p/zzz", "p/00000a"]:  # hinted or not, each key is in one range
        inside = [
            r for r in ranges if (r[0] is None or key > r[0]) and (r[1] is None or key <= r[1])
        ]
        assert len(inside) == 1, key
