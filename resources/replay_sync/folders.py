"""replay_sync's local folders: the replay source (`slp/<character>/`) on the recording machine
and the workspace (`replays/<character>/`, `checkpoints/`) on the training machine."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from dagster import ConfigurableResource


class ReplayFoldersResource(ConfigurableResource):
    """`slp_root` (env `SLP_ROOT`, default `data/slp`) holds one folder per character;
    `workspace` (env `REPLAY_SYNC_WORKSPACE`, default `data/workspace`) is the training machine's
    `/workspace` with `replays/` and `checkpoints/` below it."""

    slp_root: str = "data/slp"
    workspace: str = "data/workspace"

    def source(self, character: str) -> Path:
        return Path(self.slp_root).expanduser() / character

    def training(self, character: str) -> Path:
        return Path(self.workspace).expanduser() / "replays" / character

    def checkpoints(self) -> Path:
        return Path(self.workspace).expanduser() / "checkpoints"


def folder_fingerprint(folder: Path, settle_seconds: float, now_ns: int) -> str | None:
    """A short digest of every file's path, size and mtime below `folder` ("" when it is empty
    or missing), or None while a file changed less than `settle_seconds` ago: Slippi writes a
    replay while the game runs, so the upload waits until the folder has settled."""
    entries = []
    newest = 0
    if folder.is_dir():
        stack = [folder]
        while stack:
            current = stack.pop()
            with os.scandir(current) as scan:
                for entry in scan:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(Path(entry.path))
                    elif entry.is_file() and not entry.name.startswith("."):
                        stat = entry.stat()
                        newest = max(newest, stat.st_mtime_ns)
                        entries.append(f"{entry.path}\0{stat.st_size}\0{stat.st_mtime_ns}")
    if not entries:
        return ""
    if now_ns - newest < settle_seconds * 1e9:
        return None
    digest = hashlib.sha256("\n".join(sorted(entries)).encode()).hexdigest()[:16]
    return f"{len(entries)}-{digest}"
