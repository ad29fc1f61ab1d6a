"""What every riot asset declares alike: the pipeline spec (key prefix, group, owners; no
partitions on purpose, see docs/riot.md), the three asset keys, and the API pool they hold."""

from assets.common import PipelineSpec

SPEC = PipelineSpec("riot")
# The Riot key's quota is one per deployment: every riot stage holds this one-slot pool
# (assets/pools.py), whichever run or CLI command it is in.
RIOT_API_POOL = "riot_api"
TRACKED = SPEC.key("tracked_player_updates")
ANALYSES = SPEC.key("player_analyses")
BANS = SPEC.key("ban_checks")
