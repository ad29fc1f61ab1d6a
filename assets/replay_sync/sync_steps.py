"""The steps the four sync assets (`bucket_replays`, `training_replays`, `bucket_checkpoints`,
`workspace_checkpoints`) share: push or pull through the sync engine, compare the listings
afterwards (the asset check), and describe the sync as metadata. The I/O is the
`replay_store` / `replay_folders` resources' and the engine's (`resources/replay_sync/`); the
sync's plain decisions live beside its engine in `resources/replay_sync/plan.py`."""

from dagster import AssetCheckResult, AssetCheckSeverity, MetadataValue

from assets.common import SkipLedger, metadata_table
from assets.replay_sync.spec import SyncConfig
from resources.object_store import ObjectStoreError
from resources.replay_sync.engine import LocalTree, SyncReport, sync_down, sync_up

CHANGE_COLUMNS = ["file", "reason", "bytes"]


def sync_metadata(report: SyncReport) -> dict:
    preview = [
        {"file": state.path, "reason": reason, "bytes": state.size}
        for state, reason in report.plan.transfers[:20]
    ]
    preview += [
        {"file": rel, "reason": "delete", "bytes": None} for rel in report.plan.deletes[:20]
    ]
    refused = SkipLedger(what="refused_keys", max_share=1.0)
    for key, reason in report.plan.refused:
        refused.skip(key, reason)
    symlinks = SkipLedger(what="symlinks", max_share=1.0)
    for path, reason in report.skipped_symlinks:
        symlinks.skip(path, reason)
    return {
        "source": MetadataValue.path(report.source),
        "destination": MetadataValue.path(report.destination),
        "dry_run": report.dry_run,
        "new_files": report.new,
        "changed_files": report.changed,
        "unchanged_files": len(report.plan.unchanged),
        "deletions": len(report.deleted) if not report.dry_run else 0,
        "would_delete": len(report.plan.deletes) if report.dry_run else 0,
        "transferred_files": report.transferred_files,
        "transferred_bytes": MetadataValue.int(report.transferred_bytes),
        "seconds": MetadataValue.float(round(report.seconds, 3)),
        # the first 20 transfers and 20 deletions; an empty table: nothing to do
        "changes": metadata_table(preview, columns=CHANGE_COLUMNS),
        **refused.as_metadata(),
        **symlinks.as_metadata(),
        # stale partial downloads of a killed pull, removed before this one started
        "cleaned_partials": len(report.cleaned_partials),
        "cleaned_partial_bytes": MetadataValue.int(sum(n for _, n in report.cleaned_partials)),
    }


def mirror_check(check_name: str, source: dict, destination: dict, config: SyncConfig):
    """Listing comparison after the sync: every source file is at the destination with the same
    size, and with `delete` nothing else is. (After a dry run it shows what a sync would fix.)"""
    missing = sorted(p for p in source if p not in destination)
    different = sorted(p for p in source if p in destination and source[p] != destination[p])
    extra = sorted(p for p in destination if p not in source)
    passed = not missing and not different and not (config.delete and extra)
    return AssetCheckResult(
        check_name=check_name,
        passed=passed,
        # A dry run changes nothing, so the differences it reports are expected: warn, don't block.
        severity=AssetCheckSeverity.WARN if config.dry_run else AssetCheckSeverity.ERROR,
        metadata={
            "missing": len(missing),
            "size_differs": len(different),
            "extra_at_destination": len(extra),
            "examples": ", ".join((missing + different)[:10]) or "none",
        },
    )


def _sizes(listing: dict) -> dict[str, int]:
    return {path: state.size for path, state in listing.items()}


def _refuse_emptied_source(local: LocalTree, config: SyncConfig, what: str) -> None:
    """A vanished or unmounted source folder must not empty the destination."""
    if config.delete and not config.dry_run and not local.list():
        raise ObjectStoreError(
            f"{what} {local.root} is empty or missing, so a sync with delete would remove "
            "everything at the destination. Check the folder (SLP_ROOT / REPLAY_SYNC_WORKSPACE), "
            "or run with dry_run to see what would go."
        )


def push(context, config: SyncConfig, local: LocalTree, remote, transfers: int, check: str):
    """Upload sync, then the listing comparison; returns the report, bucket listing and check."""
    _refuse_emptied_source(local, config, "The source folder")
    if not local.root.is_dir():
        context.log.warning(
            f"{local.root} does not exist: nothing to upload. Create it, or point SLP_ROOT / "
            "REPLAY_SYNC_WORKSPACE at the right place."
        )
    report = sync_up(local, remote, config.delete, config.dry_run, transfers, context.log.info)
    bucket, _ = remote.list()
    return report, bucket, mirror_check(check, _sizes(local.list()), _sizes(bucket), config)


def pull(context, config: SyncConfig, remote, local: LocalTree, transfers: int, check: str):
    """Download sync, then the listing comparison (refused keys and skipped local symlinks,
    both named in the metadata, are left out of it)."""
    report = sync_down(remote, local, config.delete, config.dry_run, transfers, context.log.info)
    bucket, _ = remote.list()
    left_out = {key for key, _ in report.plan.refused + report.skipped_symlinks}
    expected = {path: size for path, size in _sizes(bucket).items() if path not in left_out}
    present = {path: size for path, size in _sizes(local.list()).items() if path not in left_out}
    return report, mirror_check(check, expected, present, config)
