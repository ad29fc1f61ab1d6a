"""The rollups on a real PostgreSQL server: equal to an independent recomputation, idempotent,
safe under overlap, late data picked up, and each defect of the replaced system absent."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest

from assets.analytics.report import quality
from resources.analytics import rollup_queries as queries
from resources.analytics import source_schema
from resources.analytics.database import RollupRejected, SourceSchemaMissing
from resources.postgres import DatabaseUnavailable, PostgresResource
from tests.analytics.conftest import SpanWriter, load_traffic, make_db
from tests.analytics.recompute import (
    assert_same,
    entity_rollup,
    model_rollup,
    raw_spans,
    stored,
    unpriced_calls,
)

DAY0 = datetime(2024, 11, 9, tzinfo=UTC)
DAY1 = DAY0 + timedelta(days=1)
H = timedelta(hours=1)


def _roll_all(db, start=DAY0, end=DAY1):
    return {
        r.table: db.roll_up(r, start, end)
        for r in (queries.HOURLY, queries.DAILY, queries.MODEL_USAGE)
    }


def _add_bad_spans(spans):
    """One of each kind of bad input, beside good generated traffic."""
    t = DAY0 + timedelta(hours=5, minutes=7)
    spans.run(t, duration_ms=-5, user="neg", models=[("openai", "gpt-4o", 10, 5, 0.0001)])
    spans.run(t, duration_ms=None, ms=None, user="noend")  # completed, no end, no duration
    spans.run(t, status="error", user="weird")  # no such status: excluded
    spans.run(t, status="started", user="busy")  # still running: waits
    spans.run(t, user=None, entity="wf-anon")  # no user
    spans.run(t, user="nocost", models=[("openai", "gpt-4o", None, None, None)])  # no usage
    spans.run(t, user="nomodel", models=[("", "", 10, 10, 0.00002)])
    spans.run(t, span_type="agent_run", status="cancelled", user="bob", entity="ag-1")
    # Counted with cost 0, not bad input: the writer has no price for the model.
    spans.run(t, user="unpriced", models=[("anthropic", "claude-3-5-haiku-20241022", 9, 3, None)])
    # Bad input: a cost written with a part missing.
    trace = spans.run(t, user="halfcost")
    _model_span(spans.db, trace, t, '{"provider": "openai", "model": "gpt-4o", "promptTokens": '
                '4, "completionTokens": 2, "totalTokens": 6, "inputCost": 0.00001}')  # fmt: skip


def test_rollups_equal_an_independent_recomputation(any_layout_db):
    analytics_db, spans = any_layout_db, SpanWriter(any_layout_db)
    load_traffic(analytics_db, DAY0, DAY1, 4_000, seed=11)
    _add_bad_spans(spans)
    reports = _roll_all(analytics_db)
    raw = raw_spans(analytics_db)

    assert_same(
        entity_rollup(raw, "hour", DAY0, DAY1),
        stored(analytics_db, "hourly_analytics", ("hour", "user_id", "entity_type", "entity_id")),
    )
    assert_same(
        entity_rollup(raw, "day", DAY0, DAY1),
        stored(analytics_db, "daily_analytics", ("date", "user_id", "entity_type", "entity_id")),
    )
    assert_same(
        model_rollup(raw, DAY0, DAY1),
        stored(analytics_db, "model_usage_stats", ("date", "user_id", "provider", "model")),
    )
    stats = reports["hourly_analytics"].stats
    assert stats["unknown_status"] == 1
    assert stats["still_running"] >= 1
    assert stats["missing_user"] == 1
    assert stats["bad_duration"] == 1
    assert stats["missing_cost"] == 1 and stats["missing_tokens"] == 1
    # Malformed: unknown status, bad duration, no user, half a cost, no usage (one span each).
    assert stats["malformed_spans"] == 5
    usage = reports["model_usage_stats"].stats
    assert usage["unknown_model"] == 1 and usage["missing_cost"] == 1
    # The model call without provider/model is malformed too (and has no cost: not unpriced).
    assert usage["malformed_spans"] == 3
    assert reports["hourly_analytics"].executions == reports["daily_analytics"].executions > 400
    # Unpriced calls per model, as an independent count of the same rule.
    for table, entity in (("hourly_analytics", True), ("daily_analytics", True),
                          ("model_usage_stats", False)):  # fmt: skip
        expected = unpriced_calls(raw, DAY0, DAY1, entity=entity)
        assert reports[table].unpriced == expected, table
        assert reports[table].stats["unpriced"] == sum(expected.values())
    assert set(expected) == {("anthropic", "claude-3-5-haiku-20241022")}


def test_separate_source_and_rollup_databases_give_the_same_rows(analytics_db, second_pg_url):
    load_traffic(analytics_db, DAY0, DAY1, 3_000, seed=12)
    _roll_all(analytics_db)
    split = make_db(analytics_db.source.url, second_pg_url)
    split.migrate()
    split_reports = _roll_all(split)
    for table, keys in (
        ("hourly_analytics", ("hour", "user_id", "entity_type", "entity_id")),
        ("daily_analytics", ("date", "user_id", "entity_type", "entity_id")),
        ("model_usage_stats", ("date", "user_id", "provider", "model")),
    ):
        assert stored(split, table, keys) == stored(analytics_db, table, keys)
        assert split_reports[table].rows_written > 0
    assert split.watermarks(queries.HOURLY, DAY0) == analytics_db.watermarks(queries.HOURLY, DAY0)


def test_a_partition_run_twice_or_concurrently_has_no_duplicates(analytics_db):
    load_traffic(analytics_db, DAY0, DAY0 + 2 * H, 2_000, seed=13)
    first = analytics_db.roll_up(queries.HOURLY, DAY0, DAY0 + H)
    keys = ("hour", "user_id", "entity_type", "entity_id")
    once = stored(analytics_db, "hourly_analytics", keys)
    again = analytics_db.roll_up(queries.HOURLY, DAY0, DAY0 + H)
    assert again.rows_written == first.rows_written
    errors = []

    def run(start, end):
        try:
            analytics_db.roll_up(queries.HOURLY, start, end)
        except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    # Two identical runs and an overlapping wider one, all at once.
    threads = [threading.Thread(target=run, args=w) for w in [(DAY0, DAY0 + H)] * 2]
    threads.append(threading.Thread(target=run, args=(DAY0, DAY0 + 2 * H)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    after = stored(analytics_db, "hourly_analytics", keys)
    assert {k: v for k, v in after.items() if k[0] == DAY0} == once
    assert len(after) > len(once)  # the second hour is there too


def test_a_failed_run_leaves_the_previous_rollup_intact(analytics_db, monkeypatch):
    load_traffic(analytics_db, DAY0, DAY0 + H, 1_000, seed=14)
    analytics_db.roll_up(queries.HOURLY, DAY0, DAY0 + H)
    keys = ("hour", "user_id", "entity_type", "entity_id")
    before = stored(analytics_db, "hourly_analytics", keys)
    real = queries.rollup_sql

    def failing(*args):  # fault injection: the insert fails after the delete ran
        statements = real(*args)
        broken = statements.insert.replace(" WHERE ", " WHERE 1 / 0 = 0 AND ", 1)
        return statements.__class__(**{**statements.__dict__, "insert": broken})

    monkeypatch.setattr(queries, "rollup_sql", failing)
    with pytest.raises(psycopg.errors.DivisionByZero):
        analytics_db.roll_up(queries.HOURLY, DAY0, DAY0 + H)
    assert stored(analytics_db, "hourly_analytics", keys) == before


def test_a_rejected_window_of_several_days_is_rolled_back_whole(analytics_db, spans):
    # Write, audit, publish: the audit sees the written rows of every day of the window; a
    # rejection rolls all of them back.
    spans.run(DAY0, user="old")
    analytics_db.roll_up(queries.DAILY, DAY0, DAY1 + timedelta(days=1))
    keys = ("date", "user_id", "entity_type", "entity_id")
    before = stored(analytics_db, "daily_analytics", keys)
    spans.run(DAY0, user="new")
    spans.run(DAY1, user="new")
    seen = []

    def reject(report):
        seen.append((report.rows_written, report.executions, report.invalid_rows))
        return "rejected by the test"

    with pytest.raises(RollupRejected, match="rejected by the test") as raised:
        analytics_db.roll_up(queries.DAILY, DAY0, DAY1 + timedelta(days=1), audit=reject)
    assert seen == [(3, 3, 0)]  # the audit read the written, unpublished rows
    assert raised.value.report.stats["run_spans_read"] == 3
    assert stored(analytics_db, "daily_analytics", keys) == before


def test_late_spans_are_picked_up_and_vanished_spans_leave_no_stale_rows(analytics_db, spans):
    t = DAY0 + timedelta(hours=3, minutes=58)
    spans.run(t, user="alice", models=[("openai", "gpt-4o", 100, 50, 0.00075)])
    late_trace = spans.run(t, status="started", user="carol", entity="wf-9")
    analytics_db.roll_up(queries.HOURLY, DAY0 + 3 * H, DAY0 + 4 * H)
    assert _users(analytics_db) == {"alice"}
    # The run ends after its hour was rolled up (defect 4: no look-back); re-rolling picks it up.
    with analytics_db.source_connection() as conn:
        conn.execute(
            "UPDATE execution_spans SET status = 'completed', ended_at = started_at + "
            "interval '20 minutes', duration_ms = 1200000 WHERE trace_id = %s",
            (late_trace,),
        )
    analytics_db.roll_up(queries.HOURLY, DAY0 + 3 * H, DAY0 + 4 * H)
    assert _users(analytics_db) == {"alice", "carol"}
    # Alice's spans are deleted at the source (defect 3: upsert-only kept a stale row).
    with analytics_db.source_connection() as conn:
        conn.execute("DELETE FROM execution_spans WHERE attributes->>'userId' = 'alice'")
    analytics_db.roll_up(queries.HOURLY, DAY0 + 3 * H, DAY0 + 4 * H)
    assert _users(analytics_db) == {"carol"}


def _users(db) -> set[str]:
    with db.rollup_connection() as conn:
        return {u for (u,) in conn.execute("SELECT DISTINCT user_id FROM hourly_analytics")}


def test_defect_1_lowercase_span_types_are_counted(analytics_db, spans):
    spans.run(DAY0, span_type="workflow_run")
    spans.run(DAY0, span_type="agent_run")
    spans.run(DAY0, span_type="WORKFLOW_RUN", user="upper")  # not the platform's spelling
    report = analytics_db.roll_up(queries.HOURLY, DAY0, DAY0 + H)
    assert report.executions == 2
    assert _users(analytics_db) == {"alice"}


def test_defect_2_buckets_are_utc_whatever_the_session_time_zone(analytics_db, spans, pg_url):
    with psycopg.connect(pg_url, autocommit=True) as conn:
        dbname = conn.info.dbname
        conn.execute(f"ALTER DATABASE \"{dbname}\" SET timezone TO 'America/Los_Angeles'")
    # 00:30 UTC on the 9th is still the 8th in Los Angeles; it belongs to the 9th (UTC).
    spans.run(DAY0 + timedelta(minutes=30), user="early")
    spans.run(DAY0 + timedelta(hours=23, minutes=30), user="late")
    spans.run(DAY0 - timedelta(minutes=30), user="before")
    report = analytics_db.roll_up(queries.DAILY, DAY0, DAY1)
    assert report.executions == 2
    with analytics_db.rollup_connection() as conn:
        rows = conn.execute("SELECT date, user_id FROM daily_analytics ORDER BY user_id").fetchall()
    assert rows == [(DAY0.date(), "early"), (DAY0.date(), "late")]


def test_defect_5_run_tokens_and_cost_come_from_the_traces_model_calls(analytics_db, spans):
    spans.run(
        DAY0,
        models=[
            ("openai", "gpt-4o", 1000, 500, 0.0075),
            ("openai", "gpt-4o-mini", 200, 100, 0.00009),
        ],
    )
    analytics_db.roll_up(queries.HOURLY, DAY0, DAY0 + H)
    with analytics_db.rollup_connection() as conn:
        row = conn.execute(
            "SELECT prompt_tokens, completion_tokens, total_tokens, total_cost FROM hourly_analytics"
        ).fetchone()
    assert row[:3] == (1200, 600, 1800)
    assert str(row[3]) == "0.007590"


def test_each_finished_run_of_a_trace_carries_the_traces_model_calls(analytics_db, spans):
    # A workflow run and the agent run inside it share a trace: each is an execution whose
    # tokens are the trace's. A still-running run's model calls wait for a later rollup.
    trace = spans.run(DAY0, entity="wf-1", models=[("openai", "gpt-4o", 100, 50, 0.002)])
    spans.run(DAY0, span_type="agent_run", entity="ag-1", trace_id=trace)
    spans.run(DAY0, status="started", entity="wf-2", models=[("openai", "gpt-4o", 7, 7, 0.5)])
    report = analytics_db.roll_up(queries.HOURLY, DAY0, DAY0 + H)
    with analytics_db.rollup_connection() as conn:
        rows = conn.execute(
            "SELECT entity_type, entity_id, total_executions, total_tokens, total_cost "
            "FROM hourly_analytics ORDER BY entity_id"
        ).fetchall()
    assert [(t, e, n, tokens, str(cost)) for t, e, n, tokens, cost in rows] == [
        ("agent", "ag-1", 1, 150, "0.002000"),
        ("workflow", "wf-1", 1, 150, "0.002000"),
    ]
    assert report.stats["still_running"] == 1 and report.stats["model_spans_read"] == 2


def test_defect_6_statuses_follow_the_documented_rule(analytics_db, spans):
    for status in ("completed", "completed", "failed", "cancelled", "error", "started"):
        spans.run(DAY0, status=status)
    report = analytics_db.roll_up(queries.HOURLY, DAY0, DAY0 + H)
    with analytics_db.rollup_connection() as conn:
        row = conn.execute(
            "SELECT total_executions, successful_executions, failed_executions, "
            "cancelled_executions, success_rate FROM hourly_analytics"
        ).fetchone()
    assert row[:4] == (4, 2, 1, 1)
    assert str(row[4]) == "0.500000"
    assert report.stats["unknown_status"] == 1 and report.stats["still_running"] == 1


def test_defect_7_model_calls_take_their_runs_user(analytics_db, spans):
    # A run that started the day before: its model call today still finds the user.
    trace = spans.run(DAY0 - timedelta(hours=30), ms=40 * 3_600_000, user="dave")
    spans.run(
        DAY0, user="erin", models=[("anthropic", "claude-3-5-haiku-20241022", 10, 10, 0.0001)]
    )
    with analytics_db.source_connection() as conn:
        conn.execute(
            "INSERT INTO execution_spans (trace_id, span_id, name, span_type, started_at, ended_at,"
            " duration_ms, status, attributes) VALUES (%s, gen_random_uuid(), 'm', "
            "'model_generation', %s, %s, 50, 'completed', %s)",
            (trace, DAY0 + H, DAY0 + H, '{"provider": "openai", "model": "gpt-4o"}'),
        )
        # an orphan model call: no run in its trace
        conn.execute(
            "INSERT INTO execution_spans (trace_id, span_id, name, span_type, started_at, ended_at,"
            " duration_ms, status, attributes) VALUES (gen_random_uuid(), gen_random_uuid(), 'm', "
            "'model_generation', %s, %s, 50, 'completed', '{}')",
            (DAY0 + H, DAY0 + H),
        )
    report = analytics_db.roll_up(queries.MODEL_USAGE, DAY0, DAY1)
    with analytics_db.rollup_connection() as conn:
        users = dict(conn.execute("SELECT model, user_id FROM model_usage_stats").fetchall())
    assert users == {"claude-3-5-haiku-20241022": "erin", "gpt-4o": "dave", "unknown": "unknown"}
    assert report.stats["user_from_run"] == 2 and report.stats["missing_user"] == 1


def test_defect_10_the_view_weights_averages_by_count(analytics_db, spans):
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    two_days_ago, old = today - 2 * timedelta(days=1), today - 9 * timedelta(days=1)
    for _ in range(3):
        spans.run(two_days_ago + H, ms=100, user="u1")
    spans.run(two_days_ago + 2 * H, ms=1000, user="u1", entity="wf-2")
    spans.run(two_days_ago + 2 * H, status="failed", ms=10, user="u2")
    spans.run(old, ms=5, user="u3")  # outside the 7 days
    for start in (two_days_ago, old):
        analytics_db.roll_up(queries.DAILY, start, start + timedelta(days=1))
    summary = analytics_db.refresh_recent_activity()
    with analytics_db.rollup_connection() as conn:
        rows = conn.execute(
            "SELECT user_id, total_executions, success_rate, avg_duration_ms, entities_used "
            "FROM recent_activity_summary ORDER BY user_id"
        ).fetchall()
    # (3*100 + 1000) / 4 = 325, not the unweighted (100 + 1000) / 2 = 550.
    assert rows[0][0] == "u1" and rows[0][1] == 4 and rows[0][3] == pytest.approx(325.0)
    assert rows[0][4] == 2
    assert rows[1][:3] == ("u2", 1, 0)
    assert len(rows) == 2
    assert summary["executions"] == summary["daily_executions"] == 5


def test_the_view_refreshes_concurrently_while_a_reader_holds_it(analytics_db, spans):
    analytics_db.refresh_recent_activity()
    spans.run(datetime.now(UTC) - timedelta(days=1), user="zed")
    yesterday = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(
        days=1
    )
    analytics_db.roll_up(queries.DAILY, yesterday, yesterday + timedelta(days=1))
    with analytics_db.rollup_connection() as reader:
        reader.execute("SELECT * FROM recent_activity_summary").fetchall()  # holds its lock
        done = threading.Event()
        threading.Thread(
            target=lambda: (analytics_db.refresh_recent_activity(), done.set()), daemon=True
        ).start()
        # A plain REFRESH would wait for the reader's transaction; CONCURRENTLY does not.
        assert done.wait(timeout=60)
    with analytics_db.rollup_connection() as conn:
        assert conn.execute("SELECT user_id FROM recent_activity_summary").fetchall() == [("zed",)]


def test_naive_source_timestamps_are_read_as_utc(pg_url):
    db = make_db(pg_url)
    with db.source_connection() as conn:
        conn.execute(
            source_schema.SOURCE_TABLE_DDL.format(src='"public"').replace(
                "timestamptz", "timestamp"
            )
        )
        conn.execute("SET TIME ZONE 'Asia/Tokyo'")
        conn.execute(
            "INSERT INTO execution_spans (trace_id, span_id, name, span_type, entity_id, "
            "started_at, ended_at, duration_ms, status, attributes) VALUES (gen_random_uuid(), "
            "gen_random_uuid(), 'r', 'workflow_run', 'wf', '2024-11-09 00:30', '2024-11-09 00:31',"
            " 60000, 'completed', '{\"userId\": \"naive\"}')"
        )
    db.migrate()
    report = db.roll_up(queries.HOURLY, DAY0, DAY0 + H)
    assert report.executions == 1
    # Typed columns added later by the migration (ANALYTICS_ADD_TYPED_COLUMNS) give the same.
    typed = db.model_copy(update={"add_typed_columns": True})
    typed.migrate()
    assert "attr_total_cost" in typed._source_layout_now()
    assert typed.roll_up(queries.HOURLY, DAY0, DAY0 + H).executions == 1


def test_missing_schema_and_unreachable_database_say_what_to_do(pg_url):
    db = make_db(pg_url)
    with pytest.raises(SourceSchemaMissing, match="ANALYTICS_SOURCE_DATABASE_URL"):
        db.migrate()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE execution_spans (id int)")
    with pytest.raises(SourceSchemaMissing, match="lacks column"):
        db.migrate()
    dead = make_db("postgresql://analytics:s3cret@127.0.0.1:1/nowhere")
    with pytest.raises(DatabaseUnavailable) as raised:
        dead.migrate()
    assert "s3cret" not in str(raised.value) and "POSTGRES_URL" in str(raised.value)
    assert isinstance(dead.rollup, PostgresResource)


def test_a_cost_that_is_not_a_number_is_counted_as_missing(any_layout_db):
    analytics_db, spans = any_layout_db, SpanWriter(any_layout_db)
    jsonb_only = "attr_total_cost" not in analytics_db._source_layout_now()
    trace = spans.run(DAY0, models=[("openai", "gpt-4o", 10, 10, 0.000125)])
    with analytics_db.source_connection() as conn:
        conn.execute(
            "INSERT INTO execution_spans (trace_id, span_id, name, span_type, started_at, ended_at,"
            " duration_ms, status, attributes) VALUES (%s, gen_random_uuid(), 'm', "
            "'model_generation', %s, %s, 50, 'completed', %s)",
            (
                trace,
                DAY0,
                DAY0,
                '{"provider": "openai", "model": "gpt-4o", "totalCost": "n/a", '
                '"promptTokens": {"oops": 1}, "completionTokens": 5}',
            ),
        )
    hourly = analytics_db.roll_up(queries.HOURLY, DAY0, DAY0 + H)
    usage = analytics_db.roll_up(queries.MODEL_USAGE, DAY0, DAY1)
    # Parsing jsonb, the fast view fails on "n/a" and the window is re-read strictly; typed
    # columns hold NULL from the start.
    assert hourly.stats["bad_numbers_reread"] == usage.stats["bad_numbers_reread"] == jsonb_only
    assert hourly.stats["missing_cost"] == 1 and usage.stats["missing_cost"] == 1
    assert str(hourly.cost) == "0.000125" and usage.executions == 2
    # The bad call's prompt tokens are missing (not guessed); its total is the part recorded.
    assert hourly.tokens == 20 + 5 and hourly.stats["missing_tokens"] == 1


def test_naive_window_bounds_are_refused(analytics_db):
    with pytest.raises(ValueError, match="no time zone"):
        analytics_db.roll_up(queries.HOURLY, datetime(2024, 11, 9), datetime(2024, 11, 9, 1))


def _model_span(db, trace, at, attributes: str, status="completed"):
    with db.source_connection() as conn:
        conn.execute(
            "INSERT INTO execution_spans (trace_id, span_id, name, span_type, started_at, ended_at,"
            " duration_ms, status, attributes) VALUES (%s, gen_random_uuid(), 'm', "
            "'model_generation', %s, %s, 50, %s, %s)",
            (trace, at, None if status == "started" else at, status, attributes),
        )


def _tokens(db, table: str) -> dict:
    with db.rollup_connection() as conn:
        return dict(conn.execute(f"SELECT user_id, sum(total_tokens) FROM {table} GROUP BY 1"))


def test_numbers_written_as_strings_read_one_way_whatever_else_the_window_holds(any_layout_db):
    # Bug 1: the fast path cast "12" to 12, the strict path (re-read when any span of the window
    # held a non-number) read it as missing: hourly and daily disagreed on the same run.
    db, spans = any_layout_db, SpanWriter(any_layout_db)
    first = spans.run(DAY0, user="u1", models=[("openai", "gpt-4o", 100, 20, 0.001)])
    _model_span(db, first, DAY0, '{"provider": "openai", "model": "gpt-4o", "totalTokens": "12"}')
    other = spans.run(DAY0 + 5 * H, user="u2", models=[("openai", "gpt-4o", 1, 1, 0.001)])
    _model_span(db, other, DAY0 + 5 * H, '{"provider": "openai", "model": "gpt-4o", '
                '"promptTokens": "abc", "completionTokens": 3}')  # fmt: skip
    db.roll_up(queries.HOURLY, DAY0, DAY0 + H)  # the hour alone: no "abc" in it
    db.roll_up(queries.DAILY, DAY0, DAY1)  # the day: "abc" in it
    db.roll_up(queries.MODEL_USAGE, DAY0, DAY1)
    assert _tokens(db, "hourly_analytics")["u1"] == 120  # "12" is missing, on every path
    assert _tokens(db, "daily_analytics") == {"u1": 120, "u2": 5}
    assert _tokens(db, "model_usage_stats") == {"u1": 120, "u2": 5}


def test_a_total_is_the_recorded_total_else_the_parts_recorded(analytics_db, spans):
    # Bug 3: with the total absent and one part missing, the total became 0 while the part was
    # still summed into prompt_tokens / input_cost.
    trace = spans.run(DAY0, user="u1")
    _model_span(analytics_db, trace, DAY0, '{"provider": "openai", "model": "gpt-4o", '
                '"promptTokens": 40, "inputCost": 0.0001}')  # fmt: skip
    for rollup in (queries.HOURLY, queries.MODEL_USAGE):
        report = analytics_db.roll_up(
            rollup, DAY0, DAY1 if rollup is queries.MODEL_USAGE else DAY0 + H
        )
        assert report.stats["missing_tokens"] == report.stats["missing_cost"] == 1
    for table in ("hourly_analytics", "model_usage_stats"):
        with analytics_db.rollup_connection() as conn:
            row = conn.execute(
                f"SELECT prompt_tokens, total_tokens, input_cost, total_cost FROM {table}"
            ).fetchone()
        assert (row[0], row[1], str(row[2]), str(row[3])) == (40, 40, "0.000100", "0.000100")


def test_model_calls_count_by_one_status_rule_in_every_rollup(analytics_db, spans):
    # Bug 4: the entity rollups summed model spans of any status, model_usage_stats only the
    # finished ones: a still-running (or unknown-status) call's tokens counted in one only.
    trace = spans.run(DAY0, user="u1", models=[("openai", "gpt-4o", 10, 5, 0.001)])
    tokens = '{"provider": "openai", "model": "gpt-4o", "promptTokens": 7, "completionTokens": 7}'
    _model_span(analytics_db, trace, DAY0, tokens, status="started")
    _model_span(analytics_db, trace, DAY0, tokens, status="error")
    _roll_all(analytics_db)
    for table in ("hourly_analytics", "daily_analytics", "model_usage_stats"):
        assert _tokens(analytics_db, table) == {"u1": 15}, table


def test_workflows_are_keyed_by_name_and_model_calls_by_their_runs_user(analytics_db, spans):
    # The platform's layout: a workflow_run's entity_id is its execution, so keyed by entity_id
    # every execution was its own row; the workflow is its workflowName.
    for _ in range(3):
        spans.run(DAY0, user="u1", entity="Lead enrichment")
    spans.run(DAY0, user="u1", entity=None)  # no workflowName: 'unknown', counted
    agent = spans.run(DAY0, span_type="agent_run", user="u1", entity="agent-7")
    # A model span with a userId of its own (the platform writes none): the run's user wins.
    _model_span(analytics_db, agent, DAY0, '{"provider": "openai", "model": "gpt-4o", '
                '"userId": "someone-else", "totalTokens": 9}')  # fmt: skip
    report = analytics_db.roll_up(queries.DAILY, DAY0, DAY1)
    analytics_db.roll_up(queries.MODEL_USAGE, DAY0, DAY1)
    with analytics_db.rollup_connection() as conn:
        rows = conn.execute(
            "SELECT entity_type, entity_id, total_executions, total_tokens FROM daily_analytics "
            "ORDER BY 1, 2"
        ).fetchall()
    assert rows == [("agent", "agent-7", 1, 9), ("workflow", "Lead enrichment", 3, 0),
                    ("workflow", "unknown", 1, 0)]  # fmt: skip
    assert report.stats["missing_entity"] == 1
    assert _tokens(analytics_db, "model_usage_stats") == {"u1": 9}


def test_an_unpriced_call_is_counted_with_cost_zero_and_apart_from_bad_input(any_layout_db):
    db, spans = any_layout_db, SpanWriter(any_layout_db)
    haiku = ("anthropic", "claude-3-5-haiku-20241022", 300, 40, None)  # tokens, no cost key
    spans.run(DAY0, user="u1", models=[haiku, ("openai", "gpt-4o", 100, 20, 0.0005)])
    for rollup, end in ((queries.HOURLY, DAY0 + H), (queries.MODEL_USAGE, DAY1)):
        report = db.roll_up(rollup, DAY0, end)
        assert report.tokens == 460 and str(report.cost) == "0.000500"
        assert report.stats["unpriced"] == 1 and report.stats["missing_cost"] == 0
        assert report.stats["malformed_spans"] == 0 and quality(report.stats, 0.0).passed
        assert report.unpriced == {("anthropic", "claude-3-5-haiku-20241022"): 1}
    with db.rollup_connection() as conn:
        rows = conn.execute(
            "SELECT model, total_calls, total_tokens, total_cost FROM model_usage_stats ORDER BY 1"
        ).fetchall()
    assert [(m, n, t, str(c)) for m, n, t, c in rows] == [
        ("claude-3-5-haiku-20241022", 1, 340, "0.000000"),
        ("gpt-4o", 1, 120, "0.000500"),
    ]


def test_a_real_writers_day_with_unpriced_models_publishes_and_matches_the_platforms_sql(
    analytics_db,
):
    # The platform's own layout (sandboxes/analytics_traffic.py): claude-3-5-haiku has no price,
    # about 12 % of completed calls. Before issue 22 each counted as bad input (missing_cost)
    # and span_quality refused all three rollups.
    load_traffic(analytics_db, DAY0, DAY1, 20_000, seed=21)
    reports = _roll_all(analytics_db)
    for table, report in reports.items():
        verdict = quality(report.stats, 0.05)
        assert verdict.passed and verdict.bad == 0, (table, report.stats)
        assert verdict.unpriced > 0.05 * verdict.total, table  # the old rule's refusal
    calls = reports["model_usage_stats"]
    assert 0.08 < calls.stats["unpriced"] / calls.executions < 0.16
    # The platform's own aggregation (its span-type case bug fixed): per day, provider, model.
    with analytics_db.source_connection() as conn:
        platform = {
            tuple(row[:3]): row[3:]
            for row in conn.execute(PLATFORM_MODEL_USAGE_SQL, {"start": DAY0, "end": DAY1})
        }
    with analytics_db.rollup_connection() as conn:
        ours = {
            tuple(row[:3]): row[3:]
            for row in conn.execute(
                "SELECT date, provider, model, sum(total_calls), sum(successful_calls), "
                "sum(failed_calls), sum(prompt_tokens), sum(completion_tokens), "
                "sum(input_cost), sum(output_cost), sum(total_cost), count(*) "
                "FROM model_usage_stats GROUP BY 1, 2, 3"
            )
        }
    assert set(ours) == set(platform) and len(ours) == 6
    # The entity rollups: the columns both compute (executions by outcome, mean duration), the
    # platform's keys fixed as its layout allows (a workflow by name, an agent by its id).
    hour = "date_trunc('hour', started_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
    day = "(started_at AT TIME ZONE 'UTC')::date"
    for table, bucket in (("hourly_analytics", hour), ("daily_analytics", day)):
        with analytics_db.source_connection() as conn:
            platform_runs = {
                tuple(row[:4]): row[4:]
                for row in conn.execute(
                    PLATFORM_ENTITY_SQL.format(bucket=bucket), {"start": DAY0, "end": DAY1}
                )
            }
        key = "hour" if bucket == hour else "date"
        with analytics_db.rollup_connection() as conn:
            rows = conn.execute(
                f"SELECT {key}, user_id, entity_type, entity_id, total_executions, "
                f"successful_executions, failed_executions, avg_duration_ms FROM {table}"
            ).fetchall()
        assert len(rows) == len(platform_runs) > 100, table
        for *row_key, n, ok, failed, avg in rows:
            want = platform_runs[tuple(row_key)]
            assert (n, ok, failed) == tuple(want[:3]) and avg == pytest.approx(float(want[3]))
    for key, (*counts, rows) in ours.items():
        want = platform[key]
        assert counts[:5] == list(want[:5]), key  # calls and tokens: exactly
        for got, exact in zip(counts[5:], want[5:], strict=True):  # cost: our rows round to 1e-6
            assert abs(got - exact) <= rows * Decimal("0.0000005"), key


# The platform aggregator's model_usage_stats formula (per day, provider and model; its user is
# the model span's own userId, which the writer never sets), with lowercase span types.
PLATFORM_MODEL_USAGE_SQL = """
SELECT (started_at AT TIME ZONE 'UTC')::date, attributes->>'provider', attributes->>'model',
       count(*), count(*) FILTER (WHERE status = 'completed'),
       count(*) FILTER (WHERE status IN ('failed', 'error')),
       sum(coalesce((attributes->>'promptTokens')::bigint, 0)),
       sum(coalesce((attributes->>'completionTokens')::bigint, 0)),
       sum(coalesce((attributes->>'inputCost')::numeric, 0)),
       sum(coalesce((attributes->>'outputCost')::numeric, 0)),
       sum(coalesce((attributes->>'totalCost')::numeric, 0))
