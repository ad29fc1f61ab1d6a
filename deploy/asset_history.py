"""Carry an existing deployment's asset history over to the pipeline-prefixed asset keys.

Dagster keeps history per asset key. Before the keys carried their pipeline, `replay_dataset` was
`replay_dataset`; now it is `replay_mining/replay_dataset`, so a deployment that upgrades sees the
old history under keys no code location defines any more, and the new keys as never
materialized (the data itself, in the lake and the databases, is where it was: paths and table
names never depended on the keys).

`carry_history` reports, for every partition (or the unpartitioned asset) the old key has a
materialization of, that latest materialization again under the new key, as a runless event with
the old metadata plus `carried_from`. It is idempotent: what the new key already has is skipped.
The old `replay_index` key was shared by replay_mining (daily partitions) and replay_sync
(character partitions); a partition goes to the new key whose partitions definition has it.

    bin/carry-asset-history            # what would be carried
    bin/carry-asset-history --apply    # carry it

It loads every code location of workspace.yaml, so it lives beside the deployment files, above
every layer of the code.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml
from dagster import (
    AssetKey,
    AssetMaterialization,
    AssetRecordsFilter,
    DagsterInstance,
    PartitionsDefinition,
)

WORKSPACE = Path(__file__).resolve().parents[1] / "workspace.yaml"


@dataclass(frozen=True)
class Carried:
    old: AssetKey
    new: AssetKey
    partitions: tuple[str | None, ...]  # (None,) for an unpartitioned asset


def workspace_assets(workspace: Path = WORKSPACE) -> dict[AssetKey, PartitionsDefinition | None]:
    """Every materializable asset of every code location of the workspace, with its partitions."""
    spec = yaml.safe_load(workspace.read_text())
    assets: dict[AssetKey, PartitionsDefinition | None] = {}
    for entry in spec["load_from"]:
        defs = importlib.import_module(entry["python_module"]["module_name"]).defs
        graph = defs.resolve_asset_graph()
        for key in graph.materializable_asset_keys:
            assets[key] = graph.get(key).partitions_def
    return assets


def _latest(instance: DagsterInstance, key: AssetKey, partition: str | None):
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=key, asset_partitions=[partition] if partition else None),
        limit=1,
        ascending=False,
    ).records
    return records[0] if records else None


def plan(
    instance: DagsterInstance, assets: dict[AssetKey, PartitionsDefinition | None]
) -> list[Carried]:
    """What the old keys hold that the new keys do not, per new key."""
    out = []
    for new, partitions_def in sorted(assets.items(), key=lambda kv: kv[0].to_user_string()):
        if len(new.path) < 2:
            continue
        old = AssetKey(new.path[1:])
        if old in assets or not instance.get_latest_materialization_event(old):
            continue  # riot's keys always carried a prefix; nothing recorded under the old key
        if partitions_def is None:
            if not instance.get_latest_materialization_event(new):
                out.append(Carried(old, new, (None,)))
            continue
        valid = set(partitions_def.get_partition_keys())
        todo = sorted(
            (instance.get_materialized_partitions(old) & valid)
            - instance.get_materialized_partitions(new)
        )
        if todo:
            out.append(Carried(old, new, tuple(todo)))
    return out


def carry(instance: DagsterInstance, carried: Iterable[Carried]) -> int:
    """Report each planned partition's latest old materialization under its new key."""
    events = 0
    for item in carried:
        for partition in item.partitions:
            record = _latest(instance, item.old, partition)
            if record is None:
                continue
            old_event = record.asset_materialization
            instance.report_runless_asset_event(
                AssetMaterialization(
                    asset_key=item.new,
                    partition=partition,
                    description=old_event.description,
                    metadata={
                        **old_event.metadata,
                        "carried_from": item.old.to_user_string(),
                        "carried_from_run": record.run_id,
                    },
                )
            )
            events += 1
    return events


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apply", action="store_true", help="report the events (default: list)")
    args = parser.parse_args(argv)
    with DagsterInstance.get() as instance:
        todo = plan(instance, workspace_assets())
        for item in todo:
            print(f"{item.old.to_user_string()} -> {item.new.to_user_string()}: ", end="")
            print(
                "unpartitioned"
                if item.partitions == (None,)
                else f"{len(item.partitions)} partitions"
            )
        if not todo:
            print("nothing to carry: no old key holds history the new keys lack")
        elif args.apply:
            print(f"reported {carry(instance, todo)} materializations under the new keys")
        else:
            print("dry run: add --apply to report them; afterwards `dagster asset wipe <old key>`")


if __name__ == "__main__":
    main()
