"""The riot assets: thin Dagster wiring over `assets.riot.flows`.

Each asset is one stage of the replaced backend's two jobs; each run's metadata answers what the
runbook's SQL over `job_executions` used to (API requests made, records created, players
discovered and analysed, detections, rate limiting).
"""

import time
from collections.abc import Callable

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.common import SkipLedger
from assets.pools import holding_pool
from assets.riot.flows import StageReport, analyse_players, check_bans, update_tracked_players
from resources.postgres import PostgresResource
from resources.riot.api import RiotApiResource, RiotClient
from resources.riot.settings import RiotSettingsResource
from resources.riot.store import RiotStore

GROUP = "riot"
KEY_PREFIX = "riot"
# The Riot key's quota is one per deployment: every riot stage holds this one-slot pool
# (assets/pools.py), whichever run or CLI command it is in.
RIOT_API_POOL = "riot_api"
TRACKED = AssetKey([KEY_PREFIX, "tracked_player_updates"])
ANALYSES = AssetKey([KEY_PREFIX, "player_analyses"])
BANS = AssetKey([KEY_PREFIX, "ban_checks"])


def md_table(rows: list[dict], limit: int = 25) -> MetadataValue:
    if not rows:
        return MetadataValue.md("none")
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(r.get(c, "")) for c in columns) + " |" for r in rows[:limit]]
    if len(rows) > limit:
        lines.append(f"\n{len(rows) - limit} more")
    return MetadataValue.md("\n".join(lines))


def api_metadata(client: RiotClient) -> dict:
    return {
        "api_requests": client.requests_made,
        "api_requests_by_method": md_table(
            [{"method": m, "requests": n} for m, n in sorted(client.calls.items())]
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
        "gone_accounts_list": MetadataValue.md(", ".join(report.gone_accounts) or "none"),
        "matches_not_found": len(report.missing_matches),
        "matches_not_found_list": MetadataValue.md(", ".join(report.missing_matches) or "none"),
    }


def match_ledger(settings) -> SkipLedger:
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
    client = riot_api.client(deadline=time.time() + budget_seconds)
    try:
        report = flow(store, client, *args)
    finally:
        client.close()
    if report.rate_limited:
        context.log.warning(f"rate limited: {report.rate_limited}")
    return report, client


@asset(
    key=TRACKED,
    group_name=GROUP,
    kinds={"python", "postgres"},
    code_version="1",
    check_specs=[
        AssetCheckSpec(
            "matches_complete",
            asset=TRACKED,
            blocking=True,
            description="Every stored match has one participant row per PUUID in its metadata.",
        )
    ],
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
        riot_settings.update_budget_seconds,
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
            "tracked_players": store.scalar("SELECT count(*) FROM riot_players WHERE tracked"),
            "matches_stored": store.scalar("SELECT count(*) FROM riot_matches"),
            "updates": md_table(report.details),
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


@asset(
    key=ANALYSES,
    deps=[TRACKED],
    group_name=GROUP,
    kinds={"python", "postgres"},
    code_version="1",
    check_specs=[
        AssetCheckSpec(
            "analyses_explained",
            asset=ANALYSES,
            description="Every analysis has a confidence in [0, 1] and the signals behind it.",
        )
    ],
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
        riot_settings.analysis_budget_seconds,
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
            "players_analysed": report.analyses,
            "detections": report.detections,
            "min_smurf_confidence": settings.min_smurf_confidence,
            "matches_created": report.matches_created,
            "players_discovered": report.players_discovered,
            "records_created": report.analyses + report.matches_created + report.rank_changes,
            "players_waiting_for_analysis": store.scalar(
                "SELECT count(*) FROM riot_players WHERE NOT analysed"
            ),
            "analyses": md_table(report.details),
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


@asset(
    key=BANS,
    deps=[ANALYSES],
    group_name=GROUP,
    kinds={"python", "postgres"},
    code_version="1",
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
        context, riot_api, riot_settings.ban_check_budget_seconds, check_bans, store, settings
    )
    return MaterializeResult(
        metadata={
            **api_metadata(client),
            **stage_metadata(report),
            "ban_checks": report.ban_checks,
            "records_created": report.ban_checks,
            "ban_check_days": settings.ban_check_days,
            "checks": md_table(report.details),
        }
    )


riot_assets = [tracked_player_updates, player_analyses, ban_checks]
