"""The analytics rollup queries, as plain SQL text (no Dagster, no connection).

Rules every query here keeps (each one answers a defect of the system we replace):
- Span types are the platform's lowercase names.
- Buckets and windows are explicit UTC (`AT TIME ZONE 'UTC'`), never the session's time zone.
- A workflow is known by its run span's `workflowName` (the platform stores the execution id in
  a `workflow_run`'s `entity_id`); an agent by the `entity_id` of its `agent_run` (the agent id).
- A run's tokens and cost are the sum over the finished `model_generation` spans of its trace.
- One status rule for runs and model calls alike: `completed` (success), `failed` (failure) and
  `cancelled` (its own column; neither) are finished and counted; `started` is still running and
  waits for a later rollup; any other status is excluded and counted.
- A model span's user is its trace's run span's user (the platform writes no `userId` on model
  spans), else its own `userId`, else `unknown`.
- One number rule: a token or cost attribute counts only when it is a JSON number; anything else
  (`"12"`, `"abc"`, `true`, null) is missing, on every path (fast view, strict view, columns).
- One totals rule: `totalTokens` (`totalCost`) when present, else the sum of the parts present;
  missing only when the total and both parts are.
- An unpriced call (completed, both token counts, provider and model, and no cost key at all: the
  platform's writer found no price for the model) is counted with its tokens and cost 0, and
  counted apart (`unpriced`, per model); it is not bad input. A cost key present but not a
  number, or a part missing beside others, is (`missing_cost`).
- Every span read is counted, counted with an unknown part (unpriced), malformed (defaulted or
  excluded: `malformed_spans`, the quality share), or still running.
- Averages are kept as sums and counts beside them, so any coarser average is exact.
- Percentiles are `percentile_cont` (linear interpolation between the two nearest durations,
  like numpy's default), always computed from the raw spans of the bucket.
"""

from __future__ import annotations

from dataclasses import dataclass

from resources.analytics.source_schema import (
    FAST_VIEW,
    MODEL_SPAN_TYPE,
    RUN_TYPES_SQL,
    RUNNING_STATUS,
    STRICT_VIEW,
    TERMINAL_SQL,
)

UNKNOWN = "unknown"
# Model spans are looked for from a little before the first run start to a little after the
# last run end of the window (clock skew between services); a trace's run is looked for up to a
# day before the window (a model span in the window whose run started earlier).
CLOCK_SKEW = "interval '5 minutes'"
RUN_LOOKBACK = "interval '1 day'"

# The group keys sort bytewise (the database's linguistic collation costs a strcoll per
# comparison); grouping is unchanged, as both collations are deterministic.
BYTEWISE = 'COLLATE "C"'

# The rollup's entity of a run span: the workflow's name, or the agent's id.
ENTITY_OF_RUN = "CASE r.span_type WHEN 'workflow_run' THEN r.workflow_name ELSE r.entity_id END"
# What a completed model call `m` holds (a failed one produced no tokens and no cost):
_COMPLETED = "m.status = 'completed'"
_TOKENS_KNOWN = "(m.prompt_tokens IS NOT NULL AND m.completion_tokens IS NOT NULL)"
_MODEL_KNOWN = "(m.provider IS NOT NULL AND m.model IS NOT NULL)"
# A token part missing (or not a number) is bad input even when the total is recorded.
_MISSING_TOKENS = f"({_COMPLETED} AND NOT {_TOKENS_KNOWN})"
# Unpriced: the writer's outcome when it has no price for the model (no cost key at all, its
# tokens and model recorded). Counted with cost 0, apart from bad input.
_UNPRICED = f"({_COMPLETED} AND NOT m.cost_recorded AND {_TOKENS_KNOWN} AND {_MODEL_KNOWN})"
# A cost part missing or not a number is bad input, unless no cost was written because the
# model has no price (unpriced) or the tokens are missing (counted as missing_tokens).
_MISSING_COST = (
    f"({_COMPLETED} AND (m.input_cost IS NULL OR m.output_cost IS NULL) "
    f"AND (m.cost_recorded OR ({_TOKENS_KNOWN} AND NOT {_MODEL_KNOWN})))"
)


