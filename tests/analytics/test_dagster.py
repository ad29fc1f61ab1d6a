"""The code location: definitions, schedules targeting the right partitions, the late-span sensor,
and end-to-end materialisations against a real PostgreSQL server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from assets.analytics.daily_analytics import daily_analytics
from assets.analytics.execution_spans import execution_spans
from assets.analytics.hourly_analytics import hourly_analytics
from assets.analytics.model_usage_stats import model_usage_stats
from assets.analytics.recent_activity_summary import recent_activity_summary
from resources.analytics import rollup_queries as queries
from schedules.analytics import (
    analytics_daily_job,
    analytics_hourly_job,
    analytics_late_spans_sensor,
    analytics_observe_spans_job,
    late_span_run_requests,
)
from tests.analytics.conftest import load_traffic, make_resources
from tests.metadata import table_rows

ROOT = Path(__file__).resolve().parents[2]
DAY0 = datetime(2024, 11, 9, tzinfo=UTC)
H = timedelta(hours=1)
ASSETS = [
    execution_spans,
    hourly_analytics,
    daily_analytics,
    model_usage_stats,
    recent_activity_summary,
]


def _defs(resources) -> dg.Definitions:
    """The code location's assets and jobs with the test database's resources."""
    return dg.Definitions(
        assets=ASSETS,
        jobs=[analytics_hourly_job, analytics_daily_job, analytics_observe_spans_job],
        resources=resources,
    )


def test_code_location_loads_with_its_schedules_sensors_and_checks():
    from pipelines.analytics import defs

    repo = defs.get_repository_def()
    assert {j for j in repo.job_names if not j.startswith("__")} == {
        "analytics_hourly_job",
        "analytics_daily_job",
        "analytics_observe_spans_job",
    }
    assert {s.name for s in repo.schedule_defs} == {
        "analytics_hourly_schedule",
        "analytics_daily_schedule",
        "analytics_observe_spans_schedule",
    }
    assert {s.name for s in repo.sensor_defs} == {
        "analytics_late_spans_sensor",
        "analytics_automation_condition_sensor",  # recent_activity_summary follows daily_analytics
        "analytics_run_failure_sensor",
    }
    graph = defs.resolve_asset_graph()
    assert len(list(graph.asset_check_keys)) == 3 * 3 + 1 + 1  # rollups, view, spans_arriving
    hourly = graph.get(hourly_analytics.key).freshness_policy
    assert hourly.fail_window.to_timedelta() == timedelta(hours=2)
    for asset in (daily_analytics, model_usage_stats, recent_activity_summary):
        assert graph.get(asset.key).freshness_policy.fail_window.to_timedelta() == timedelta(
            hours=26
        )


def _location_schedule(name: str) -> dg.ScheduleDefinition:
    """A schedule as the code location resolves it (its job's partitions come from its assets)."""
    from pipelines.analytics import defs

    return defs.resolve_schedule_def(name)


def test_asset_specs_snapshot():
    for asset, partitions in (
        (hourly_analytics, "Hourly"),
        (daily_analytics, "Daily"),
        (model_usage_stats, "Daily"),
    ):
        spec = next(iter(asset.specs))
        assert spec.group_name == "analytics" and spec.kinds == {"postgres", "sql"}
        assert spec.code_version == "1" and spec.description
        assert str(asset.partitions_def).startswith(partitions)
        assert asset.partitions_def.timezone == "UTC"
        assert asset.backfill_policy == dg.BackfillPolicy.single_run()
        assert {d.asset_key for d in spec.deps} == {execution_spans.key}
        assert {c.name for c in asset.check_specs} == {
            "reconciles_with_spans",
            "values_in_range",
            "span_quality",
        }
        assert all(c.blocking for c in asset.check_specs)
    view = next(iter(recent_activity_summary.specs))
    assert {d.asset_key for d in view.deps} == {daily_analytics.key}
    assert recent_activity_summary.partitions_def is None


def test_runs_are_tagged_and_the_daily_job_refreshes_the_view():
    for job in (analytics_hourly_job, analytics_daily_job, analytics_observe_spans_job):
        assert job.tags["pipeline/serial"] == "analytics"
    resources = make_resources("postgresql://nobody@127.0.0.1:1/none")  # never connected
    job = _defs(resources).resolve_job_def("analytics_daily_job")
    keys = set(job.asset_layer.executable_asset_keys)
    assert keys == {daily_analytics.key, model_usage_stats.key, recent_activity_summary.key}


@pytest.mark.parametrize(
    ("tick", "expected"),
    [
        (datetime(2024, 11, 9, 14, 5, tzinfo=UTC), "2024-11-09-13:00"),
        (datetime(2024, 11, 10, 0, 5, tzinfo=UTC), "2024-11-09-23:00"),
        (datetime(2024, 3, 1, 0, 5, tzinfo=UTC), "2024-02-29-23:00"),
    ],
)
def test_hourly_schedule_targets_the_previous_hour(tick, expected):
    hourly_schedule = _location_schedule("analytics_hourly_schedule")
    assert hourly_schedule.cron_schedule == "5 * * * *"
    assert hourly_schedule.execution_timezone == "UTC"
    context = dg.build_schedule_context(scheduled_execution_time=tick)
    [request] = list(hourly_schedule.evaluate_tick(context).run_requests)
    assert request.partition_key == expected


@pytest.mark.parametrize(
    ("tick", "expected"),
    [
        (datetime(2024, 11, 10, 0, 5, tzinfo=UTC), "2024-11-09"),
        (datetime(2025, 1, 1, 0, 5, tzinfo=UTC), "2024-12-31"),
    ],
)
def test_daily_schedule_targets_the_previous_day(tick, expected):
    daily_schedule = _location_schedule("analytics_daily_schedule")
    assert daily_schedule.cron_schedule == "5 0 * * *"
    context = dg.build_schedule_context(scheduled_execution_time=tick)
    [request] = list(daily_schedule.evaluate_tick(context).run_requests)
    assert request.partition_key == expected


def test_late_span_sensor_requests_the_changed_hour_and_day(
    analytics_resources, analytics_db, spans
):
    recent = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - 5 * H
    day = recent.replace(hour=0)
    spans.run(recent + timedelta(minutes=1), user="alice")
    late = spans.run(recent + timedelta(minutes=2), status="started", user="bob")
    analytics_db.roll_up(queries.HOURLY, recent, recent + H)
    analytics_db.roll_up(queries.DAILY, day, day + timedelta(days=1))
    with dg.build_sensor_context(resources=analytics_resources) as context:
        assert isinstance(analytics_late_spans_sensor(context), dg.SkipReason)
    with analytics_db.source_connection() as conn:
        conn.execute(
            "UPDATE execution_spans SET status = 'failed', ended_at = now() WHERE trace_id = %s",
            (late,),
        )
    with dg.build_sensor_context(resources=analytics_resources) as context:
        requests = analytics_late_spans_sensor(context)
    assert {(r.job_name, r.partition_key) for r in requests} == {
        ("analytics_hourly_job", recent.strftime("%Y-%m-%d-%H:%M")),
        ("analytics_daily_job", day.strftime("%Y-%m-%d")),
    }
    assert all(r.tags["pipeline/serial"] == "analytics" for r in requests)
    analytics_db.roll_up(queries.HOURLY, recent, recent + H)
    analytics_db.roll_up(queries.DAILY, day, day + timedelta(days=1))
    assert late_span_run_requests(analytics_db, datetime.now(UTC)) == []


@pytest.mark.parametrize("change", ["delete", "correct"])
def test_late_span_sensor_sees_a_model_call_deleted_or_corrected(analytics_db, spans, change):
    # Bug 2: the sensor compared only run spans; a model span deleted (or its tokens corrected)
    # in an already rolled-up hour was never re-aggregated.
    recent = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - 5 * H
    day = recent.replace(hour=0)
    big = ("openai", "gpt-4o", 1_500, 353, 0.02)
    trace = spans.run(recent + timedelta(minutes=1), span_type="agent_run", entity="ag-1",
                      models=[big, ("openai", "gpt-4o", 10, 5, 0.001)])  # fmt: skip
    analytics_db.roll_up(queries.HOURLY, recent, recent + H)
    analytics_db.roll_up(queries.DAILY, day, day + timedelta(days=1))
    assert late_span_run_requests(analytics_db, datetime.now(UTC)) == []
    with analytics_db.source_connection() as conn:
        where = "trace_id = %s AND span_type = 'model_generation' AND attributes->>'totalTokens' = '1853'"
        if change == "delete":
            conn.execute(f"DELETE FROM execution_spans WHERE {where}", (trace,))
        else:
            conn.execute(
                "UPDATE execution_spans SET attributes = attributes || '{\"totalTokens\": 1800}'"
                f" WHERE {where}",
                (trace,),
            )
    requests = late_span_run_requests(analytics_db, datetime.now(UTC))
    assert {(r.job_name, r.partition_key) for r in requests} == {
        ("analytics_hourly_job", recent.strftime("%Y-%m-%d-%H:%M")),
        ("analytics_daily_job", day.strftime("%Y-%m-%d")),
    }
    analytics_db.roll_up(queries.HOURLY, recent, recent + H)
    analytics_db.roll_up(queries.DAILY, day, day + timedelta(days=1))
    assert late_span_run_requests(analytics_db, datetime.now(UTC)) == []
    with analytics_db.rollup_connection() as conn:
        tokens = conn.execute("SELECT total_tokens FROM hourly_analytics").fetchone()[0]
    assert tokens == {"delete": 15, "correct": 1815}[change]


def _check_results(result) -> dict[str, bool]:
    return {
        f"{e.asset_key.path[-1]}:{e.check_name}": e.passed
        for e in result.get_asset_check_evaluations()
    }


def test_end_to_end_hourly_range_daily_and_view(analytics_resources, analytics_db):
    load_traffic(analytics_db, DAY0, DAY0 + timedelta(days=1), 3_000, seed=21)
    resources = analytics_resources
    instance = dg.DagsterInstance.ephemeral()
    # One run for a range of hours (single-run backfill), then one hour again: no duplicates.
    ranged = dg.materialize(
        [hourly_analytics, execution_spans],
        selection=[hourly_analytics],
        resources=resources,
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": "2024-11-09-00:00",
            "dagster/asset_partition_range_end": "2024-11-09-23:00",
        },
    )
    assert ranged.success
    events = ranged.asset_materializations_for_node("analytics__hourly_analytics")
    assert sorted(e.partition for e in events)[0] == "2024-11-09-00:00" and len(events) == 24
    meta = events[0].metadata
    assert meta["partitions"].value == 24 and meta["rows_written"].value > 100
    executions_day = meta["executions"].value
    assert len(table_rows(meta["top_by_cost"])) == 5  # the top five
    assert all(_check_results(ranged).values()) and len(_check_results(ranged)) == 3

    single = dg.materialize(
        [hourly_analytics, execution_spans],
        selection=[hourly_analytics],
        partition_key="2024-11-09-15:00",
        resources=resources,
        instance=instance,
    )
    assert single.success
    md = single.asset_materializations_for_node("analytics__hourly_analytics")[0].metadata
    assert list(table_rows(md["top_by_cost"])[0]) == [
        "user",
        "entity_type",
        "entity_id",
        "cost USD",
        "count",
    ]

    daily = (
        _defs(analytics_resources)
        .resolve_job_def("analytics_daily_job")
        .execute_in_process(partition_key="2024-11-09", instance=instance)
    )
    assert daily.success
    checks = _check_results(daily)
    assert checks.pop("recent_activity_summary:matches_daily_analytics")
    assert all(checks.values()) and len(checks) == 6
    daily_meta = daily.asset_materializations_for_node("analytics__daily_analytics")[0].metadata
    assert daily_meta["executions"].value == executions_day
    # The real writer's unpriced model (issue 22): published, its calls counted with cost 0
    # and named per model on the asset, never in the quality share.
    usage_meta = daily.asset_materializations_for_node("analytics__model_usage_stats")[0].metadata
    for meta in (usage_meta, daily_meta):
        [row] = table_rows(meta["unpriced_calls_by_model"])
        assert (row["provider"], row["model"]) == ("anthropic", "claude-3-5-haiku-20241022")
        assert row["unpriced_calls"] == meta["unpriced_calls"].value > 0
        assert meta["malformed_spans"].value == 0
    assert usage_meta["unpriced_calls"].value > 0.05 * usage_meta["model_calls"].value
    [quality_check] = [
        e.event_specific_data
        for e in daily.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        and e.event_specific_data.check_name == "span_quality"
        and e.event_specific_data.asset_key.path[-1] == "model_usage_stats"
    ]
    assert quality_check.passed and "without a price" in quality_check.description
    assert daily.asset_materializations_for_node("analytics__recent_activity_summary")
    with analytics_db.rollup_connection() as conn:
        hourly_total = conn.execute("SELECT sum(total_executions) FROM hourly_analytics").fetchone()
    assert hourly_total[0] == executions_day


