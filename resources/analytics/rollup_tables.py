"""The rollups as Dagster loads them: `defs.load_asset_value(AssetKey(["analytics",
"hourly_analytics"]), partition_key="2026-12-04-13:00")` and a downstream `AssetIn` read the
published rows of the partition's window from PostgreSQL (`analytics_db`'s rollup database), as a
pandas DataFrame or a pyarrow Table (resources/lake_tables.py: what every loader shares).

Column types are the table's own: numeric(p, s) stays exact (decimal128), timestamptz is UTC.
A partition counts as materialised when it has rows, a watermark (a rolled-up window records one
per bucket, with or without rows), or a materialisation in the Dagster instance; otherwise it was
never rolled up and loading it is an error that says how to roll it up.
"""

from __future__ import annotations

from datetime import date, datetime

import psycopg
import pyarrow as pa
from dagster import AssetKey, AssetRecordsFilter, DagsterInstance, DagsterInvariantViolationError

from resources.analytics.database import AnalyticsDatabase
from resources.analytics.rollup_queries import ROLLUPS, Rollup
from resources.analytics.windows import DAY, HOUR, window_for_key
from resources.lake_tables import PublishedTablesIOManager

FETCH_ROWS = 50_000  # rows per round trip, and per record batch
# PostgreSQL's types as Arrow's; any other type is inferred from the values.
ARROW_TYPES = {
    "text": pa.string(),
    "varchar": pa.string(),
    "bool": pa.bool_(),
    "int2": pa.int16(),
    "int4": pa.int32(),
    "int8": pa.int64(),
    "float4": pa.float32(),
    "float8": pa.float64(),
    "date": pa.date32(),
    "timestamptz": pa.timestamp("us", tz="UTC"),
    "timestamp": pa.timestamp("us"),
}


def arrow_type(column: psycopg.Column, types: psycopg.types.TypesRegistry) -> pa.DataType | None:
    info = types.get(column.type_code)
    name = info.name if info else None
    if name == "numeric" and column.precision is not None:
        make = pa.decimal128 if column.precision <= 38 else pa.decimal256
        return make(column.precision, column.scale or 0)
    return ARROW_TYPES.get(name)


def arrow_batches(cursor: psycopg.Cursor) -> tuple[pa.Schema | None, list[pa.RecordBatch]]:
    """What the executed `cursor` returns, as record batches of the columns' own types."""
    batches, schema = [], None
    while rows := cursor.fetchmany(FETCH_ROWS):
        columns = list(zip(*rows, strict=True))
        arrays = [
            pa.array(values, type=arrow_type(column, cursor.adapters.types))
            for values, column in zip(columns, cursor.description, strict=True)
        ]
        batch = pa.RecordBatch.from_arrays(arrays, names=[c.name for c in cursor.description])
        schema = schema or batch.schema
        batches.append(batch.cast(schema))
    if schema is None and cursor.description:
        types = cursor.adapters.types
        schema = pa.schema(
            [(c.name, arrow_type(c, types) or pa.null()) for c in cursor.description]
        )
    return schema, batches


def bucket_of(rollup: Rollup, partition_key: str) -> datetime:
    """The UTC start of a partition's bucket (the watermark's `bucket`)."""
    return window_for_key(partition_key, HOUR if rollup.unit == "hour" else DAY)[0]


def key_value(rollup: Rollup, bucket: datetime) -> datetime | date:
    """A bucket start as the rollup's key column holds it: the hour, or the UTC date."""
    return bucket if rollup.key_column == "hour" else bucket.date()


class RollupTablesIOManager(PublishedTablesIOManager):
    """The three rollups (`analytics/hourly_analytics`, `daily_analytics`, `model_usage_stats`),
    each partition's window read from the rollup database, ordered by its primary key."""

    analytics_db: AnalyticsDatabase

    def read_published(self, context, partition_keys):
        rollup = ROLLUPS.get(context.asset_key.path[-1])
        if rollup is None:
            raise LookupError(
                f"{context.asset_key.to_user_string()} publishes no rollup this IO manager reads "
                f"(it reads {', '.join(f'analytics/{name}' for name in sorted(ROLLUPS))})."
            )
        db = self.analytics_db
        table_name = f"{db.rollup_schema}.{rollup.table}"
        buckets = {bucket_of(rollup, key): key for key in partition_keys}
        order = ", ".join((rollup.key_column, *rollup.group_columns))
        try:
            with db.rollup_connection() as conn:
                cursor = conn.cursor(name="rollup_rows")  # server side: streamed in batches
                cursor.execute(
                    f"SELECT * FROM {db.dst}.{rollup.table} WHERE {rollup.key_column} = ANY(%s) "
                    f"ORDER BY {order}",
                    ([key_value(rollup, b) for b in buckets],),
                )
                schema, batches = arrow_batches(cursor)
                cursor.close()
                table = pa.Table.from_batches(batches, schema=schema)
                present = set(table.column(rollup.key_column).to_pylist())
                empty = [b for b in buckets if key_value(rollup, b) not in present]
                if empty:
                    empty = self._without_watermark(conn, rollup, empty)
        except psycopg.errors.UndefinedTable:
            # The rollup database never had a rollup (its schema is made by the first run).
            return None, list(partition_keys), f"{table_name} (no such table)"
        missing, where = [buckets[b] for b in empty], f"{table_name}: no rows, no watermark"
        if missing:
            try:
                missing = self._not_in_instance(context.instance, context.asset_key, missing)
                where += ", no materialisation in the Dagster instance"
            except DagsterInvariantViolationError:  # no instance (a notebook without DAGSTER_HOME)
                where += (
                    "; no Dagster instance to ask whether it was materialised (set DAGSTER_HOME)"
                )
        return table, missing, where

    def _without_watermark(self, conn, rollup: Rollup, buckets: list[datetime]) -> list[datetime]:
        """The buckets no rollup of `rollup` recorded a watermark for (a window rolled up with no
        rows has one)."""
        rows = conn.execute(
            f"SELECT bucket FROM {self.analytics_db.dst}.analytics_rollup_watermarks "
            "WHERE rollup = %s AND bucket = ANY(%s)",
            (rollup.table, buckets),
        ).fetchall()
        recorded = {bucket for (bucket,) in rows}
        return [b for b in buckets if b not in recorded]

    @staticmethod
    def _not_in_instance(
        instance: DagsterInstance, asset_key: AssetKey, partition_keys: list[str]
    ) -> list[str]:
        """The partitions the Dagster instance has no materialisation of."""
        done, cursor = set(), None
        records_filter = AssetRecordsFilter(asset_key=asset_key, asset_partitions=partition_keys)
        while True:
            page = instance.fetch_materializations(records_filter, limit=1000, cursor=cursor)
            done |= {record.partition_key for record in page.records}
            if not page.has_more:
                break
            cursor = page.cursor
        return [key for key in partition_keys if key not in done]