# -- the rollups ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rollup:
    """One rollup table: its key, its bucket width and the SQL that fills a window of it."""

    table: str
    key_column: str  # the bucket column: `hour` (timestamptz) or `date` (date)
    unit: str  # 'hour' or 'day'
    columns: tuple[str, ...]
    group_columns: tuple[str, ...]  # the natural key after the bucket

    def key_of(self, ts_sql: str) -> str:
        """SQL turning a UTC bucket start (timestamptz) into this table's key value."""
        return ts_sql if self.key_column == "hour" else f"(({ts_sql}) AT TIME ZONE 'UTC')::date"

    @property
    def bucket_expr(self) -> str:
        return f"date_trunc('{self.unit}', started_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"


_ENTITY_OUT = (
    "user_id",
    "entity_type",
    "entity_id",
    "total_executions",
    "successful_executions",
    "failed_executions",
    "cancelled_executions",
    "success_rate",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "input_cost",
    "output_cost",
    "total_cost",
    "duration_count",
    "sum_duration_ms",
    "avg_duration_ms",
    "min_duration_ms",
    "max_duration_ms",
    "p50_duration_ms",
    "p95_duration_ms",
)
_MODEL_OUT = (
    "user_id",
    "provider",
    "model",
    "total_calls",
    "successful_calls",
    "failed_calls",
    "cancelled_calls",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "avg_tokens_per_call",
    "input_cost",
    "output_cost",
    "total_cost",
    "avg_cost_per_call",
    "duration_count",
    "sum_duration_ms",
    "avg_duration_ms",
    "p50_duration_ms",
    "p95_duration_ms",
    "p99_duration_ms",
)

HOURLY = Rollup(
    "hourly_analytics",
    "hour",
    "hour",
    ("hour", *_ENTITY_OUT),
    ("user_id", "entity_type", "entity_id"),
)
DAILY = Rollup(
    "daily_analytics",
    "date",
    "day",
    ("date", *_ENTITY_OUT),
    ("user_id", "entity_type", "entity_id"),
)
MODEL_USAGE = Rollup(
    "model_usage_stats",
    "date",
    "day",
    ("date", *_MODEL_OUT),
    ("user_id", "provider", "model"),
)
ROLLUPS = {r.table: r for r in (HOURLY, DAILY, MODEL_USAGE)}


def _sum(col: str) -> str:
    return f"coalesce(sum({col}), 0)"


# One aggregation per window, into a temporary table: the rollup's rows plus, per group, the
# counters of what was read (so one pass gives rows, watermarks and bad-input counts). A plain
# CREATE TABLE AS may use parallel workers, which an INSERT ... SELECT may not.
AGG_TABLE = "analytics_window_agg"
# The planner cannot estimate how many (bucket, user, entity|model) groups the computed keys make,
# assumes one per span and sorts every span (spilling wide rows to disk); there are a few
# thousand, so the aggregations hash. Applied with SET LOCAL to the aggregation's transaction.
AGGREGATE_SETTINGS = ("SET LOCAL enable_sort = off",)
_ENTITY_BOOKKEEPING = (
    ("run_spans_read", "bigint"),
    ("model_spans_read", "bigint"),
    ("still_running", "bigint"),
    ("unknown_status", "bigint"),
    ("bad_duration", "bigint"),
    ("missing_user", "bigint"),
    ("missing_entity", "bigint"),
    ("missing_cost", "bigint"),
    ("missing_tokens", "bigint"),
    ("unpriced", "bigint"),
    ("malformed_spans", "bigint"),
    ("unpriced_by_model", "text"),
    ("last_ended_at", "timestamptz"),
)
_MODEL_BOOKKEEPING = (
    ("model_spans_read", "bigint"),
    ("still_running", "bigint"),
    ("unknown_status", "bigint"),
    ("bad_duration", "bigint"),
    ("unknown_model", "bigint"),
    ("missing_cost", "bigint"),
    ("missing_tokens", "bigint"),
    ("user_from_run", "bigint"),
    ("missing_user", "bigint"),
    ("unpriced", "bigint"),
    ("malformed_spans", "bigint"),
    ("unpriced_by_model", "text"),
    ("last_ended_at", "timestamptz"),
)
_DURATION_TYPES = {c: "double precision" for c in ("sum", "avg", "min", "max", "p50", "p95", "p99")}


