"""The analytics assets: the span source, the three rollups and the activity summary view.

Thin wiring: the SQL lives in `resources.analytics_sql`, the I/O in `resources.analytics_db`.
"""

from datetime import UTC, datetime, timedelta

import dagster as dg

from assets.analytics.report import (
    counted_items,
    markdown_table,
    quality,
    reasons_table,
    spans_read,
)
from resources import analytics_sql as sql
from resources.analytics_db import AnalyticsDatabase, RollupRejected, RollupReport

GROUP = "analytics"
# Asset keys carry the pipeline (`analytics/hourly_analytics`): unique across the workspace.
KEY_PREFIX = "analytics"
START = "2024-01-01"
HOURLY_PARTITIONS = dg.HourlyPartitionsDefinition(start_date=f"{START}-00:00", timezone="UTC")
DAILY_PARTITIONS = dg.DailyPartitionsDefinition(start_date=START, timezone="UTC")
CODE_VERSION = "1"
# The schedules roll each hour up at :05 and each day at 00:05 UTC; a rollup older than one
# missed run plus slack is late (the UI's freshness, evaluated by the daemon, no sensor needed).
HOURLY_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=2), warn_window=timedelta(minutes=75)
)
DAILY_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=26), warn_window=timedelta(hours=25)
)


class RollupConfig(dg.Config):
    max_bad_share: float = 0.05
    """Largest share of spans read that may be defaulted or excluded before the quality check
    fails (blocking: downstream stops)."""


SPANS_DESCRIPTION = """The workflow platform's raw spans (one row per workflow run, agent run,
model call, tool call). Observed, not materialised: the newest run start is its data version and
its freshness."""
# The platform starts runs all day: none for this long means its span writer is down.
SPANS_STALE_AFTER = timedelta(hours=2)
EXECUTION_SPANS = dg.AssetKey([KEY_PREFIX, "execution_spans"])


@dg.multi_observable_source_asset(
    specs=[dg.AssetSpec(EXECUTION_SPANS, group_name=GROUP, description=SPANS_DESCRIPTION)],
    check_specs=[
        dg.AssetCheckSpec(
            "spans_arriving",
            asset=EXECUTION_SPANS,
            description=f"A run span started within the last {SPANS_STALE_AFTER}.",
        )
    ],
    name="analytics__execution_spans",
)
def execution_spans(analytics_db: AnalyticsDatabase):
    """Observe the newest run start (index-only on the run-span index)."""
    latest = analytics_db.latest_span_start()
    now = datetime.now(UTC)
    metadata: dict = {"latest_run_start": latest.isoformat() if latest else "none"}
    if latest:
        metadata["dagster/last_updated_timestamp"] = dg.MetadataValue.timestamp(latest)
    yield dg.ObserveResult(
        asset_key=EXECUTION_SPANS,
        data_version=dg.DataVersion(latest.isoformat() if latest else "empty"),
        metadata=metadata,
        check_results=[
            dg.AssetCheckResult(
                check_name="spans_arriving",
                passed=latest is not None and now - latest <= SPANS_STALE_AFTER,
                severity=dg.AssetCheckSeverity.WARN,
                description=(
                    f"newest run start {latest.isoformat() if latest else 'none'}; "
                    "if the platform is running, check that its span writer reaches this database"
                ),
            )
        ],
    )


def _check_specs(name: str) -> list[dg.AssetCheckSpec]:
    asset = dg.AssetKey([KEY_PREFIX, name])
    return [
        dg.AssetCheckSpec(
            "reconciles_with_spans",
            asset=asset,
            blocking=True,
            description="Executions written equal the finished spans read from the source.",
        ),
        dg.AssetCheckSpec(
            "values_in_range",
            asset=asset,
            blocking=True,
            description="Counts add up, rates in [0, 1], tokens and cost >= 0, p50 <= p95.",
        ),
        dg.AssetCheckSpec(
            "span_quality",
            asset=asset,
            blocking=True,
            description="Share of spans defaulted or excluded for bad data within max_bad_share.",
        ),
    ]


def _check_results(report: RollupReport, config: RollupConfig) -> list[dg.AssetCheckResult]:
    """The three blocking checks of a written window (read before it is published)."""
    verdict = quality(report.stats, config.max_bad_share)
    expected = counted_items(report.stats)
    return [
        dg.AssetCheckResult(
            check_name="reconciles_with_spans",
            passed=report.executions == expected,
            metadata={"written": int(report.executions), "finished_in_source": expected},
        ),
        dg.AssetCheckResult(
            check_name="values_in_range",
            passed=report.invalid_rows == 0,
            metadata={"invalid_rows": report.invalid_rows},
        ),
        dg.AssetCheckResult(
            check_name="span_quality",
            passed=verdict.passed,
            severity=dg.AssetCheckSeverity.ERROR,
            description=verdict.describe(),
            metadata={"bad_spans": verdict.bad, "share": verdict.share},
        ),
    ]


def _rejection(checks: list[dg.AssetCheckResult]) -> str | None:
    failed = [c for c in checks if not c.passed]
    if not failed:
        return None
    return "; ".join(f"{c.check_name}: {c.description or c.metadata}" for c in failed)


