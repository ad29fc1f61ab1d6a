"""`analytics/execution_spans`: the workflow platform's raw spans, observed (not materialised),
with the `spans_arriving` check."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from assets.analytics.spec import EXECUTION_SPANS, SPEC, catalog_metadata
from resources.analytics.database import AnalyticsDatabase

SPANS_DESCRIPTION = """The workflow platform's raw spans (one row per workflow run, agent run,
model call, tool call). Observed, not materialised: the newest run start is its data version and
its freshness."""
# The platform starts runs all day: none for this long means its span writer is down.
SPANS_STALE_AFTER = timedelta(hours=2)


@dg.multi_observable_source_asset(
    specs=[
        SPEC.asset_spec(
            "execution_spans",
            description=SPANS_DESCRIPTION,
            kinds={"postgres"},
            metadata=catalog_metadata("execution_spans"),
        )
    ],
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
