"""Published tables as Dagster loads them: `defs.load_asset_value(AssetKey([...]), partition_key=...)`
and a downstream `AssetIn` read what an asset published, as a pandas DataFrame (the default) or a
pyarrow Table (an input annotated `pyarrow.Table`, or `python_type=pyarrow.Table`).

`PublishedTablesIOManager` is what every such IO manager shares: the read-only write path, which
partitions are asked for, several partitions concatenated in partition order, the type asked
for, and the error for a partition never materialised (naming the asset, the partition and the
command that materialises it). `LakeTablesIOManager` reads parquet files from the lake (local or
S3); resources/analytics/rollup_tables.py reads the rollups from PostgreSQL.

Read-only on purpose: the assets publish their own data (an atomic file publish, a rollup's
write-audit-publish transaction) and return a `MaterializeResult` without a value, which Dagster
never hands to an IO manager. So no second copy is ever written; `handle_output` accepts `None`
and refuses a value an asset returns by mistake, instead of pickling it somewhere nobody reads.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from dagster import (
    AssetKey,
    ConfigurableIOManager,
    DagsterInvariantViolationError,
    InputContext,
    OutputContext,
    PartitionsDefinition,
    TimeWindowPartitionsDefinition,
)

from resources.lake import Lake, LakeResource, LocalLake

# Input metadata (`AssetIn(metadata=...)`, `load_asset_value(..., metadata=...)`), as in
# Dagster's own UPathIOManager: load only these columns; skip partitions never materialised.
COLUMNS = "columns"
ALLOW_MISSING_PARTITIONS = "allow_missing_partitions"
SHOWN_KEYS = 5  # partition keys a message lists before "and N more"


class PartitionNotMaterialized(LookupError):
    """A partition (or an unpartitioned asset) that was asked for has no published data."""


def lake_key(template: str, partition_key: str | None = None) -> str:
    """The lake key of one partition of a table: `{partition}` is the partition key as it is,
    `{day}` the partition's date (`{day:%Y%m%d}`), for daily partitions."""
    fields: dict[str, Any] = {}
    if partition_key is not None:
        fields["partition"] = partition_key
        with contextlib.suppress(ValueError):  # not a day: only {partition} applies
            fields["day"] = dt.date.fromisoformat(partition_key)
    try:
        return template.format(**fields)
    except KeyError as exc:
        raise ValueError(
            f"the lake key {template!r} needs {{{exc.args[0]}}}, which the partition key "
            f"{partition_key!r} does not give"
        ) from None


def shown(keys: Sequence[str]) -> str:
    listed = ", ".join(keys[:SHOWN_KEYS])
    return listed + (f" and {len(keys) - SHOWN_KEYS} more" if len(keys) > SHOWN_KEYS else "")


def materialize_command(
    asset_key: AssetKey, missing: Sequence[str] | None, partitions_def: PartitionsDefinition | None
) -> str:
    """The CLI command that materialises `missing` of `asset_key` (the code location is the
    pipeline, the key's first part)."""
    command = (
        f"dagster asset materialize -m pipelines.{asset_key.path[0]} "
        f"--select {asset_key.to_user_string()}"
    )
    if not missing:
        return command
    if len(missing) == 1:
        return f"{command} --partition {missing[0]}"
    if isinstance(partitions_def, TimeWindowPartitionsDefinition):
        return f"{command} --partition-range {missing[0]}...{missing[-1]}"
    return f"{command} --partition <key>, for each of them"


def not_materialized(
    asset_key: AssetKey,
    missing: Sequence[str] | None,
    asked: int,
    where: str,
    partitions_def: PartitionsDefinition | None,
) -> PartitionNotMaterialized:
    name = asset_key.to_user_string()
    if not missing:
        what = f"{name} was never materialised"
    elif len(missing) == 1:
        what = f"{name} has no partition {missing[0]}: it was never materialised"
    else:
        what = (
            f"{name} has {len(missing)} of the {asked} partitions asked for never materialised: "
            f"{shown(missing)}"
        )
    return PartitionNotMaterialized(
        f"{what} (nothing at {where}). Materialise it with "
        f"`{materialize_command(asset_key, missing, partitions_def)}`, with its upstream assets "
        f"too if they are missing (--select '+{name}'); or the UI: Catalog > {name} > Materialize."
    )


def partitions_def_of(context: InputContext) -> PartitionsDefinition | None:
    try:
        return context.asset_partitions_def
    except DagsterInvariantViolationError:  # the asset has no partitions
        return None


