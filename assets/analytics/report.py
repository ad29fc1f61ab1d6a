"""Turning a rollup's counters into metadata and verdicts (plain logic, no I/O; the tables are
Dagster's typed table metadata, `metadata_table` of assets/common.py)."""

from __future__ import annotations

from dataclasses import dataclass

from dagster import MetadataValue

from assets.common import metadata_table

# Why a span was defaulted or left out, for each counter the rollup queries return.
REASONS = {
    "still_running": "still running (status 'started'): left for a later rollup",
    "unknown_status": "status not in completed/failed/cancelled/started: excluded",
    "bad_duration": "duration missing or negative and no usable timestamps: no duration stats",
    "missing_user": "no userId on the trace's run span (nor on the span): user 'unknown'",
    "missing_entity": "workflow run without workflowName (agent run without id): 'unknown'",
    "missing_cost": "completed model span with a cost missing or not a number: counted as 0",
    "missing_tokens": "completed model span with a token count missing or not a number: counted as 0",
    "unknown_model": "model span without provider/model: 'unknown'",
    "bad_numbers_reread": "a token or cost that is not a number: read as missing (window re-read)",
}
# Counters that mark bad input (still-running spans are normal, not bad).
BAD_INPUT = (
    "unknown_status",
    "bad_duration",
    "missing_user",
    "missing_entity",
    "missing_cost",
    "missing_tokens",
)


def top_table(header: tuple[str, ...], rows: list[tuple]) -> MetadataValue:
    """Ranked rows (a window's most expensive keys, the view's top users) as a typed table."""
    return metadata_table([dict(zip(header, row, strict=True)) for row in rows], columns=header)


def spans_read(stats: dict) -> int:
    return int(stats.get("run_spans_read", 0)) + int(stats.get("model_spans_read", 0))


def counted_items(stats: dict) -> int:
    """What the rollup counted: finished runs (entity rollups) or finished model calls."""
    key = "run_spans_read" if "run_spans_read" in stats else "model_spans_read"
    return int(stats[key]) - int(stats["still_running"]) - int(stats["unknown_status"])


@dataclass(frozen=True)
class Quality:
    bad: int
    total: int
    max_share: float

    @property
    def share(self) -> float:
        return self.bad / self.total if self.total else 0.0

    @property
    def passed(self) -> bool:
        return self.share <= self.max_share

    def describe(self) -> str:
        verdict = "within" if self.passed else "ABOVE"
        return (
            f"{self.bad} of {self.total} spans defaulted or excluded ({self.share:.2%}), {verdict} "
            f"the allowed {self.max_share:.0%}. Fix the spans at the source (see the reasons "
            "table) or raise max_bad_share in the run config."
        )


def quality(stats: dict, max_share: float) -> Quality:
    bad = sum(int(stats.get(key, 0)) for key in BAD_INPUT)
    return Quality(bad=bad, total=spans_read(stats), max_share=max_share)


def reasons_table(stats: dict) -> MetadataValue:
    """Why spans were defaulted or left out: one row per counter that is not 0 (none: no rows)."""
    rows = [
        {"counter": key, "spans": int(stats[key]), "rule": REASONS[key]}
        for key in REASONS
        if int(stats.get(key, 0))
    ]
    return metadata_table(rows, columns=("counter", "spans", "rule"))
