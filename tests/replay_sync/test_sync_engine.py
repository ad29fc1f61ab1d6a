"""The sync engine against moto's S3 server over real HTTP: rclone semantics both ways,
dry-run, the prefix and path guards, resumption after an interruption, multipart objects."""

from __future__ import annotations

import os

import pytest

from resources.object_store import ObjectStoreError
from resources.replay_sync.engine import (
    PARTIAL_MARK,
    BucketTree,
    LocalTree,
    SyncFailed,
    sync_down,
    sync_up,
)
from resources.replay_sync.plan import mtime_to_metadata
from resources.replay_sync.store import ReplayStoreResource
from tests.replay_sync.conftest import bucket_listing, local_listing, write_file

T0 = 1_700_000_000


def quiet(_msg: str) -> None:
    pass


def seed_local(root):
    write_file(root, "a.slp", b"alpha" * 100, T0)
    write_file(root, "b.slp", b"bravo" * 100, T0)
    write_file(root, "sub/c.slp", b"charlie" * 50, T0)
    write_file(root, "d.slp", b"delta" * 10, T0)


def test_upload_new_changed_unchanged_deleted_and_dry_run(store, tmp_path):
    local, remote = LocalTree(tmp_path / "slp"), store.tree("mewtwo")
    seed_local(local.root)
    first = sync_up(local, remote, log=quiet)
    assert (first.new, first.changed, first.transferred_files) == (4, 0, 4)
    head = store.client().head_object(Bucket=store.bucket, Key="mewtwo/a.slp")
    assert head["Metadata"]["mtime"] == mtime_to_metadata(T0 * 10**9)  # what rclone stores

    write_file(local.root, "a.slp", b"ALPHA" * 100, T0 + 60)  # same size, new content
    write_file(local.root, "b.slp", b"bravo" * 101, T0 + 60)  # new size
    os.utime(local.root / "sub/c.slp", (T0 + 99, T0 + 99))  # touched, same content
    write_file(local.root, "e.slp", b"echo", T0)
    (local.root / "d.slp").unlink()

    dry = sync_up(local, remote, delete=True, dry_run=True, log=quiet)
    assert sorted((s.path, r) for s, r in dry.plan.transfers) == [
        ("a.slp", "content differs"),
        ("b.slp", "size differs"),
        ("e.slp", "new"),
    ]
    assert dry.plan.unchanged == ["sub/c.slp"] and dry.plan.deletes == ["d.slp"]
    assert dry.transferred_files == 0 and dry.deleted == []
    assert "d.slp" in bucket_listing(store.client(), store.bucket, "mewtwo")  # untouched

    kept = sync_up(local, remote, log=quiet)  # delete is off by default
    assert kept.transferred_files == 3 and kept.deleted == []
    assert "d.slp" in bucket_listing(store.client(), store.bucket, "mewtwo")

    synced = sync_up(local, remote, delete=True, log=quiet)
    assert synced.transferred_files == 0 and synced.deleted == ["mewtwo/d.slp"]
    assert bucket_listing(store.client(), store.bucket, "mewtwo") == local_listing(local.root)

    again = sync_up(local, remote, delete=True, log=quiet)
    assert again.transferred_files == 0 and len(again.plan.unchanged) == 4


def test_download_mirrors_the_bucket_and_keeps_mtimes(store, tmp_path):
    source, remote = LocalTree(tmp_path / "slp"), store.tree("link")
    seed_local(source.root)
    sync_up(source, remote, log=quiet)
    workspace = LocalTree(tmp_path / "workspace")
    write_file(workspace.root, "stale.slp", b"old", T0)

    pulled = sync_down(remote, workspace, delete=True, log=quiet)
    assert pulled.new == 4 and pulled.deleted == ["stale.slp"]
    assert local_listing(workspace.root) == local_listing(source.root)
    assert (workspace.root / "a.slp").stat().st_mtime_ns == T0 * 10**9

    write_file(workspace.root, "b.slp", b"BRAVO" * 100, T0 + 5)  # damaged locally, same size
    repaired = sync_down(remote, workspace, log=quiet)
    assert [s.path for s, _ in repaired.plan.transfers] == ["b.slp"]
    assert local_listing(workspace.root) == local_listing(source.root)
    assert sync_down(remote, workspace, log=quiet).transferred_files == 0


