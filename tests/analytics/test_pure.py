"""Pure logic, no database and no Dagster run: windows, late-data detection, traffic, verdicts
(and their metadata tables)."""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from assets.analytics.late_data import stale_buckets
from assets.analytics.report import (
    counted_items,
    quality,
    reasons_table,
    top_table,
    unpriced_table,
)
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
    PRICE_PER_TOKEN,
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
    """COPY text rows (the generator escapes only backslashes) as dicts."""
    rows = []
    for line in text.splitlines():
        values = [None if v == "\\N" else v.replace("\\\\", "\\") for v in line.split("\t")]
        rows.append(dict(zip(source_schema.SOURCE_COLUMNS, values, strict=True)))
    return rows


DOCS = Path(__file__).resolve().parents[2] / "docs" / "analytics.md"


def _doc_table(marker: str) -> list[list[str]]:
    """The rows of the table between `<!-- marker -->` and `<!-- /marker -->` in
    docs/analytics.md (what the platform's writers write, taken from their code)."""
    text = DOCS.read_text()
    body = text[text.index(f"<!-- {marker} -->") : text.index(f"<!-- /{marker} -->")]
    lines = [line for line in body.splitlines() if line.startswith("|")][2:]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def _ticked(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def writer_attribute_variants() -> dict[tuple[str, str], list[tuple[frozenset, str | None, bool]]]:
    """(span type, status) -> its documented variants: (attribute keys, failureReason code or
    None, whether the demo traffic writes it)."""
    started: dict[str, set[str]] = {}
    variants: dict = {}
    for span_type_cell, status_cell, keys_cell, generated in _doc_table("writer-attributes"):
        (span_type,) = _ticked(span_type_cell)
        status = status_cell.split()[0].rstrip(",")
        code = (_ticked(status_cell) or [None])[0]
        keys = set(_ticked(keys_cell))
        if status == "started":
            started[span_type] = keys
        else:
            keys |= started[span_type]
        variants.setdefault((span_type, status), []).append(
            (frozenset(keys), code, generated == "yes")
        )
    return variants


def writer_span_rules() -> dict[str, dict]:
    rules = {}
    for span_type_cell, name, _entity, input_keys, output_keys in _doc_table("writer-spans"):
        (span_type,) = _ticked(span_type_cell)
        prefix = _ticked(name)[0].split("<")[0]
        outputs = [set(_ticked(part)) for part in output_keys.split(" or ")]
        rules[span_type] = {"name": prefix, "input": set(_ticked(input_keys)), "output": outputs}
    return rules


NEVER_WRITTEN = {"workflowId", "agentId", "modelId", "entityType"}


def _uuid4(text: str) -> bool:
    parsed = uuid.UUID(text)
    return str(parsed) == text and parsed.version == 4


def test_traffic_writes_what_the_real_writers_write():
    variants, rules = writer_attribute_variants(), writer_span_rules()
    end = T0 + DAY
    texts = [text for text, _ in generate_span_copy_text(T0, end, 40_000, seed=3)]
    rows = [r for text in texts for r in _parse(text)]
    assert 38_800 <= len(rows) <= 41_200  # about the number asked for
    assert {r["span_type"] for r in rows} == set(rules) == {t for t, _ in variants}
    assert {r["status"] for r in rows} == {"started", "completed", "failed"}
    spans = {r["span_id"]: r for r in rows}
    runs = {r["trace_id"]: r for r in rows if r["span_type"] in ("workflow_run", "agent_run")}
    assert len(runs) == len({r["trace_id"] for r in rows})  # one run span per execution
    seen = set()
    for row in rows:
        span_type, status = row["span_type"], row["status"]
        attrs = json.loads(row["attributes"], parse_float=Decimal)
        # The attribute keys are exactly one documented variant of this type and status.
        matches = [
            (keys, code, generated)
            for keys, code, generated in variants[span_type, status]
            if keys == set(attrs) and code in (None, attrs.get("failureReason"))
        ]
        assert matches, (span_type, status, sorted(attrs))
        assert matches[0][2], f"{span_type} {status}: a variant the docs say is not generated"
        seen.add((span_type, status, matches[0][0], matches[0][1]))
        assert not NEVER_WRITTEN & set(attrs)
        # Name, input, output and error as the writers write them.
        rule = rules[span_type]
        assert row["name"].startswith(rule["name"]) and len(row["name"]) > len(rule["name"])
        assert set(json.loads(row["input"])) == rule["input"]  # an object on every span
        output, error = json.loads(row["output"]), json.loads(row["error"])
        if status == "completed":
            assert error is None and isinstance(output, dict)
            if span_type != "tool_execution":
                assert set(output) in rule["output"], (span_type, set(output))
        elif status == "failed":
            assert output is None and {"message", "type", "stack"} <= set(error)
            assert set(error) <= {"message", "type", "stack", "code"}
        else:  # started: nothing of the end yet
            assert output is None and error is None
            assert row["ended_at"] is None and row["duration_ms"] is None
        if status != "started":
            assert row["duration_ms"].isdigit()  # an integer
            assert int(row["duration_ms"]) == round(
                (
                    datetime.fromisoformat(row["ended_at"])
                    - datetime.fromisoformat(row["started_at"])
                )
                / timedelta(milliseconds=1)
            )
        # created_at: the writer's flush, up to 5 s after the span was created.
        flushed = datetime.fromisoformat(row["created_at"]) - datetime.fromisoformat(
            row["started_at"]
        )
        assert timedelta(0) <= flushed <= timedelta(seconds=5)
        assert _uuid4(row["trace_id"]) and _uuid4(row["span_id"])
        run = runs[row["trace_id"]]
        # entity_id: a workflow run's is its execution (the trace), a node's its node id, and
        # every span of an agent execution carries the agent id.
        if span_type == "workflow_run":
            assert row["entity_id"] == row["trace_id"] and row["parent_span_id"] is None
            assert row["name"] == f"Workflow: {attrs['workflowName']}"
        elif span_type == "node_execution":
            assert row["entity_id"] == attrs["nodeId"] and run["span_type"] == "workflow_run"
        else:
            assert run["span_type"] == "agent_run" and row["entity_id"] == run["entity_id"]
            assert _uuid4(row["entity_id"])
        if span_type == "agent_iteration":
            assert row["name"] == f"Iteration {attrs['iteration'] + 1}"  # 0-based attribute
        if span_type == "model_generation":
            assert row["name"] == f"{attrs['provider']}:{attrs['model']}"
        if "userId" in attrs:
            assert _uuid4(attrs["userId"])
        if row["parent_span_id"] is not None:
            assert spans[row["parent_span_id"]]["trace_id"] == row["trace_id"]
        if span_type == "model_generation" and "promptTokens" in attrs:
            p, q = attrs["promptTokens"], attrs["completionTokens"]
            assert attrs["totalTokens"] == p + q
            cost = cost_of(attrs["provider"], attrs["model"], p, q)
            assert ("inputCost" in attrs) == (cost is not None)
            if cost is not None:
                price_in, _ = PRICE_PER_TOKEN[attrs["provider"], attrs["model"]]
                assert attrs["inputCost"] == pytest.approx(Decimal(p) * Decimal(price_in))
                assert (float(attrs["inputCost"]), float(attrs["outputCost"])) == cost[:2]
        elif span_type != "model_generation":
            assert not {"promptTokens", "totalTokens", "totalCost"} & set(attrs)
    # Every documented variant of the demo traffic appears (a child span is `started` only in
    # the last seconds of the traffic: not every type is caught running).
    documented = {
        (t, s, keys, code)
        for (t, s), found in variants.items()
        for keys, code, generated in found
        if generated and (s != "started" or t.endswith("_run"))
    }
    seen = {v for v in seen if v[1] != "started" or v[0].endswith("_run")}
    assert documented == seen, documented ^ seen
    # The unpriced model: about 12 % of completed calls carry tokens and no cost.
    completed = [
        json.loads(r["attributes"])
        for r in rows
        if r["span_type"] == "model_generation" and r["status"] == "completed"
    ]
    unpriced = [a for a in completed if "inputCost" not in a]
    assert {a["model"] for a in unpriced} == {"claude-3-5-haiku-20241022"}
    assert 0.08 < len(unpriced) / len(completed) < 0.16
    # Numbers in JavaScript's form: 4.5e-7, never Python's 4.5e-07.
    assert not any(re.search(r"\d[eE][-+]0", r["attributes"]) for r in rows)
    assert js_number(4.5e-7) == "4.5e-7" and js_number(0.00005) == "0.00005"
    assert js_number(3.0) == "3"
    assert all(datetime.fromisoformat(r["started_at"]).tzinfo is not None for r in rows)


def test_runs_left_started_are_recent_or_orphans():
    # A busy hour, so that some runs are still going when the traffic ends.
    begin, end = T0 + 14 * HOUR, T0 + 15 * HOUR
    rows = [
        r for text, _ in generate_span_copy_text(begin, end, 30_000, seed=5) for r in _parse(text)
    ]
    runs = [r for r in rows if r["span_type"] in ("workflow_run", "agent_run")]
    by_trace: dict[str, list[dict]] = {}
    for row in rows:
        by_trace.setdefault(row["trace_id"], []).append(row)
    recent, orphans = 0, 0
    for run in (r for r in runs if r["status"] == "started"):
        if datetime.fromisoformat(run["started_at"]) > end - timedelta(minutes=1):
            recent += 1  # still going when the traffic ends
        else:
            # An orphan: flushed while running and never updated, its execution long over.
            others = [r for r in by_trace[run["trace_id"]] if r is not run]
            assert others and all(r["status"] != "started" for r in others), run
            orphans += 1
    assert recent >= 1 and 0 < orphans <= 0.01 * len(runs)
    children = [r for r in rows if r["status"] == "started" and r not in runs]
    assert all(datetime.fromisoformat(r["started_at"]) > end - timedelta(minutes=1)
               for r in children)  # fmt: skip


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
    # 6 malformed spans (one with two reasons), 30 unpriced calls counted apart.
    stats = {"run_spans_read": 90, "model_spans_read": 110, "still_running": 5,
             "unknown_status": 2, "bad_duration": 3, "missing_user": 0, "missing_cost": 2,
             "missing_tokens": 0, "unpriced": 30, "malformed_spans": 6}  # fmt: skip
    verdict = quality(stats, 0.05)
    assert (verdict.bad, verdict.total, verdict.unpriced, verdict.passed) == (6, 200, 30, True)
    assert "30 calls to models without a price" in verdict.describe()
    # Unpriced calls never count against the threshold: 30/200 would fail it.
    assert quality(stats | {"malformed_spans": 0}, 0.01).passed
    assert not quality(stats, 0.01).passed and "max_bad_share" in quality(stats, 0.01).describe()
    assert counted_items(stats) == 83
    classes = {row["counter"]: row["class"] for row in table_rows(reasons_table(stats))}
    assert classes["unpriced"] == "counted, a part unknown"
    assert classes["missing_cost"] == classes["unknown_status"] == "malformed"
    assert classes["still_running"] == "not yet counted" and "missing_user" not in classes
    by_model = table_rows(unpriced_table({("anthropic", "claude-3-5-haiku"): 7, ("x", "y"): 9}))
    assert [(r["model"], r["unpriced_calls"]) for r in by_model] == [
        ("y", 9),
        ("claude-3-5-haiku", 7),
    ]
    assert table_text(top_table(("a", "b"), [(1, 2)])).splitlines()[0] == "1 | 2"
    assert table_rows(top_table(("a",), [])) == []


def test_schema_names_are_refused_unless_plain():
    assert source_schema.quote_schema("flowmaestro") == '"flowmaestro"'
    with pytest.raises(ValueError, match="ANALYTICS_SOURCE_SCHEMA"):
        source_schema.quote_schema('public"; DROP TABLE x; --')
