"""What every riot stage does alike around its flow (`assets.riot.flows`): open the store, run
the flow with an API client bounded by the stage's time budget, count malformed matches, and turn
the client's and the report's figures into metadata.

Each asset is one stage of the replaced backend's two jobs; each run's metadata answers what the
runbook's SQL over `job_executions` used to (API requests made, records created, players
discovered and analysed, detections, rate limiting).
"""

import time
from collections.abc import Callable

from dagster import AssetExecutionContext

from assets.common import SkipLedger, metadata_table
from assets.riot.flows import StageReport
from resources.postgres import PostgresResource
from resources.riot.api import RiotApiResource, RiotClient
from resources.riot.settings import RiotJobSettings
from resources.riot.store import RiotStore

# rows shown in a stage's table metadata (the counts beside them cover every row)
TABLE_ROWS = 25


def api_metadata(client: RiotClient) -> dict:
    return {
        "api_requests": client.requests_made,
        "api_requests_by_method": metadata_table(
            [{"method": m, "requests": n} for m, n in sorted(client.calls.items())],
            limit=TABLE_ROWS,
        ),
        "api_429_answers": client.throttled,
        "api_retries": client.retries,
        "rate_limit_wait_seconds": round(client.limiter.waited_seconds, 1),
    }


def stage_metadata(report: StageReport) -> dict:
    return {
        "rate_limited": report.rate_limited is not None,
        "rate_limited_reason": report.rate_limited or "",
        # answers, not failures: they never count toward RIOT_MAX_BAD_MATCH_SHARE
        "gone_accounts": len(report.gone_accounts),
        "gone_accounts_list": metadata_table(
            [{"puuid": p} for p in report.gone_accounts], limit=TABLE_ROWS, columns=["puuid"]
        ),
        "matches_not_found": len(report.missing_matches),
        "matches_not_found_list": metadata_table(
            [{"match_id": m} for m in report.missing_matches],
            limit=TABLE_ROWS,
            columns=["match_id"],
        ),
    }


def match_ledger(settings: RiotJobSettings) -> SkipLedger:
    """Malformed matches only; riot has no partitions, so the next step names the variable."""
    return SkipLedger(
        what="matches",
        max_share=settings.max_bad_match_share,
        remedy=(
            "The matches are recorded in riot_bad_matches and not fetched again. If the API "
            "really serves that many broken answers, raise RIOT_MAX_BAD_MATCH_SHARE (now "
            f"{settings.max_bad_match_share}); the next refresh continues from there."
        ),
    )


def open_store(riot_db: PostgresResource) -> RiotStore:
    store = RiotStore(riot_db.resolved_url(), riot_db.variable)
    store.ensure_schema()
    return store


def run_flow(
    context: AssetExecutionContext,
    riot_api: RiotApiResource,
    budget_seconds: float,
    flow: Callable[..., StageReport],
    store: RiotStore,
    *args,
) -> tuple[StageReport, RiotClient]:
    """Run one stage's flow with an API client bounded by the stage's time budget."""
    client = riot_api.client(deadline=time.time() + budget_seconds, say=context.log.info)
    try:
        report = flow(store, client, *args)
    finally:
        client.close()
    if report.rate_limited:
        context.log.warning(f"rate limited: {report.rate_limited}")
    return report, client
