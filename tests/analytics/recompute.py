"""An independent recomputation of the rollups in Python, from the raw spans (tests only).

Written from the documented rules, not from the SQL: Decimal sums for cost, numpy's linear
percentiles for p50/p95/p99 (what percentile_cont computes).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest

RUN_TYPES = {"workflow_run": "workflow", "agent_run": "agent"}
TERMINAL = {"completed", "failed", "cancelled"}
SIX = Decimal("0.000001")
NINE = Decimal("0.000000001")


def raw_spans(db) -> list[dict]:
    with db.source_connection() as conn:
        cursor = conn.execute(
            "SELECT trace_id, span_type, entity_id, status, started_at, ended_at, duration_ms, "
            f"attributes::text FROM {db.src}.execution_spans"
        )
        names = [d.name for d in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor]
    for row in rows:
        row["attributes"] = json.loads(row.pop("attributes"), parse_float=Decimal)
        if row["started_at"].tzinfo is None:  # naive source columns are read as UTC
            row["started_at"] = row["started_at"].replace(tzinfo=UTC)
            if row["ended_at"] is not None:
                row["ended_at"] = row["ended_at"].replace(tzinfo=UTC)
    return rows


def _number(attrs: dict, key: str):
    value = attrs.get(key)
    return (
        Decimal(value)
        if isinstance(value, (int, Decimal)) and not isinstance(value, bool)
        else None
    )


def _duration(span: dict) -> float | None:
    if span["duration_ms"] is not None and span["duration_ms"] >= 0:
        return float(span["duration_ms"])
    if span["ended_at"] is not None and span["ended_at"] >= span["started_at"]:
        return (span["ended_at"] - span["started_at"]) / timedelta(milliseconds=1)
    return None


def _bucket(moment: datetime, unit: str):
    moment = moment.astimezone(UTC)
    if unit == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.date()


def _total(total, first, second):
    """The recorded total, else the sum of the recorded parts."""
    if total is not None:
        return total
    parts = [v for v in (first, second) if v is not None]
    return sum(parts) if parts else None


def _tokens_and_cost(attrs: dict) -> tuple:
    prompt, completion = _number(attrs, "promptTokens"), _number(attrs, "completionTokens")
    total = _total(_number(attrs, "totalTokens"), prompt, completion)
    cin, cout = _number(attrs, "inputCost"), _number(attrs, "outputCost")
    cost = _total(_number(attrs, "totalCost"), cin, cout)
    values = (prompt, completion, total, cin, cout, cost)
    return tuple(Decimal(0) if v is None else v for v in values)


def _durations(values: list[float], qs=(50, 95)) -> dict:
    if not values:
        return {"duration_count": 0} | {f"p{q}_duration_ms": None for q in qs}
    return {
        "duration_count": len(values),
        "sum_duration_ms": sum(values),
        "avg_duration_ms": sum(values) / len(values),
        "min_duration_ms": min(values),
        "max_duration_ms": max(values),
    } | {f"p{q}_duration_ms": float(np.percentile(values, q)) for q in qs}


def _entity(run: dict) -> str:
    """A workflow by its name (its span's entity_id is the execution), an agent by its id."""
    if run["span_type"] == "workflow_run":
        return run["attributes"].get("workflowName") or "unknown"
    return run["entity_id"] or "unknown"


def entity_rollup(spans: list[dict], unit: str, start: datetime, end: datetime) -> dict:
    per_trace = defaultdict(lambda: [Decimal(0)] * 6)
    for span in spans:
        if span["span_type"] == "model_generation" and span["status"] in TERMINAL:
            sums = per_trace[span["trace_id"]]
            for i, value in enumerate(_tokens_and_cost(span["attributes"])):
                sums[i] += value
    groups = defaultdict(list)
    for span in spans:
        if span["span_type"] not in RUN_TYPES or span["status"] not in TERMINAL:
            continue
        if not start <= span["started_at"] < end:
            continue
        key = (
            _bucket(span["started_at"], unit),
            span["attributes"].get("userId") or "unknown",
            RUN_TYPES[span["span_type"]],
            _entity(span),
        )
        groups[key].append(span)
    result = {}
    for key, runs in groups.items():
        n = len(runs)
        ok = sum(r["status"] == "completed" for r in runs)
        sums = [sum((per_trace[r["trace_id"]][i] for r in runs), Decimal(0)) for i in range(6)]
        durations = [d for d in (_duration(r) for r in runs) if d is not None]
        result[key] = {
            "total_executions": n,
            "successful_executions": ok,
            "failed_executions": sum(r["status"] == "failed" for r in runs),
            "cancelled_executions": sum(r["status"] == "cancelled" for r in runs),
            "success_rate": (Decimal(ok) / n).quantize(SIX, ROUND_HALF_UP),
            "prompt_tokens": int(sums[0]),
            "completion_tokens": int(sums[1]),
            "total_tokens": int(sums[2]),
            "input_cost": sums[3].quantize(SIX, ROUND_HALF_UP),
            "output_cost": sums[4].quantize(SIX, ROUND_HALF_UP),
            "total_cost": sums[5].quantize(SIX, ROUND_HALF_UP),
        } | _durations(durations)
    return result


def model_rollup(spans: list[dict], start: datetime, end: datetime) -> dict:
    run_user = {}
    for span in spans:
        user = span["attributes"].get("userId")
        if span["span_type"] in RUN_TYPES and user:
            run_user[span["trace_id"]] = min(user, run_user.get(span["trace_id"], user))
    groups = defaultdict(list)
    for span in spans:
        if span["span_type"] != "model_generation" or span["status"] not in TERMINAL:
            continue
        if not start <= span["started_at"] < end:
            continue
        attrs = span["attributes"]
        user = run_user.get(span["trace_id"]) or attrs.get("userId") or "unknown"
        key = (
            _bucket(span["started_at"], "day"),
            user,
            attrs.get("provider") or "unknown",
            attrs.get("model") or "unknown",
        )
        groups[key].append(span)
    result = {}
    for key, calls in groups.items():
        n = len(calls)
        sums = [Decimal(0)] * 6
        for call in calls:
            for i, value in enumerate(_tokens_and_cost(call["attributes"])):
                sums[i] += value
        durations = [d for d in (_duration(c) for c in calls) if d is not None]
        stats = _durations(durations, qs=(50, 95, 99))
        stats.pop("min_duration_ms", None)
        stats.pop("max_duration_ms", None)
        result[key] = {
            "total_calls": n,
            "successful_calls": sum(c["status"] == "completed" for c in calls),
            "failed_calls": sum(c["status"] == "failed" for c in calls),
            "cancelled_calls": sum(c["status"] == "cancelled" for c in calls),
            "prompt_tokens": int(sums[0]),
            "completion_tokens": int(sums[1]),
            "total_tokens": int(sums[2]),
            "avg_tokens_per_call": float(sums[2]) / n,
            "input_cost": sums[3].quantize(SIX, ROUND_HALF_UP),
            "output_cost": sums[4].quantize(SIX, ROUND_HALF_UP),
            "total_cost": sums[5].quantize(SIX, ROUND_HALF_UP),
            "avg_cost_per_call": (sums[5] / n).quantize(NINE, ROUND_HALF_UP),
        } | stats
    return result


def stored(db, table: str, key_columns: tuple[str, ...]) -> dict:
    with db.rollup_connection() as conn:
        cursor = conn.execute(f"SELECT * FROM {db.dst}.{table}")
        names = [d.name for d in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor]
    out = {}
    for row in rows:
        key = tuple(row.pop(c) for c in key_columns)
        row.pop("rolled_up_at")
        out[key] = row
    return out


def assert_same(expected: dict, actual: dict) -> None:
    assert set(actual) == set(expected), (
        f"keys differ: missing {sorted(set(expected) - set(actual))[:3]}, "
        f"extra {sorted(set(actual) - set(expected))[:3]}"
    )
    for key, want in expected.items():
        got = actual[key]
        for column, value in want.items():
            if isinstance(value, float):
                assert got[column] == pytest.approx(value, rel=1e-9, abs=1e-6), (
                    key,
                    column,
                )
            else:
                assert got[column] == value, (key, column, got[column], value)


# -- what the rollups classify (counted with an unknown part, malformed), from the documented
# rules: tests/analytics/test_rollups.py compares the rollups' counters with these.


def _call_classes(attrs: dict, status: str) -> set[str]:
    """The classes of a finished model call's tokens and cost."""
    if status != "completed":
        return set()
    tokens_known = (
        _number(attrs, "promptTokens") is not None
        and _number(attrs, "completionTokens") is not None
    )
    model_known = bool(attrs.get("provider")) and bool(attrs.get("model"))
    cost_recorded = bool({"inputCost", "outputCost", "totalCost"} & set(attrs))
    cost_parts = (
        _number(attrs, "inputCost") is not None and _number(attrs, "outputCost") is not None
    )
    classes = set()
    if not cost_recorded and tokens_known and model_known:
        classes.add("unpriced")
    if not tokens_known:
        classes.add("missing_tokens")
    if not cost_parts and (cost_recorded or (tokens_known and not model_known)):
        classes.add("missing_cost")
    return classes


def unpriced_calls(spans: list[dict], start: datetime, end: datetime, entity: bool) -> dict:
    """Unpriced calls per (provider, model): those of the window (model_usage_stats), or those of
    the finished runs started in the window (`entity`: the entity rollups' model calls)."""
    finished_runs = Counter(
        s["trace_id"]
        for s in spans
        if s["span_type"] in RUN_TYPES
        and s["status"] in TERMINAL
        and start <= s["started_at"] < end
    )
    counts: Counter = Counter()
    for span in spans:
        if span["span_type"] != "model_generation" or span["status"] not in TERMINAL:
            continue
        if "unpriced" not in _call_classes(span["attributes"], span["status"]):
            continue
        weight = finished_runs[span["trace_id"]] if entity else start <= span["started_at"] < end
        if weight:
            counts[span["attributes"]["provider"], span["attributes"]["model"]] += weight
    return dict(counts)
