"""Pure logic, no database and no Dagster run: windows, late-data detection, traffic, verdicts
(and their metadata tables)."""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from assets.analytics.late_data import stale_buckets
from assets.analytics.report import counted_items, quality, reasons_table, top_table
from resources.analytics import source_schema
from resources.analytics.windows import (
    DAY,
    HOUR,
    BucketState,
    chunks,
    previous_bucket,
    window_for_key,
)
from sandboxes.analytics_traffic import (
    PRICES_PER_MILLION,
    cost_of,
    generate_span_copy_text,
    hourly_weight,
    js_number,
)
from tests.metadata import table_rows, table_text

T0 = datetime(2024, 11, 9, tzinfo=UTC)


def test_partition_keys_map_to_explicit_utc_windows():
    assert window_for_key("2024-11-09", DAY) == (T0, T0 + DAY)
    assert window_for_key("2024-11-09-13:00", HOUR) == (T0 + 13 * HOUR, T0 + 14 * HOUR)
    for bad, unit in (("2024-13-01", DAY), ("yesterday", DAY), ("2024-11-09-13:30", HOUR)):
        with pytest.raises(ValueError, match="2024-11-09|not on the hour"):
            window_for_key(bad, unit)


def test_windows_are_chunked_and_naive_datetimes_refused():
    parts = list(chunks(T0, T0 + 3 * DAY + 5 * HOUR, DAY))
    assert (
        len(parts) == 4 and parts[0] == (T0, T0 + DAY) and parts[-1][1] == T0 + 3 * DAY + 5 * HOUR
    )
    assert all(a[1] == b[0] for a, b in zip(parts, parts[1:], strict=False))
    with pytest.raises(ValueError, match="no time zone"):
        list(chunks(datetime(2024, 11, 9), datetime(2024, 11, 10), DAY))
    with pytest.raises(ValueError, match="Empty window"):
        list(chunks(T0, T0, DAY))


def test_previous_bucket_is_the_last_complete_one():
    assert previous_bucket(T0 + 14 * HOUR + timedelta(minutes=5), HOUR) == T0 + 13 * HOUR
    assert previous_bucket(T0 + timedelta(minutes=5), DAY) == T0 - DAY


def test_stale_buckets_are_those_whose_source_changed():
    end = T0 + timedelta(minutes=30)
    marks = {
        T0: BucketState(3, end),
        T0 + HOUR: BucketState(2, end + HOUR),
        T0 + 2 * HOUR: BucketState(1, end),
        T0 + 3 * HOUR: BucketState(0, None),
    }
    now = {
        T0: BucketState(3, end),  # unchanged
        T0 + HOUR: BucketState(3, end + 2 * HOUR),  # a late run
        # T0 + 2h: its spans vanished; T0 + 3h: still empty
        T0 + 5 * HOUR: BucketState(4, end),  # never rolled up: not a late-data re-run
    }
    assert stale_buckets(marks, now) == [T0 + HOUR, T0 + 2 * HOUR]
    moved = {T0: BucketState(3, end + timedelta(seconds=1))}
    assert stale_buckets({T0: marks[T0]}, moved) == [T0]


def _parse(text: str) -> list[dict]:
    rows = []
    for line in text.splitlines():
        values = [None if v == "\\N" else v for v in line.split("\t")]
        rows.append(dict(zip(source_schema.SOURCE_COLUMNS, values, strict=True)))
    return rows


# The real platform's layout, copied from the reference on the workflow platform's writers (the
# generator must not be its own oracle): span types, statuses, attribute keys per span type
# (written at the start, added at the end), what `entity_id` holds.
PLATFORM_SPAN_TYPES = {"workflow_run", "node_execution", "agent_run", "agent_iteration",
                       "model_generation", "tool_execution"}  # fmt: skip
PLATFORM_STATUSES = {"started", "completed", "failed"}
PLATFORM_KEYS = {
    "workflow_run": ({"userId", "workflowName", "nodeCount", "edgeCount"},
                     {"durationMs", "completedNodeCount", "totalNodeCount", "failureReason"}),
    "node_execution": ({"userId", "nodeId", "nodeType", "nodeName"}, set()),
    "agent_run": ({"userId", "agentName", "model", "provider"},
                  {"totalIterations", "messageCount", "failureReason"}),
    "agent_iteration": ({"iteration", "maxIterations"}, set()),
    "model_generation": ({"model", "provider", "temperature", "maxTokens"},
                         {"responseLength", "toolCallCount", "promptTokens", "completionTokens",
                          "totalTokens", "inputCost", "outputCost", "totalCost"}),
    "tool_execution": ({"toolName", "toolCallId"}, set()),
}  # fmt: skip
NEVER_WRITTEN = {"workflowId", "agentId", "modelId", "entityType"}


