"""Half-written files that say who writes them, so a later run can remove a killed writer's
leftovers and never a live writer's file in flight.

A file is written under `.<name><mark><host>-<pid>-<random>` beside its target and renamed into
place when whole (the lake uses the mark `.tmp-`, replay_sync's downloads `.partial-`). A kill
leaves that name behind; the next writer of the same target removes it when it is stale: its
writer was a process of this host that no longer exists, or nothing wrote to it for
STALE_SECONDS (another machine's writer, or a PID reused since).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
import time
import uuid
from pathlib import Path

HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
# A partial file untouched this long is stale whoever wrote it (another host, a reused pid).
STALE_SECONDS = 6 * 3600


def partial_path(target: Path, mark: str) -> Path:
    """Where this process writes `target` before renaming it into place."""
    return target.parent / f".{target.name}{mark}{HOST}-{os.getpid()}-{uuid.uuid4().hex[:12]}"


def is_partial(name: str, mark: str) -> bool:
    return name.startswith(".") and mark in name


def _owner(mark: str) -> re.Pattern:
    return re.compile(re.escape(mark) + r"(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-[0-9a-f]{12}$")


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def is_stale(name: str, mark: str, mtime_s: float, now_s: float) -> bool:
    """A partial file is stale when its writer is dead (a process of this host that no longer
    exists) or it has not been written to for STALE_SECONDS; anything else may be a concurrent
    writer's file in flight."""
    if now_s - mtime_s > STALE_SECONDS:
        return True
    owner = _owner(mark).search(name)
    if owner is None or owner["host"] != HOST:
        return False  # an older name or another machine's writer: only age tells
    pid = int(owner["pid"])
    return pid != os.getpid() and not _process_alive(pid)


def remove_stale_partials(target: Path, mark: str) -> list[tuple[str, int]]:
    """Remove the stale partial files of `target` (in its folder); (path, bytes) of each."""
    removed, now = [], time.time()
    prefix = f".{target.name}{mark}"
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(target.parent):
            if not entry.name.startswith(prefix) or not entry.is_file(follow_symlinks=False):
                continue
            with contextlib.suppress(FileNotFoundError):  # its writer may finish meanwhile
                stat = entry.stat(follow_symlinks=False)
                if is_stale(entry.name, mark, stat.st_mtime, now):
                    os.unlink(entry.path)
                    removed.append((entry.path, stat.st_size))
    return removed
