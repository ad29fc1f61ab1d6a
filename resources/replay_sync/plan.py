"""rclone-style sync decisions as plain functions: what to transfer, skip and delete, and the
guards that keep a sync inside its prefix and its target folder. No I/O: it lives in resources/
because the sync engine beside it (`resources/replay_sync/engine.py`) and the store are its only
callers, and resources never import assets.

The comparison is rclone's: a different size means transfer; with equal sizes the modification
times decide when both sides know them, then the MD5s (an S3 ETag is the MD5 of a single-part
object; multipart objects carry rclone's `md5chksum` metadata instead). Missing facts are filled
in lazily (`fill_*`: hash a local file, HEAD an object) so a re-sync with nothing changed costs
one listing plus reading the local files, not a request per object.
"""

from __future__ import annotations

import base64
import binascii
import os
import posixpath
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path


class UnsafeKey(ValueError):
    """An object key that would land outside the target folder or prefix."""


@dataclass(frozen=True)
class FileState:
    path: str  # relative, slash-separated
    size: int
    mtime_ns: int | None = None  # None: not known without another request
    md5: str | None = None  # lowercase hex; None: not known yet


Filler = Callable[[FileState], FileState]


@dataclass
class SyncPlan:
    transfers: list[tuple[FileState, str]] = field(default_factory=list)  # (source, reason)
    unchanged: list[str] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)  # destination paths the source lacks
    refused: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)

    @property
    def transfer_bytes(self) -> int:
        return sum(state.size for state, _ in self.transfers)

    def reasons(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for _, reason in self.transfers:
            counts[reason] = counts.get(reason, 0) + 1
        return counts


# ---- rclone's metadata encodings ----------------------------------------------------------


def mtime_to_metadata(mtime_ns: int) -> str:
    """rclone's `mtime` metadata: seconds since the epoch as a fixed-point string with all nine
    digits of nanoseconds, trailing zeros dropped (1354040105.123456789)."""
    seconds, nanos = divmod(mtime_ns, 1_000_000_000)
    return f"{seconds}.{nanos:09d}".rstrip("0").rstrip(".")


def mtime_from_metadata(value: str | None) -> int | None:
    if not value:
        return None
    seconds, _, fraction = value.strip().partition(".")
    try:
        return int(seconds) * 1_000_000_000 + int((fraction + "000000000")[:9] or 0)
    except ValueError:
        return None


def md5_from_etag(etag: str | None) -> str | None:
    """The MD5 an ETag carries, or None for multipart ETags (`…-N`) and other forms."""
    if not etag:
        return None
    etag = etag.strip('"').lower()
    if len(etag) == 32 and all(c in "0123456789abcdef" for c in etag):
        return etag
    return None


def md5_to_metadata(md5_hex: str) -> str:
    """rclone's `md5chksum` metadata: the MD5 as base64."""
    return base64.b64encode(bytes.fromhex(md5_hex)).decode()


def md5_from_metadata(value: str | None) -> str | None:
    if not value:
        return None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == 16 else None


# ---- the comparison -----------------------------------------------------------------------


def _same_mtime(a: FileState, b: FileState) -> bool:
    return a.mtime_ns is not None and a.mtime_ns == b.mtime_ns


def transfer_reason(
    source: FileState,
    destination: FileState | None,
    fill_source: Filler,
    fill_destination: Filler,
    remote_first: str = "destination",
) -> str | None:
    """Why `source` must be copied over `destination`, or None when they are the same.

    `remote_first` names the side whose filler is a request (a HEAD may bring an mtime that
    spares hashing the local file); it is filled before the local side is hashed.
    """
    if destination is None:
        return "new"
    if source.size != destination.size:
        return "size differs"
    if _same_mtime(source, destination):
        return None
    sides = {"source": source, "destination": destination}
    fillers = {"source": fill_source, "destination": fill_destination}
    order = [remote_first, "source" if remote_first == "destination" else "destination"]
    for side in order:
        if sides[side].md5 is None:
            sides[side] = fillers[side](sides[side])
            if _same_mtime(sides["source"], sides["destination"]):
                return None
        src, dst = sides["source"], sides["destination"]
        if src.md5 is not None and dst.md5 is not None:
            return None if src.md5 == dst.md5 else "content differs"
    src, dst = sides["source"], sides["destination"]
    if src.mtime_ns is not None and dst.mtime_ns is not None:
        return "modification time differs"
    return "cannot compare (no time or checksum)"


def plan_sync(
    source: dict[str, FileState],
    destination: dict[str, FileState],
    decide: Callable[[FileState, FileState | None], str | None],
    delete: bool,
    mapper: Callable[[Callable, Iterable], Iterable] = map,
    chunk: int = 64,
) -> SyncPlan:
    """Compare two listings. `decide` is `transfer_reason` bound to the fillers; `mapper` may be
    a thread pool's `map` so hashing and HEAD requests overlap."""
    plan = SyncPlan()
    names = sorted(source)
    # Chunks, not single files: most decisions are instant, and a task per file costs more
    # than the decision; chunks still spread hashing and HEAD requests over the mapper's threads.
    chunks = [names[i : i + chunk] for i in range(0, len(names), chunk)]
    decided = mapper(lambda part: [decide(source[n], destination.get(n)) for n in part], chunks)
    for part, reasons in zip(chunks, decided, strict=True):
        for name, reason in zip(part, reasons, strict=True):
            if reason is None:
                plan.unchanged.append(name)
            else:
                plan.transfers.append((source[name], reason))
    if delete:
        plan.deletes = sorted(set(destination) - set(source))
    return plan


def listing_ranges(
    hint_keys: list[str], parts: int, min_keys_per_part: int = 500
) -> list[tuple[str | None, str | None]]:
    """Split a listing into key ranges `(after, up_to]` that can be listed concurrently.

    The boundaries come from keys expected at the destination (the local side's names): S3
    lists in key order from `StartAfter`, so each range is one independent paginated listing.
    Keys absent from the hints are still listed by whichever range holds them.
    """
    keys = sorted(set(hint_keys))
    parts = max(1, min(parts, len(keys) // max(1, min_keys_per_part)))
    if parts == 1:
        return [(None, None)]
    bounds = [keys[len(keys) * k // parts] for k in range(1, parts)]
    edges: list[str | None] = [None, *bounds, None]
    return list(zip(edges[:-1], edges[1:], strict=True))


# ---- guards -------------------------------------------------------------------------------


def clean_prefix(prefix: str) -> str:
    """A bucket prefix without leading/trailing slashes; refuses `.`/`..` segments."""
    prefix = (prefix or "").strip("/")
    if prefix and any(part in ("", ".", "..") for part in prefix.split("/")):
        raise UnsafeKey(f"invalid prefix {prefix!r}: no empty, '.' or '..' segments")
    return prefix


def join_key(*parts: str) -> str:
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


def relative_key(prefix: str, key: str) -> str:
    """The part of `key` below `prefix` (which must contain it)."""
    if not prefix:
        return key
    if not key.startswith(prefix + "/"):
        raise UnsafeKey(f"key {key!r} is outside the prefix {prefix!r}")
    return key[len(prefix) + 1 :]


def check_relative_path(relative: str) -> str:
    """Refuse anything that is not a plain relative path: `..`, absolute paths, drive letters,
    backslashes, empty or `.` segments, NUL bytes."""
    if not relative or "\x00" in relative or "\\" in relative:
        raise UnsafeKey(f"refused key {relative!r}: empty, NUL byte or backslash")
    if relative.startswith("/") or ":" in relative[:3]:  # (a POSIX path is absolute iff so)
        raise UnsafeKey(f"refused key {relative!r}: absolute path")
    parts = relative.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise UnsafeKey(f"refused key {relative!r}: '..', '.' or empty path segment")
    if posixpath.normpath(relative) != relative:
        raise UnsafeKey(f"refused key {relative!r}: not a normalised path")
    return relative


def safe_local_path(root: Path, relative: str, resolved_root: Path | None = None) -> Path:
    """`root/relative`, refusing keys that would escape `root` (also through symlinks).

    `resolved_root` is `root.resolve()` when the caller has it (it is the same for every file);
    strings rather than Paths because this runs once per transferred file."""
    check_relative_path(relative)
    root = resolved_root or root.resolve()
    target = os.path.realpath(os.path.join(root, relative))
    # With the trailing separator: /a/bc is not inside /a/b.
    if target != str(root) and not target.startswith(os.path.join(root, "")):
        raise UnsafeKey(f"refused key {relative!r}: it resolves outside {root}")
    return root / relative


def check_delete_key(prefix: str, key: str) -> str:
    """A bucket key may be deleted only when it lies strictly inside a non-empty prefix."""
    if not prefix:
        raise UnsafeKey("refusing to delete with an empty prefix: that would be the whole bucket")
    relative = relative_key(prefix, key)
    check_relative_path(relative)
    return key


def with_md5(state: FileState, md5_hex: str | None) -> FileState:
    return replace(state, md5=md5_hex)