def test_observation_reports_the_newest_span(analytics_resources, spans):
    spans.run(DAY0 + 7 * H, user="alice")
    job = _defs(analytics_resources).resolve_job_def("analytics_observe_spans_job")
    result = job.execute_in_process()
    [observation] = [
        e.event_specific_data.asset_observation
        for e in result.all_events
        if e.event_type_value == "ASSET_OBSERVATION"
    ]
    assert observation.metadata["latest_run_start"].value == (DAY0 + 7 * H).isoformat()
    assert (
        observation.metadata["dagster/last_updated_timestamp"].value == (DAY0 + 7 * H).timestamp()
    )


def test_a_failing_blocking_check_fails_the_run_and_leaves_the_previous_rollup(
    analytics_resources, analytics_db, spans
):
    # Issue 13: the run failed on span_quality but its new rows were already committed.
    resources = analytics_resources
    for _ in range(4):
        spans.run(DAY0, user="fine")
    first = dg.materialize(
        [hourly_analytics, execution_spans],
        selection=[hourly_analytics],
        partition_key="2024-11-09-00:00",
        resources=resources,
    )
    assert first.success
    with analytics_db.rollup_connection() as conn:
        before = conn.execute("SELECT * FROM hourly_analytics").fetchall()
        marks = conn.execute("SELECT * FROM analytics_rollup_watermarks").fetchall()
    for _ in range(3):
        spans.run(DAY0, status="error", user="weird")
    spans.run(DAY0, user="newcomer")
    result = dg.materialize(
        [hourly_analytics, execution_spans],
        selection=[hourly_analytics],
        partition_key="2024-11-09-00:00",
        resources=resources,
        raise_on_error=False,
    )
    assert not result.success
    checks = _check_results(result)
    assert checks["hourly_analytics:span_quality"] is False
    assert checks["hourly_analytics:reconciles_with_spans"] is True
    assert not result.asset_materializations_for_node("analytics__hourly_analytics")
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "not published" in str(failure.event_specific_data.error)
    with analytics_db.rollup_connection() as conn:
        assert conn.execute("SELECT * FROM hourly_analytics").fetchall() == before
        assert conn.execute("SELECT * FROM analytics_rollup_watermarks").fetchall() == marks


