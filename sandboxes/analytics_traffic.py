"""Demo traffic in exactly the workflow platform's `execution_spans` layout, as COPY text.

What the platform's two writers (its workflow orchestrator and its agent orchestrator, through
its span service) put where, point by point; docs/analytics.md, "What the real writers write",
has the table with its sources, and tests/analytics/test_pure.py holds this module to it:
- `trace_id` is the execution id of a workflow or agent run; every id is a UUID version 4;
- `entity_id`: a `workflow_run` holds the execution id (the workflow is known only by its
  `workflowName` attribute), a `node_execution` the node id, and `agent_run`, `agent_iteration`,
  `model_generation`, `tool_execution` the agent id;
- `name`: `Workflow: <name>`, `Node: <name>`, `Agent: <name>`, `Iteration <n>` (1-based; the
  `iteration` attribute is 0-based), `<provider>:<model>`, `Tool: <name>`;
- only those six span types; a span is written `started` and ended `completed` or `failed`;
- the attribute keys of each span type at its start and its end (`START_KEYS`, `END_KEYS`): on a
  failed `workflow_run` a `failureReason` code with the counts that code writes and no
  `durationMs`/`totalNodeCount`; a failed node `success: false` and `node_execution_failed`; a
  failed LLM call fails its iteration and its run with `llm_call_failed`;
- tokens only on completed model calls, and the cost (a JavaScript number, `4.5e-7` below 1e-6)
  only when the writer's price table has the model: `claude-3-5-haiku-20241022` has none, so
  about 12 % of completed calls carry tokens and no cost;
- every span has an `input` object, a completed one an `output` object, a failed one an `error`
  `{message, type, stack[, code]}` (`code` only when the error has one: JSON drops undefined);
- `duration_ms` an integer; `created_at` the writer's flush, up to 5 s after the span's start;
- spans still `started` are the runs still going at the end of the traffic (recent ones) and a
  few orphans: run spans the writer flushed before they ended and never updated.

Realistic enough for the UI and the benchmarks: users with their own workflows and agents (a few
heavy users, many light ones), a daily rhythm (busiest mid-afternoon UTC), several providers and
models, failures.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np

from resources.analytics.windows import require_utc

# The writer's price table (USD per token) for the providers below, as its cost calculator has
# it; looked up as it does (`price_of`). No entry for claude-3-5-haiku-20241022 (newer than the
# table; claude-3-haiku-20240307 is no prefix of it): an unpriced model.
PRICE_PER_TOKEN: dict[tuple[str, str], tuple[float, float]] = {
    ("openai", "gpt-4o"): (0.0000025, 0.00001),
    ("openai", "gpt-4o-mini"): (0.00000015, 0.0000006),
    ("anthropic", "claude-3-5-sonnet-20241022"): (0.000003, 0.000015),
    ("anthropic", "claude-3-haiku-20240307"): (0.00000025, 0.00000125),
    ("google", "gemini-1.5-pro"): (0.00000125, 0.000005),
    ("google", "gemini-1.5-flash"): (0.000000075, 0.0000003),
}
MODELS = [
    ("openai", "gpt-4o"),
    ("openai", "gpt-4o-mini"),
    ("anthropic", "claude-3-5-sonnet-20241022"),
    ("anthropic", "claude-3-5-haiku-20241022"),  # no price: tokens, no cost
    ("google", "gemini-1.5-pro"),
    ("google", "gemini-1.5-flash"),
]
MODEL_WEIGHTS = np.array([0.22, 0.30, 0.18, 0.12, 0.06, 0.12])

# Attribute keys each writer sets when a span starts, and adds when it ends (by status; a
# workflow_run's failure keys depend on its failureReason, FAILURE_KEYS).
START_KEYS: dict[str, tuple[str, ...]] = {
    "workflow_run": ("userId", "workflowName", "nodeCount", "edgeCount"),
    "node_execution": ("userId", "nodeId", "nodeType", "nodeName"),
    "agent_run": ("userId", "agentName", "model", "provider"),
    "agent_iteration": ("iteration", "maxIterations"),
    "model_generation": ("model", "provider", "temperature", "maxTokens"),
    "tool_execution": ("toolName", "toolCallId"),
}
END_KEYS: dict[str, dict[str, tuple[str, ...]]] = {
    "workflow_run": {"completed": ("durationMs", "completedNodeCount", "totalNodeCount")},
    "node_execution": {"completed": ("durationMs",), "failed": ("success", "failureReason")},
    "agent_run": {
        "completed": ("totalIterations", "messageCount"),
        "failed": ("totalIterations", "failureReason"),
    },
    "agent_iteration": {"completed": ("messageCount",), "failed": ("failureReason",)},
    "model_generation": {
        # tokens when the provider reported usage, the cost when the model has a price
        "completed": (
            "responseLength",
            "toolCallCount",
            "promptTokens",
            "completionTokens",
            "totalTokens",
            "inputCost",
            "outputCost",
            "totalCost",
        ),
        "failed": (),
    },  # fmt: skip
    "tool_execution": {"completed": ("success", "resultLength"), "failed": ("success",)},
}
FAILURE_KEYS: dict[str, tuple[str, ...]] = {
    "input_validation_failed": ("failureReason",),
    "node_execution_errors": ("failureReason", "failedNodeCount", "completedNodeCount"),
    "output_validation_failed": ("failureReason", "completedNodeCount"),
    "workflow_exception": ("failureReason", "completedNodeCount"),
}
WORKFLOW_FAILURES = tuple(FAILURE_KEYS)
WORKFLOW_FAILURE_WEIGHTS = np.array([0.08, 0.80, 0.08, 0.04])
RUN_FAILURE_SHARE = 0.07
TOOL_FAILURE_SHARE = 0.03
MAX_ITERATIONS = 10
# The writer's batch goes to the database when it holds 10 spans or every 5 s.
FLUSH_SECONDS = 5.0

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
NODE_TYPES = ("input", "llm", "http", "transform", "conditional", "output")
TOOL_NAMES = ("web_search", "http_request", "read_file", "send_email", "query_database")
REPLIES = (
    "Here is the summary you asked for.",
    "I found three matching records; the first is the most recent.",
    "Done. The report has been sent to the team channel with the figures attached.",
    "I need to look this up first.",
)


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


def price_of(provider: str, model: str) -> tuple[float, float] | None:
    """The writer's price lookup: exact (lowercased) match, else the first entry of the provider
    whose model name prefixes this one, else none."""
    provider, model = provider.lower(), model.lower()
    if (provider, model) in PRICE_PER_TOKEN:
        return PRICE_PER_TOKEN[provider, model]
    for (p, m), price in PRICE_PER_TOKEN.items():
        if p == provider and model.startswith(m):
            return price
    return None


def cost_of(provider: str, model: str, prompt_tokens: int, completion_tokens: int):
    """(input, output, total) cost in USD as the writer computes it (tokens times the per-token
    price, in float), or None when it writes none: no price, or a token count of 0."""
    price = price_of(provider, model)
    if price is None or not prompt_tokens or not completion_tokens:
        return None
    input_cost = prompt_tokens * price[0]
    output_cost = completion_tokens * price[1]
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
    # Run spans the writer flushed while running and never updated (left `started` forever).
    orphan_share: float = 0.002


def _copy_text(text: str) -> str:
    """A value for COPY's text format, where a backslash starts an escape (JSON's `\\n`, `\\"`)."""
    return text.replace("\\", "\\\\")


def _fmt(value) -> str:
    return "\\N" if value is None else str(value)


_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _json(value: dict | None) -> str:
    """JSON as JavaScript's JSON.stringify writes it: compact, and a top-level float (a cost, the
    temperature) in its form (`4.5e-7`). Key order is not kept (jsonb does not keep it either)."""
    if value is None:
        return "null"
    floats = [f'"{k}":{js_number(v)}' for k, v in value.items() if isinstance(v, float)]
    if not floats:
        return _COMPACT(value)
    plain = {k: v for k, v in value.items() if not isinstance(v, float)}
    text = _COMPACT(plain)[:-1]
    return text + ("," if plain else "") + ",".join(floats) + "}"


def _error(message: str, kind: str = "Error", code: str | None = None, where: str = "") -> dict:
    """The span service's error object of a thrown Error (`code` only when the error has one)."""
    stack = f"{kind}: {message}\n    at {where or 'executeNode'} (/app/dist/temporal/activities.js)"
    error = {"message": message, "type": kind, "stack": stack}
    return error if code is None else error | {"code": code}


