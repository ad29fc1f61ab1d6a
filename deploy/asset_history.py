"""Carry an existing deployment's asset history and schedule state over to the current names.

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

Dagster also keys a schedule's or sensor's state (on or off, a sensor's cursor) by its name, and
eight of them were renamed to `<p>_<what>_schedule/_sensor` (RENAMED_INSTIGATORS). A schedule or
sensor that was RUNNING under its old name is started under its new one, in the pipeline's code
location (loaded alone, `locations/<p>/workspace.yaml`), a sensor with its old cursor, and the old
name's state is removed: run again, there is nothing left to do.

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
from dagster._core.definitions.run_request import InstigatorType
from dagster._core.scheduler.instigation import (
    InstigatorState,
    InstigatorStatus,
    SensorInstigatorData,
)
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import WorkspaceFileTarget

ROOT = Path(__file__).resolve().parents[1]
WORKSPACE = ROOT / "workspace.yaml"

# old schedule/sensor name -> (its code location, its name now); README, "An existing deployment's
# history". The analytics schedules and sensor kept their names.
RENAMED_INSTIGATORS = {
    "replay_mining_daily": ("replay_mining", "replay_mining_dataset_schedule"),
    "riot_refresh_every_2_minutes": ("riot", "riot_refresh_schedule"),
    "legacy_gameplay_schedule": ("rps", "rps_legacy_gameplay_schedule"),
    "training_schedule": ("rps", "rps_training_schedule"),
    "training_pull_schedule": ("replay_sync", "replay_sync_training_pull_schedule"),
    "storage_report_schedule": ("replay_sync", "replay_sync_storage_report_schedule"),
    "local_replays_sensor": ("replay_sync", "replay_sync_local_replays_sensor"),
    "checkpoints_sensor": ("replay_sync", "replay_sync_checkpoints_sensor"),
}


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


@dataclass(frozen=True)
class Renamed:
    old: InstigatorState
    location: str
    new_name: str

    @property
    def kind(self) -> str:
        return "sensor" if self.old.instigator_type == InstigatorType.SENSOR else "schedule"


def plan_instigators(instance: DagsterInstance) -> list[Renamed]:
    """The schedules and sensors RUNNING under a name they no longer have."""
    running = instance.all_instigator_state(instigator_statuses={InstigatorStatus.RUNNING})
    return sorted(
        (
            Renamed(state, *RENAMED_INSTIGATORS[state.instigator_name])
            for state in running
            if state.instigator_name in RENAMED_INSTIGATORS
        ),
        key=lambda item: item.old.instigator_name,
    )


def carry_instigators(instance: DagsterInstance, renamed: Iterable[Renamed]) -> int:
    """Start each one under its new name (a sensor with its cursor), then drop the old state."""
    by_location: dict[str, list[Renamed]] = {}
    for item in renamed:
        by_location.setdefault(item.location, []).append(item)
    started = 0
    for location, items in sorted(by_location.items()):
        # the location alone, named as the UI names it: the state is the one its daemon reads
        target = WorkspaceFileTarget(paths=[str(ROOT / "locations" / location / "workspace.yaml")])
        with WorkspaceProcessContext(instance, target) as workspace:
            repository = next(
                iter(
                    workspace.create_request_context()
                    .get_code_location(location)
                    .get_repositories()
                    .values()
                )
            )
            for item in items:
                if item.kind == "sensor":
                    new = instance.start_sensor(repository.get_sensor(item.new_name))
                    cursor = item.old.instigator_data.cursor
                    data = new.instigator_data
                    if (
                        cursor is not None
                        and isinstance(data, SensorInstigatorData)
                        and data.cursor is None
                    ):
                        instance.update_instigator_state(
                            new.with_data(data._replace(cursor=cursor))
                        )
                else:
                    instance.start_schedule(repository.get_schedule(item.new_name))
                instance.delete_instigator_state(
                    item.old.instigator_origin_id, item.old.selector_id
                )
                started += 1
    return started


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
            print(
                "dry run: add --apply to report them; afterwards `bin/dagster asset wipe <old key>`"
            )
        renamed = plan_instigators(instance)
        for item in renamed:
            cursor = getattr(item.old.instigator_data, "cursor", None)
            print(
                f"{item.kind} {item.old.instigator_name} (running) -> {item.new_name} in"
                f" {item.location}" + (f", cursor {cursor!r}" if cursor else "")
            )
        if not renamed:
            print("nothing to start: no schedule or sensor runs under an old name")
        elif args.apply:
            print(f"started {carry_instigators(instance, renamed)} under their new names")
        else:
            print("dry run: add --apply to start them under their new names")


if __name__ == "__main__":
    main()
