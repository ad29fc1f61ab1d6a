"""The workflow platform's `execution_spans` layout as analytics reads it, as plain SQL text (no
Dagster, no connection): the span vocabulary, the table (created only by the demo loader), the
typed views the rollups read and the window indexes. Versioned and applied by
`resources.analytics.database` (component `source`).

The views keep the number and totals rules of `resources.analytics.rollup_queries`: a token or
cost attribute counts only when it is a JSON number, on every path (fast view, strict view,
columns); a total is the recorded total, else the sum of the parts recorded.
"""

from __future__ import annotations

import re

RUN_SPAN_TYPES = ("workflow_run", "agent_run")
MODEL_SPAN_TYPE = "model_generation"
TERMINAL_STATUSES = ("completed", "failed", "cancelled")
RUNNING_STATUS = "started"

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def quote_schema(name: str) -> str:
    """A schema name safe to paste into SQL; anything but a plain lowercase name is refused."""
    if not _IDENTIFIER.match(name):
        raise ValueError(
            f"Schema name {name!r} is not a plain lowercase identifier; set ANALYTICS_SOURCE_SCHEMA"
            " / ANALYTICS_SCHEMA to a name like 'public' or 'flowmaestro'."
        )
    return f'"{name}"'


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


RUN_TYPES_SQL = _in(RUN_SPAN_TYPES)
TERMINAL_SQL = _in(TERMINAL_STATUSES)

# -- the platform's layout (created only by the demo loader; a real platform has it already) ----
# Column for column the platform's own migration: `duration_ms` integer, `attributes` nullable.

SOURCE_TABLE_DDL = """
CREATE TABLE IF NOT EXISTS {src}.execution_spans (
    trace_id uuid NOT NULL,
    span_id uuid PRIMARY KEY,
    parent_span_id uuid,
    name text NOT NULL,
    span_type text NOT NULL,
    entity_id text,
    started_at timestamptz NOT NULL,
    ended_at timestamptz,
    duration_ms integer,
    status text NOT NULL,
    input jsonb,
    output jsonb,
    error jsonb,
    attributes jsonb DEFAULT '{{}}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
)
"""

# What the views read of the platform's table (the rest of its columns are not needed).
COLUMNS_READ = (
    "trace_id",
    "span_id",
    "parent_span_id",
    "span_type",
    "entity_id",
    "started_at",
    "ended_at",
    "duration_ms",
    "status",
    "attributes",
)
SOURCE_COLUMNS = (
    "trace_id",
    "span_id",
    "parent_span_id",
    "name",
    "span_type",
    "entity_id",
    "started_at",
    "ended_at",
    "duration_ms",
    "status",
    "input",
    "output",
    "error",
    "attributes",
    "created_at",
)


FAST_VIEW = "execution_spans_typed"
STRICT_VIEW = "execution_spans_typed_strict"


def _json_number(key: str, strict: bool, row: str = "s.") -> str:
    if strict:
        # A value that is not a JSON number (a string, true, an object, null) reads as NULL.
        return (
            f"CASE WHEN jsonb_typeof({row}attributes->'{key}') = 'number' "
            f"THEN ({row}attributes->>'{key}')::numeric END"
        )
    # Cheaper than the check above, and the same rule: the jsonb-to-numeric cast takes only JSON
    # numbers (exactly) and fails the statement on anything else, even "12"; the rollup then
    # reads the window again through the strict view. (A text cast would read "12" as 12 here
    # and as missing there: a row's tokens would depend on unrelated spans of the window.)
    return f"({row}attributes->'{key}')::numeric"


def _total(total: str, first: str, second: str) -> str:
    """The total when recorded, else the sum of the parts recorded (the same rule for tokens and
    cost; a missing part counts 0, as it does when the parts are summed)."""
    return f"coalesce({total}, {first} + {second}, {first}, {second})"


