"""Turning a rollup's counters into metadata and verdicts (plain logic, no I/O; the tables are
Dagster's typed table metadata, `metadata_table` of assets/common.py)."""

from __future__ import annotations

from dataclasses import dataclass

from dagster import MetadataValue

from assets.common import metadata_table

# What the rollup did with a span, for each counter the rollup queries return: every span read
# is counted, counted with an unknown part, malformed (defaulted or excluded), or not yet counted.
COUNTED_UNKNOWN_PART = "counted, a part unknown"
MALFORMED = "malformed"
NOT_YET = "not yet counted"
NOTE = "note"  # about the read, not a class of spans
REASONS = {
    "still_running": (NOT_YET, "still running (status 'started'): left for a later rollup"),
    "unpriced": (
        COUNTED_UNKNOWN_PART,
        "completed model call with its tokens and no cost: the platform has no price for the "
        "model; tokens counted, cost 0 (see unpriced_calls_by_model)",
    ),
    "unknown_status": (MALFORMED, "status not in completed/failed/cancelled/started: excluded"),
    "bad_duration": (
        MALFORMED,
        "duration missing or negative and no usable timestamps: no duration stats",
    ),
    "missing_user": (MALFORMED, "no userId on the trace's run span (nor on the span): 'unknown'"),
    "missing_entity": (
        MALFORMED,
        "workflow run without workflowName (agent run without id): 'unknown'",
    ),
    "missing_cost": (
        MALFORMED,
        "completed model call with a cost written but missing a part or not a number: counted as 0",
    ),
    "missing_tokens": (
        MALFORMED,
        "completed model call with a token count missing or not a number: counted as 0",
    ),
    "unknown_model": (MALFORMED, "model span without provider/model: 'unknown'"),
    "bad_numbers_reread": (
        NOTE,
        "days re-read because a token or cost was not a number (read as missing)",
    ),
}


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
    """The share of malformed spans among those read (the blocking `span_quality` check); calls
    counted with an unknown part (unpriced) are reported beside it, never in it."""

    bad: int
    total: int
    max_share: float
    unpriced: int = 0

    @property
    def share(self) -> float:
        return self.bad / self.total if self.total else 0.0

    @property
    def passed(self) -> bool:
        return self.share <= self.max_share

    def describe(self) -> str:
        verdict = "within" if self.passed else "ABOVE"
        unpriced = (
            f" {self.unpriced} calls to models without a price are counted with cost 0 (not "
            "malformed: see unpriced_calls_by_model)."
            if self.unpriced
            else ""
        )
        return (
            f"{self.bad} of {self.total} spans malformed, defaulted or excluded "
            f"({self.share:.2%}), {verdict} the allowed {self.max_share:.0%}.{unpriced} Fix "
            "malformed spans at the source (see the span_classes table) or raise max_bad_share in "
            "the run config."
        )


def quality(stats: dict, max_share: float) -> Quality:
    return Quality(
        bad=int(stats.get("malformed_spans", 0)),
        total=spans_read(stats),
        max_share=max_share,
        unpriced=int(stats.get("unpriced", 0)),
    )


def reasons_table(stats: dict) -> MetadataValue:
    """What happened to the spans not plainly counted: one row per counter that is not 0 (none:
    no rows), with its class (counted with a part unknown, malformed, not yet counted)."""
    rows = [
        {"counter": key, "spans": int(stats[key]), "class": kind, "rule": rule}
        for key, (kind, rule) in REASONS.items()
        if int(stats.get(key, 0))
    ]
    return metadata_table(rows, columns=("counter", "spans", "class", "rule"))


def unpriced_table(unpriced: dict[tuple[str, str], int]) -> MetadataValue:
    """Calls to models without a price (counted, cost 0), per model, most first."""
    rows = [
        {"provider": provider, "model": model, "unpriced_calls": calls}
        for (provider, model), calls in sorted(unpriced.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return metadata_table(rows, columns=("provider", "model", "unpriced_calls"))
