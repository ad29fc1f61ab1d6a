"""replay_sync's sync engine: mirror a local folder and a bucket prefix in either direction.

Plain code with no Dagster import (a command-line tool or a benchmark can use it as it is). The
decisions (what to copy, skip, delete; the guards) are plain functions in
`resources/replay_sync/plan.py`; this module does the I/O: listing, hashing, transfers with a
thread pool (boto3 + s3transfer, multipart with bounded memory above the threshold), atomic
downloads, and deletes that happen only after every transfer succeeded.
"""

from __future__ import annotations

import bisect
import concurrent.futures
import functools
import hashlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import botocore.exceptions
from boto3.exceptions import S3UploadFailedError

from resources import partial_files
from resources.object_store import (
    MULTIPART_THRESHOLD,
    ObjectStoreError,
    SmallObjectPut,
    explain_s3_error,
    transfer_config,
)
from resources.replay_sync.plan import (
    FileState,
    SyncPlan,
    UnsafeKey,
    check_delete_key,
    check_relative_path,
    clean_prefix,
    join_key,
    listing_ranges,
    md5_from_etag,
    md5_from_metadata,
    md5_to_metadata,
    mtime_from_metadata,
    mtime_to_metadata,
    plan_sync,
    relative_key,
    safe_local_path,
    transfer_reason,
)

# Downloads land as `.<name>.partial-<host>-<pid>-<random>` and are renamed when whole: unique per
# writer, and a later pull can tell a dead writer's leftovers from a live one's file in flight
# (resources/partial_files.py, the lake's rule too).
PARTIAL_MARK = ".partial-"
HASH_CHUNK = 1 << 20
SMALL_BODY = 1 << 20  # uploaded from memory: at most `workers` of these are held at once
S3_ERRORS = (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError)


class SyncFailed(ObjectStoreError):
    """Some transfers failed; nothing was deleted. Re-running the sync resumes where it stopped."""


def file_md5(path: Path | str) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def is_partial(name: str) -> bool:
    return partial_files.is_partial(name, PARTIAL_MARK)


def partial_name(target: Path) -> Path:
    return partial_files.partial_path(target, PARTIAL_MARK)


@dataclass
class SyncReport:
    direction: str  # "upload" or "download"
    source: str
    destination: str
    dry_run: bool
    plan: SyncPlan
    transferred_files: int = 0
    transferred_bytes: int = 0
    deleted: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cleaned_partials: list[tuple[str, int]] = field(default_factory=list)  # (path, bytes)
    skipped_symlinks: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)

    @property
    def new(self) -> int:
        return sum(1 for _, reason in self.plan.transfers if reason == "new")

    @property
    def changed(self) -> int:
        return len(self.plan.transfers) - self.new

    def summary(self) -> str:
        verb = "would" if self.dry_run else "did"
        return (
            f"{self.direction} {self.source} -> {self.destination}: {self.new} new, "
            f"{self.changed} changed, {len(self.plan.unchanged)} unchanged, "
            f"{len(self.plan.deletes)} to delete ({verb}), {len(self.plan.refused)} refused, "
            f"{len(self.skipped_symlinks)} symlinks skipped, "
            f"{self.transferred_bytes} bytes moved in {self.seconds:.2f} s"
        )


class Progress:
    """Logs how far a batch of transfers got: at most every `every_s` seconds, and at the end."""

    def __init__(self, log: Callable[[str], None], total_files: int, total_bytes: int, what: str):
        self.log, self.total_files, self.total_bytes, self.what = (
            log,
            total_files,
            total_bytes,
            what,
        )
        self.files = self.bytes = 0
        self._lock = threading.Lock()
        self._last = time.monotonic()
        self._started = self._last

    def done(self, size: int, every_s: float = 5.0) -> None:
        with self._lock:
            self.files += 1
            self.bytes += size
            now = time.monotonic()
            if now - self._last >= every_s or self.files == self.total_files:
                self._last = now
                rate = self.bytes / max(now - self._started, 1e-6) / 1e6
                self.log(
                    f"{self.what}: {self.files}/{self.total_files} files, "
                    f"{self.bytes / 1e6:.1f}/{self.total_bytes / 1e6:.1f} MB ({rate:.1f} MB/s)"
                )


# ---- the two sides of a sync -----------------------------------------------------------------


