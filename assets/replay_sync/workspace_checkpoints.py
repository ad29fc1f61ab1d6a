"""`replay_sync/workspace_checkpoints`: checkpoints pulled from the bucket into a workspace."""

from dagster import AssetCheckSpec, AssetExecutionContext, MaterializeResult, asset

from assets.replay_sync.spec import CHECKPOINTS_PREFIX, SPEC, SyncConfig
from assets.replay_sync.sync_steps import pull, sync_metadata
from resources.replay_sync.engine import LocalTree
from resources.replay_sync.folders import ReplayFoldersResource
from resources.replay_sync.store import ReplayStoreResource


@asset(
    **SPEC.asset_args(kinds={"s3", "python"}, code_version="1", partitions_def=None),
    deps=[SPEC.key("bucket_checkpoints")],
    check_specs=[
        AssetCheckSpec(
            "workspace_has_checkpoints",
            asset=SPEC.key("workspace_checkpoints"),
            description="After the pull, every checkpoint in the bucket is in the workspace "
            "with the same size.",
        )
    ],
)
def workspace_checkpoints(
    context: AssetExecutionContext,
    config: SyncConfig,
    replay_folders: ReplayFoldersResource,
    replay_store: ReplayStoreResource,
) -> MaterializeResult:
    """Checkpoints pulled from `<bucket>/checkpoints/` into `<workspace>/checkpoints/` (a fresh
    training machine resuming, or a laptop fetching results)."""
    remote, local = replay_store.tree(CHECKPOINTS_PREFIX), LocalTree(replay_folders.checkpoints())
    report, check = pull(
        context, config, remote, local, replay_store.transfers, "workspace_has_checkpoints"
    )
    return MaterializeResult(metadata=sync_metadata(report), check_results=[check])
