"""The rollup database's schema, as plain SQL text (no Dagster, no connection): the rollup
tables, the watermarks the late-span sensor compares and the activity view. Applied by
`resources.analytics.database` under an advisory lock, versioned in `analytics_schema_migrations`
(component `rollup`).
"""

from __future__ import annotations

# Which version of each component (`source`, `rollup`) a schema has: one such table in the source
# schema and one in the rollup schema.
MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS {schema}.analytics_schema_migrations (
    component text NOT NULL,
    version integer NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (component, version)
)
"""

_ENTITY_COLUMNS = """
    user_id text NOT NULL,
    entity_type text NOT NULL,
    entity_id text NOT NULL,
    total_executions bigint NOT NULL,
    successful_executions bigint NOT NULL,
    failed_executions bigint NOT NULL,
    cancelled_executions bigint NOT NULL,
    success_rate numeric(7, 6) NOT NULL,
    prompt_tokens bigint NOT NULL,
    completion_tokens bigint NOT NULL,
    total_tokens bigint NOT NULL,
    input_cost numeric(18, 6) NOT NULL,
    output_cost numeric(18, 6) NOT NULL,
    total_cost numeric(18, 6) NOT NULL,
    duration_count bigint NOT NULL,
    sum_duration_ms double precision,
    avg_duration_ms double precision,
    min_duration_ms double precision,
    max_duration_ms double precision,
    p50_duration_ms double precision,
    p95_duration_ms double precision,
    rolled_up_at timestamptz NOT NULL DEFAULT now(),"""


def rollup_migrations(dst: str) -> list[str]:
    """Version 1 of the rollup schema; every statement can run again."""
    return [
        f"""CREATE TABLE IF NOT EXISTS {dst}.hourly_analytics (
    hour timestamptz NOT NULL,{_ENTITY_COLUMNS}
    PRIMARY KEY (hour, user_id, entity_type, entity_id))""",
        f"""CREATE TABLE IF NOT EXISTS {dst}.daily_analytics (
    date date NOT NULL,{_ENTITY_COLUMNS}
    PRIMARY KEY (date, user_id, entity_type, entity_id))""",
        f"""CREATE TABLE IF NOT EXISTS {dst}.model_usage_stats (
    date date NOT NULL,
    user_id text NOT NULL,
    provider text NOT NULL,
    model text NOT NULL,
    total_calls bigint NOT NULL,
    successful_calls bigint NOT NULL,
    failed_calls bigint NOT NULL,
    cancelled_calls bigint NOT NULL,
    prompt_tokens bigint NOT NULL,
    completion_tokens bigint NOT NULL,
    total_tokens bigint NOT NULL,
    avg_tokens_per_call double precision NOT NULL,
    input_cost numeric(18, 6) NOT NULL,
    output_cost numeric(18, 6) NOT NULL,
    total_cost numeric(18, 6) NOT NULL,
    avg_cost_per_call numeric(18, 9) NOT NULL,
    duration_count bigint NOT NULL,
    sum_duration_ms double precision,
    avg_duration_ms double precision,
    p50_duration_ms double precision,
    p95_duration_ms double precision,
    p99_duration_ms double precision,
    rolled_up_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (date, user_id, provider, model))""",
        # What each bucket looked like in the source when it was rolled up: the late-span
        # sensor compares it with the source now.
        f"""CREATE TABLE IF NOT EXISTS {dst}.analytics_rollup_watermarks (
    rollup text NOT NULL,
    bucket timestamptz NOT NULL,
    finished_runs bigint NOT NULL,
    last_ended_at timestamptz,
    rolled_up_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (rollup, bucket))""",
        # Version 2: the finished model calls of each bucket (by their own start) when it was
        # rolled up: a model span deleted or corrected later changes them (the sensor re-rolls).
        f"""CREATE TABLE IF NOT EXISTS {dst}.analytics_model_watermarks (
    rollup text NOT NULL,
    bucket timestamptz NOT NULL,
    model_calls bigint NOT NULL,
    model_tokens numeric NOT NULL,
    model_cost numeric NOT NULL,
    rolled_up_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (rollup, bucket))""",
        # Last 7 complete UTC days per user; averages weighted by their counts.
        f"""CREATE MATERIALIZED VIEW IF NOT EXISTS {dst}.recent_activity_summary AS
SELECT user_id,
       sum(total_executions)::bigint AS total_executions,
       sum(successful_executions)::bigint AS successful_executions,
       sum(failed_executions)::bigint AS failed_executions,
       sum(cancelled_executions)::bigint AS cancelled_executions,
       round(sum(successful_executions)::numeric / NULLIF(sum(total_executions), 0), 6)
           AS success_rate,
       sum(total_tokens)::bigint AS total_tokens,
       sum(total_cost) AS total_cost,
       sum(sum_duration_ms) / NULLIF(sum(duration_count), 0) AS avg_duration_ms,
       count(DISTINCT (entity_type, entity_id)) AS entities_used,
       max(date) AS last_active_date
FROM {dst}.daily_analytics
WHERE date >= (now() AT TIME ZONE 'UTC')::date - 7
  AND date < (now() AT TIME ZONE 'UTC')::date
GROUP BY user_id""",
        # The unique index that lets REFRESH ... CONCURRENTLY run while readers read.
        f"CREATE UNIQUE INDEX IF NOT EXISTS recent_activity_summary_user_idx "
        f"ON {dst}.recent_activity_summary (user_id)",
    ]
