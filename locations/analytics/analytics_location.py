"""The analytics code location for dg, which looks for a project's module inside its folder; the
definitions are pipelines/analytics.py's."""

from pipelines.analytics import defs

__all__ = ["defs"]
