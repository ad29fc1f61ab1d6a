"""`replay_sync/training_replays`: one character's replays pulled from the bucket onto the
training machine."""

from dagster import AssetCheckSpec, AssetExecutionContext, MaterializeResult, asset

from assets.replay_sync.spec import SPEC, TRAINING_PULL_FRESHNESS, SyncConfig
from assets.replay_sync.sync_steps import pull, sync_metadata
from resources.replay_sync.engine import LocalTree
from resources.replay_sync.folders import ReplayFoldersResource
from resources.replay_sync.store import ReplayStoreResource


@asset(
    **SPEC.asset_args(
        kinds={"s3", "python"}, code_version="1", freshness_policy=TRAINING_PULL_FRESHNESS
    ),
    deps=[SPEC.key("bucket_replays")],
    check_specs=[
        AssetCheckSpec(
            "workspace_matches_bucket",
            asset=SPEC.key("training_replays"),
            description="After the pull, every replay in the bucket is in the workspace with the "
            "same size (refused keys and local symlinks left out, named in the metadata).",
        )
    ],
)
def training_replays(
    context: AssetExecutionContext,
    config: SyncConfig,
    replay_folders: ReplayFoldersResource,
    replay_store: ReplayStoreResource,
) -> MaterializeResult:
    """One character's replays on the training machine (`<workspace>/replays/<character>/`),
    pulled from the bucket with the same semantics; keys that would escape the folder (`..`,
    absolute paths) are refused and reported; files land whole (temporary name, then rename)."""
    character = context.partition_key
    remote, local = replay_store.tree(character), LocalTree(replay_folders.training(character))
    report, check = pull(
        context, config, remote, local, replay_store.transfers, "workspace_matches_bucket"
    )
    return MaterializeResult(metadata=sync_metadata(report), check_results=[check])