def test_configuration_comes_from_the_environment(monkeypatch):
    from resources.analytics.settings import resources_from_env

    monkeypatch.setenv("ANALYTICS_SOURCE_DATABASE_URL", "postgresql://platform@db.example/app")
    monkeypatch.delenv("ANALYTICS_DATABASE_URL", raising=False)
    monkeypatch.setenv("POSTGRES_URL", "postgresql://rollups@db.example/analytics")
    monkeypatch.setenv("ANALYTICS_ADD_TYPED_COLUMNS", "1")
    db = resources_from_env()["analytics_db"]
    # URLs stay EnvVars (read at launch, hidden in the UI), never plain strings in the config.
    assert db.source.url == dg.EnvVar("ANALYTICS_SOURCE_DATABASE_URL")
    assert db.rollup.url == dg.EnvVar("POSTGRES_URL")
    assert db.add_typed_columns is True and db.work_mem == "256MB"


def test_a_partition_key_outside_the_set_is_refused_before_anything_runs(
    analytics_resources, analytics_db
):
    for key in ("2024-13-01-00:00", "2023-12-31-23:00", "2024-11-09"):
        with pytest.raises(dg.DagsterUnknownPartitionError, match=key):
            dg.materialize(
                [hourly_analytics, execution_spans],
                selection=[hourly_analytics],
                partition_key=key,
                resources=analytics_resources,
            )
    with analytics_db.rollup_connection() as conn:
        assert conn.execute("SELECT count(*) FROM hourly_analytics").fetchone()[0] == 0


