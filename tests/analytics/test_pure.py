"""Pure logic, no database and no Dagster: windows, late-data detection, traffic, verdicts."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from assets.analytics.late_data import stale_buckets
from assets.analytics.report import counted_items, markdown_table, quality, reasons_table
from resources import analytics_sql as sql
from resources.analytics_windows import (
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
)

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
        rows.append(dict(zip(sql.SOURCE_COLUMNS, values, strict=True)))
    return rows


def test_traffic_has_the_platforms_layout_and_real_prices():
    rows = [
        r for text, _ in generate_span_copy_text(T0, T0 + DAY, 3_000, seed=3) for r in _parse(text)
    ]
    assert 2_700 <= len(rows) <= 3_300  # about the number asked for
    types = Counter(r["span_type"] for r in rows)
    assert set(types) <= {
        "workflow_run", "agent_run", "agent_iteration", "model_generation", "node_execution",
        "tool_execution", "http_request", "database_query", "vector_search",
    }  # fmt: skip
    assert all(t == t.lower() for t in types)
    assert {r["status"] for r in rows} <= {"started", "completed", "failed", "cancelled"}
    for row in rows:
        attrs = json.loads(row["attributes"], parse_float=Decimal)
        if row["span_type"] == "model_generation":
            assert "userId" not in attrs  # as on the platform: the run carries the user
            price_in, price_out = PRICES_PER_MILLION[(attrs["provider"], attrs["model"])]
            expected = cost_of(
                attrs["provider"], attrs["model"], attrs["promptTokens"], attrs["completionTokens"]
            )
            assert (float(attrs["inputCost"]), float(attrs["outputCost"])) == expected[:2]
            assert attrs["totalTokens"] == attrs["promptTokens"] + attrs["completionTokens"]
            assert price_in < price_out
        else:
            assert not {"totalCost", "totalTokens"} & set(attrs)
        if row["span_type"].endswith("_run"):
            assert attrs["userId"].startswith("user-")
        assert datetime.fromisoformat(row["started_at"]).tzinfo is not None


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
    assert "unknown_status" in reasons_table(stats) and "still_running" in reasons_table(stats)
    assert markdown_table(("a", "b"), [(1, 2)]).splitlines()[2] == "| 1 | 2 |"
    assert markdown_table(("a",), []) == "_no rows_"


def test_schema_names_are_refused_unless_plain():
    assert sql.quote_schema("flowmaestro") == '"flowmaestro"'
    with pytest.raises(ValueError, match="ANALYTICS_SOURCE_SCHEMA"):
        sql.quote_schema('public"; DROP TABLE x; --')
