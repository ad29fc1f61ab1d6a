"""Track, untrack and list players: the op of `riot_player_tracking_job` (schedules/riot.py),
with config (Launchpad or bin/riot) over `flows`."""

from typing import Literal

from dagster import Config, OpExecutionContext, Out, Output, op

from assets.common import metadata_table
from assets.riot.flows import track_player, untrack_player
from assets.riot.stage import open_store
from resources.postgres import PostgresResource
from resources.riot.api import RiotApiResource
from resources.riot.riot_id import format_riot_id

# what the list shows of each player; `riot_id` is `Name#TAG`, or `Name` without a tag line
LIST_COLUMNS = ("riot_id", "platform", "tier", "division", "league_points")


class PlayerTrackingConfig(Config):
    action: Literal["track", "untrack", "list"] = "list"
    player: str = ""  # Riot ID `gameName#tagLine` or PUUID (for track / untrack)
    platform: str = "na1"  # where the player plays (track only)


@op(out=Out(list))
def riot_player_tracking(
    context: OpExecutionContext,
    config: PlayerTrackingConfig,
    riot_api: RiotApiResource,
    riot_db: PostgresResource,
):
    """Track or untrack a player by Riot ID or PUUID, then list the tracked players."""
    store = open_store(riot_db)
    if config.action != "list" and not config.player:
        raise ValueError("give `player`: a Riot ID like 'Name#TAG' or a PUUID")
    if config.action == "track":
        client = riot_api.client(say=context.log.info)
        try:
            player = track_player(store, client, config.player, config.platform)
        finally:
            client.close()
        riot_id = format_riot_id(player["game_name"], player["tag_line"])
        context.log.info(f"tracking {riot_id} ({player['platform']})")
    elif config.action == "untrack":
        player = untrack_player(store, config.player)
        context.log.info(
            f"no longer tracking {format_riot_id(player['game_name'], player['tag_line'])}"
        )
    tracked = [
        {"riot_id": format_riot_id(p["game_name"], p["tag_line"]), **p}
        for p in store.list_players()
    ]
    yield Output(
        tracked,
        metadata={
            "tracked_players": len(tracked),
            "players": metadata_table(
                [{c: p[c] for c in LIST_COLUMNS} for p in tracked], limit=100
            ),
        },
    )
