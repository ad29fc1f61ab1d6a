"""The analytics code location (being built; see its issue)."""

from dagster import Definitions

defs = Definitions()