def typed_attributes(strict: bool, row: str = "s.") -> dict[str, str]:
    """Each typed attribute the rollups read, as an expression over `attributes`."""

    def num(key: str) -> str:
        return _json_number(key, strict, row)

    prompt, completion = num("promptTokens"), num("completionTokens")
    input_cost, output_cost = num("inputCost"), num("outputCost")
    return {
        "user_id": f"NULLIF({row}attributes->>'userId', '')",
        "provider": f"NULLIF({row}attributes->>'provider', '')",
        "model": f"NULLIF({row}attributes->>'model', '')",
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": _total(num("totalTokens"), prompt, completion),
        "input_cost": input_cost,
        "output_cost": output_cost,
        "total_cost": _total(num("totalCost"), input_cost, output_cost),
        # Last: a view may only gain columns at its end (CREATE OR REPLACE VIEW).
        "workflow_name": f"NULLIF({row}attributes->>'workflowName', '')",
        # Whether the span holds any cost key: the platform's writer writes none when it has no
        # price for the model (an unpriced call), and all three when it has one.
        "cost_recorded": f"({row}attributes ?| ARRAY['inputCost', 'outputCost', 'totalCost'])",
    }


GENERATED_PREFIX = "attr_"
TEXT_ATTRIBUTES = ("user_id", "provider", "model", "workflow_name")
BOOLEAN_ATTRIBUTES = ("cost_recorded",)


def typed_columns() -> list[str]:
    """The names of the typed generated columns."""
    return [f"{GENERATED_PREFIX}{name}" for name in typed_attributes(strict=True)]


def typed_columns_sql(src: str) -> list[str]:
    """Stored generated columns holding the typed attributes (strict: they can never fail an
    insert). Optional on a real platform's table: adding them rewrites the table once; the
    rollups then read columns instead of parsing jsonb (several times faster)."""
    types = dict.fromkeys(TEXT_ATTRIBUTES, "text") | dict.fromkeys(BOOLEAN_ATTRIBUTES, "boolean")
    return [
        f"ALTER TABLE {src}.execution_spans ADD COLUMN IF NOT EXISTS {GENERATED_PREFIX}{name} "
        f"{types.get(name, 'numeric')} GENERATED ALWAYS AS ({expr}) STORED"
        for name, expr in typed_attributes(strict=True, row="").items()
    ]


def typed_view_sql(src: str, naive_timestamps: bool, strict: bool, generated: bool) -> str:
    """A typed view the rollups read: attributes as columns, durations cleaned, UTC times.

    `naive_timestamps`: the source stores `timestamp without time zone`; its values are read as
    UTC (the documented rule) instead of in whatever time zone the session has.
    `strict`: numbers that are not JSON numbers read as NULL instead of failing the query.
    `generated`: the table has the typed generated columns; read them instead of the jsonb.
    """

    def ts(col: str) -> str:
        return f"(s.{col} AT TIME ZONE 'UTC')" if naive_timestamps else f"s.{col}"

    if generated:
        attrs = {name: f"s.{GENERATED_PREFIX}{name}" for name in typed_attributes(strict)}
    else:
        attrs = typed_attributes(strict)
    started, ended = ts("started_at"), ts("ended_at")
    return f"""
CREATE OR REPLACE VIEW {src}.{STRICT_VIEW if strict else FAST_VIEW} AS
SELECT s.span_id, s.trace_id, s.parent_span_id, s.span_type, s.entity_id, s.status,
       {started} AS started_at,
       {ended} AS ended_at,
       -- negative or missing duration: from the timestamps when they make sense, else NULL
       CASE WHEN s.duration_ms >= 0 THEN s.duration_ms::double precision
            WHEN {ended} >= {started}
            THEN extract(epoch FROM {ended} - {started}) * 1000 END AS duration_ms,
       {attrs["user_id"]} AS user_id,
       {attrs["provider"]} AS provider,
       {attrs["model"]} AS model,
       round({attrs["prompt_tokens"]})::bigint AS prompt_tokens,
       round({attrs["completion_tokens"]})::bigint AS completion_tokens,
       round({attrs["total_tokens"]})::bigint AS total_tokens,
       {attrs["input_cost"]} AS input_cost,
       {attrs["output_cost"]} AS output_cost,
       {attrs["total_cost"]} AS total_cost,
       {attrs["workflow_name"]} AS workflow_name,
       coalesce({attrs["cost_recorded"]}, false) AS cost_recorded
FROM {src}.execution_spans s
"""