def _column_type(name: str) -> str:
    if name in ("hour", "bucket_ts", "last_ended_at"):
        return "timestamptz"
    if name == "date":
        return "date"
    if name in ("user_id", "entity_type", "entity_id", "provider", "model", "unpriced_by_model"):
        return "text"
    if name.endswith("_cost") or name == "success_rate" or name == "avg_cost_per_call":
        return "numeric"
    if name.endswith("_duration_ms") or name == "avg_tokens_per_call":
        return "double precision"
    return "bigint"


def _percentiles(levels: tuple[float, ...], column: str = "durations") -> str:
    """Exact percentiles of a group's duration array (one sort of the group's own values)."""
    array = ", ".join(str(level) for level in levels)
    return (
        f"(SELECT percentile_cont(ARRAY[{array}]) WITHIN GROUP (ORDER BY d) "
        f"FROM unnest({column}) AS d)"
    )


def _outcome_aggregates(noun: str) -> str:
    """What every rollup keeps per group of runs or calls: counts by status, the duration sums
    (the durations also as an array, for their exact percentiles) and the read counters."""
    f = "FILTER (WHERE finished)"
    return f"""count(*) {f} AS total_{noun},
           count(*) FILTER (WHERE status = 'completed') AS successful_{noun},
           count(*) FILTER (WHERE status = 'failed') AS failed_{noun},
           count(*) FILTER (WHERE status = 'cancelled') AS cancelled_{noun},
           count(duration_ms) {f} AS duration_count,
           sum(duration_ms) {f} AS sum_duration_ms,
           avg(duration_ms) {f} AS avg_duration_ms,
           array_agg(duration_ms) FILTER (WHERE finished AND duration_ms IS NOT NULL) AS durations,
           count(*) FILTER (WHERE status = '{RUNNING_STATUS}') AS still_running,
           count(*) FILTER (WHERE NOT finished AND status <> '{RUNNING_STATUS}') AS unknown_status,
           count(*) FILTER (WHERE finished AND duration_ms IS NULL) AS bad_duration,
           max(coalesce(ended_at, bucket_ts)) {f} AS last_ended_at"""


