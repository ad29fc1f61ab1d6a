"""The riot code location: tracked League of Legends players kept fresh from the Riot API,
smurf/boosted analysis, ban checks, one rate limit shared by every run (see docs/riot.md)."""

from dagster import Definitions, in_process_executor

from assets.riot.assets import riot_assets
from assets.riot.tracking import riot_player_tracking_job
from resources.riot.settings import resources_from_env
from schedules.riot import riot_refresh_job, riot_refresh_schedule

defs = Definitions(
    assets=riot_assets,
    jobs=[riot_refresh_job, riot_player_tracking_job],
    schedules=[riot_refresh_schedule],
    resources=resources_from_env(),
    executor=in_process_executor,
)
