"""The riot code location for dg, which looks for a project's module inside its folder; the
definitions are pipelines/riot.py's."""

from pipelines.riot import defs

__all__ = ["defs"]