def test_delete_never_leaves_the_prefix(store, tmp_path):
    client = store.client()
    for key in ("mewtwo2/keep.slp", "mewtwo-old/keep.slp", "keep.slp", "link/mewtwo/keep.slp"):
        client.put_object(Bucket=store.bucket, Key=key, Body=b"keep")
    client.put_object(Bucket=store.bucket, Key="mewtwo/gone.slp", Body=b"gone")
    local = LocalTree(tmp_path / "slp")
    write_file(local.root, "x.slp", b"x", T0)

    report = sync_up(local, store.tree("mewtwo"), delete=True, log=quiet)
    assert report.deleted == ["mewtwo/gone.slp"]
    keys = {o["Key"] for o in client.list_objects_v2(Bucket=store.bucket)["Contents"]}
    assert keys == {
        "mewtwo2/keep.slp",
        "mewtwo-old/keep.slp",
        "keep.slp",
        "link/mewtwo/keep.slp",
        "mewtwo/x.slp",
    }
    with pytest.raises(ValueError, match="empty prefix"):
        store.tree("").delete(["keep.slp"])


def test_keys_escaping_the_folder_are_refused_on_download(store, tmp_path):
    client = store.client()
    client.put_object(Bucket=store.bucket, Key="fox/ok.slp", Body=b"ok")
    for key in ("fox/a/../../../escape.slp", "fox//abs.slp", "fox/./dot.slp"):
        client.put_object(Bucket=store.bucket, Key=key, Body=b"evil")
    workspace = LocalTree(tmp_path / "workspace" / "fox")

    report = sync_down(store.tree("fox"), workspace, log=quiet)
    stored = {o["Key"] for o in client.list_objects_v2(Bucket=store.bucket)["Contents"]}
    escaping = stored - {"fox/ok.slp"}
    assert escaping, "the S3 server should keep the odd keys as given"
    assert {key for key, _ in report.plan.refused} == escaping
    assert list(local_listing(tmp_path)) == ["workspace/fox/ok.slp"]  # nothing written elsewhere


def test_interrupted_upload_resumes_without_duplicates_and_deletes_nothing(
    store, tmp_path, monkeypatch
):
    local, remote = LocalTree(tmp_path / "slp"), store.tree("marth")
    for i in range(30):
        write_file(local.root, f"r{i:02d}.slp", f"replay {i}".encode() * 20, T0)
    store.client().put_object(Bucket=store.bucket, Key="marth/old.slp", Body=b"old")

    real_upload, calls = BucketTree.upload, []

    def failing_upload(self, path, state):  # fault injection: the link drops after 12 files
        calls.append(state.path)
        if len(calls) > 12:
            raise ConnectionError("connection reset by peer")
        real_upload(self, path, state)

    monkeypatch.setattr(BucketTree, "upload", failing_upload)
    with pytest.raises(SyncFailed, match="18 of 30 transfers failed.*re-run"):
        sync_up(local, remote, delete=True, workers=4, log=quiet)
    listing = bucket_listing(store.client(), store.bucket, "marth")
    assert "old.slp" in listing, "nothing is deleted when a transfer failed"
    assert len(listing) == 13

    monkeypatch.setattr(BucketTree, "upload", real_upload)
    resumed = sync_up(local, remote, delete=True, log=quiet)
    assert resumed.transferred_files == 18 and len(resumed.plan.unchanged) == 12
    assert bucket_listing(store.client(), store.bucket, "marth") == local_listing(local.root)