def _materialize_rollup(
    context: dg.AssetExecutionContext,
    config: RollupConfig,
    analytics_db: AnalyticsDatabase,
    rollup: sql.Rollup,
):
    """Write the window, audit it with the blocking checks, and publish it only if they pass
    (one transaction): a failing check fails the run and leaves the previous rollup intact."""
    window = context.partition_time_window
    analytics_db.migrate()
    try:
        total = analytics_db.roll_up(
            rollup,
            window.start,
            window.end,
            audit=lambda report: _rejection(_check_results(report, config)),
        )
    except RollupRejected as rejected:
        yield from _check_results(rejected.report, config)
        raise dg.Failure(
            description=(
                f"{rollup.table} {window.start.isoformat()} .. {window.end.isoformat()} was not "
                f"published: {rejected.reason}. The previous rows of the window are unchanged."
            ),
            metadata={"bad_input": dg.MetadataValue.md(reasons_table(rejected.report.stats))},
        ) from None
    context.log.info(
        f"{rollup.table} {window.start:%Y-%m-%d %H:%M}..{window.end:%Y-%m-%d %H:%M} UTC: "
        f"{total.rows_written} rows from {spans_read(total.stats)} spans"
    )
    key_names = ("user", *rollup.group_columns[1:], "cost USD", "count")
    metadata = {
        "dagster/row_count": total.rows_written,
        "rows_written": total.rows_written,
        "spans_read": spans_read(total.stats),
        "executions" if rollup is not sql.MODEL_USAGE else "model_calls": total.executions,
        "total_tokens": int(total.tokens),
        "total_cost_usd": float(total.cost),
        "window_utc": f"{window.start.isoformat()} .. {window.end.isoformat()}",
        "partitions": len(context.partition_keys),
        "still_running_spans": int(total.stats.get("still_running", 0)),
        "bad_input": dg.MetadataValue.md(reasons_table(total.stats)),
        "top_by_cost": dg.MetadataValue.md(markdown_table(key_names, total.top)),
    }
    yield dg.MaterializeResult(metadata=metadata, check_results=_check_results(total, config))


def _rollup_asset(
    rollup: sql.Rollup,
    partitions,
    freshness: dg.FreshnessPolicy,
    description: str,
):
    @dg.asset(
        name=rollup.table,
        key_prefix=KEY_PREFIX,
        group_name=GROUP,
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        deps=[execution_spans],
        kinds={"postgres", "sql"},
        code_version=CODE_VERSION,
        check_specs=_check_specs(rollup.table),
        description=description,
        owners=["team:analytics"],
        freshness_policy=freshness,
    )
    def _asset(
        context: dg.AssetExecutionContext, config: RollupConfig, analytics_db: AnalyticsDatabase
    ):
        yield from _materialize_rollup(context, config, analytics_db, rollup)

    return _asset


hourly_analytics = _rollup_asset(
    sql.HOURLY,
    HOURLY_PARTITIONS,
    HOURLY_FRESHNESS,
    """Per UTC hour, user, entity type (workflow/agent) and entity: executions (completed,
    failed, cancelled), success rate, tokens and cost (summed over each run's model calls),
    duration average/min/max and exact p50/p95. Runs are bucketed by start; a partition's rows
    are replaced in one transaction.""",
)
daily_analytics = _rollup_asset(
    sql.DAILY,
    DAILY_PARTITIONS,
    DAILY_FRESHNESS,
    """Per UTC day, user, entity type and entity: the same measures as hourly_analytics,
    computed from the raw spans (percentiles do not combine from hours).""",
)
model_usage_stats = _rollup_asset(
    sql.MODEL_USAGE,
    DAILY_PARTITIONS,
    DAILY_FRESHNESS,
    """Per UTC day, user, provider and model: calls (completed/failed/cancelled), tokens and
    cost with averages per call, latency average and exact p50/p95/p99. A model call's user is
    its trace's run user.""",
)


@dg.asset(
    key_prefix=KEY_PREFIX,
    group_name=GROUP,
    deps=[daily_analytics],
    kinds={"postgres"},
    code_version=CODE_VERSION,
    owners=["team:analytics"],
    freshness_policy=DAILY_FRESHNESS,
    check_specs=[
        dg.AssetCheckSpec(
            "matches_daily_analytics",
            asset=dg.AssetKey([KEY_PREFIX, "recent_activity_summary"]),
            description="The view's executions equal daily_analytics' over the same 7 days.",
        )
    ],
)
def recent_activity_summary(analytics_db: AnalyticsDatabase) -> dg.MaterializeResult:
    """Materialized view: per user, the last 7 complete UTC days of daily_analytics (executions,
    success rate, tokens, cost, duration average weighted by count). Refreshed CONCURRENTLY, so
    the dashboard never waits."""
    analytics_db.migrate()
    summary = analytics_db.refresh_recent_activity()
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": summary["users"],
            "users": summary["users"],
            "executions": int(summary["executions"]),
            "total_cost_usd": float(summary["cost"]),
            "refreshed_at": datetime.now(UTC).isoformat(),
            "top_users_by_cost": dg.MetadataValue.md(
                markdown_table(
                    ("user", "executions", "success rate", "cost USD", "avg ms"),
                    [(u, n, r, c, round(d or 0, 1)) for u, n, r, c, d in summary["top"]],
                )
            ),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="matches_daily_analytics",
                passed=summary["executions"] == summary["daily_executions"],
                metadata={
                    "view": int(summary["executions"]),
                    "daily_analytics": int(summary["daily_executions"]),
                },
            )
        ],
    )


rollup_assets = [hourly_analytics, daily_analytics, model_usage_stats, recent_activity_summary]
