"""What the catalog shows of an asset before any run, derived from what the code writes with:

- `arrow_columns(schema)`: a lake dataset's columns from the very pyarrow schema its writer uses;
- `sql_columns(ddl, table)`: a table's or view's columns from the very DDL that creates it
  (parsed by sqlglot: CREATE TABLE, ALTER TABLE ... ADD COLUMN, CREATE [MATERIALIZED] VIEW);
- `table_metadata(...)` / `lake_metadata(...)`: Dagster's own keys for them
  (`dagster/column_schema`, `dagster/table_name`, `dagster/uri`), as definition metadata;
- `with_code_references(assets)`: every asset linked to the module that declares it, and to the
  git remote when one is configured (`resources.env.code_link_target`).

One source of truth: the schema the catalog shows is computed from the writer's schema, and
tests compare it with what a run really wrote (a file's schema, a table's catalog).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import pyarrow as pa
import sqlglot
from dagster import (
    AnchorBasedFilePathMapping,
    AssetKey,
    BetaWarning,
    CodeReferencesMetadataValue,
    LocalFileCodeReference,
    MetadataValue,
    TableColumn,
    TableColumnConstraints,
    TableSchema,
    link_code_references_to_git,
)
from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.typing.postgres import EXPRESSION_METADATA

from resources.env import code_link_target

DIALECT = "postgres"  # SQLite's DDL here is written in the portable subset postgres parses
PRIMARY_KEY = "primary key"
# Pseudo-types that PostgreSQL stores as their integer type (what its catalog then reports).
_SERIALS = {
    exp.DType.BIGSERIAL: "bigint",
    exp.DType.SERIAL: "int",
    exp.DType.SMALLSERIAL: "smallint",
}
_ROOT = Path(__file__).resolve().parents[1]


# -- columns of a lake dataset ---------------------------------------------------------------


def arrow_type(kind: pa.DataType) -> str:
    """An Arrow type as a reader thinks of it (`map<string, int32>`, `list<int8>`): the names
    of nested fields (which a parquet round trip renames) left out."""
    if pa.types.is_map(kind):
        return f"map<{arrow_type(kind.key_type)}, {arrow_type(kind.item_type)}>"
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return f"list<{arrow_type(kind.value_type)}>"
    if pa.types.is_struct(kind):
        return "struct<" + ", ".join(f"{f.name}: {arrow_type(f.type)}" for f in kind) + ">"
    return str(kind)


def arrow_columns(schema: pa.Schema) -> TableSchema:
    """The columns of a pyarrow schema: name, Arrow type (`timestamp[us, tz=UTC]`,
    `map<string, int32>`), and nullability."""
    return TableSchema(
        columns=[
            TableColumn(
                field.name,
                arrow_type(field.type),
                constraints=TableColumnConstraints(nullable=field.nullable),
            )
            for field in schema
        ]
    )


# -- columns of a SQL table or view ----------------------------------------------------------


def _statements(ddl: str | Sequence[str]) -> list[exp.Expr]:
    texts = [ddl] if isinstance(ddl, str) else list(ddl)
    return [s for text in texts for s in sqlglot.parse(text, read=DIALECT) if s is not None]


def _created_name(statement: exp.Expr) -> str | None:
    if isinstance(statement, exp.Create) and statement.kind in ("TABLE", "VIEW"):
        target = statement.this
        table = target.this if isinstance(target, exp.Schema) else target
        return table.name
    return None


def _sql_type(kind: exp.DataType) -> str:
    return _SERIALS.get(kind.this) or kind.sql(DIALECT).lower().replace("decimal", "numeric")


def sql_type_name(type_text: str) -> str:
    """A SQL type as the catalog spells it (`timestamp with time zone` -> `timestamptz`,
    `numeric(18,6)` -> `numeric(18, 6)`): how a test compares a database's catalog with ours."""
    return _sql_type(exp.DataType.build(type_text, dialect=DIALECT))


def _column(definition: exp.ColumnDef, key_columns: set[str]) -> TableColumn:
    kinds = {type(c.kind) for c in definition.constraints}
    primary = exp.PrimaryKeyColumnConstraint in kinds or definition.name in key_columns
    not_null = primary or exp.NotNullColumnConstraint in kinds
    unique = exp.PrimaryKeyColumnConstraint in kinds or exp.UniqueColumnConstraint in kinds
    return TableColumn(
        definition.name,
        _sql_type(definition.kind),
        constraints=TableColumnConstraints(
            nullable=not not_null, unique=unique, other=[PRIMARY_KEY] if primary else []
        ),
    )


def _table_columns(statements: list[exp.Expr], table: str) -> list[TableColumn] | None:
    columns: list[TableColumn] | None = None
    for statement in statements:
        if _created_name(statement) == table and statement.kind == "TABLE":
            body = statement.this.expressions
            keys = {
                c.name for key in body if isinstance(key, exp.PrimaryKey) for c in key.expressions
            }
            columns = [_column(d, keys) for d in body if isinstance(d, exp.ColumnDef)]
        elif (
            columns is not None
            and isinstance(statement, exp.Alter)
            and statement.this.name == table
        ):
            known = {c.name for c in columns}
            for action in statement.actions:
                if isinstance(action, exp.ColumnDef) and action.name not in known:
                    columns.append(_column(action, set()))
    return columns


