"""An existing deployment's history, recorded under the keys before they carried their pipeline,
carried over to the new keys (README: Asset keys)."""

from __future__ import annotations

from dagster import AssetKey, AssetMaterialization, DagsterInstance

from deploy.asset_history import carry, plan, workspace_assets


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