def _entity_query(rollup: Rollup, src: str, view: str) -> str:
    # Two hash aggregations into the few (bucket, user, entity) groups instead of a sort of every
    # run: the runs' own counts and durations (each group's durations kept as an array for its
    # percentiles), and the tokens and cost of the model spans joined to their finished runs
    # (per group and model first, for the per-model count of unpriced calls).
    # A model span counts once per finished run of its trace, as a run's tokens are its trace's,
    # when it is finished itself (the status rule of model_usage_stats).
    f = "FILTER (WHERE finished)"
    fm = f"FILTER (WHERE m.status IN {TERMINAL_SQL})"
    keys = "bucket_ts, user_id, entity_type, entity_id"
    summed = ("prompt_tokens", "completion_tokens", "total_tokens", "input_cost", "output_cost",
              "total_cost")  # fmt: skip
    counted = ("model_spans_read", "missing_cost", "missing_tokens", "unpriced", "malformed")
    return f"""
WITH runs AS MATERIALIZED (
    SELECT r.trace_id, r.status, r.ended_at, r.duration_ms,
           {rollup.bucket_expr} AS bucket_ts,
           coalesce(r.user_id, '{UNKNOWN}') {BYTEWISE} AS user_id,
           CASE r.span_type WHEN 'workflow_run' THEN 'workflow' ELSE 'agent' END {BYTEWISE} AS entity_type,
           coalesce({ENTITY_OF_RUN}, '{UNKNOWN}') {BYTEWISE} AS entity_id,
           r.user_id IS NULL AS missing_user,
           {ENTITY_OF_RUN} IS NULL AS missing_entity,
           r.status IN {TERMINAL_SQL} AS finished
    FROM {src}.{view} r
    WHERE r.span_type IN {RUN_TYPES_SQL}
      AND r.started_at >= %(start)s AND r.started_at < %(end)s
),
run_groups AS (
    SELECT {keys},
           {_outcome_aggregates("executions")},
           min(duration_ms) {f} AS min_duration_ms,
           max(duration_ms) {f} AS max_duration_ms,
           count(*) AS run_spans_read,
           count(*) FILTER (WHERE finished AND missing_user) AS missing_user,
           count(*) FILTER (WHERE finished AND missing_entity) AS missing_entity,
           count(*) FILTER (WHERE (NOT finished AND status <> '{RUNNING_STATUS}') OR (finished
               AND (duration_ms IS NULL OR missing_user OR missing_entity))) AS malformed_runs
    FROM runs
    GROUP BY {keys}
),
model_calls AS (
    SELECT r.bucket_ts, r.user_id, r.entity_type, r.entity_id, m.provider, m.model,
           count(*) AS model_spans_read,
           {", ".join(f"sum(m.{c}) {fm} AS {c}" for c in summed)},
           count(*) FILTER (WHERE {_MISSING_COST}) AS missing_cost,
           count(*) FILTER (WHERE {_MISSING_TOKENS}) AS missing_tokens,
           count(*) FILTER (WHERE {_UNPRICED}) AS unpriced,
           count(*) FILTER (WHERE {_MISSING_COST} OR {_MISSING_TOKENS}) AS malformed
    FROM {src}.{view} m JOIN runs r ON r.trace_id = m.trace_id AND r.finished
    WHERE m.span_type = '{MODEL_SPAN_TYPE}'
      AND m.started_at >= %(start)s::timestamptz - {CLOCK_SKEW}
      AND m.started_at <= (SELECT max(coalesce(ended_at, %(end)s)) FROM runs WHERE finished)
                          + {CLOCK_SKEW}
    GROUP BY r.bucket_ts, r.user_id, r.entity_type, r.entity_id, m.provider, m.model
),
model_groups AS (
    SELECT {keys},
           {", ".join(f"sum({c}) AS {c}" for c in summed)},
           {", ".join(f"sum({c})::bigint AS {c}" for c in counted)},
           (jsonb_agg(jsonb_build_array(provider, model, unpriced))
               FILTER (WHERE unpriced > 0))::text AS unpriced_by_model
    FROM model_calls
    GROUP BY {keys}
)
SELECT {rollup.key_of("g.bucket_ts")} AS {rollup.key_column},
       g.user_id, g.entity_type, g.entity_id,
       g.total_executions, g.successful_executions, g.failed_executions, g.cancelled_executions,
       round(g.successful_executions::numeric / NULLIF(g.total_executions, 0), 6) AS success_rate,
       coalesce(m.prompt_tokens, 0) AS prompt_tokens,
       coalesce(m.completion_tokens, 0) AS completion_tokens,
       coalesce(m.total_tokens, 0) AS total_tokens,
       coalesce(round(m.input_cost, 6), 0) AS input_cost,
       coalesce(round(m.output_cost, 6), 0) AS output_cost,
       coalesce(round(m.total_cost, 6), 0) AS total_cost,
       g.duration_count, g.sum_duration_ms, g.avg_duration_ms,
       g.min_duration_ms, g.max_duration_ms,
       p.levels[1] AS p50_duration_ms,
       p.levels[2] AS p95_duration_ms,
       g.bucket_ts,
       g.run_spans_read,
       coalesce(m.model_spans_read, 0) AS model_spans_read,
       g.still_running, g.unknown_status, g.bad_duration, g.missing_user, g.missing_entity,
       coalesce(m.missing_cost, 0) AS missing_cost,
       coalesce(m.missing_tokens, 0) AS missing_tokens,
       coalesce(m.unpriced, 0) AS unpriced,
       g.malformed_runs + coalesce(m.malformed, 0) AS malformed_spans,
       m.unpriced_by_model,
       g.last_ended_at
FROM run_groups g
CROSS JOIN LATERAL (SELECT {_percentiles((0.5, 0.95), "g.durations")} AS levels OFFSET 0) p
LEFT JOIN model_groups m
  ON m.bucket_ts = g.bucket_ts AND m.user_id = g.user_id
 AND m.entity_type = g.entity_type AND m.entity_id = g.entity_id"""


