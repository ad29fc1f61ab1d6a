"""Demo traffic in exactly the workflow platform's `execution_spans` layout, as COPY text.

What the platform's two writers put where (see docs/analytics.md, "The source layout"):
- `trace_id` is the execution id (a UUID) of a workflow or agent run;
- `entity_id`: a `workflow_run` holds the execution id (the workflow is known only by the
  `workflowName` attribute), a `node_execution` the node id, and `agent_run`,
  `agent_iteration`, `model_generation`, `tool_execution` the agent id;
- only those six span types; a span is written `started` and ended `completed` or `failed`;
- the attribute keys of each span type (`SPAN_ATTRIBUTES`), camelCase, `userId` a UUID and
  never on model spans, no `workflowId`/`agentId`; tokens and cost only on model spans, the
  cost a JavaScript number (`4.5e-7` below 1e-6) and only when the model has a price;
- `duration_ms` an integer; an empty `input`/`output`/`error` is the JSON literal `null`.

Realistic enough for the UI and the benchmarks: users with their own workflows and agents (a few
heavy users, many light ones), a daily rhythm (busiest mid-afternoon UTC), several providers and
models with their published per-token prices, failures, and a few runs still going.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np

from resources.analytics.windows import require_utc

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
RUN_FAILURE_SHARE = 0.07
# (keys written when the span starts, keys added when it ends), per span type.
SPAN_ATTRIBUTES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "workflow_run": (
        ("userId", "workflowName", "nodeCount", "edgeCount"),
        ("durationMs", "completedNodeCount", "totalNodeCount", "failureReason"),
    ),
    "node_execution": (("userId", "nodeId", "nodeType", "nodeName"), ()),
    "agent_run": (
        ("userId", "agentName", "model", "provider"),
        ("totalIterations", "messageCount", "failureReason"),
    ),
    "agent_iteration": (("iteration", "maxIterations"), ()),
    "model_generation": (
        ("model", "provider", "temperature", "maxTokens"),
        ("responseLength", "toolCallCount", "promptTokens", "completionTokens", "totalTokens")
        + ("inputCost", "outputCost", "totalCost"),
    ),
    "tool_execution": (("toolName", "toolCallId"), ()),
}
WORKFLOW_NAMES = (
    "Daily report digest",
    "Lead enrichment",
    "Support ticket triage",
    "Invoice extraction",
    "Weekly newsletter",
    "Meeting notes summary",
    "CRM sync",
    "Document translation",
)
AGENT_NAMES = ("Research assistant", "Sales SDR", "Code reviewer", "Support agent")
NODE_TYPES = ("trigger", "llm", "http", "transform", "conditional", "output")
TOOL_NAMES = ("web_search", "http_request", "read_file", "send_email", "query_database")
FAILURE_REASONS = ("Node execution failed: upstream timeout", "Rate limit exceeded (429)")


def js_number(value: float) -> str:
    """`value` as JavaScript's JSON.stringify writes it: shortest round trip, exponent form only
    below 1e-6 (`4.5e-7`), never `e-07`."""
    text = repr(float(value))
    if value != 0 and abs(value) < 1e-6:
        mantissa, exponent = text.split("e")
        return f"{mantissa}e{int(exponent)}"
    if "e" in text:
        return format(Decimal(text), "f")
    return text[:-2] if text.endswith(".0") else text


def cost_of(provider: str, model: str, prompt_tokens: int, completion_tokens: int):
    """(input, output, total) cost in USD: tokens times the per-token price, in float."""
    price_in, price_out = PRICES_PER_MILLION[(provider, model)]
    input_cost = prompt_tokens * (price_in / 1e6)
    output_cost = completion_tokens * (price_out / 1e6)
    return input_cost, output_cost, input_cost + output_cost


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


def _uuid(number: int) -> str:
    return str(uuid.UUID(int=number))


def _fmt(value) -> str:
    return "\\N" if value is None else str(value)


def _json(attrs: dict) -> str:
    """A JSON object with numbers as JavaScript writes them (costs may be `4.5e-7`)."""
    parts = []
    for key, value in attrs.items():
        text = js_number(value) if isinstance(value, float) else json.dumps(value)
        parts.append(f'"{key}": {text}')
    return "{" + ", ".join(parts) + "}"


class _Trace:
    """The spans of one execution, as COPY lines in `source_schema.SOURCE_COLUMNS` order
    (resources/analytics/source_schema.py)."""

    def __init__(self, base: int):
        self.base = base
        self.seq = 0
        self.trace_id = _uuid(base)
        self.lines: list[str] = []

    def span_id(self) -> str:
        self.seq += 1
        return _uuid(self.base | self.seq)

    def add(self, span_id, parent, span_type, name, entity, begun, ms, status, attrs, error=None):
        running = status == "started"
        ended = None if running else begun + timedelta(milliseconds=ms)
        self.lines.append(
            "\t".join(
                (
                    self.trace_id,
                    span_id,
                    _fmt(parent),
                    name,
                    span_type,
                    entity,
                    begun.isoformat(),
                    _fmt(ended and ended.isoformat()),
                    _fmt(None if running else int(ms)),
                    status,
                    "null",
                    "null",
                    "null" if error is None else json.dumps({"message": error}),
                    _json(attrs),
                    begun.isoformat(),
                )
            )
        )


def generate_span_copy_text(
    start: datetime,
    end: datetime,
    spans: int,
    seed: int = 0,
    shape: TrafficShape = TrafficShape(),
    chunk_traces: int = 5_000,
) -> Iterator[tuple[str, int]]:
    """About `spans` spans (within ~3 %) whose traces start in [start, end), in start order, as
    (COPY text chunk, spans in it).

    The columns are `resources.analytics.source_schema.SOURCE_COLUMNS`. Memory is one chunk of
    `chunk_traces` traces.
    """
    start, end = require_utc(start, "start"), require_utc(end, "end")
    rng = np.random.default_rng(seed)
    tag = int(rng.integers(0, 2**62))
    seconds = (end - start).total_seconds()
    # Traces start by the daily rhythm: weight each hour, then a uniform time within it.
    hour_starts = [start + timedelta(hours=h) for h in range(max(1, math.ceil(seconds / 3600)))]
    weights = np.array([hourly_weight(h.hour) for h in hour_starts])
    weights /= weights.sum()
    # Zipf-like users: a few heavy users, a long tail. Users, agents: stable UUIDs per seed tag.
    user_weights = 1.0 / np.arange(1, shape.users + 1) ** 1.1
    user_weights /= user_weights.sum()
    user_ids = [_uuid((tag << 64) | (1 << 63) | u) for u in range(shape.users)]
    avg_spans = 6.9  # measured mean spans per trace with this shape
    traces = max(1, round(spans / avg_spans))
    # Start times in time order, as a live platform writes them (the table's physical order then
    # follows time, like the real one's).
    starts = rng.choice(len(hour_starts), size=traces, p=weights) * 3600.0
    starts += rng.random(traces) * 3600.0
    starts = np.sort(starts[starts < seconds])
    for first in range(0, len(starts), chunk_traces):
        offsets = starts[first : first + chunk_traces]
        n = len(offsets)
        users = rng.choice(shape.users, size=n, p=user_weights)
        is_agent = rng.random(n) < shape.agent_share
        entity_no = rng.integers(0, 1_000, size=n)
        failed = rng.random(n) < RUN_FAILURE_SHARE
        running = rng.random(n) < shape.still_running_share
        steps = np.where(is_agent, rng.integers(1, 5, size=n), rng.integers(3, 9, size=n))
        draws = {
            "tools": rng.integers(0, 3, size=(n, 8)),
            "model": rng.choice(len(MODELS), size=n, p=MODEL_WEIGHTS),
            "prompt": np.maximum(10, rng.lognormal(6.6, 0.8, size=(n, 8))).astype(int),
            "completion": np.maximum(1, rng.lognormal(5.4, 0.7, size=(n, 8))).astype(int),
            "step_ms": np.maximum(20, rng.lognormal(6.5, 0.9, size=(n, 8))).astype(int),
            "tool_ms": np.maximum(1, rng.lognormal(5.0, 1.0, size=(n, 8))).astype(int),
            "call_id": rng.integers(0, 2**48, size=(n, 8)),
        }
        lines: list[str] = []
        chunk_spans = 0
        for i in range(n):
            trace = _Trace((tag << 64) | ((first + i) << 8))
            run = _Run(
                user=user_ids[users[i]],
                user_no=int(users[i]),
                entity_no=int(entity_no[i]),
                status="started" if running[i] else ("failed" if failed[i] else "completed"),
                start=start + timedelta(seconds=float(offsets[i])),
                steps=int(steps[i]),
                draw={key: values[i] for key, values in draws.items()},
            )
            if is_agent[i]:
                _agent_trace(trace, shape, run)
            else:
                _workflow_trace(trace, shape, run)
            lines.extend(trace.lines)
            chunk_spans += len(trace.lines)
        yield "\n".join(lines) + "\n", chunk_spans


@dataclass(frozen=True)
class _Run:
    """One execution to write: who, its outcome, and its random draws."""

    user: str
    user_no: int
    entity_no: int
    status: str
    start: datetime
    steps: int
    draw: dict


def _end_status(run_status: str, last: bool) -> str:
    """A child's status: the run's last step carries the run's outcome, earlier ones completed."""
    return run_status if last else "completed"


