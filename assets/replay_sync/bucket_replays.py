"""`replay_sync/bucket_replays`: one character's replays pushed from the recording machine's
`SLP_ROOT/<character>/` to the bucket."""

from dagster import (
    AssetCheckSpec,
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.replay_sync.spec import SPEC, SyncConfig
from assets.replay_sync.sync_steps import push, sync_metadata
from resources.replay_sync.engine import LocalTree
from resources.replay_sync.folders import ReplayFoldersResource
from resources.replay_sync.store import ReplayStoreResource


@asset(
    **SPEC.asset_args(kinds={"s3", "python"}, code_version="1"),
    check_specs=[
        AssetCheckSpec(
            "bucket_matches_local",
            asset=SPEC.key("bucket_replays"),
            blocking=True,
            description="After the push, every local replay is in the bucket with the same size "
            "(and, with delete, nothing else is); warns after a dry run.",
        )
    ],
)
def bucket_replays(
    context: AssetExecutionContext,
    config: SyncConfig,
    replay_folders: ReplayFoldersResource,
    replay_store: ReplayStoreResource,
) -> MaterializeResult:
    """One character's replays in the bucket (`<bucket>/<prefix>/<character>/`), kept like
    `rclone sync slp/<character> bucket:<character>`: new and changed files uploaded (size, then
    mtime, then MD5), unchanged ones skipped, deletions only when asked and only after every
    upload succeeded."""
    character = context.partition_key
    local, remote = LocalTree(replay_folders.source(character)), replay_store.tree(character)
    report, remote_listing, check = push(
        context, config, local, remote, replay_store.transfers, "bucket_matches_local"
    )
    return MaterializeResult(
        metadata={
            **sync_metadata(report),
            "bucket_objects": len(remote_listing),
            "bucket_bytes": MetadataValue.int(sum(s.size for s in remote_listing.values())),
        },
        check_results=[check],
    )
