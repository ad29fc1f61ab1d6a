"""An existing deployment's history, recorded under the keys before they carried their pipeline,
carried over to the new keys, and its schedules and sensors, on under their old names, on under the
new ones (README: "An existing deployment's history")."""

from __future__ import annotations

import sys
from pathlib import Path

from dagster import AssetKey, AssetMaterialization, DagsterInstance
from dagster._core.definitions.run_request import InstigatorType
from dagster._core.remote_origin import (
    ManagedGrpcPythonEnvCodeLocationOrigin,
    RemoteInstigatorOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.scheduler.instigation import (
    InstigatorState,
    InstigatorStatus,
    ScheduleInstigatorData,
    SensorInstigatorData,
)
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

from deploy.asset_history import (
    carry,
    carry_instigators,
    plan,
    plan_instigators,
    workspace_assets,
)

ROOT = Path(__file__).resolve().parents[2]


def test_old_history_is_carried_to_the_prefixed_keys_once(tmp_path):
    with DagsterInstance.ephemeral() as instance:
        old = [
            ("replay_dataset", "2026-11-01", {"rows": 42}),
            ("replay_dataset", "2026-11-02", {"rows": 43}),
            # the old shared key: a day belongs to replay_mining, a character to replay_sync
            ("replay_index", "2026-11-01", {"episodes": 5}),
            ("replay_index", "mewtwo", {"replays": 7}),
            ("bot_models", None, {"models": 12}),
        ]
        for name, partition, metadata in old:
            instance.report_runless_asset_event(
                AssetMaterialization(AssetKey(name), partition=partition, metadata=metadata)
            )
        assets = workspace_assets()
        todo = plan(instance, assets)
        assert {(c.old.to_user_string(), c.new.to_user_string(), c.partitions) for c in todo} == {
            ("replay_dataset", "replay_mining/replay_dataset", ("2026-11-01", "2026-11-02")),
            ("replay_index", "replay_mining/replay_index", ("2026-11-01",)),
            ("replay_index", "replay_sync/replay_index", ("mewtwo",)),
            ("bot_models", "rps/bot_models", (None,)),
        }
        assert carry(instance, todo) == 5

        new = AssetKey(["replay_mining", "replay_dataset"])
        assert instance.get_materialized_partitions(new) == {"2026-11-01", "2026-11-02"}
        event = instance.get_latest_materialization_event(new).asset_materialization
        assert event.metadata["carried_from"].value == "replay_dataset"
        assert event.metadata["rows"].value in (42, 43)
        sync_index = AssetKey(["replay_sync", "replay_index"])
        assert instance.get_materialized_partitions(sync_index) == {"mewtwo"}
        assert instance.get_latest_materialization_event(AssetKey(["rps", "bot_models"]))
        assert plan(instance, assets) == []  # idempotent


def _old_state(name: str, location: str, kind: InstigatorType, data) -> InstigatorState:
    """A state as the workspace of an older release wrote it: its location, the old name."""
    code_location = ManagedGrpcPythonEnvCodeLocationOrigin(
        LoadableTargetOrigin(
            executable_path=sys.executable,
            module_name=f"pipelines.{location}",
            working_directory=str(ROOT),
        ),
        location_name=location,
    )
    origin = RemoteInstigatorOrigin(RemoteRepositoryOrigin(code_location, "__repository__"), name)
    return InstigatorState(origin, kind, InstigatorStatus.RUNNING, data)


def test_schedules_and_sensors_running_under_old_names_run_under_the_new_ones(tmp_path):
    with DagsterInstance.local_temp(str(tmp_path)) as instance:
        instance.add_instigator_state(
            _old_state(
                "local_replays_sensor",
                "replay_sync",
                InstigatorType.SENSOR,
                SensorInstigatorData(min_interval=30, cursor='{"mewtwo": 1764892800.0}'),
            )
        )
        instance.add_instigator_state(
            _old_state(
                "riot_refresh_every_2_minutes",
                "riot",
                InstigatorType.SCHEDULE,
                ScheduleInstigatorData(cron_schedule="*/2 * * * *", start_timestamp=1764892800.0),
            )
        )
        stopped = _old_state(
            "training_schedule",
            "rps",
            InstigatorType.SCHEDULE,
            ScheduleInstigatorData(cron_schedule="0 3 * * *"),
        ).with_status(InstigatorStatus.STOPPED)
        instance.add_instigator_state(stopped)

        todo = plan_instigators(instance)
        assert [(r.old.instigator_name, r.location, r.new_name) for r in todo] == [
            ("local_replays_sensor", "replay_sync", "replay_sync_local_replays_sensor"),
            ("riot_refresh_every_2_minutes", "riot", "riot_refresh_schedule"),
        ]
        assert carry_instigators(instance, todo) == 2

        # what the daemon reads: each state by its name and location
        states = {s.instigator_name: s for s in instance.all_instigator_state()}
        assert set(states) == {
            "replay_sync_local_replays_sensor",
            "riot_refresh_schedule",
            "training_schedule",  # it was off: nothing to carry, left as it was
        }
        sensor = states["replay_sync_local_replays_sensor"]
        assert sensor.status == InstigatorStatus.RUNNING
        assert sensor.instigator_data.cursor == '{"mewtwo": 1764892800.0}'
        assert sensor.selector.location_name == "replay_sync"
        schedule = states["riot_refresh_schedule"]
        assert schedule.status == InstigatorStatus.RUNNING
        assert schedule.selector.location_name == "riot"
        assert states["training_schedule"].status == InstigatorStatus.STOPPED

        # The UI's workspace names the location the same way: its state is the carried one.
        ui_origin = ManagedGrpcPythonEnvCodeLocationOrigin(
            LoadableTargetOrigin(executable_path=sys.executable, module_name="riot_location"),
            location_name="riot",
        )
        ui_schedule = RemoteInstigatorOrigin(
            RemoteRepositoryOrigin(ui_origin, "__repository__"), "riot_refresh_schedule"
        )
        seen = instance.get_instigator_state(ui_schedule.get_id(), schedule.selector_id)
        assert seen is not None and seen.status == InstigatorStatus.RUNNING

        assert plan_instigators(instance) == []  # idempotent
        assert carry_instigators(instance, plan_instigators(instance)) == 0
