"""The asset `riot/ban_checks`: the last stage of a riot refresh, after the analyses."""

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    MaterializeResult,
    asset,
)

from assets.common import metadata_table
from assets.pools import holding_pool
from assets.riot.flows import check_bans
from assets.riot.spec import ANALYSES, BANS, RIOT_API_POOL, SPEC, riot_table_metadata
from assets.riot.stage import TABLE_ROWS, api_metadata, open_store, run_flow, stage_metadata
from resources.postgres import PostgresResource
from resources.riot.api import RiotApiResource
from resources.riot.settings import RiotSettingsResource

# Ban checks whose status is not what their evidence says (the rule of `flows.check_bans`), or
# that re-check an analysis which was no detection.
UNSUPPORTED_CHECKS = """
SELECT count(*) FROM riot_ban_checks b LEFT JOIN riot_analyses a ON a.id = b.analysis_id
WHERE b.status IS DISTINCT FROM CASE
        WHEN NOT (b.evidence->>'account_found')::boolean
             AND NOT (b.evidence->>'summoner_found')::boolean THEN 'account_missing'
        WHEN (b.evidence->>'matches_since_detection')::int > 0 THEN 'active'
        ELSE 'no_games_since_detection' END
   OR (b.analysis_id IS NOT NULL AND a.is_detection IS NOT TRUE)
"""


@asset(
    **SPEC.asset_args(
        kinds={"python", "postgres"},
        code_version="1",
        metadata=riot_table_metadata("riot_ban_checks"),
        check_specs=[
            AssetCheckSpec(
                "evidence_supports_status",
                asset=BANS,
                description="Every ban check's status follows from its stored evidence "
                "(account and summoner found, games since the detection) and re-checks a "
                "detection.",
            )
        ],
    ),
    deps=[ANALYSES],
)
@holding_pool(RIOT_API_POOL)
def ban_checks(
    context: AssetExecutionContext,
    riot_api: RiotApiResource,
    riot_db: PostgresResource,
    riot_settings: RiotSettingsResource,
) -> MaterializeResult:
    """Ban re-checks of accounts detected at least `ban_check_days` ago: whether the account and
    summoner still exist and whether it played since, stored as evidence with a status."""
    settings = riot_settings.values()
    store = open_store(riot_db)
    report, client = run_flow(
        context, riot_api, settings.ban_check_budget_seconds, check_bans, store, settings
    )
    unsupported = store.scalar(UNSUPPORTED_CHECKS)
    return MaterializeResult(
        metadata={
            **api_metadata(client),
            **stage_metadata(report),
            "dagster/row_count": store.scalar("SELECT count(*) FROM riot_ban_checks"),
            "ban_checks": report.ban_checks,
            "records_created": report.ban_checks,
            "ban_check_days": settings.ban_check_days,
            "checks": metadata_table(report.details, limit=TABLE_ROWS),
        },
        check_results=[
            AssetCheckResult(
                check_name="evidence_supports_status",
                passed=unsupported == 0,
                metadata={"unsupported_ban_checks": unsupported},
            )
        ],
    )