def _model_query(rollup: Rollup, src: str, view: str) -> str:
    # One hash aggregation into the few (day, user, provider, model) groups, each group's
    # durations kept as an array for its percentiles, instead of a sort of every model span.
    f = "FILTER (WHERE finished)"
    calls = f"NULLIF(count(*) {f}, 0)"
    return f"""
WITH model AS (
    SELECT m.trace_id, m.status, m.ended_at, m.duration_ms, m.user_id AS own_user,
           {rollup.bucket_expr} AS bucket_ts,
           coalesce(m.provider, '{UNKNOWN}') {BYTEWISE} AS provider,
           coalesce(m.model, '{UNKNOWN}') {BYTEWISE} AS model,
           m.provider IS NULL OR m.model IS NULL AS unknown_model,
           coalesce(m.prompt_tokens, 0) AS prompt_tokens,
           coalesce(m.completion_tokens, 0) AS completion_tokens,
           coalesce(m.total_tokens, 0) AS total_tokens,
           coalesce(m.input_cost, 0) AS input_cost,
           coalesce(m.output_cost, 0) AS output_cost,
           coalesce(m.total_cost, 0) AS total_cost,
           {_MISSING_COST} AS missing_cost,
           {_MISSING_TOKENS} AS missing_tokens,
           {_UNPRICED} AS unpriced,
           m.status IN {TERMINAL_SQL} AS finished
    FROM {src}.{view} m
    WHERE m.span_type = '{MODEL_SPAN_TYPE}'
      AND m.started_at >= %(start)s AND m.started_at < %(end)s
),
run_users AS (
    SELECT r.trace_id, min(r.user_id) AS user_id
    FROM {src}.{view} r
    WHERE r.span_type IN {RUN_TYPES_SQL} AND r.user_id IS NOT NULL
      AND r.started_at >= %(start)s::timestamptz - {RUN_LOOKBACK} AND r.started_at < %(end)s
    GROUP BY r.trace_id
),
with_run_user AS (
    SELECT model.*,
           coalesce(run_users.user_id,
                    -- a run that started more than a day earlier: look it up by trace
                    (SELECT min(r2.user_id) FROM {src}.{view} r2
                     WHERE r2.trace_id = model.trace_id AND r2.span_type IN {RUN_TYPES_SQL}))
               AS run_user
    FROM model LEFT JOIN run_users USING (trace_id)
),
facts AS (
    SELECT *, coalesce(run_user, own_user, '{UNKNOWN}') {BYTEWISE} AS user_id
    FROM with_run_user
),
groups AS (
    SELECT bucket_ts, user_id, provider, model,
           {_outcome_aggregates("calls")},
           coalesce(sum(prompt_tokens) {f}, 0) AS prompt_tokens,
           coalesce(sum(completion_tokens) {f}, 0) AS completion_tokens,
           coalesce(sum(total_tokens) {f}, 0) AS total_tokens,
           coalesce(sum(total_tokens) {f}::double precision / {calls}, 0) AS avg_tokens_per_call,
           coalesce(round(sum(input_cost) {f}, 6), 0) AS input_cost,
           coalesce(round(sum(output_cost) {f}, 6), 0) AS output_cost,
           coalesce(round(sum(total_cost) {f}, 6), 0) AS total_cost,
           coalesce(round(sum(total_cost) {f} / {calls}, 9), 0) AS avg_cost_per_call,
           count(*) AS model_spans_read,
           count(*) FILTER (WHERE finished AND unknown_model) AS unknown_model,
           count(*) FILTER (WHERE finished AND missing_cost) AS missing_cost,
           count(*) FILTER (WHERE finished AND missing_tokens) AS missing_tokens,
           count(*) FILTER (WHERE finished AND run_user IS NOT NULL) AS user_from_run,
           count(*) FILTER (WHERE finished AND user_id = '{UNKNOWN}') AS missing_user,
           count(*) FILTER (WHERE finished AND unpriced) AS unpriced,
           count(*) FILTER (WHERE (NOT finished AND status <> '{RUNNING_STATUS}') OR (finished
               AND (duration_ms IS NULL OR unknown_model OR missing_cost OR missing_tokens
                    OR user_id = '{UNKNOWN}'))) AS malformed_spans
    FROM facts
    GROUP BY bucket_ts, user_id, provider, model
)
SELECT {rollup.key_of("g.bucket_ts")} AS {rollup.key_column}, g.user_id, g.provider, g.model,
       g.total_calls, g.successful_calls, g.failed_calls, g.cancelled_calls,
       g.prompt_tokens, g.completion_tokens, g.total_tokens, g.avg_tokens_per_call,
       g.input_cost, g.output_cost, g.total_cost, g.avg_cost_per_call,
       g.duration_count, g.sum_duration_ms, g.avg_duration_ms,
       p.levels[1] AS p50_duration_ms,
       p.levels[2] AS p95_duration_ms,
       p.levels[3] AS p99_duration_ms,
       g.bucket_ts, g.model_spans_read, g.still_running, g.unknown_status, g.bad_duration,
       g.unknown_model, g.missing_cost, g.missing_tokens, g.user_from_run, g.missing_user,
       g.unpriced, g.malformed_spans,
       CASE WHEN g.unpriced > 0
            THEN jsonb_build_array(jsonb_build_array(g.provider, g.model, g.unpriced))::text
       END AS unpriced_by_model,
       g.last_ended_at
FROM groups g
CROSS JOIN LATERAL (SELECT {_percentiles((0.5, 0.95, 0.99), "g.durations")} AS levels OFFSET 0) p"""