FROM execution_spans
WHERE span_type = 'model_generation' AND ended_at IS NOT NULL
  AND started_at >= %(start)s AND started_at < %(end)s
  AND attributes->>'provider' IS NOT NULL AND attributes->>'model' IS NOT NULL
GROUP BY 1, 2, 3"""

# Its hourly/daily formula over the run spans, keyed as the platform's layout allows.
PLATFORM_ENTITY_SQL = """
SELECT {bucket},
       attributes->>'userId',
       CASE span_type WHEN 'workflow_run' THEN 'workflow' ELSE 'agent' END,
       CASE span_type WHEN 'workflow_run' THEN attributes->>'workflowName' ELSE entity_id END,
       count(*), count(*) FILTER (WHERE status = 'completed'),
       count(*) FILTER (WHERE status IN ('failed', 'error')),
       avg(extract(epoch FROM (ended_at - started_at)) * 1000)
FROM execution_spans
WHERE span_type IN ('workflow_run', 'agent_run') AND ended_at IS NOT NULL
  AND started_at >= %(start)s AND started_at < %(end)s
GROUP BY 1, 2, 3, 4"""


def test_spans_with_sql_null_attributes_are_read_as_malformed(any_layout_db):
    # The platform's DDL lets `attributes` be NULL (its writer always writes an object).
    db = any_layout_db
    trace = SpanWriter(db).run(DAY0, user="u1", models=[("openai", "gpt-4o", 10, 5, 0.001)])
    with db.source_connection() as conn:
        for span_type in ("workflow_run", "model_generation"):
            conn.execute(
                "INSERT INTO execution_spans (trace_id, span_id, name, span_type, entity_id, "
                "started_at, ended_at, duration_ms, status, attributes) VALUES (%s, "
                "gen_random_uuid(), 'x', %s, %s, %s, %s, 20, 'completed', NULL)",
                (trace, span_type, trace, DAY0, DAY0),
            )
    hourly = db.roll_up(queries.HOURLY, DAY0, DAY0 + H)
    usage = db.roll_up(queries.MODEL_USAGE, DAY0, DAY1)
    assert hourly.executions == 2 and hourly.stats["missing_user"] == 1
    assert hourly.stats["missing_entity"] == 1 and hourly.stats["unpriced"] == 0
    # The run without attributes, and the call without any (no tokens, twice: once per run).
    assert hourly.stats["malformed_spans"] == 1 + 2
    assert usage.stats["unknown_model"] == 1 and usage.stats["unpriced"] == 0
    assert usage.executions == 2 and usage.tokens == 15


def test_source_version_3_upgrades_to_4(pg_url):
    # A source migrated by the previous version: typed columns without attr_cost_recorded, the
    # v3 model index. The next run adds the column (one rewrite), the views and the v4 index.
    db = make_db(pg_url)
    db.create_source_table(typed_columns=True)
    db.migrate()
    SpanWriter(db).run(DAY0, user="u1", models=[("anthropic", "claude-3-5-haiku", 8, 2, None)])
    with db.source_connection() as conn:
        conn.execute("ALTER TABLE execution_spans DROP COLUMN attr_cost_recorded CASCADE")
        conn.execute(
            "CREATE INDEX execution_spans_models_covering_v3_idx ON execution_spans (started_at) "
            "WHERE span_type = 'model_generation'"
        )
        conn.execute("DELETE FROM analytics_schema_migrations WHERE component = 'source'")
        conn.execute("INSERT INTO analytics_schema_migrations (component, version) "
                     "VALUES ('source', 3)")  # fmt: skip
    db.migrate()
    with db.source_connection() as conn:
        indexes = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes")}
    assert "attr_cost_recorded" in db._source_layout_now()
    assert "execution_spans_models_covering_v4_idx" in indexes
    assert "execution_spans_models_covering_v3_idx" not in indexes
    report = db.roll_up(queries.MODEL_USAGE, DAY0, DAY1)
    assert report.stats["unpriced"] == 1 and report.stats["malformed_spans"] == 0