def test_a_day_in_one_process_is_two_recorded_runs(analytics_db, pg_url, tmp_path):
    # bin/analytics-day: the day's hours (one run) and the daily job (one run) in one process,
    # recorded in the instance like runs launched from the UI.
    load_traffic(analytics_db, DAY0, DAY0 + timedelta(days=1), 3_000, seed=22)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "ANALYTICS_"))}
    env |= {"DAGSTER_HOME": str(home), "ANALYTICS_SOURCE_DATABASE_URL": pg_url,
            "ANALYTICS_DATABASE_URL": pg_url, "PYTHONPATH": str(ROOT)}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "bin/analytics_day.py", "2024-11-09"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        assert sorted(r.job_name for r in runs) == ["analytics_daily_job", "analytics_hourly_job"]
        assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        assert {r.tags.get("pipeline/serial") for r in runs} == {"analytics"}
        hourly = instance.get_materialized_partitions(hourly_analytics.key)
        assert len(hourly) == 24 and "2024-11-09-23:00" in hourly
        for asset in (daily_analytics, model_usage_stats):
            assert instance.get_materialized_partitions(asset.key) == {"2024-11-09"}
    with analytics_db.rollup_connection() as conn:
        hours, days = conn.execute(
            "SELECT (SELECT sum(total_executions) FROM hourly_analytics), "
            "(SELECT sum(total_executions) FROM daily_analytics)"
        ).fetchone()
    assert hours == days > 0
    # A day that is no date, or a range backwards, is refused before anything runs.
    bad = subprocess.run(
        [sys.executable, "bin/analytics_day.py", "2024-11-09", "2024-11-01"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2 and "before the first" in bad.stderr
