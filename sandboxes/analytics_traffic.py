"""Demo traffic in the workflow platform's `execution_spans` layout, as COPY text.

Realistic enough for the UI and the benchmarks: users with their own workflows and agents (a few
heavy users, many light ones), a daily rhythm (busiest mid-afternoon UTC), several providers and
models with their published per-token prices, failures and cancellations, and a few runs still
going. Tokens and cost sit only on `model_generation` spans, camelCase inside `attributes`; model
spans carry no `userId` (as on the real platform); span types are lowercase.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from resources.analytics_windows import require_utc

# USD per 1,000,000 tokens (input, output), the providers' published list prices.
PRICES_PER_MILLION: dict[tuple[str, str], tuple[float, float]] = {
    ("openai", "gpt-4o"): (2.50, 10.00),
    ("openai", "gpt-4o-mini"): (0.15, 0.60),
    ("anthropic", "claude-3-5-sonnet-20241022"): (3.00, 15.00),
    ("anthropic", "claude-3-5-haiku-20241022"): (0.80, 4.00),
    ("google", "gemini-1.5-pro"): (1.25, 5.00),
    ("google", "gemini-1.5-flash"): (0.075, 0.30),
}
MODELS = list(PRICES_PER_MILLION)
MODEL_WEIGHTS = np.array([0.22, 0.30, 0.18, 0.12, 0.06, 0.12])
STATUS_CHOICES = np.array(["completed", "failed", "cancelled"])
STATUS_WEIGHTS = np.array([0.90, 0.07, 0.03])
TOOL_SPAN_TYPES = ("tool_execution", "http_request", "database_query", "vector_search")


def cost_of(provider: str, model: str, prompt_tokens: int, completion_tokens: int):
    """(input, output, total) cost in USD, rounded like the platform's numeric(12,8)."""
    price_in, price_out = PRICES_PER_MILLION[(provider, model)]
    input_cost = round(prompt_tokens * price_in / 1e6, 8)
    output_cost = round(completion_tokens * price_out / 1e6, 8)
    return input_cost, output_cost, round(input_cost + output_cost, 8)


def hourly_weight(hour_of_day: int) -> float:
    """Relative traffic of an hour of the day (UTC): peak 15:00, trough 03:00, ratio ~6:1."""
    return 1.0 + 0.7 * math.cos(2 * math.pi * (hour_of_day - 15) / 24)


@dataclass(frozen=True)
class TrafficShape:
    users: int = 200
    workflows_per_user: int = 4
    agents_per_user: int = 3
    agent_share: float = 0.4
    still_running_share: float = 0.01


def _ts(moment: datetime) -> str:
    return moment.isoformat()


def _uuid(number: int) -> str:
    return str(uuid.UUID(int=number))


def _fmt(value) -> str:
    return "\\N" if value is None else str(value)