# What the rollups read of a run span / a model span: with the typed generated columns (and
# timestamptz times) the window indexes hold them all, so the day's scans are index-only instead
# of fetching each wide row (input/output jsonb) from the heap.
RUN_INDEX_COLUMNS = (
    "span_type",
    "trace_id",
    "status",
    "ended_at",
    "duration_ms",
    "entity_id",
    f"{GENERATED_PREFIX}user_id",
    f"{GENERATED_PREFIX}workflow_name",
)
MODEL_INDEX_COLUMNS = (
    "trace_id",
    "status",
    "ended_at",
    "duration_ms",
    *(f"{GENERATED_PREFIX}{name}" for name in typed_attributes(strict=True)),
)
# Covering indexes of earlier source versions (their INCLUDE lists lack newer columns).
_OLD_WINDOW_INDEXES = (
    "execution_spans_runs_started_idx",
    "execution_spans_models_started_idx",
    "execution_spans_runs_covering_idx",
    "execution_spans_models_covering_idx",
    "execution_spans_models_covering_v3_idx",  # before `cost_recorded` (version 4)
)


def source_index_sql(src: str, naive_timestamps: bool, generated: bool = False) -> list[str]:
    started = "(started_at AT TIME ZONE 'UTC')" if naive_timestamps else "started_at"
    if generated and not naive_timestamps:
        # Covering window indexes (index-only scans); they replace the narrow ones of version 1
        # and the covering ones of version 2, which the planner would otherwise keep choosing.
        windows = [
            f"CREATE INDEX IF NOT EXISTS execution_spans_runs_covering_v3_idx "
            f"ON {src}.execution_spans (started_at) INCLUDE ({', '.join(RUN_INDEX_COLUMNS)}) "
            f"WHERE span_type IN {RUN_TYPES_SQL}",
            f"CREATE INDEX IF NOT EXISTS execution_spans_models_covering_v4_idx "
            f"ON {src}.execution_spans (started_at) INCLUDE ({', '.join(MODEL_INDEX_COLUMNS)}) "
            f"WHERE span_type = '{MODEL_SPAN_TYPE}'",
            *(f"DROP INDEX IF EXISTS {src}.{name}" for name in _OLD_WINDOW_INDEXES),
        ]
    else:
        windows = [
            f"CREATE INDEX IF NOT EXISTS execution_spans_runs_started_idx ON {src}.execution_spans "
            f"({started}) WHERE span_type IN {RUN_TYPES_SQL}",
            f"CREATE INDEX IF NOT EXISTS execution_spans_models_started_idx "
            f"ON {src}.execution_spans ({started}) WHERE span_type = '{MODEL_SPAN_TYPE}'",
        ]
    return [
        # Run spans of a window, and model spans of a window.
        *windows,
        # The per-user dashboard lookups.
        f"CREATE INDEX IF NOT EXISTS execution_spans_runs_user_idx ON {src}.execution_spans "
        f"((attributes->>'userId'), {started}) WHERE span_type IN {RUN_TYPES_SQL}",
        # Model spans by model (expression index on the attributes).
        f"CREATE INDEX IF NOT EXISTS execution_spans_models_model_idx ON {src}.execution_spans "
        f"((attributes->>'provider'), (attributes->>'model'), {started}) "
        f"WHERE span_type = '{MODEL_SPAN_TYPE}'",
        # A trace's spans (the user of a model span whose run started long before).
        f"CREATE INDEX IF NOT EXISTS execution_spans_trace_idx ON {src}.execution_spans (trace_id)",
    ]
