"""`replay_sync/bucket_checkpoints`: the training workspace's checkpoints pushed to the bucket."""

from dagster import AssetCheckSpec, AssetExecutionContext, MaterializeResult, asset

from assets.replay_sync.spec import CHECKPOINTS_PREFIX, SPEC, SyncConfig
from assets.replay_sync.sync_steps import push, sync_metadata
from resources.replay_sync.engine import LocalTree
from resources.replay_sync.folders import ReplayFoldersResource
from resources.replay_sync.store import ReplayStoreResource


@asset(
    **SPEC.asset_args(kinds={"s3", "python"}, code_version="1", partitions_def=None),
    check_specs=[
        AssetCheckSpec(
            "bucket_has_checkpoints",
            asset=SPEC.key("bucket_checkpoints"),
            description="After the push, every checkpoint of the workspace is in the bucket "
            "with the same size.",
        )
    ],
)
def bucket_checkpoints(
    context: AssetExecutionContext,
    config: SyncConfig,
    replay_folders: ReplayFoldersResource,
    replay_store: ReplayStoreResource,
) -> MaterializeResult:
    """Training checkpoints pushed from `<workspace>/checkpoints/` to `<bucket>/checkpoints/`.
    Copy semantics by default (nothing in the bucket is deleted); large files go up in parts with
    bounded memory."""
    local, remote = LocalTree(replay_folders.checkpoints()), replay_store.tree(CHECKPOINTS_PREFIX)
    report, _, check = push(
        context, config, local, remote, replay_store.transfers, "bucket_has_checkpoints"
    )
    return MaterializeResult(metadata=sync_metadata(report), check_results=[check])