def _workflow_trace(trace: _Trace, shape: TrafficShape, run: _Run) -> None:
    user, user_no, status, run_start, nodes = (
        run.user,
        run.user_no,
        run.status,
        run.start,
        run.steps,
    )
    step_ms = run.draw["step_ms"]
    entity_no = run.entity_no
    name = WORKFLOW_NAMES[(user_no * 3 + entity_no % shape.workflows_per_user) % 8]
    run_id = trace.span_id()
    cursor = run_start + timedelta(milliseconds=2)
    children = []
    for k in range(nodes):
        last = k == nodes - 1
        node_status = _end_status(status, last)
        node_type = NODE_TYPES[0] if k == 0 else NODE_TYPES[1 + (k + user_no) % 5]
        node_id = f"{node_type}-{k + 1}"
        attrs = {"userId": user, "nodeId": node_id, "nodeType": node_type, "nodeName": node_id}
        children.append((trace.span_id(), node_id, cursor, int(step_ms[k]), node_status, attrs))
        cursor += timedelta(milliseconds=int(step_ms[k]) + 1)
    run_ms = int((cursor - run_start) / timedelta(milliseconds=1)) + 3
    attrs = {"userId": user, "workflowName": name, "nodeCount": nodes, "edgeCount": nodes - 1}
    error = None
    if status != "started":
        done = nodes if status == "completed" else nodes - 1
        attrs |= {"durationMs": run_ms, "completedNodeCount": done, "totalNodeCount": nodes}
    if status == "failed":
        error = attrs["failureReason"] = FAILURE_REASONS[0]
    # The execution id is the trace id, and the workflow_run's entity_id.
    trace.add(
        run_id, None, "workflow_run", name, trace.trace_id, run_start, run_ms, status, attrs, error
    )
    for span_id, node_id, begun, ms, node_status, node_attrs in children:
        trace.add(
            span_id,
            run_id,
            "node_execution",
            node_id,
            node_id,
            begun,
            ms,
            node_status,
            node_attrs,
            FAILURE_REASONS[0] if node_status == "failed" else None,
        )