@dataclass(frozen=True)
class RollupSql:
    """The statements that replace one window of a rollup, in one transaction.

    `aggregate`: the window's aggregation (rows + per-group counters), run on the source.
    `create_agg` (same database) or `create_agg_empty` + COPY of `aggregate`'s rows (separate
    databases) fill the temporary table; then `delete`, `insert`, `upsert_watermarks` and
    `stats` work from it on the rollup database.
    """

    aggregate: str
    agg_columns: tuple[str, ...]
    create_agg: str
    create_agg_empty: str
    delete: str
    insert: str
    upsert_watermarks: str
    stats: str
    totals: str
    top_by_cost: str
    unpriced_by_model: str


def rollup_sql(rollup: Rollup, src: str, dst: str, view: str = FAST_VIEW) -> RollupSql:
    is_model = rollup.table == MODEL_USAGE.table
    aggregate = (_model_query if is_model else _entity_query)(rollup, src, view)
    bookkeeping = _MODEL_BOOKKEEPING if is_model else _ENTITY_BOOKKEEPING
    agg_columns = (*rollup.columns, "bucket_ts", *(name for name, _ in bookkeeping))
    table = f"{dst}.{rollup.table}"
    count_column = "total_calls" if is_model else "total_executions"
    in_window = (
        f"{rollup.key_column} >= {rollup.key_of('%(start)s::timestamptz')} "
        f"AND {rollup.key_column} < {rollup.key_of('%(end)s::timestamptz')}"
    )
    step = f"interval '1 {rollup.unit}'"
    counters = [name for name, kind in bookkeeping if kind == "bigint"]
    key_group = ", ".join(rollup.group_columns)
    columns = ", ".join(rollup.columns)
    return RollupSql(
        aggregate=aggregate,
        agg_columns=agg_columns,
        create_agg=f"CREATE TEMP TABLE {AGG_TABLE} ON COMMIT DROP AS {aggregate}",
        create_agg_empty=(
            f"CREATE TEMP TABLE {AGG_TABLE} ("
            + ", ".join(f"{c} {_column_type(c)}" for c in agg_columns)
            + ") ON COMMIT DROP"
        ),
        delete=f"DELETE FROM {table} WHERE {in_window}",
        # Groups whose spans are all still running (or of an unknown status) hold no execution.
        insert=(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {AGG_TABLE} "
            f"WHERE {count_column} > 0"
        ),
        upsert_watermarks=f"""
INSERT INTO {dst}.analytics_rollup_watermarks (rollup, bucket, finished_runs, last_ended_at)
SELECT '{rollup.table}', b.bucket, coalesce(sum(a.{count_column}), 0), max(a.last_ended_at)
FROM generate_series(%(start)s::timestamptz, %(end)s::timestamptz - {step}, {step}) AS b(bucket)
LEFT JOIN {AGG_TABLE} a ON a.bucket_ts = b.bucket
GROUP BY b.bucket
ON CONFLICT (rollup, bucket) DO UPDATE SET finished_runs = EXCLUDED.finished_runs,
    last_ended_at = EXCLUDED.last_ended_at, rolled_up_at = now()""",
        stats="SELECT "
        + ", ".join(f"coalesce(sum({c}), 0)::bigint AS {c}" for c in counters)
        + f" FROM {AGG_TABLE}",
        totals=(
            f"SELECT count(*), coalesce(sum({count_column}), 0), coalesce(sum(total_tokens), 0),"
            f" coalesce(sum(total_cost), 0) FROM {table} WHERE {in_window}"
        ),
        top_by_cost=(
            f"SELECT {key_group}, sum(total_cost) AS cost, sum({count_column}) AS n "
            f"FROM {table} WHERE {in_window} GROUP BY {key_group} "
            f"ORDER BY cost DESC, {key_group} LIMIT %(limit)s"
        ),
        unpriced_by_model=(
            "SELECT e->>0, e->>1, sum((e->>2)::bigint)::bigint "
            f"FROM {AGG_TABLE}, jsonb_array_elements(unpriced_by_model::jsonb) AS e "
            "WHERE unpriced_by_model IS NOT NULL GROUP BY 1, 2"
        ),
    )