class LocalTree:
    """A local folder as a listing of relative paths."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.symlinks: set[str] = set()  # relative paths of the symlinks the last listing met

    def describe(self) -> str:
        return str(self.root)

    def list(self) -> dict[str, FileState]:
        """Files below the root (a symlink to a file is listed as the file it names; symlinked
        folders are not entered); every symlink met is also noted in `symlinks`."""
        states: dict[str, FileState] = {}
        self.symlinks = set()
        if not self.root.is_dir():
            return states
        skip = len(os.path.join(self.root, ""))  # entry paths start with the root and a separator
        stack = [str(self.root)]
        while stack:
            folder = stack.pop()
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.is_symlink():
                        self.symlinks.add(entry.path[skip:].replace(os.sep, "/"))
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    elif entry.is_file() and not is_partial(entry.name):
                        stat = entry.stat()
                        rel = entry.path[skip:].replace(os.sep, "/")
                        states[rel] = FileState(rel, stat.st_size, stat.st_mtime_ns)
        return states

    def path(self, relative: str) -> Path:
        return safe_local_path(self.root, relative, self._resolved_root)

    @functools.cached_property
    def _resolved_root(self) -> Path:
        return self.root.resolve()  # once, not per file

    def fill(self, state: FileState) -> FileState:
        """Add the MD5 (reads the file). Its name comes from this tree's own listing, so it
        skips the escape guard of `path` (meant for names from the bucket; ~70 us per file)."""
        md5 = file_md5(os.path.join(self.root, state.path))
        return FileState(state.path, state.size, state.mtime_ns, md5)

    def through_symlink(self, relative: str) -> str | None:
        """The symlink (the path or a folder above it) that `relative` goes through, if any."""
        if not self.symlinks:
            return None
        parts = relative.split("/")
        for end in range(len(parts), 0, -1):
            if (link := "/".join(parts[:end])) in self.symlinks:
                return link
        return None

    def clean_partials(self) -> list[tuple[str, int]]:
        """Remove the downloads an interrupted (killed) sync left half-written: only stale ones
        (`partial_files.is_stale`), never a concurrent pull's file in flight. (path, bytes) removed."""
        removed = []
        if self.root.is_dir():
            now = time.time()
            for path in self.root.rglob(f".*{PARTIAL_MARK}*"):
                try:
                    stat = path.stat()
                    if not partial_files.is_stale(path.name, PARTIAL_MARK, stat.st_mtime, now):
                        continue
                    path.unlink()
                except FileNotFoundError:  # its writer finished (renamed it) meanwhile
                    continue
                removed.append((path.relative_to(self.root).as_posix(), stat.st_size))
        return removed


