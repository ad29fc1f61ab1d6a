"""The replay_sync code location for dg, which looks for a project's module inside its folder; the
definitions are pipelines/replay_sync.py's."""

from pipelines.replay_sync import defs

__all__ = ["defs"]
