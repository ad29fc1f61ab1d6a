"""The rps code location for dg, which looks for a project's module inside its folder; the
definitions are pipelines/rps.py's."""

from pipelines.rps import defs

__all__ = ["defs"]
