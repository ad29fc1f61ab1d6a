"""The asset `riot/ban_checks`: the last stage of a riot refresh, after the analyses."""

from dagster import AssetExecutionContext, MaterializeResult, asset

from assets.common import metadata_table
from assets.pools import holding_pool
from assets.riot.flows import check_bans
from assets.riot.spec import ANALYSES, RIOT_API_POOL, SPEC
from assets.riot.stage import TABLE_ROWS, api_metadata, open_store, run_flow, stage_metadata
from resources.postgres import PostgresResource
from resources.riot.api import RiotApiResource
from resources.riot.settings import RiotSettingsResource


@asset(**SPEC.asset_args(kinds={"python", "postgres"}, code_version="1"), deps=[ANALYSES])
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
    return MaterializeResult(
        metadata={
            **api_metadata(client),
            **stage_metadata(report),
            "ban_checks": report.ban_checks,
            "records_created": report.ban_checks,
            "ban_check_days": settings.ban_check_days,
            "checks": metadata_table(report.details, limit=TABLE_ROWS),
        }
    )