class _Ids:
    """UUID version 4 ids, unique per traffic seed (`tag`) and reproducible from it."""

    def __init__(self, tag: int):
        self.tag = tag & (2**48 - 1)

    def __call__(self, kind: int, number: int) -> str:
        # The version and variant bits (76-79, 62-63) are left free for uuid to set.
        value = (self.tag << 80) | (kind << 64) | (number & (2**62 - 1))
        return str(uuid.UUID(int=value, version=4))


TRACE, SPAN, USER, AGENT, THREAD = range(5)


@dataclass
class _Span:
    span_id: str
    parent: str | None
    span_type: str
    name: str
    entity: str
    begun: datetime
    ms: int
    status: str  # how it ends: completed or failed
    attrs: dict
    end_attrs: dict = field(default_factory=dict)
    input: dict | None = None
    output: dict | None = None
    error: dict | None = None
    orphan: bool = False  # flushed while running, never updated


class _Trace:
    """The spans of one execution, as COPY lines in `source_schema.SOURCE_COLUMNS` order
    (resources/analytics/source_schema.py), observed at `horizon` (the traffic's end: a span
    still running then is written `started`, one not begun yet not at all)."""

    def __init__(self, ids: _Ids, number: int, horizon: datetime, flush: np.ndarray):
        self.ids, self.number, self.horizon = ids, number, horizon
        self.trace_id = ids(TRACE, number)
        self.seq = 0
        self.spans: list[_Span] = []
        self.flush = flush  # seconds after its start at which each span is flushed

    def span_id(self) -> str:
        self.seq += 1
        return self.ids(SPAN, (self.number << 8) | self.seq)

    def lines(self) -> list[str]:
        out = []
        for i, span in enumerate(self.spans):
            if span.begun >= self.horizon:
                continue  # not begun yet when the traffic was observed
            ended = span.begun + timedelta(milliseconds=span.ms)
            running = span.orphan or ended > self.horizon
            attrs = span.attrs if running else span.attrs | span.end_attrs
            created = min(
                span.begun + timedelta(seconds=float(self.flush[i % len(self.flush)])),
                self.horizon,
            )
            out.append(
                "\t".join(
                    (
                        self.trace_id,
                        span.span_id,
                        _fmt(span.parent),
                        span.name.replace("\t", " "),
                        span.span_type,
                        span.entity,
                        span.begun.isoformat(),
                        _fmt(None if running else ended.isoformat()),
                        _fmt(None if running else int(span.ms)),
                        "started" if running else span.status,
                        _copy_text(_json(span.input)),
                        "null" if running else _copy_text(_json(span.output)),
                        "null" if running else _copy_text(_json(span.error)),
                        _copy_text(_json(attrs)),
                        created.isoformat(),
                    )
                )
            )
        return out


