"""Analytics fixtures: the analytics resources (built by `build_resources`, as the code location
builds them) on a fresh real PostgreSQL database, and loaders."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

import pytest

from resources.analytics.database import AnalyticsDatabase
from resources.analytics.rollup_queries import Rollup
from resources.analytics.settings import build_resources
from resources.postgres import PostgresResource
from sandboxes.analytics_traffic import generate_span_copy_text


def make_resources(source_url: str, rollup_url: str | None = None) -> dict[str, object]:
    """The code location's resources on `source_url` (rollups there too unless `rollup_url`)."""
    return build_resources(
        source=PostgresResource(url=source_url),
        rollup=PostgresResource(url=rollup_url) if rollup_url else None,
    )


def make_db(source_url: str, rollup_url: str | None = None) -> AnalyticsDatabase:
    return make_resources(source_url, rollup_url)["analytics_db"]


@pytest.fixture
def analytics_resources(pg_url) -> dict[str, object]:
    """Source and rollups in one fresh database, the platform's table created, schema migrated."""
    resources = make_resources(pg_url)
    resources["analytics_db"].create_source_table()
    resources["analytics_db"].migrate()
    return resources


@pytest.fixture
def analytics_db(analytics_resources) -> AnalyticsDatabase:
    return analytics_resources["analytics_db"]


@pytest.fixture(params=["typed_columns", "jsonb_only"])
def any_layout_db(request, pg_url) -> AnalyticsDatabase:
    """Both source layouts: with the typed generated columns, and the platform's bare table."""
    db = make_db(pg_url)
    db.create_source_table(typed_columns=request.param == "typed_columns")
    db.migrate()
    return db


def rows_in(db, rollup: Rollup, start: datetime, end: datetime) -> list[dict]:
    """The published rows of [start, end), read with plain SQL."""
    key = rollup.key_column
    low, high = (start, end) if key == "hour" else (start.date(), end.date())
    with db.rollup_connection() as conn:
        cursor = conn.execute(
            f"SELECT * FROM {db.dst}.{rollup.table} WHERE {key} >= %s AND {key} < %s "
            f"ORDER BY {', '.join((key, *rollup.group_columns))}",
            (low, high),
        )
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def load_traffic(db: AnalyticsDatabase, start: datetime, end: datetime, spans: int, seed: int):
    return db.copy_spans(generate_span_copy_text(start, end, spans, seed=seed))


class SpanWriter:
    """Hand-made spans for defect tests, inserted row by row (small numbers only)."""

    def __init__(self, db: AnalyticsDatabase):
        self.db = db

    def run(
        self,
        started_at: datetime,
        *,
        span_type="workflow_run",
        status="completed",
        ms: int | None = 1000,
        user: str | None = "alice",
        entity="wf-1",
        models=(),
        duration_ms: int | None | str = "auto",
        trace_id: str | None = None,
    ) -> str:
        """A run span and its model spans; models are (provider, model, prompt, completion, cost).

        In the platform's layout: a workflow run's `entity_id` is its execution (the trace) and
        `entity` is its `workflowName`; an agent run's `entity_id` is the agent, `entity`."""
        trace_id = trace_id or str(uuid.uuid4())
        run_id = str(uuid.uuid4())
        ended = (
            None if status == "started" or ms is None else started_at + timedelta(milliseconds=ms)
        )
        attrs = {"userId": user} if user else {}
        workflow = span_type == "workflow_run"
        if workflow and entity is not None:
            attrs["workflowName"] = entity
        rows = [
            (
                trace_id,
                run_id,
                None,
                span_type,
                trace_id if workflow else entity,
                started_at,
                ended,
                ms if duration_ms == "auto" else duration_ms,
                status,
                attrs,
            )
        ]
        for provider, model, prompt, completion, cost in models:
            attributes = {"provider": provider, "model": model}
            if prompt is not None:
                attributes |= {"promptTokens": prompt, "completionTokens": completion}
                attributes["totalTokens"] = prompt + completion
            if cost is not None:
                attributes |= {"inputCost": cost / 2, "outputCost": cost / 2, "totalCost": cost}
            rows.append(
                (
                    trace_id,
                    str(uuid.uuid4()),
                    run_id,
                    "model_generation",
                    entity,
                    started_at + timedelta(milliseconds=1),
                    started_at + timedelta(milliseconds=101),
                    100,
                    "completed",
                    attributes,
                )
            )
        with self.db.source_connection() as conn:
            for row in rows:
                conn.execute(
                    f"INSERT INTO {self.db.src}.execution_spans (trace_id, span_id, "
                    "parent_span_id, name, span_type, entity_id, started_at, ended_at, "
                    "duration_ms, status, attributes) VALUES (" + ", ".join(["%s"] * 11) + ")",
                    (*row[:3], row[3], *row[3:9], json.dumps(row[9])),
                )
        return trace_id


@pytest.fixture
def spans(analytics_db) -> SpanWriter:
    return SpanWriter(analytics_db)
