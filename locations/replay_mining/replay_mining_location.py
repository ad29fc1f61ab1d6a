"""The replay_mining code location for dg, which looks for a project's module inside its folder; the
definitions are pipelines/replay_mining.py's."""

from pipelines.replay_mining import defs

__all__ = ["defs"]