def generate_span_copy_text(
    start: datetime,
    end: datetime,
    spans: int,
    seed: int = 0,
    shape: TrafficShape = TrafficShape(),
    chunk_traces: int = 5_000,
) -> Iterator[tuple[str, int]]:
    """About `spans` spans (within ~3 %) whose traces start in [start, end), in start order, as
    (COPY text chunk, spans in it), observed at `end` (runs still going then are `started`).

    The columns are `resources.analytics.source_schema.SOURCE_COLUMNS`. Memory is one chunk of
    `chunk_traces` traces.
    """
    start, end = require_utc(start, "start"), require_utc(end, "end")
    rng = np.random.default_rng(seed)
    ids = _Ids(int(rng.integers(0, 2**48)))
    seconds = (end - start).total_seconds()
    # Traces start by the daily rhythm: weight each hour, then a uniform time within it.
    hour_starts = [start + timedelta(hours=h) for h in range(max(1, math.ceil(seconds / 3600)))]
    weights = np.array([hourly_weight(h.hour) for h in hour_starts])
    weights /= weights.sum()
    # Zipf-like users: a few heavy users, a long tail. Users, agents: stable ids per seed.
    user_weights = 1.0 / np.arange(1, shape.users + 1) ** 1.1
    user_weights /= user_weights.sum()
    user_ids = [ids(USER, u) for u in range(shape.users)]
    avg_spans = 6.78  # measured mean spans per trace with this shape
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
        orphan = rng.random(n) < shape.orphan_share
        steps = np.where(is_agent, rng.integers(1, 5, size=n), rng.integers(3, 9, size=n))
        draws = {
            "tools": rng.integers(0, 3, size=(n, 8)),
            "tool_failed": rng.random(size=(n, 8)) < TOOL_FAILURE_SHARE,
            "model": rng.choice(len(MODELS), size=n, p=MODEL_WEIGHTS),
            "failure": rng.choice(len(WORKFLOW_FAILURES), size=n, p=WORKFLOW_FAILURE_WEIGHTS),
            "failed_at": rng.random(n),
            "prompt": np.maximum(10, rng.lognormal(6.6, 0.8, size=(n, 8))).astype(int),
            "completion": np.maximum(1, rng.lognormal(5.4, 0.7, size=(n, 8))).astype(int),
            "step_ms": np.maximum(20, rng.lognormal(6.5, 0.9, size=(n, 8))).astype(int),
            "tool_ms": np.maximum(1, rng.lognormal(5.0, 1.0, size=(n, 8))).astype(int),
            "call_id": rng.integers(0, 2**48, size=(n, 8)),
            "flush": rng.random(size=(n, 16)) * FLUSH_SECONDS,
        }
        lines: list[str] = []
        for i in range(n):
            trace = _Trace(ids, first + i, end, draws["flush"][i])
            run = _Run(
                user=user_ids[users[i]],
                user_no=int(users[i]),
                entity_no=int(entity_no[i]),
                failed=bool(failed[i]),
                orphan=bool(orphan[i]),
                start=start + timedelta(seconds=float(offsets[i])),
                steps=int(steps[i]),
                draw={key: values[i] for key, values in draws.items()},
            )
            (_agent_trace if is_agent[i] else _workflow_trace)(trace, shape, run)
            lines.extend(trace.lines())
        yield "\n".join(lines) + "\n", len(lines)