def generate_span_copy_text(
    start: datetime,
    end: datetime,
    spans: int,
    seed: int = 0,
    shape: TrafficShape = TrafficShape(),
    chunk_traces: int = 5_000,
) -> Iterator[tuple[str, int]]:
    """About `spans` spans (within ~2 %) whose traces start in [start, end), in start order, as
    (COPY text chunk, spans in it).

    The columns are `sql.SOURCE_COLUMNS`. Memory is one chunk of `chunk_traces` traces.
    """
    start, end = require_utc(start, "start"), require_utc(end, "end")
    rng = np.random.default_rng(seed)
    tag = int(rng.integers(0, 2**62))
    seconds = (end - start).total_seconds()
    # Traces start by the daily rhythm: weight each hour, then a uniform time within it.
    hour_starts = [start + timedelta(hours=h) for h in range(max(1, math.ceil(seconds / 3600)))]
    weights = np.array([hourly_weight(h.hour) for h in hour_starts])
    weights /= weights.sum()
    # Zipf-like users: a few heavy users, a long tail.
    user_weights = 1.0 / np.arange(1, shape.users + 1) ** 1.1
    user_weights /= user_weights.sum()
    avg_spans = 7.3  # measured mean spans per trace with this shape
    traces = max(1, round(spans / avg_spans))
    # Start times in time order, as a live platform writes them (the table's physical order then
    # follows time, like the real one's).
    starts = rng.choice(len(hour_starts), size=traces, p=weights) * 3600.0
    starts += rng.random(traces) * 3600.0
    starts = np.sort(starts[starts < seconds])
    for first in range(0, len(starts), chunk_traces):
        offsets = starts[first : first + chunk_traces]
        n = len(offsets)
        trace_no = first
        users = rng.choice(shape.users, size=n, p=user_weights)
        is_agent = rng.random(n) < shape.agent_share
        entity_no = rng.integers(0, 1_000, size=n)
        statuses = rng.choice(STATUS_CHOICES, size=n, p=STATUS_WEIGHTS)
        running = rng.random(n) < shape.still_running_share
        calls = np.where(is_agent, rng.integers(1, 5, size=n), rng.integers(1, 4, size=n))
        tools = rng.integers(2, 6, size=n)
        model_pick = rng.choice(len(MODELS), size=(n, 4), p=MODEL_WEIGHTS)
        prompt = np.maximum(10, rng.lognormal(6.6, 0.8, size=(n, 4))).astype(int)
        completion = np.maximum(1, rng.lognormal(5.4, 0.7, size=(n, 4))).astype(int)
        model_ms = np.maximum(50, rng.lognormal(7.0, 0.6, size=(n, 4))).astype(int)
        tool_ms = np.maximum(1, rng.lognormal(5.0, 1.0, size=(n, 6))).astype(int)
        lines = []
        chunk_spans = 0
        for i in range(n):
            base = (tag << 64) | ((trace_no + i) << 8)
            tid = _uuid(base)
            seq = 0

            def sid(base=base):
                nonlocal seq
                seq += 1
                return _uuid(base | seq)

            user = f"user-{users[i]:04d}"
            kind = "agent" if is_agent[i] else "workflow"
            entity = f"{kind[:2]}-{users[i]:04d}-{entity_no[i] % (shape.agents_per_user if is_agent[i] else shape.workflows_per_user)}"
            run_start = start + timedelta(seconds=float(offsets[i]))
            status = "started" if running[i] else str(statuses[i])
            run_id = sid()
            cursor = run_start + timedelta(milliseconds=3)
            children = []
            for c in range(int(calls[i])):
                provider, model = MODELS[model_pick[i, c]]
                p, q = int(prompt[i, c]), int(completion[i, c])
                cin, cout, ctot = cost_of(provider, model, p, q)
                if is_agent[i]:
                    it_id = sid()
                    children.append(("agent_iteration", it_id, run_id, cursor, 5, {}))
                    parent = it_id
                else:
                    parent = run_id
                attrs = (
                    f'{{"provider": "{provider}", "model": "{model}", "promptTokens": {p}, '
                    f'"completionTokens": {q}, "totalTokens": {p + q}, "inputCost": {cin}, '
                    f'"outputCost": {cout}, "totalCost": {ctot}}}'
                )
                children.append(
                    ("model_generation", sid(), parent, cursor, int(model_ms[i, c]), attrs)
                )
                cursor += timedelta(milliseconds=int(model_ms[i, c]) + 2)
            for t in range(int(tools[i]) if not is_agent[i] else int(tools[i]) - 1):
                span_type = (
                    "node_execution" if not is_agent[i] and t % 2 == 0 else TOOL_SPAN_TYPES[t % 4]
                )
                children.append((span_type, sid(), run_id, cursor, int(tool_ms[i, t]), {}))
                cursor += timedelta(milliseconds=int(tool_ms[i, t]) + 1)
            run_ms = int((cursor - run_start).total_seconds() * 1000) + 4
            run_attrs = f'{{"userId": "{user}", "entityType": "{kind}"}}'
            ended = None if status == "started" else run_start + timedelta(milliseconds=run_ms)
            error = '{"message": "step failed: upstream timeout"}' if status == "failed" else None
            lines.append(
                "\t".join(
                    (
                        tid,
                        run_id,
                        "\\N",
                        f"{kind} run",
                        f"{kind}_run",
                        entity,
                        _ts(run_start),
                        _fmt(ended and _ts(ended)),
                        _fmt(None if ended is None else run_ms),
                        status,
                        "\\N",
                        "\\N",
                        _fmt(error),
                        run_attrs,
                        _ts(run_start),
                    )
                )
            )
            for span_type, span_id, parent, begun, ms, attrs in children:
                child_status = "completed" if status != "started" else "started"
                done = None if child_status == "started" else begun + timedelta(milliseconds=ms)
                lines.append(
                    "\t".join(
                        (
                            tid,
                            span_id,
                            parent,
                            span_type,
                            span_type,
                            entity,
                            _ts(begun),
                            _fmt(done and _ts(done)),
                            _fmt(None if done is None else ms),
                            child_status,
                            "\\N",
                            "\\N",
                            "\\N",
                            attrs if attrs else "{}",
                            _ts(begun),
                        )
                    )
                )
            chunk_spans += 1 + len(children)
        yield "\n".join(lines) + "\n", chunk_spans
