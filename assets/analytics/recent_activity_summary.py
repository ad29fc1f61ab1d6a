"""`analytics/recent_activity_summary`: the materialized view of the last 7 days per user, with
its check against daily_analytics."""

from datetime import UTC, datetime

import dagster as dg

from assets.analytics.report import top_table
from assets.analytics.spec import (
    CODE_VERSION,
    DAILY_ANALYTICS,
    DAILY_FRESHNESS,
    SPEC,
    catalog_metadata,
)
from resources.analytics.database import AnalyticsDatabase

# The view follows daily_analytics: a run that writes days of daily_analytics without the view (a
# backfill of it alone from the UI or the CLI) is followed by one refresh, through the
# analytics_automation_condition_sensor; the daily job refreshes it in the same run, so nothing
# follows. eager() without its "no upstream partition missing" part: the view reads 7 days, not
# every partition since 2024.
FOLLOWS_DAILY_ANALYTICS = (
    dg.AutomationCondition.eager()
    .without(~dg.AutomationCondition.any_deps_missing())
    .with_label("refresh after daily_analytics changes")
)


@dg.asset(
    **SPEC.asset_args(
        kinds={"postgres"},
        code_version=CODE_VERSION,
        freshness_policy=DAILY_FRESHNESS,
        metadata=catalog_metadata("recent_activity_summary"),
        automation_condition=FOLLOWS_DAILY_ANALYTICS,
    ),
    deps=[DAILY_ANALYTICS],
    check_specs=[
        dg.AssetCheckSpec(
            "matches_daily_analytics",
            asset=SPEC.key("recent_activity_summary"),
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
            "top_users_by_cost": top_table(
                ("user", "executions", "success rate", "cost USD", "avg ms"),
                [(u, n, r, c, round(d or 0, 1)) for u, n, r, c, d in summary["top"]],
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
