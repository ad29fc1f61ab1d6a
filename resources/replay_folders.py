"""replay_sync's local folders: the replay source (`slp/<character>/`) on the recording machine
and the workspace (`replays/<character>/`, `checkpoints/`) on the training machine."""

from __future__ import annotations

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
