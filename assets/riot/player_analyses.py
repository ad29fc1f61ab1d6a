"""The asset `riot/player_analyses`: the second stage of a riot refresh, after the updates."""

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    MaterializeResult,
    asset,
)

from assets.common import metadata_table
from assets.pools import holding_pool
from assets.riot.flows import analyse_players
from assets.riot.spec import ANALYSES, RIOT_API_POOL, SPEC, TRACKED, riot_table_metadata
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
        metadata=riot_table_metadata("riot_analyses"),
        check_specs=[
            AssetCheckSpec(
                "analyses_explained",
                asset=ANALYSES,
                description="Every analysis has a confidence in [0, 1] and the signals behind it.",
            )
        ],
    ),
    deps=[TRACKED],
)
@holding_pool(RIOT_API_POOL)
def player_analyses(
    context: AssetExecutionContext,
    riot_api: RiotApiResource,
    riot_db: PostgresResource,
    riot_settings: RiotSettingsResource,
) -> MaterializeResult:
    """Smurf/boosted analyses of discovered players (`unanalyzed_players_per_run` per run): each
    stored with every signal's value and weight; those at or above `min_smurf_confidence` are
    detections."""
    settings = riot_settings.values()
    store = open_store(riot_db)
    skips = match_ledger(settings)
    report, client = run_flow(
        context,
        riot_api,
        settings.analysis_budget_seconds,
        analyse_players,
        store,
        settings,
        skips,
    )
    unexplained = store.scalar(
        "SELECT count(*) FROM riot_analyses WHERE confidence NOT BETWEEN 0 AND 1"
        " OR jsonb_array_length(signals) = 0"
    )
    skips.enforce(report.matches_seen)
    return MaterializeResult(
        metadata={
            **api_metadata(client),
            **stage_metadata(report),
            "dagster/row_count": store.scalar("SELECT count(*) FROM riot_analyses"),
            "players_analysed": report.analyses,
            "detections": report.detections,
            "min_smurf_confidence": settings.min_smurf_confidence,
            "matches_created": report.matches_created,
            "players_discovered": report.players_discovered,
            "records_created": report.analyses + report.matches_created + report.rank_changes,
            "players_waiting_for_analysis": store.scalar(
                "SELECT count(*) FROM riot_players WHERE NOT analysed"
            ),
            "analyses": metadata_table(report.details, limit=TABLE_ROWS),
            **skips.as_metadata(),
        },
        check_results=[
            AssetCheckResult(
                check_name="analyses_explained",
                passed=unexplained == 0,
                metadata={"unexplained_analyses": unexplained},
            )
        ],
    )