def _agent_trace(trace: _Trace, shape: TrafficShape, run: _Run) -> None:
    user, user_no, status, run_start, iterations = (
        run.user, run.user_no, run.status, run.start, run.steps
    )  # fmt: skip
    entity_no, draw = run.entity_no, run.draw
    tools, prompt, completion = draw["tools"], draw["prompt"], draw["completion"]
    step_ms, tool_ms = draw["step_ms"], draw["tool_ms"]
    agent_no = entity_no % shape.agents_per_user
    agent_id = _uuid((int(trace.base >> 64) << 64) | (1 << 62) | (user_no << 8) | agent_no)
    agent_name = AGENT_NAMES[(user_no + agent_no) % len(AGENT_NAMES)]
    provider, model = MODELS[draw["model"]]
    run_id = trace.span_id()
    cursor = run_start + timedelta(milliseconds=3)
    children = []
    for k in range(iterations):
        last = k == iterations - 1
        outcome = _end_status(status, last)
        it_id, it_start = trace.span_id(), cursor
        model_attrs = {"model": model, "provider": provider, "temperature": 0.7, "maxTokens": 4096}
        calls_tools = 0 if last else int(tools[k])
        if outcome == "completed":
            p, q = int(prompt[k]), int(completion[k])
            cin, cout, ctot = cost_of(provider, model, p, q)
            model_attrs |= {
                "responseLength": q * 4,
                "toolCallCount": calls_tools,
                "promptTokens": p,
                "completionTokens": q,
                "totalTokens": p + q,
                "inputCost": cin,
                "outputCost": cout,
                "totalCost": ctot,
            }
        ms = int(step_ms[k])
        children.append(
            (
                trace.span_id(),
                it_id,
                "model_generation",
                cursor,
                ms,
                outcome,
                model_attrs,
                "Provider error: 503" if outcome == "failed" else None,
            )
        )
        cursor += timedelta(milliseconds=ms + 1)
        for c in range(calls_tools):
            tool = TOOL_NAMES[(k + c + user_no) % len(TOOL_NAMES)]
            attrs = {"toolName": tool, "toolCallId": f"call_{int(draw['call_id'][c]):012x}"}
            children.append(
                (
                    trace.span_id(),
                    it_id,
                    "tool_execution",
                    cursor,
                    int(tool_ms[c]),
                    "completed",
                    attrs,
                    None,
                )
            )
            cursor += timedelta(milliseconds=int(tool_ms[c]) + 1)
        it_attrs = {"iteration": k + 1, "maxIterations": 10}
        failure = "Provider error: 503" if outcome == "failed" else None
        it_ms = int((cursor - it_start) / timedelta(milliseconds=1))
        children.append(
            (it_id, run_id, "agent_iteration", it_start, it_ms, outcome, it_attrs, failure)
        )
        cursor += timedelta(milliseconds=1)
    run_ms = int((cursor - run_start) / timedelta(milliseconds=1)) + 2
    attrs = {"userId": user, "agentName": agent_name, "model": model, "provider": provider}
    error = None
    if status != "started":
        attrs |= {"totalIterations": iterations, "messageCount": 2 * iterations + 1}
    if status == "failed":
        error = attrs["failureReason"] = "Provider error: 503"
    trace.add(
        run_id, None, "agent_run", agent_name, agent_id, run_start, run_ms, status, attrs, error
    )
    for span_id, parent, span_type, begun, ms, outcome, span_attrs, span_error in children:
        trace.add(
            span_id,
            parent,
            span_type,
            span_type,
            agent_id,
            begun,
            ms,
            outcome,
            span_attrs,
            span_error,
        )
