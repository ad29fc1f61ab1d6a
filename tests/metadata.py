"""Reading Dagster metadata in tests: typed tables (`MetadataValue.table`) as rows or text."""

from __future__ import annotations

from dagster import MetadataValue, TableMetadataValue


def table_rows(value: MetadataValue) -> list[dict]:
    assert isinstance(value, TableMetadataValue), f"not table metadata: {value!r}"
    return [dict(record.data) for record in value.records]


def table_text(value: MetadataValue) -> str:
    """Every cell of a table, one row a line: what a reader of the UI's table sees."""
    return "\n".join(" | ".join(str(v) for v in row.values()) for row in table_rows(value))
