"""The rollup factory: what the three rollups (`hourly_analytics`, `daily_analytics`,
`model_usage_stats`) share. Each rollup's own module calls `rollup_asset(...)` to hold its asset:
write the window, audit it with the three blocking checks, publish it only if they pass.

Thin wiring: the SQL lives in `resources.analytics.rollup_queries`, the I/O in
`resources.analytics.database`.
"""

import dagster as dg

from assets.analytics.report import (
    counted_items,
    quality,
    reasons_table,
    spans_read,
    top_table,
    unpriced_table,
)
from assets.analytics.spec import CODE_VERSION, EXECUTION_SPANS, SPEC, catalog_metadata
from resources.analytics.database import AnalyticsDatabase, RollupRejected, RollupReport
from resources.analytics.rollup_queries import MODEL_USAGE, Rollup


class RollupConfig(dg.Config):
    max_bad_share: float = 0.05
    """Largest share of spans read that may be malformed (defaulted or excluded) before the
    quality check fails (blocking: downstream stops). Calls to models without a price are
    counted (cost 0) and never in this share."""


def _check_specs(name: str) -> list[dg.AssetCheckSpec]:
    asset = SPEC.key(name)
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
            description=(
                "Share of malformed spans (defaulted or excluded) within max_bad_share; calls "
                "to unpriced models are counted with cost 0, not malformed."
            ),
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
            metadata={
                "malformed_spans": verdict.bad,
                "share": verdict.share,
                "unpriced_calls": verdict.unpriced,
            },
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
    rollup: Rollup,
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
            metadata={"span_classes": reasons_table(rejected.report.stats)},
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
        "executions" if rollup is not MODEL_USAGE else "model_calls": total.executions,
        "total_tokens": int(total.tokens),
        "total_cost_usd": float(total.cost),
        "window_utc": f"{window.start.isoformat()} .. {window.end.isoformat()}",
        "partitions": len(context.partition_keys),
        "still_running_spans": int(total.stats.get("still_running", 0)),
        "malformed_spans": int(total.stats.get("malformed_spans", 0)),
        # Counted with cost 0: the platform's writer records no cost for a model it has no price for.
        "unpriced_calls": int(total.stats.get("unpriced", 0)),
        "unpriced_calls_by_model": unpriced_table(total.unpriced),
        "span_classes": reasons_table(total.stats),
        "top_by_cost": top_table(key_names, total.top),
    }
    yield dg.MaterializeResult(metadata=metadata, check_results=_check_results(total, config))


def rollup_asset(
    rollup: Rollup,
    partitions: dg.PartitionsDefinition,
    freshness: dg.FreshnessPolicy,
    description: str,
) -> dg.AssetsDefinition:
    """The asset `analytics/<rollup.table>`: one window per run (a range of partitions in one
    run, `single_run`), from the span source, with the three blocking checks."""

    @dg.asset(
        **SPEC.asset_args(
            kinds={"postgres", "sql"},
            code_version=CODE_VERSION,
            partitions_def=partitions,
            backfill_policy=dg.BackfillPolicy.single_run(),
            freshness_policy=freshness,
            metadata=catalog_metadata(rollup.table),
        ),
        name=rollup.table,
        deps=[EXECUTION_SPANS],
        check_specs=_check_specs(rollup.table),
        description=description,
    )
    def _asset(
        context: dg.AssetExecutionContext, config: RollupConfig, analytics_db: AnalyticsDatabase
    ):
        yield from _materialize_rollup(context, config, analytics_db, rollup)

    return _asset