class BucketTree:
    """One prefix of a bucket as a listing of relative keys."""

    def __init__(
        self,
        client,
        bucket: str,
        prefix: str,
        max_concurrency: int = 4,
        multipart_threshold: int = MULTIPART_THRESHOLD,
        small_put: SmallObjectPut | None = None,
    ):
        self.client = client
        self.small_put = small_put  # small uploads bypass botocore's per-request CPU when set
        self.bucket = bucket
        self.prefix = clean_prefix(prefix)
        # Memory of one large transfer is about max_concurrency parts of the chunk size.
        self.transfer = transfer_config(max_concurrency)
        self.multipart_threshold = multipart_threshold
        if multipart_threshold < self.transfer.multipart_threshold:
            self.transfer.multipart_threshold = multipart_threshold
            self.transfer.multipart_chunksize = max(multipart_threshold, 5 * 1024 * 1024)

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def key(self, relative: str) -> str:
        return join_key(self.prefix, check_relative_path(relative))

    def fail(self, exc: Exception, action: str) -> ObjectStoreError:
        return explain_s3_error(exc, self.bucket, action)

    def list(
        self, hints: list[str] | None = None, keys_per_range: int = 900, threads: int = 8
    ) -> tuple[dict[str, FileState], list[tuple[str, str]]]:
        """(listing, refused keys). Keys that are no plain relative path are refused, not listed.

        `hints` (relative names expected in the bucket, e.g. the local side's) let a large
        listing run as concurrent key ranges of about one page each (< 1,000 keys): a second
        page per range would cost one more request, and stores that sort the whole prefix for
        every page (moto does) a full scan each.
        """
        prefix = self.prefix + "/" if self.prefix else ""
        hint_keys = sorted(prefix + h for h in hints or [])
        parts = -(-len(hint_keys) // keys_per_range)
        ranges = listing_ranges(hint_keys, parts, min_keys_per_part=keys_per_range // 2)
        states: dict[str, FileState] = {}
        refused: list[tuple[str, str]] = []
        try:
            if len(ranges) == 1:
                pages = [self._list_range(prefix, None, None)]
            else:
                # Pages sized to the keys each range expects, so no range reads far into the next.
                expected = [
                    bisect.bisect_right(hint_keys, hi) if hi is not None else len(hint_keys)
                    for _, hi in ranges
                ]
                expected = [n - m for n, m in zip(expected, [0, *expected[:-1]], strict=True)]
                with concurrent.futures.ThreadPoolExecutor(min(len(ranges), threads)) as pool:
                    pages = list(
                        pool.map(
                            lambda r, n: self._list_range(prefix, *r, expected=n),
                            ranges,
                            expected,
                        )
                    )
        except S3_ERRORS as exc:
            raise self.fail(exc, f"list {self.describe()}") from exc
        for items in pages:
            for key, size, etag in items:
                if key.endswith("/"):
                    continue  # folder marker objects some tools create
                try:
                    rel = check_relative_path(relative_key(self.prefix, key))
                except UnsafeKey as exc:
                    refused.append((key, str(exc)))
                    continue
                states[rel] = FileState(rel, size, None, md5_from_etag(etag))
        return states, refused

    def _list_range(
        self, prefix: str, after: str | None, up_to: str | None, expected: int | None = None
    ) -> list[tuple[str, int, str | None]]:
        """(key, size, etag) of the keys in (after, up_to] below prefix, in key order."""
        items: list[tuple[str, int, str | None]] = []
        request = {"Bucket": self.bucket, "Prefix": prefix}
        if after is not None:
            request["StartAfter"] = after
        while True:
            if expected is not None:
                request["MaxKeys"] = min(1000, max(expected - len(items), 0) + 16)
            page = self.client.list_objects_v2(**request)
            for item in page.get("Contents", []):
                if up_to is not None and item["Key"] > up_to:
                    return items
                items.append((item["Key"], int(item["Size"]), item.get("ETag")))
            if not page.get("IsTruncated"):
                return items
            request["ContinuationToken"] = page["NextContinuationToken"]

    def fill(self, state: FileState) -> FileState:
        """Add the mtime and MD5 from the object's metadata (one HEAD)."""
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.key(state.path))
        except S3_ERRORS as exc:
            raise self.fail(exc, f"inspect {state.path}") from exc
        meta = head.get("Metadata", {})
        return FileState(
            state.path,
            state.size,
            mtime_from_metadata(meta.get("mtime")),
            state.md5 or md5_from_metadata(meta.get("md5chksum")),
        )

    def upload(self, local: Path, state: FileState) -> None:
        metadata = {"mtime": mtime_to_metadata(state.mtime_ns or os.stat(local).st_mtime_ns)}
        key = self.key(state.path)
        try:
            if state.size <= SMALL_BODY and self.small_put is not None:
                self.small_put.put(self.bucket, key, local.read_bytes(), metadata)
            elif state.size <= SMALL_BODY:
                # Bytes, not a file object: a bulk client (make_s3_client(bulk=True)) then skips
                # `Expect: 100-continue`, one more round trip per object.
                self.client.put_object(
                    Bucket=self.bucket, Key=key, Body=local.read_bytes(), Metadata=metadata
                )
            elif state.size < self.multipart_threshold:
                with local.open("rb") as body:
                    self.client.put_object(
                        Bucket=self.bucket,
                        Key=key,
                        Body=body,
                        ContentLength=state.size,
                        Metadata=metadata,
                    )
            else:
                # A multipart ETag is not an MD5: store it the way rclone does.
                metadata["md5chksum"] = md5_to_metadata(state.md5 or file_md5(local))
                self.client.upload_file(
                    str(local),
                    self.bucket,
                    key,
                    ExtraArgs={"Metadata": metadata},
                    Config=self.transfer,
                )
        except S3UploadFailedError as exc:
            raise self.fail(exc.__cause__ or exc, f"upload {state.path}") from exc
        except S3_ERRORS as exc:
            raise self.fail(exc, f"upload {state.path}") from exc

    def download(self, state: FileState, target: Path) -> None:
        """Write the object to `target` atomically, with its stored mtime (when it has one)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = partial_name(target)
        key = self.key(state.path)
        try:
            if state.size < self.multipart_threshold:
                answer = self.client.get_object(Bucket=self.bucket, Key=key)
                meta = answer.get("Metadata", {})
                with partial.open("wb") as fh:
                    for chunk in answer["Body"].iter_chunks(HASH_CHUNK):
                        fh.write(chunk)
            else:
                meta = self.client.head_object(Bucket=self.bucket, Key=key).get("Metadata", {})
                self.client.download_file(self.bucket, key, str(partial), Config=self.transfer)
            mtime = mtime_from_metadata(meta.get("mtime"))
            if mtime is not None:
                os.utime(partial, ns=(mtime, mtime))
            os.replace(partial, target)
        except S3_ERRORS as exc:
            raise self.fail(exc, f"download {state.path}") from exc
        finally:
            partial.unlink(missing_ok=True)

    def delete(self, relatives: list[str]) -> list[str]:
        """Delete keys, each checked to lie inside the prefix first; batches of 1000."""
        keys = [check_delete_key(self.prefix, self.key(rel)) for rel in relatives]
        for start in range(0, len(keys), 1000):
            batch = keys[start : start + 1000]
            try:
                answer = self.client.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
                )
            except S3_ERRORS as exc:
                raise self.fail(exc, f"delete {len(batch)} objects") from exc
            if answer.get("Errors"):
                first = answer["Errors"][0]
                raise ObjectStoreError(
                    f"could not delete {len(answer['Errors'])} objects in bucket {self.bucket!r}, "
                    f"e.g. {first.get('Key')}: {first.get('Code')} {first.get('Message')}"
                )
        return keys


# ---- the sync ---------------------------------------------------------------------------------


def _run_transfers(
    plan: SyncPlan,
    action: Callable[[FileState], None],
    workers: int,
    log: Callable[[str], None],
    what: str,
) -> tuple[int, int]:
    progress = Progress(log, len(plan.transfers), plan.transfer_bytes, what)
    failures: list[tuple[str, str]] = []

    def transfer(state: FileState) -> None:
        try:
            action(state)
        except BaseException as exc:  # noqa: BLE001 - every failure is collected and reported
            failures.append((state.path, str(exc) or type(exc).__name__))
        else:
            progress.done(state.size)

    # The workers record their own outcome: waiting on each future (as_completed) woke this
    # thread once per file, a GIL hand-off per small upload that cost ~15 % of the client CPU.
    with concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="transfer") as pool:
        for state, _ in plan.transfers:
            pool.submit(transfer, state)
    if failures:
        examples = "; ".join(f"{path}: {reason}" for path, reason in failures[:3])
        raise SyncFailed(
            f"{len(failures)} of {len(plan.transfers)} transfers failed ({examples}). "
            f"{progress.files} succeeded; nothing was deleted. Fix the cause and re-run: the sync "
            "resumes, skipping files already transferred."
        )
    return progress.files, progress.bytes


def _list_both(local: LocalTree, remote: BucketTree):
    """(local listing, (bucket listing, refused keys)), with the MD5 of each local file that the
    comparison will need: one the bucket holds with the same size and an MD5 ETag.

    Small files are hashed on this thread while the bucket listing is in flight (it mostly waits
    on the store), until the listing is back; then the rest of those needed, one after another:
    small files hash 2-3x slower from a thread pool (a GIL hand-off per file). Other hashes and
    HEADs are left to `transfer_reason`, on the pool."""
    states = local.list()
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="listing") as background:
        listed = background.submit(remote.list, list(states))
        for name, state in states.items():
            if listed.done():
                break
            if state.size <= SMALL_BODY:
                states[name] = local.fill(state)
        listing, refused = listed.result()
    for name, state in states.items():
        other = listing.get(name)
        if other is not None and other.md5 and state.md5 is None and other.size == state.size:
            states[name] = local.fill(state)
    return states, (listing, refused)


def _announce_and_transfer(
    report: SyncReport, transfer: Callable[[FileState], None], workers: int, log
) -> bool:
    """Log what the plan will do; unless it is a dry run, run its transfers into the report.
    True when the transfers ran (all succeeded: a failure raises), so deletes may follow."""
    summary = report.summary()
    log(summary if report.dry_run else summary.replace("did", "will"))
    if report.dry_run:
        _log_dry_run(report.plan, log)
        return False
    report.transferred_files, report.transferred_bytes = _run_transfers(
        report.plan, transfer, workers, log, report.direction
    )
    return True


def sync_up(
    local: LocalTree,
    remote: BucketTree,
    delete: bool = False,
    dry_run: bool = False,
    workers: int = 16,
    log: Callable[[str], None] = print,
) -> SyncReport:
    """Make `remote` mirror `local` (rclone sync; with delete=False, rclone copy)."""
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="check") as checkers:
        source, (destination, refused) = _list_both(local, remote)
        decide = partial(transfer_reason, fill_source=local.fill, fill_destination=remote.fill)
        plan = plan_sync(source, destination, decide, delete, mapper=checkers.map)
    plan.refused = refused
    report = SyncReport("upload", local.describe(), remote.describe(), dry_run, plan)

    def upload(state: FileState) -> None:
        remote.upload(local.path(state.path), state)

    # Deletes only after every transfer succeeded (a failed one raises).
    if _announce_and_transfer(report, upload, workers, log) and plan.deletes:
        report.deleted = remote.delete(plan.deletes)
        log(f"deleted {len(report.deleted)} objects the source no longer has")
    report.seconds = time.monotonic() - started
    return report


def sync_down(
    remote: BucketTree,
    local: LocalTree,
    delete: bool = False,
    dry_run: bool = False,
    workers: int = 16,
    log: Callable[[str], None] = print,
) -> SyncReport:
    """Make `local` mirror `remote`; keys that would escape the folder are refused."""
    started = time.monotonic()
    cleaned = [] if dry_run else local.clean_partials()
    with concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="check") as checkers:
        destination, (source, refused) = _list_both(local, remote)
        decide = partial(
            transfer_reason,
            fill_source=remote.fill,
            fill_destination=local.fill,
            remote_first="source",
        )
        plan = plan_sync(source, destination, decide, delete, mapper=checkers.map)
    # The whole plan is checked before anything changes, so nothing is ever half-done: a local
    # symlink is neither followed, overwritten nor deleted (rclone's default without -L/-l);
    # a path that would escape the folder is refused.
    skipped: list[tuple[str, str]] = []

    def allowed(rel: str, action: str) -> bool:
        if link := local.through_symlink(rel):
            skipped.append((rel, f"{link} is a symlink: not {action} (it is not the sync's to "
                                 "change; replace it with a plain file or folder to sync it)"))  # fmt: skip
            return False
        try:
            local.path(rel)
        except UnsafeKey as exc:
            refused.append((rel, str(exc)))
            return False
        return True

    plan.transfers = [(s, r) for s, r in plan.transfers if allowed(s.path, "overwritten")]
    plan.deletes = [rel for rel in plan.deletes if allowed(rel, "deleted")]
    plan.refused = refused
    report = SyncReport("download", remote.describe(), local.describe(), dry_run, plan)
    report.cleaned_partials, report.skipped_symlinks = cleaned, skipped
    if cleaned:
        log(f"removed {len(cleaned)} stale partial downloads left by an interrupted sync")
    for rel, reason in skipped[:20]:
        log(f"skipped {rel}: {reason}")

    def download(state: FileState) -> None:
        remote.download(state, local.path(state.path))

    if _announce_and_transfer(report, download, workers, log):
        for rel in plan.deletes:  # only after every transfer succeeded; all checked above
            local.path(rel).unlink(missing_ok=True)
            report.deleted.append(rel)
        if plan.deletes:
            log(f"deleted {len(plan.deletes)} local files the bucket no longer has")
    report.seconds = time.monotonic() - started
    return report


def _log_dry_run(plan: SyncPlan, log: Callable[[str], None], limit: int = 50) -> None:
    for state, reason in plan.transfers[:limit]:
        log(f"dry-run: would transfer {state.path} ({reason}, {state.size} bytes)")
    for rel in plan.deletes[:limit]:
        log(f"dry-run: would delete {rel}")