@dataclass(frozen=True)
class _Run:
    """One execution to write: who, its outcome, and its random draws."""

    user: str
    user_no: int
    entity_no: int
    failed: bool
    orphan: bool
    start: datetime
    steps: int
    draw: dict


def _ms(delta: timedelta) -> int:
    return int(delta / timedelta(milliseconds=1))


def _workflow_trace(trace: _Trace, shape: TrafficShape, run: _Run) -> None:
    """The workflow orchestrator's spans: the run, then its nodes one after the other (a chain:
    a failed node's dependents are counted failed and get no span)."""
    draw, nodes, user = run.draw, run.steps, run.user
    name = WORKFLOW_NAMES[(run.user_no * 3 + run.entity_no % shape.workflows_per_user) % 8]
    failure = WORKFLOW_FAILURES[int(draw["failure"])] if run.failed else None
    # The node that fails (node_execution_errors) or before which the run stops (exception).
    stop = {
        "input_validation_failed": 0,
        "node_execution_errors": int(draw["failed_at"] * nodes),
        "workflow_exception": 1 + int(draw["failed_at"] * (nodes - 1)),
    }.get(failure, nodes)
    run_id = trace.span_id()
    inputs = {"customerId": f"cust-{run.entity_no:04d}"}
    run_span = _Span(
        run_id, None, "workflow_run", f"Workflow: {name}", trace.trace_id, run.start, 0,
        "failed" if failure else "completed",
        {"userId": user, "workflowName": name, "nodeCount": nodes, "edgeCount": nodes - 1},
        input={"workflowName": name, "inputs": inputs}, orphan=run.orphan,
    )  # fmt: skip
    trace.spans.append(run_span)
    cursor = run.start + timedelta(milliseconds=3)
    completed = 0
    errors: dict[str, str] = {}
    for k in range(min(nodes, stop + 1 if failure == "node_execution_errors" else stop)):
        node_type = NODE_TYPES[0] if k == 0 else NODE_TYPES[1 + (k + run.user_no) % 5]
        node_id = f"{node_type}-{k + 1}"
        node_name = f"{node_type.title()} {k + 1}"
        ms = int(draw["step_ms"][k])
        node = _Span(
            trace.span_id(), run_id, "node_execution", f"Node: {node_name}", node_id, cursor, ms,
            "completed",
            {"userId": user, "nodeId": node_id, "nodeType": node_type, "nodeName": node_name},
            input={"nodeId": node_id, "nodeType": node_type, "nodeConfig": {"retries": 1}},
        )  # fmt: skip
        if failure == "node_execution_errors" and k == stop:
            message = f"Request to upstream service timed out after {ms} ms"
            node.status, node.error = "failed", _error(message, "TimeoutError", "ETIMEDOUT")
            node.end_attrs = {"success": False, "failureReason": "node_execution_failed"}
            errors[node_id] = message
        else:
            node.end_attrs = {"durationMs": max(0, ms - 2)}
            node.output = {"nodeType": node_type, "success": True}
            completed += 1
        trace.spans.append(node)
        cursor += timedelta(milliseconds=ms + 4)
    run_span.ms = _ms(cursor - run.start) + 3
    if failure is None:
        run_span.end_attrs = {
            "durationMs": run_span.ms - 2,
            "completedNodeCount": completed,
            "totalNodeCount": nodes,
        }
        run_span.output = {"success": True, "outputs": {"result": f"{name}: done"}}
        return
    if failure == "node_execution_errors":
        # Every node downstream of the failed one is an error too ("All dependencies failed").
        for k in range(stop + 1, nodes):
            errors[f"{NODE_TYPES[1 + (k + run.user_no) % 5]}-{k + 1}"] = (
                "All dependencies failed or skipped"
            )
        message = f"Workflow completed with errors: {_COMPACT(errors)}"
        run_span.end_attrs = {"failedNodeCount": len(errors), "completedNodeCount": completed}
    elif failure == "input_validation_failed":
        message = "Input validation failed: inputs.customerId is required"
    elif failure == "output_validation_failed":
        message = "Output validation failed: outputs.result must be an object"
        run_span.end_attrs = {"completedNodeCount": completed}
    else:
        message = "Execution queue exceeded max iterations (possible cycle)"
        run_span.end_attrs = {"completedNodeCount": completed}
    run_span.end_attrs = {"failureReason": failure} | run_span.end_attrs
    run_span.error = _error(message, where="orchestratorWorkflow")