def test_interrupted_download_leaves_no_half_file_and_resumes(store, tmp_path, monkeypatch):
    source, remote = LocalTree(tmp_path / "slp"), store.tree("peach")
    for i in range(10):
        write_file(source.root, f"r{i}.slp", os.urandom(2000), T0)
    sync_up(source, remote, log=quiet)
    workspace = LocalTree(tmp_path / "workspace")
    write_file(workspace.root, f".r0.slp{PARTIAL_MARK}deadbeef", b"half", T0)  # a killed run

    real_download, calls = BucketTree.download, []

    def failing_download(self, state, target):
        calls.append(state.path)
        if len(calls) > 4:
            raise ConnectionError("timed out")
        real_download(self, state, target)

    monkeypatch.setattr(BucketTree, "download", failing_download)
    with pytest.raises(SyncFailed):
        sync_down(remote, workspace, workers=2, log=quiet)
    assert len(local_listing(workspace.root)) == 4  # the 4 finished files; the stale partial went

    monkeypatch.setattr(BucketTree, "download", real_download)
    assert sync_down(remote, workspace, log=quiet).transferred_files == 6
    assert local_listing(workspace.root) == local_listing(source.root)


def test_multipart_objects_carry_md5chksum_and_resync_by_mtime(store, tmp_path):
    local = LocalTree(tmp_path / "ckpt")
    write_file(local.root, "model.bin", os.urandom(11 * 1024 * 1024), T0)
    remote = BucketTree(store.client(), store.bucket, "checkpoints", multipart_threshold=5 << 20)

    assert sync_up(local, remote, log=quiet).transferred_files == 1
    head = store.client().head_object(Bucket=store.bucket, Key="checkpoints/model.bin")
    assert head["ETag"].strip('"').endswith("-3")  # really multipart
    assert set(head["Metadata"]) == {"mtime", "md5chksum"}
    assert sync_up(local, remote, log=quiet).transferred_files == 0

    pulled = LocalTree(tmp_path / "pulled")
    sync_down(remote, pulled, log=quiet)
    assert local_listing(pulled.root) == local_listing(local.root)
    assert sync_down(remote, pulled, log=quiet).transferred_files == 0


def test_missing_and_wrong_credentials_say_what_to_set_and_hide_the_secret(
    store, tmp_path, monkeypatch, caplog
):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    no_keys = store.model_copy(update={"access_key_id": None, "secret_access_key": None})
    with pytest.raises(ObjectStoreError, match="B2_KEY_ID and B2_APP_KEY.*R2_ACCESS_KEY"):
        no_keys.client()
    with pytest.raises(ObjectStoreError, match="REPLAY_SYNC_BUCKET"):
        store.model_copy(update={"bucket": None}).client()

    secret = "wrong-secret-do-not-print-0123456789"
    wrong = store.model_copy(update={"secret_access_key": secret})
    # moto accepts any signature, so the store's refusal is injected at the HTTP send.
    client = wrong.client()

    def deny(request, **kwargs):
        from botocore.exceptions import ClientError

        raise ClientError(
            {"Error": {"Code": "InvalidAccessKeyId", "Message": "bad key"}}, "ListObjectsV2"
        )

    client.meta.events.register("before-send.s3.ListObjectsV2", deny)
    with pytest.raises(ObjectStoreError, match="rejected the credentials") as failure:
        sync_up(LocalTree(tmp_path), wrong.tree("x"), log=quiet)
    assert secret not in str(failure.value) and secret not in caplog.text

    unreachable = ReplayStoreResource(
        bucket=store.bucket,
        endpoint_url="http://127.0.0.1:9",
        region=store.region,
        access_key_id="some-key-id",
        secret_access_key=secret,
    )
    with pytest.raises(ObjectStoreError, match="Could not reach") as failure:
        unreachable.tree("x").list()
    assert secret not in str(failure.value)


def test_ranged_listing_equals_the_plain_listing(store):
    client = store.client()
    keys = [f"fox/sub{i % 3}/g{i:03d}.slp" for i in range(60)]
    for key in keys:
        client.put_object(Bucket=store.bucket, Key=key, Body=b"x" * (len(key) % 7))
    client.put_object(Bucket=store.bucket, Key="fox2/outside.slp", Body=b"no")
    tree = store.tree("fox")
    plain, _ = tree.list()
    hints = [k[len("fox/") :] for k in keys[::2]] + ["not/in/bucket.slp"]  # half the names
    ranged, _ = tree.list(hints, keys_per_range=10)  # 4 ranges
    assert len(plain) == 60 and ranged == plain