def test_traffic_has_exactly_the_platforms_layout():
    texts = [text for text, _ in generate_span_copy_text(T0, T0 + DAY, 4_000, seed=3)]
    rows = [r for text in texts for r in _parse(text)]
    assert 3_600 <= len(rows) <= 4_400  # about the number asked for
    assert {r["span_type"] for r in rows} == PLATFORM_SPAN_TYPES
    assert {r["status"] for r in rows} == PLATFORM_STATUSES
    spans = {r["span_id"]: r for r in rows}
    runs = {r["trace_id"]: r for r in rows if r["span_type"] in ("workflow_run", "agent_run")}
    assert len(runs) == len({r["trace_id"] for r in rows})  # one run span per execution
    for row in rows:
        span_type, status = row["span_type"], row["status"]
        attrs = json.loads(row["attributes"], parse_float=Decimal)
        at_start, at_end = PLATFORM_KEYS[span_type]
        assert at_start <= set(attrs) <= at_start | at_end, (span_type, set(attrs))
        assert not NEVER_WRITTEN & set(attrs)
        if status == "started":  # nothing of the end yet
            assert set(attrs) == at_start and row["ended_at"] is None
            assert row["duration_ms"] is None
        else:
            assert row["duration_ms"].isdigit()  # an integer
            assert datetime.fromisoformat(row["ended_at"]) >= datetime.fromisoformat(
                row["started_at"]
            )
        assert row["input"] == row["output"] == "null"  # the JSON literal, not SQL NULL
        assert (row["error"] == "null") == (status != "failed")
        assert str(uuid.UUID(row["trace_id"])) == row["trace_id"]
        run = runs[row["trace_id"]]
        # entity_id: a workflow run's is its execution (the trace), a node's its node id, and
        # every span of an agent execution carries the agent id.
        if span_type == "workflow_run":
            assert row["entity_id"] == row["trace_id"] and row["parent_span_id"] is None
        elif span_type == "node_execution":
            assert row["entity_id"] == attrs["nodeId"] and run["span_type"] == "workflow_run"
        else:
            assert run["span_type"] == "agent_run"
            assert row["entity_id"] == run["entity_id"]
            uuid.UUID(row["entity_id"])
        if "userId" in attrs:
            assert str(uuid.UUID(attrs["userId"])) == attrs["userId"]
        if span_type in ("workflow_run", "agent_run"):
            assert "userId" in attrs
            assert ("failureReason" in attrs) == (status == "failed")
        if row["parent_span_id"] is not None:
            assert spans[row["parent_span_id"]]["trace_id"] == row["trace_id"]
        if span_type == "model_generation":
            assert "userId" not in attrs  # the user is the trace's run's
            if status == "completed":
                assert at_end <= set(attrs)
                p, q = attrs["promptTokens"], attrs["completionTokens"]
                assert attrs["totalTokens"] == p + q
                price_in, price_out = PRICES_PER_MILLION[(attrs["provider"], attrs["model"])]
                assert attrs["inputCost"] == pytest.approx(Decimal(p * price_in) / 10**6)
                assert attrs["totalCost"] == pytest.approx(attrs["inputCost"] + attrs["outputCost"])
                assert (float(attrs["inputCost"]), float(attrs["outputCost"])) == pytest.approx(
                    cost_of(attrs["provider"], attrs["model"], p, q)[:2]
                )
        else:
            assert not {"promptTokens", "totalTokens", "totalCost"} & set(attrs)
    # Numbers in JavaScript's form: 4.5e-7, never Python's 4.5e-07.
    assert not any(re.search(r"\d[eE][-+]0", r["attributes"]) for r in rows)
    assert js_number(4.5e-7) == "4.5e-7" and js_number(0.00005) == "0.00005"
    assert js_number(3.0) == "3"
    assert all(datetime.fromisoformat(r["started_at"]).tzinfo is not None for r in rows)


def test_traffic_follows_a_daily_rhythm():
    assert hourly_weight(15) > 5 * hourly_weight(3)
    rows = [
        r for text, _ in generate_span_copy_text(T0, T0 + DAY, 20_000, seed=4) for r in _parse(text)
    ]
    runs = Counter(
        datetime.fromisoformat(r["started_at"]).hour
        for r in rows
        if r["span_type"].endswith("_run")
    )
    assert sum(runs[h] for h in (13, 14, 15, 16)) > 3 * sum(runs[h] for h in (1, 2, 3, 4))


def test_quality_verdict_and_tables():
    stats = {"run_spans_read": 90, "model_spans_read": 110, "still_running": 5,
             "unknown_status": 2, "bad_duration": 3, "missing_user": 0, "missing_cost": 1,
             "missing_tokens": 0}  # fmt: skip
    verdict = quality(stats, 0.05)
    assert (verdict.bad, verdict.total, verdict.passed) == (6, 200, True)
    assert not quality(stats, 0.01).passed and "max_bad_share" in quality(stats, 0.01).describe()
    assert counted_items(stats) == 83
    reasons = table_text(reasons_table(stats))
    assert "unknown_status" in reasons and "still_running" in reasons
    assert table_text(top_table(("a", "b"), [(1, 2)])).splitlines()[0] == "1 | 2"
    assert table_rows(top_table(("a",), [])) == []


def test_schema_names_are_refused_unless_plain():
    assert source_schema.quote_schema("flowmaestro") == '"flowmaestro"'
    with pytest.raises(ValueError, match="ANALYTICS_SOURCE_SCHEMA"):
        source_schema.quote_schema('public"; DROP TABLE x; --')