def _agent_trace(trace: _Trace, shape: TrafficShape, run: _Run) -> None:
    """The agent orchestrator's spans: the run; per iteration the iteration, its LLM call and
    the tools the call asked for. A failed run is a failed LLM call in its last iteration."""
    draw, iterations = run.draw, run.steps
    agent_no = run.entity_no % shape.agents_per_user
    agent_id = trace.ids(AGENT, (run.user_no << 8) | agent_no)
    agent_name = AGENT_NAMES[(run.user_no + agent_no) % len(AGENT_NAMES)]
    provider, model = MODELS[int(draw["model"])]
    run_id = trace.span_id()
    run_span = _Span(
        run_id, None, "agent_run", f"Agent: {agent_name}", agent_id, run.start, 0,
        "failed" if run.failed else "completed",
        {"userId": run.user, "agentName": agent_name, "model": model, "provider": provider},
        input={"agentId": agent_id, "threadId": trace.ids(THREAD, trace.number),
               "initialMessage": "Summarise this week's open tickets."},
        orphan=run.orphan,
    )  # fmt: skip
    trace.spans.append(run_span)
    messages = 2  # the system prompt and the user's message
    cursor = run.start + timedelta(milliseconds=5)
    for k in range(iterations):
        last = k == iterations - 1
        it_start = cursor
        iteration = _Span(
            trace.span_id(), run_id, "agent_iteration", f"Iteration {k + 1}", agent_id, cursor,
            0, "completed", {"iteration": k, "maxIterations": MAX_ITERATIONS},
            input={"iteration": k, "messageCount": messages},
        )  # fmt: skip
        trace.spans.append(iteration)
        calls_tools = 0 if last else int(draw["tools"][k])
        ms = int(draw["step_ms"][k])
        call = _Span(
            trace.span_id(), iteration.span_id, "model_generation", f"{provider}:{model}",
            agent_id, cursor + timedelta(milliseconds=2), ms, "completed",
            {"model": model, "provider": provider, "temperature": 0.7, "maxTokens": 4096},
            input={"model": model, "provider": provider, "messageCount": messages},
        )  # fmt: skip
        trace.spans.append(call)
        cursor += timedelta(milliseconds=ms + 4)
        if run.failed and last:
            error = _error("Overloaded", "APIError", "overloaded_error", "callLLM")
            call.status, call.error = "failed", error
            iteration.status, iteration.error = "failed", error
            iteration.end_attrs = {"failureReason": "llm_call_failed"}
            iteration.ms = _ms(cursor - it_start)
            run_span.status, run_span.error = "failed", error
            run_span.end_attrs = {"totalIterations": k, "failureReason": "llm_call_failed"}
            break
        reply = REPLIES[(k + run.user_no) % (len(REPLIES) - 1)] if last else REPLIES[-1]
        p, q = int(draw["prompt"][k]), int(draw["completion"][k])
        call.end_attrs = {
            "responseLength": len(reply),
            "toolCallCount": calls_tools,
            "promptTokens": p,
            "completionTokens": q,
            "totalTokens": p + q,
        }
        cost = cost_of(provider, model, p, q)
        if cost is not None:
            call.end_attrs |= dict(zip(("inputCost", "outputCost", "totalCost"), cost, strict=True))
        call.output = {"content": reply, "hasToolCalls": calls_tools > 0}
        messages += 1
        for c in range(calls_tools):
            tool = TOOL_NAMES[(k + c + run.user_no) % len(TOOL_NAMES)]
            tool_ms = int(draw["tool_ms"][c])
            tool_span = _Span(
                trace.span_id(), iteration.span_id, "tool_execution", f"Tool: {tool}", agent_id,
                cursor, tool_ms, "completed",
                {"toolName": tool, "toolCallId": f"call_{int(draw['call_id'][c]):012x}"},
                input={"toolName": tool, "arguments": {"query": "open tickets"}},
            )  # fmt: skip
            if draw["tool_failed"][k * 2 + c]:
                tool_span.status = "failed"
                tool_span.error = _error(f"Tool {tool} failed: 503", where="executeToolCall")
                tool_span.end_attrs = {"success": False}
            else:
                result = {"success": True, "data": {"items": c + 1}}
                tool_span.output = result
                tool_span.end_attrs = {"success": True, "resultLength": len(_json(result))}
            trace.spans.append(tool_span)
            messages += 1
            cursor += timedelta(milliseconds=tool_ms + 2)
        iteration.ms = _ms(cursor - it_start) + 1
        iteration.end_attrs = {"messageCount": messages}
        iteration.output = (
            {"completed": True, "finalMessage": reply}
            if last
            else {"hasToolCalls": calls_tools > 0, "toolCallCount": calls_tools}
        )
        cursor += timedelta(milliseconds=2)
        if last:
            run_span.end_attrs = {"totalIterations": k, "messageCount": messages}
            run_span.output = {"success": True, "finalMessage": reply, "iterations": k}
    run_span.ms = _ms(cursor - run.start) + 2