def _postgres_sum(annotator, expression):
    """PostgreSQL's sum(): bigint and numeric give numeric (no precision), int gives bigint."""
    arg = expression.this.type
    if arg.is_type(exp.DType.INT, exp.DType.SMALLINT):
        return annotator._set_type(expression, exp.DType.BIGINT)
    if arg.is_type(exp.DType.BIGINT, exp.DType.DECIMAL):
        return annotator._set_type(expression, exp.DType.DECIMAL)
    return annotator._annotate_by_args(expression, "this")


def _postgres_round(annotator, expression):
    """PostgreSQL's round(x, digits) is numeric; round(x) keeps x's type."""
    if expression.args.get("decimals") is not None:
        return annotator._set_type(expression, exp.DType.DECIMAL)
    return annotator._annotate_by_args(expression, "this")


# sqlglot's generic rules for these two differ from PostgreSQL's (its catalog is the reference).
_POSTGRES_TYPES = {
    **EXPRESSION_METADATA,
    exp.Sum: {"annotator": _postgres_sum},
    exp.Round: {"annotator": _postgres_round},
}


def _view_columns(statements: list[exp.Expr], view: str) -> list[TableColumn] | None:
    for statement in statements:
        if _created_name(statement) == view and statement.kind == "VIEW":
            tables = {
                name: {c.name: c.type for c in _table_columns(statements, name)}
                for name in filter(None, map(_created_name, statements))
                if name != view and _table_columns(statements, name)
            }
            query = qualify(statement.expression.copy(), schema=tables, dialect=DIALECT)
            query = annotate_types(
                query, schema=tables, dialect=DIALECT, expression_metadata=_POSTGRES_TYPES
            )
            return [TableColumn(s.alias_or_name, _sql_type(s.type)) for s in query.selects]
    return None


def sql_columns(ddl: str | Sequence[str], table: str) -> TableSchema:
    """The columns of `table` (a table or a view) as the DDL creates them: name, SQL type,
    NOT NULL / PRIMARY KEY / UNIQUE. A view's types are inferred from the tables it reads."""
    statements = _statements(ddl)
    columns = _table_columns(statements, table) or _view_columns(statements, table)
    if not columns:
        raise ValueError(f"the DDL creates no table or view named {table!r}")
    return TableSchema(columns=columns)


# -- definition metadata ---------------------------------------------------------------------


def table_metadata(columns: TableSchema, table_name: str, storage_kind: str) -> dict:
    """A database table's catalog entry: its columns, its name, what holds it."""
    return {
        "dagster/column_schema": columns,
        "dagster/table_name": table_name,
        "dagster/storage_kind": storage_kind,
    }


def lake_metadata(columns: TableSchema | None, lake_path: str) -> dict:
    """A lake dataset's catalog entry: its columns and where in the lake it is: `lake_path`,
    relative to LAKE_ROOT (read at run launch, so not known here), with `<placeholders>` for the
    partition. Each materialization records the full `dagster/uri`."""
    metadata: dict = {"lake_path": MetadataValue.path(lake_path)}
    if columns is not None:
        metadata["dagster/column_schema"] = columns
    return metadata


def uri_metadata(uri: str) -> dict:
    """Run metadata: where a materialization wrote (`dagster/uri`, a local path or s3:// URI)."""
    return {"dagster/uri": uri}


# -- code references -------------------------------------------------------------------------


def _declared_at(key: AssetKey) -> LocalFileCodeReference:
    """Where the asset `<p>/<name>` is declared: its module `assets/<p>/<name>.py`
    (tests/test_layout.py), at the line that defines `<name>`. (Dagster's own
    `with_source_code_references` points at the function's file, which for a wrapped step is the
    wrapper's, `assets/pools.py`, and for the rollups the factory's.)"""
    pipeline, name = key.path[0], key.path[-1]
    path = _ROOT / "assets" / pipeline / f"{name}.py"
    defines = re.compile(rf"^(def {name}\(|{name} = )")
    lines = path.read_text().splitlines()
    line = next((n for n, text in enumerate(lines, 1) if defines.match(text)), 1)
    while line > 1 and lines[line - 2].startswith(("@", " ", ")")):  # up to its decorators
        line -= 1
    return LocalFileCodeReference(file_path=str(path), line_number=line)


def with_code_references(assets_defs: Iterable) -> list:
    """Every asset linked to the file and line that declare it (the UI's "open in editor"), and
    to that file in the git repository's web view when a remote is configured."""
    target = code_link_target(_ROOT)
    # Code references are beta in 1.13: the warning says nothing a user of the UI could act on.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BetaWarning)
        linked = [
            a.map_asset_specs(
                lambda spec: spec.merge_attributes(
                    metadata={
                        "dagster/code_references": CodeReferencesMetadataValue(
                            code_references=[_declared_at(spec.key)]
                        )
                    }
                )
            )
            for a in assets_defs
        ]
        if target is not None:
            url, ref = target
            linked = link_code_references_to_git(
                linked,
                git_url=url,
                git_branch=ref,
                file_path_mapping=AnchorBasedFilePathMapping(
                    local_file_anchor=_ROOT, file_anchor_path_in_repository=""
                ),
            )
    return list(linked)