def as_requested(table: pa.Table, context: InputContext) -> pa.Table | pd.DataFrame:
    """`table` as the input asks for it: a pyarrow Table, else a pandas DataFrame."""
    wanted = context.dagster_type.typing_type
    if wanted is pa.Table:
        return table
    if wanted is pd.DataFrame or context.dagster_type.is_any:
        return table.to_pandas()
    raise TypeError(
        f"{context.asset_key.to_user_string()} loads as a pandas.DataFrame or a pyarrow.Table, "
        f"not {wanted!r}: annotate the input with one of them (or pass python_type=pyarrow.Table)."
    )


def select_columns(table: pa.Table, columns: Sequence[str] | None, asset_key: AssetKey):
    if columns is None:
        return table
    unknown = [c for c in columns if c not in table.column_names]
    if unknown:
        raise LookupError(
            f"{asset_key.to_user_string()} has no column {', '.join(map(repr, unknown))}; its "
            f"columns are {', '.join(table.column_names)}"
        )
    return table.select(list(columns))


class PublishedTablesIOManager(ConfigurableIOManager):
    """Loads what assets published; never writes (see the module's docstring). A subclass says
    how to read the partitions asked for: `read_published`."""

    def handle_output(self, context: OutputContext, obj: object) -> None:
        if obj is None:
            return
        raise TypeError(
            f"{context.asset_key.to_user_string()} returned a {type(obj).__name__}: the assets of "
            "this code location publish their own data and return a MaterializeResult, and this "
            "IO manager only reads what they published (it stores no returned value)."
        )

    def read_published(
        self, context: InputContext, partition_keys: list[str] | None
    ) -> tuple[pa.Table | None, list[str], str]:
        """The published rows of `partition_keys` (None: an unpartitioned asset) in partition
        order, the keys that have none (never materialised), and where they were looked for."""
        raise NotImplementedError

    def load_input(self, context: InputContext) -> pa.Table | pd.DataFrame:
        asset_key, metadata = context.asset_key, context.definition_metadata or {}
        partitions_def = partitions_def_of(context)
        if partitions_def is not None and not context.has_asset_partitions:
            raise ValueError(
                f"{asset_key.to_user_string()} is partitioned: load one partition, e.g. "
                f"defs.load_asset_value(AssetKey({asset_key.path!r}), partition_key="
                f"{partitions_def.get_last_partition_key()!r})"
            )
        keys = context.asset_partition_keys if context.has_asset_partitions else None
        table, missing, where = self.read_published(context, keys)
        if table is None or (missing and not metadata.get(ALLOW_MISSING_PARTITIONS)):
            raise not_materialized(asset_key, missing, len(keys or ()), where, partitions_def)
        if missing:
            context.log.warning(
                f"{asset_key.to_user_string()}: {len(missing)} partitions never materialised, "
                f"skipped ({ALLOW_MISSING_PARTITIONS}): {shown(missing)}"
            )
        return as_requested(select_columns(table, metadata.get(COLUMNS), asset_key), context)


def read_parquet(lake: Lake, key: str) -> pa.Table | None:
    """The parquet file at `key`, or None when there is none. From S3 it is downloaded to a
    temporary file first (streamed, in parallel parts) and read from there."""
    if isinstance(lake, LocalLake):
        try:
            return pq.ParquetFile(lake.path(key)).read()
        except FileNotFoundError:
            return None
    if lake.size(key) is None:
        return None
    with tempfile.TemporaryDirectory(prefix="lake-table-") as tmp:
        local = Path(tmp) / "table.parquet"
        lake.download_to(key, local)
        return pq.ParquetFile(local).read()  # read into memory: the file can go


class LakeTablesIOManager(PublishedTablesIOManager):
    """The lake's parquet tables: `tables` maps an asset key (`replay_mining/replay_dataset`) to
    the lake key its asset publishes each partition at (`lake_key`'s template, e.g.
    `datasets/replays/replays_{day:%Y%m%d}.parquet`); the writers use the same templates."""

    lake: LakeResource
    tables: dict[str, str]

    def read_published(self, context, partition_keys):
        name = context.asset_key.to_user_string()
        if name not in self.tables:
            raise LookupError(
                f"{name} publishes no table this IO manager reads (it reads "
                f"{', '.join(sorted(self.tables))}); its data is described on its page in the UI."
            )
        lake = self.lake.lake
        partitions = partition_keys or [None]
        tables, missing, where = [], [], None
        for partition in partitions:
            key = lake_key(self.tables[name], partition)
            table = read_parquet(lake, key)
            if table is None:
                missing.append(partition)
                where = where or lake.uri(key)  # the first file looked for and not found
            else:
                tables.append(table)
        missing = [m for m in missing if m is not None]  # an unpartitioned asset has no key
        if len(missing) > 1:
            where += ", the first of them"
        return (pa.concat_tables(tables) if tables else None), missing, where or ""
