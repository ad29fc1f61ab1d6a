"""Small pieces every pipeline's assets share: the pipeline spec (what all of a pipeline's assets
declare alike), the skipped-input ledger and its threshold, the deployment's backfill policy, and
the one table helper metadata uses."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dagster import (
    AssetKey,
    AssetSpec,
    BackfillPolicy,
    Failure,
    FreshnessPolicy,
    MetadataValue,
    PartitionsDefinition,
    TableColumn,
    TableRecord,
    TableSchema,
)

from resources.env import load_time_int

BACKFILL_VARIABLE = "BACKFILL_MAX_PARTITIONS_PER_RUN"


def deployment_backfill_policy() -> BackfillPolicy:
    """A range of days as one run (laptop: one process start, not 365), or, with
    BACKFILL_MAX_PARTITIONS_PER_RUN=N, runs of at most N days that the run queue spreads over
    run workers. Read when the code location loads: a backfill is planned from the definitions."""
    days = load_time_int(BACKFILL_VARIABLE, None, minimum=1)
    if days is None:
        return BackfillPolicy.single_run()
    return BackfillPolicy.multi_run(max_partitions_per_run=days)


@dataclass(frozen=True)
class PipelineSpec:
    """What every asset of one pipeline declares alike, declared once in `assets/<p>/spec.py`:
    the pipeline's name as key prefix and group, its owners, its partitions and backfill policy,
    and the freshness policy of a pipeline whose one schedule keeps all of it up to date.

        REPLAY_MINING = PipelineSpec("replay_mining", partitions_def=..., backfill_policy=...)

        @asset(**REPLAY_MINING.asset_args(kinds={"parquet"}), deps=[...])

    An asset passes only what is its own (deps, kinds, checks, code version); `asset_args` lets it
    override a shared value where it truly differs (analytics' hourly and daily partitions).
    Owners are `team:<pipeline>` unless `ASSET_OWNERS_<PIPELINE>` (comma-separated emails or
    `team:` names) says otherwise; read when the code location loads, as owners are definitions.
    """

    name: str
    partitions_def: PartitionsDefinition | None = None
    backfill_policy: BackfillPolicy | None = None
    # when the schedule that keeps every asset of the pipeline fresh is late (the UI's freshness)
    freshness_policy: FreshnessPolicy | None = None

    @property
    def owners(self) -> list[str]:
        listed = os.environ.get(f"ASSET_OWNERS_{self.name.upper()}", "")
        return [o.strip() for o in listed.split(",") if o.strip()] or [f"team:{self.name}"]

    def key(self, name: str) -> AssetKey:
        return AssetKey([self.name, name])

    def asset_args(self, **own: Any) -> dict[str, Any]:
        """Keyword arguments for `@asset` / `@multi_asset`-style decorators."""
        shared: dict[str, Any] = {
            "key_prefix": [self.name],
            "group_name": self.name,
            "owners": self.owners,
        }
        if self.partitions_def is not None:
            shared["partitions_def"] = self.partitions_def
        if self.backfill_policy is not None:
            shared["backfill_policy"] = self.backfill_policy
        if self.freshness_policy is not None:
            shared["freshness_policy"] = self.freshness_policy
        return shared | own

    def asset_spec(self, name: str, **own: Any) -> AssetSpec:
        """An `AssetSpec` for decorators that take specs (observable sources, multi-assets)."""
        args = self.asset_args(**own)
        del args["key_prefix"]
        args.pop("backfill_policy", None)  # a spec has none: the decorator takes it
        return AssetSpec(self.key(name), **args)


def metadata_table(
    rows: Sequence[Mapping[str, Any]], *, limit: int = 50, columns: Sequence[str] | None = None
) -> MetadataValue:
    """Rows of plain values as Dagster's typed table metadata (the UI sorts and types its
    columns), the first `limit` of them. Column types come from the values: int, float, bool,
    else string; a value that is not a plain scalar is shown as its text."""
    names = list(columns or (rows[0] if rows else []))
    shown = [{name: _table_value(row.get(name)) for name in names} for row in rows[:limit]]
    schema = TableSchema(
        columns=[TableColumn(name, _table_type([row[name] for row in shown])) for name in names]
    )
    return MetadataValue.table(records=[TableRecord(row) for row in shown], schema=schema)


def _table_value(value: Any) -> str | int | float | bool | None:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _table_type(values: list) -> str:
    present = [v for v in values if v is not None]
    for kind, test in (
        ("bool", lambda v: isinstance(v, bool)),
        ("int", lambda v: isinstance(v, int) and not isinstance(v, bool)),
        ("float", lambda v: isinstance(v, int | float) and not isinstance(v, bool)),
    ):
        if present and all(test(v) for v in present):
            return kind
    return "string"


@dataclass
class SkipLedger:
    """Bad input is named, not fatal: each skipped item is recorded with its reason.

    `enforce(total)` fails the run only when the skipped share exceeds `max_share`; `remedy`
    is the failure message's next step (a pipeline without partitions names its variable).
    """

    what: str = "items"
    max_share: float = 0.05
    remedy: str = (
        "Fix the source or raise the threshold in the run config, then re-run the partition."
    )
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def skip(self, item: str, reason: str) -> None:
        self.skipped.append((item, reason))

    def __len__(self) -> int:
        return len(self.skipped)

    def reasons(self) -> Counter:
        return Counter(reason.split(":")[0] for _, reason in self.skipped)

    def enforce(self, total: int) -> None:
        if total and len(self.skipped) / total > self.max_share:
            raise Failure(
                description=(
                    f"{len(self.skipped)} of {total} {self.what} failed, more than the allowed "
                    f"{self.max_share:.0%}. First reasons: "
                    + "; ".join(f"{item}: {reason}" for item, reason in self.skipped[:5])
                    + ". "
                    + self.remedy
                ),
                metadata=self.as_metadata(),
            )

    def as_metadata(self, limit: int = 50) -> dict:
        item = self.what[:-1] if self.what.endswith("s") else self.what
        rows = [{item: name, "reason": reason} for name, reason in self.skipped]
        return {
            f"skipped_{self.what}": len(self.skipped),
            f"skipped_{self.what}_reasons": metadata_table(
                rows, limit=limit, columns=[item, "reason"]
            ),
        }
