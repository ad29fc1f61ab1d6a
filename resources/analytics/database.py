"""The analytics databases: the platform's `execution_spans` (source) and the rollups.

Both are PostgreSQL (`PostgresResource`), the same database by default. All aggregation runs
inside PostgreSQL: one statement aggregates a window into a temporary table (the rollup rows and,
per group, the counters of what was read). When source and rollups share a database that is a
CREATE TEMP TABLE ... AS; when they differ, the aggregated rows (not the spans) are streamed from
the source and COPYed in. Then the window's rows are deleted and inserted from it, and its
watermarks upserted, in one transaction on the rollup database under a per-table advisory lock:
an overlapping run waits instead of duplicating or interleaving rows.

Write, audit, publish: the whole window (every day of a backfill) is written in that one
transaction, the caller's audit (the blocking checks) reads the written rows inside it, and only
then is it committed; a rejected window is rolled back, leaving the previous rollup as it was.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import psycopg
from dagster import ConfigurableResource

from resources.analytics import rollup_queries as queries
from resources.analytics import source_schema
from resources.analytics.rollup_migrations import MIGRATIONS_TABLE, rollup_migrations
from resources.analytics.windows import DAY, BucketState, chunks, require_utc
from resources.postgres import PostgresResource, _redact

SOURCE_COMPONENT = "source"
ROLLUP_COMPONENT = "rollup"
# 2: covering window indexes (index-only scans); 3: `workflow_name` in the views, the typed
# columns and the covering indexes (workflows are keyed by name); 4: `cost_recorded` (an unpriced
# call is told from a malformed cost), in the views, the typed columns and the model index
SOURCE_VERSION = 4
ROLLUP_VERSION = 2  # 2: analytics_model_watermarks


class SourceSchemaMissing(RuntimeError):
    """The source database has no `execution_spans` (or not the platform's layout)."""


class RollupRejected(RuntimeError):
    """The audit rejected a written window: it was rolled back, nothing was published."""

    def __init__(self, reason: str, report: RollupReport):
        super().__init__(reason)
        self.reason, self.report = reason, report


@dataclass
class RollupReport:
    """What one rollup of a window did: counters from the source, totals of what was written."""

    table: str
    start: datetime
    end: datetime
    rows_written: int = 0
    executions: int = 0
    tokens: int = 0
    cost: Decimal = Decimal(0)
    stats: dict[str, int] = field(default_factory=dict)
    invalid_rows: int = 0  # rows of the window breaking an invariant (values_in_range)
    top: list[tuple] = field(default_factory=list)  # the window's most expensive keys
    # Calls to a model without a price (counted, cost 0), per (provider, model).
    unpriced: dict[tuple[str, str], int] = field(default_factory=dict)

    def add_stats(self, stats: dict[str, int], unpriced: Iterable[tuple] = ()) -> None:
        for key, value in stats.items():
            self.stats[key] = self.stats.get(key, 0) + value
        for provider, model, calls in unpriced:
            self.unpriced[provider, model] = self.unpriced.get((provider, model), 0) + int(calls)


# An audit reads the written (not yet published) window's report: None publishes it, a reason
# rejects it.
Audit = Callable[[RollupReport], str | None]


def _row_dict(cursor) -> dict:
    row = cursor.fetchone()
    return {
        d.name: (int(v) if isinstance(v, Decimal) else v)
        for d, v in zip(cursor.description, row, strict=True)
    }


def _aggregate_settings(conn: psycopg.Connection) -> None:
    """The planner settings of a rollup's aggregation, for the current transaction only."""
    for statement in queries.AGGREGATE_SETTINGS:
        conn.execute(statement)


def _lock_key(name: str) -> str:
    return f"SELECT pg_advisory_xact_lock(hashtext('analytics:{name}'))"


class AnalyticsDatabase(ConfigurableResource):
    """Source spans and rollup tables. `source` and `rollup` are PostgreSQL databases (env
    `ANALYTICS_SOURCE_DATABASE_URL`, `ANALYTICS_DATABASE_URL`, both defaulting to `POSTGRES_URL`,
    then the embedded server); the schemas they live in are `source_schema` / `rollup_schema`."""

    source: PostgresResource
    rollup: PostgresResource
    source_schema: str = "public"
    rollup_schema: str = "public"
    add_typed_columns: bool = False
    """Add the typed generated columns to the source table (rewrites it once; the demo table
    has them from the start). Without them the rollups parse `attributes` on every read."""
    work_mem: str = "256MB"
    """Memory per sort for the rollup statements: a day's percentiles sort in memory, not on
    disk (PostgreSQL's default is 4MB)."""

    # -- connections ---------------------------------------------------------------------------

    @property
    def src(self) -> str:
        return source_schema.quote_schema(self.source_schema)

    @property
    def dst(self) -> str:
        return source_schema.quote_schema(self.rollup_schema)

    def same_database(self) -> bool:
        return self.source.resolved_url() == self.rollup.resolved_url()

    @contextlib.contextmanager
    def _connect(self, which: PostgresResource, **kwargs) -> Iterator[psycopg.Connection]:
        with which.connection(**kwargs) as conn:
            self._session_settings(conn)
            yield conn

    def _session_settings(self, conn: psycopg.Connection) -> None:
        # Explicit UTC: date_trunc, generate_series and ::date never follow the server's or the
        # database's configured zone.
        conn.execute("SET TIME ZONE 'UTC'")
        if not re.fullmatch(r"\d+(kB|MB|GB)", self.work_mem):
            raise ValueError(f"work_mem {self.work_mem!r}: use a size like '256MB'")
        conn.execute(f"SET work_mem = '{self.work_mem}'")

    def source_connection(self, **kwargs):
        return self._connect(self.source, **kwargs)

    def rollup_connection(self, **kwargs):
        return self._connect(self.rollup, **kwargs)

    # -- schema --------------------------------------------------------------------------------

    def create_source_table(self, typed_columns: bool = True) -> None:
        """The platform's `execution_spans` layout (demo, tests, benchmarks; a real platform has
        it), with the typed generated columns unless `typed_columns` is false."""
        with self.source_connection() as conn:
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {self.src}")
            conn.execute(source_schema.SOURCE_TABLE_DDL.format(src=self.src))
            if typed_columns:
                for statement in source_schema.typed_columns_sql(self.src):
                    conn.execute(statement)

    def _applied(self, conn: psycopg.Connection, schema: str, component: str) -> int:
        conn.execute(_lock_key("migrations"))
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        conn.execute(MIGRATIONS_TABLE.format(schema=schema))
        row = conn.execute(
            f"SELECT max(version) FROM {schema}.analytics_schema_migrations WHERE component = %s",
            (component,),
        ).fetchone()
        return row[0] or 0

    def _source_layout(self, conn: psycopg.Connection) -> dict[str, str]:
        rows = conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = 'execution_spans'",
            (self.source_schema,),
        ).fetchall()
        if not rows:
            raise SourceSchemaMissing(
                f"No table {self.source_schema}.execution_spans in the source database "
                f"{_redact(self.source.resolved_url())}. Point ANALYTICS_SOURCE_DATABASE_URL "
                "(and ANALYTICS_SOURCE_SCHEMA) at the workflow platform's database, or load demo "
                "traffic into the embedded one: uv run python -m sandboxes.analytics_demo"
            )
        columns = dict(rows)
        missing = [c for c in source_schema.COLUMNS_READ if c not in columns]
        if missing:
            raise SourceSchemaMissing(
                f"{self.source_schema}.execution_spans lacks column(s) {', '.join(missing)}: it "
                "is not the workflow platform's layout (trace_id, span_id, span_type, entity_id, "
                "started_at, ended_at, duration_ms, status, attributes). Point "
                "ANALYTICS_SOURCE_DATABASE_URL at the right database."
            )
        return columns

    def _source_layout_now(self) -> dict[str, str]:
        with self.source_connection() as conn:
            return self._source_layout(conn)

    def migrate(self) -> None:
        """Bring both schemas to the current version; safe to run again and concurrently."""
        with self.source_connection() as conn:
            columns = self._source_layout(conn)
            typed = [c for c in source_schema.typed_columns() if c in columns]
            generated = len(typed) == len(source_schema.typed_columns())
            applied = self._applied(conn, self.src, SOURCE_COMPONENT)
            # Opted in now, or earlier (a table with some of the columns, from an older version):
            # add the missing ones.
            if (self.add_typed_columns or typed) and not generated:
                for statement in source_schema.typed_columns_sql(self.src):
                    conn.execute(statement)
                generated, applied = True, 0  # the views now read the new columns
            if applied < SOURCE_VERSION:
                naive = columns["started_at"] == "timestamp without time zone"
                for strict in (False, True):
                    conn.execute(source_schema.typed_view_sql(self.src, naive, strict, generated))
                for statement in source_schema.source_index_sql(self.src, naive, generated):
                    conn.execute(statement)
                conn.execute(
                    f"INSERT INTO {self.src}.analytics_schema_migrations (component, version) "
                    "VALUES (%s, %s) ON CONFLICT DO NOTHING",
                    (SOURCE_COMPONENT, SOURCE_VERSION),
                )
        with self.rollup_connection() as conn:
            if self._applied(conn, self.dst, ROLLUP_COMPONENT) < ROLLUP_VERSION:
                for statement in rollup_migrations(self.dst):
                    conn.execute(statement)
                conn.execute(
                    f"INSERT INTO {self.dst}.analytics_schema_migrations (component, version) "
                    "VALUES (%s, %s) ON CONFLICT DO NOTHING",
                    (ROLLUP_COMPONENT, ROLLUP_VERSION),
                )

    # -- loading (demo, tests, benchmarks) -----------------------------------------------------

    def copy_spans(self, parts: Iterable[tuple[str, int]]) -> int:
        """COPY spans given as (COPY text, span count) chunks into `execution_spans`."""
        columns = ", ".join(source_schema.SOURCE_COLUMNS)
        total = 0
        with (
            self.source_connection() as conn,
            conn.cursor().copy(f"COPY {self.src}.execution_spans ({columns}) FROM STDIN") as copy,
        ):
            for text, count in parts:
                copy.write(text)
                total += count
        with self.source_connection(autocommit=True) as conn:
            # Fresh statistics, or the planner takes a bulk-loaded table for empty.
            conn.execute(f"ANALYZE {self.src}.execution_spans")
        return total

    # -- rollups -------------------------------------------------------------------------------

    def roll_up(
        self,
        rollup: queries.Rollup,
        start: datetime,
        end: datetime,
        audit: Audit | None = None,
        top: int = 5,
    ) -> RollupReport:
        """Replace the rollup's rows for [start, end) (whole buckets, UTC): every day of the
        window written in one transaction, audited, then committed; `RollupRejected` (nothing
        changed) when `audit` gives a reason."""
        start, end = require_utc(start, "window start"), require_utc(end, "window end")
        params = {"start": start, "end": end}
        report = RollupReport(rollup.table, start, end)
        statements = queries.rollup_sql(rollup, self.src, self.dst, source_schema.FAST_VIEW)
        with self.rollup_connection() as conn:
            conn.execute(_lock_key(rollup.table))
            if rollup is not queries.MODEL_USAGE:
                # Read before the spans are: a model call arriving in between makes the bucket
                # look changed (one extra re-roll), never unchanged.
                source = conn if self.same_database() else None
                models = self.model_state(rollup, start, end, source)
                self._record_model_watermarks(conn, rollup, start, end, models)
            for day_start, day_end in chunks(start, end, DAY):
                report.add_stats(*self._replace_day(conn, rollup, day_start, day_end))
            rows, executions, tokens, cost = conn.execute(statements.totals, params).fetchone()
            report.rows_written, report.executions = rows, int(executions)
            report.tokens, report.cost = int(tokens), cost
            report.invalid_rows = conn.execute(
                queries.invalid_rows_sql(rollup, self.dst), params
            ).fetchone()[0]
            report.top = conn.execute(statements.top_by_cost, {**params, "limit": top}).fetchall()
            reason = audit(report) if audit else None
            if reason:
                conn.rollback()
                raise RollupRejected(reason, report)
        return report

    def _record_model_watermarks(self, conn, rollup, start, end, models) -> None:
        conn.execute(
            f"DELETE FROM {self.dst}.analytics_model_watermarks "
            "WHERE rollup = %s AND bucket >= %s AND bucket < %s",
            (rollup.table, start, end),
        )
        with conn.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {self.dst}.analytics_model_watermarks "
                "(rollup, bucket, model_calls, model_tokens, model_cost) VALUES (%s, %s, %s, %s, %s)",
                [(rollup.table, bucket, *state) for bucket, state in models.items()],
            )

    def _replace_day(self, conn, rollup: queries.Rollup, start: datetime, end: datetime):
        """One day of the window, inside the window's transaction (a savepoint of its own):
        its counters, and its unpriced calls per model."""
        params = {"start": start, "end": end}
        try:
            with conn.transaction():
                fast = queries.rollup_sql(rollup, self.src, self.dst, source_schema.FAST_VIEW)
                stats, unpriced = self._replace_window(conn, rollup, fast, params)
                return stats | {"bad_numbers_reread": 0}, unpriced
        except psycopg.DataError:
            # A token or cost that is not a JSON number: read the day again through the strict
            # view, where such values are NULL (counted as missing). The savepoint's rollback
            # also dropped the temporary table.
            with conn.transaction():
                strict = queries.rollup_sql(rollup, self.src, self.dst, source_schema.STRICT_VIEW)
                stats, unpriced = self._replace_window(conn, rollup, strict, params)
                return stats | {"bad_numbers_reread": 1}, unpriced

    def _replace_window(self, conn, rollup, statements, params) -> tuple[dict, list[tuple]]:
        if self.same_database():
            _aggregate_settings(conn)
            conn.execute(statements.create_agg, params)
        else:
            conn.execute(statements.create_agg_empty)
            self._copy_aggregate_from_source(conn, statements, params)
        conn.execute(statements.delete, params)
        conn.execute(statements.insert)
        if rollup.table != queries.MODEL_USAGE.table:  # re-run with the day's entity rollup
            conn.execute(statements.upsert_watermarks, params)
        stats = _row_dict(conn.execute(statements.stats))
        unpriced = conn.execute(statements.unpriced_by_model).fetchall()
        conn.execute(f"DROP TABLE {queries.AGG_TABLE}")  # the next day of the window makes its own
        return stats, unpriced

    def _copy_aggregate_from_source(self, conn, statements, params) -> None:
        """The aggregated rows (not the spans) from the source, streamed into the rollup
        database's temporary table."""
        columns = ", ".join(statements.agg_columns)
        with (
            self.source_connection() as source,
            source.cursor(name="rollup_rows") as rows,
            conn.cursor().copy(f"COPY {queries.AGG_TABLE} ({columns}) FROM STDIN") as copy,
        ):
            rows.itersize = 5_000
            _aggregate_settings(source)
            rows.execute(statements.aggregate, params)
            for row in rows:
                copy.write_row(row)

    def aggregate_only(self, rollup: queries.Rollup, start: datetime, end: datetime) -> int:
        """The rollup's aggregation as a plain SELECT, rows fetched (the benchmark's baseline)."""
        with self.source_connection() as conn:
            _aggregate_settings(conn)
            rows = conn.execute(
                queries.plain_select_sql(rollup, self.src), {"start": start, "end": end}
            ).fetchall()
        return len(rows)

    def refresh_recent_activity(self) -> dict:
        """REFRESH ... CONCURRENTLY the summary view (readers keep reading), then describe it."""
        with self.rollup_connection() as conn:
            conn.execute(_lock_key("recent_activity_summary"))
            conn.execute(queries.refresh_summary_sql(self.dst))
            users, executions, cost = conn.execute(
                "SELECT count(*), coalesce(sum(total_executions), 0), coalesce(sum(total_cost), 0)"
                f" FROM {self.dst}.recent_activity_summary"
            ).fetchone()
            top = conn.execute(
                "SELECT user_id, total_executions, success_rate, total_cost, avg_duration_ms "
                f"FROM {self.dst}.recent_activity_summary ORDER BY total_cost DESC, user_id LIMIT 5"
            ).fetchall()
            daily_executions = conn.execute(
                f"SELECT coalesce(sum(total_executions), 0) FROM {self.dst}.daily_analytics "
                "WHERE date >= (now() AT TIME ZONE 'UTC')::date - 7 "
                "AND date < (now() AT TIME ZONE 'UTC')::date"
            ).fetchone()[0]
        return {
            "users": users,
            "executions": executions,
            "cost": cost,
            "top": top,
            "daily_executions": daily_executions,
        }

    # -- observation and late data -------------------------------------------------------------

    def latest_span_start(self) -> datetime | None:
        """The newest run span's start (index-only on the run-span index)."""
        with self.source_connection() as conn:
            self._source_layout(conn)
            return conn.execute(
                f"SELECT max(started_at) FROM {self.src}.execution_spans "
                f"WHERE span_type IN {source_schema.RUN_TYPES_SQL}"
            ).fetchone()[0]

    def watermarks(self, rollup: queries.Rollup, since: datetime) -> dict[datetime, BucketState]:
        with self.rollup_connection() as conn:
            rows = conn.execute(
                "SELECT bucket, finished_runs, last_ended_at "
                f"FROM {self.dst}.analytics_rollup_watermarks WHERE rollup = %s AND bucket >= %s",
                (rollup.table, since),
            ).fetchall()
        return {bucket: BucketState(n, last) for bucket, n, last in rows}

    def source_state(
        self, rollup: queries.Rollup, since: datetime, until: datetime
    ) -> dict[datetime, BucketState]:
        with self.source_connection() as conn:
            rows = conn.execute(
                queries.finished_runs_by_bucket_sql(self.src, rollup.unit),
                {"since": since, "until": until},
            ).fetchall()
        return {bucket: BucketState(n, last) for bucket, n, last in rows}

    def model_state(
        self, rollup: queries.Rollup, since: datetime, until: datetime, conn=None
    ) -> dict[datetime, tuple[int, Decimal, Decimal]]:
        """Per bucket: finished model calls (by their own start), their tokens and cost (on
        `conn` when given: the rollup's own transaction on a shared database)."""
        with contextlib.nullcontext(conn) if conn else self.source_connection() as source:
            rows = source.execute(
                queries.model_calls_by_bucket_sql(self.src, rollup.unit),
                {"since": since, "until": until},
            ).fetchall()
        return {bucket: (int(n), tokens, cost) for bucket, n, tokens, cost in rows}

    def model_watermarks(
        self, rollup: queries.Rollup, since: datetime
    ) -> dict[datetime, tuple[int, Decimal, Decimal]]:
        with self.rollup_connection() as conn:
            rows = conn.execute(
                "SELECT bucket, model_calls, model_tokens, model_cost "
                f"FROM {self.dst}.analytics_model_watermarks WHERE rollup = %s AND bucket >= %s",
                (rollup.table, since),
            ).fetchall()
        return {bucket: (int(n), tokens, cost) for bucket, n, tokens, cost in rows}
