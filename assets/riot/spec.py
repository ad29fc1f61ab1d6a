"""What every riot asset declares alike: the pipeline spec (key prefix, group, owners; no
partitions on purpose, see docs/riot.md), the three asset keys, and the API pool they hold."""

from datetime import timedelta

from dagster import FreshnessPolicy

from assets.catalog import sql_columns, table_metadata
from assets.common import PipelineSpec
from resources.env import load_time_int
from resources.riot.store import SCHEMA

# The refresh runs every 2 minutes (RIOT_REFRESH_CRON) for at most 90 s: no refresh for 10 minutes
# warns, for 30 fails. A deployment with a slower cron sets RIOT_STALE_AFTER_MINUTES to match.
STALE_AFTER = timedelta(minutes=load_time_int("RIOT_STALE_AFTER_MINUTES", 30, minimum=3))
SPEC = PipelineSpec(
    "riot",
    freshness_policy=FreshnessPolicy.time_window(
        fail_window=STALE_AFTER, warn_window=STALE_AFTER / 3
    ),
)
# The Riot key's quota is one per deployment: every riot stage holds this one-slot pool
# (assets/pools.py), whichever run or CLI command it is in.
RIOT_API_POOL = "riot_api"
TRACKED = SPEC.key("tracked_player_updates")
ANALYSES = SPEC.key("player_analyses")
BANS = SPEC.key("ban_checks")


def riot_table_metadata(table: str) -> dict:
    """The riot table an asset keeps, with its columns from the store's DDL (in the schema the
    riot database's search path names, `public` by default)."""
    return table_metadata(sql_columns(SCHEMA, table), table, "postgres")