def plain_select_sql(rollup: Rollup, src: str) -> str:
    """The rollup's aggregation as a bare SELECT (the benchmark's baseline)."""
    return rollup_sql(rollup, src, src).aggregate


def refresh_summary_sql(dst: str, concurrently: bool = True) -> str:
    how = "CONCURRENTLY " if concurrently else ""
    return f"REFRESH MATERIALIZED VIEW {how}{dst}.recent_activity_summary"


def model_calls_by_bucket_sql(src: str, unit: str) -> str:
    """Per bucket of [%(since)s, %(until)s): finished model calls, their tokens and cost (the
    model-call watermark; the strict view, so a non-number never fails the sensor)."""
    return f"""
SELECT date_trunc('{unit}', started_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket,
       count(*), coalesce(sum(total_tokens), 0), coalesce(sum(total_cost), 0)
FROM {src}.{STRICT_VIEW}
WHERE span_type = '{MODEL_SPAN_TYPE}' AND status IN {TERMINAL_SQL}
  AND started_at >= %(since)s AND started_at < %(until)s
GROUP BY 1"""


def finished_runs_by_bucket_sql(src: str, unit: str) -> str:
    """Per bucket since %(since)s: finished run spans and their last end (the late-span sensor)."""
    return f"""
SELECT date_trunc('{unit}', started_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket,
       count(*), max(coalesce(ended_at, date_trunc('{unit}', started_at AT TIME ZONE 'UTC')
                                       AT TIME ZONE 'UTC'))
FROM {src}.{FAST_VIEW}
WHERE span_type IN {RUN_TYPES_SQL} AND status IN {TERMINAL_SQL}
  AND started_at >= %(since)s AND started_at < %(until)s
GROUP BY 1"""


def invalid_rows_sql(rollup: Rollup, dst: str) -> str:
    """Rows of the window breaking an invariant of the rollup (the values_in_range check)."""
    if rollup.table == MODEL_USAGE.table:
        rules = """total_calls > 0
        AND successful_calls + failed_calls + cancelled_calls = total_calls
        AND avg_cost_per_call >= 0
        AND (p50_duration_ms IS NULL OR (p50_duration_ms <= p95_duration_ms
             AND p95_duration_ms <= p99_duration_ms))"""
    else:
        rules = """total_executions > 0
        AND successful_executions + failed_executions + cancelled_executions = total_executions
        AND success_rate BETWEEN 0 AND 1
        AND (p50_duration_ms IS NULL OR (min_duration_ms <= p50_duration_ms + 1e-6
             AND p50_duration_ms <= p95_duration_ms AND p95_duration_ms <= max_duration_ms + 1e-6))"""
    return f"""
SELECT count(*) FROM {dst}.{rollup.table}
WHERE {rollup.key_column} >= {rollup.key_of("%(start)s::timestamptz")}
  AND {rollup.key_column} < {rollup.key_of("%(end)s::timestamptz")}
  AND NOT ({rules}
        AND prompt_tokens >= 0 AND completion_tokens >= 0 AND total_tokens >= 0
        AND input_cost >= 0 AND output_cost >= 0 AND total_cost >= 0)"""
