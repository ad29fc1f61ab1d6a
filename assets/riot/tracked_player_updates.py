"""The asset `riot/tracked_player_updates`: the first stage of a riot refresh."""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    MaterializeResult,
    asset,
)

from assets.common import metadata_table
from assets.pools import holding_pool
from assets.riot.flows import update_tracked_players
from assets.riot.spec import RIOT_API_POOL, SPEC, TRACKED, riot_table_metadata
from assets.riot.stage import (
    TABLE_ROWS,
    api_metadata,
    match_ledger,
    open_store,
    run_flow,
    stage_metadata,
)
from resources.postgres import PostgresResource
from resources.riot.api import RiotApiResource
from resources.riot.settings import RiotSettingsResource


@asset(
    **SPEC.asset_args(
        kinds={"python", "postgres"},
        code_version="1",
        # the players (matches, participants and rank history are stored beside them)
        metadata=riot_table_metadata("riot_players"),
        check_specs=[
            AssetCheckSpec(
                "matches_complete",
                asset=TRACKED,
                blocking=True,
                description="Every stored match has one participant row per PUUID in its metadata.",
            )
        ],
    )
)
@holding_pool(RIOT_API_POOL)
def tracked_player_updates(
    context: AssetExecutionContext,
    riot_api: RiotApiResource,
    riot_db: PostgresResource,
    riot_settings: RiotSettingsResource,
) -> MaterializeResult:
    """Tracked players kept fresh: current rank (with history), up to `max_new_matches_per_player`
    new matches each for up to `max_tracked_players` players, and every unknown participant of
    those matches stored as a player to analyse. Malformed matches are skipped and recorded."""
    settings = riot_settings.values()
    store = open_store(riot_db)
    skips = match_ledger(settings)
    report, client = run_flow(
        context,
        riot_api,
        settings.update_budget_seconds,
        update_tracked_players,
        store,
        settings,
        skips,
    )
    incomplete = store.scalar(
        "SELECT count(*) FROM riot_matches m WHERE jsonb_array_length(m.raw->'metadata'->"
        "'participants') <> (SELECT count(*) FROM riot_participants p WHERE p.match_id = m.match_id)"
    )
    skips.enforce(report.matches_seen)
    return MaterializeResult(
        metadata={
            **api_metadata(client),
            **stage_metadata(report),
            "players_updated": report.players,
            "matches_created": report.matches_created,
            "players_discovered": report.players_discovered,
            "rank_changes": report.rank_changes,
            "records_created": report.matches_created
            + report.players_discovered
            + report.rank_changes,
            "dagster/row_count": store.scalar("SELECT count(*) FROM riot_players"),
            "tracked_players": store.scalar("SELECT count(*) FROM riot_players WHERE tracked"),
            "matches_stored": store.scalar("SELECT count(*) FROM riot_matches"),
            "updates": metadata_table(report.details, limit=TABLE_ROWS),
            **skips.as_metadata(),
        },
        check_results=[
            AssetCheckResult(
                check_name="matches_complete",
                passed=incomplete == 0,
                severity=AssetCheckSeverity.ERROR,
                metadata={"incomplete_matches": incomplete},
            )
        ],
    )
