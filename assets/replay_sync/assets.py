"""replay_sync's assets: replays in the bucket, on the training machine and indexed; checkpoints
both ways; what the bucket costs. Thin wiring over `slp_index` and `storage_cost` (plain code)
and the `replay_store` / `replay_folders` resources (the I/O; the sync's plain decisions live
beside its engine in `resources/replay_sync_plan.py`)."""

import json
import os

import pyarrow.parquet as pq
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    Config,
    MaterializeResult,
    MetadataValue,
    StaticPartitionsDefinition,
    asset,
)
from pydantic import Field

from assets.common import SkipLedger
from assets.replay_sync.characters import SLUG_TO_EXTERNAL, parse_character_list
from assets.replay_sync.slp_index import COLUMNS, find_replays, index_rows, write_index
from assets.replay_sync.storage_cost import markdown_table, monthly_costs, usage_table
from resources.lake import LakeResource
from resources.object_store import ObjectStoreError
from resources.replay_folders import ReplayFoldersResource
from resources.replay_store import ReplayStoreResource
from resources.replay_sync_engine import LocalTree, SyncReport, sync_down, sync_up

GROUP = "replay_sync"
# Asset keys carry the pipeline (`replay_sync/...`): unique across the workspace.
KEY_PREFIX = "replay_sync"
# Partition keys are read when the code location loads: a partition set is part of the definition.
character_partitions = StaticPartitionsDefinition(
    parse_character_list(os.environ.get("REPLAY_SYNC_CHARACTERS"))
)
CHECKPOINTS_PREFIX = "checkpoints"
PREVIEW_COLUMNS = [
    "path",
    "valid",
    "stage",
    "characters",
    "frames",
    "winner_character",
    "has_partition_character",
]


class SyncConfig(Config):
    delete: bool = Field(
        default=False,
        description="Delete what the source no longer has (rclone sync); off = rclone copy.",
    )
    dry_run: bool = Field(default=False, description="List what would change; change nothing.")


class IndexConfig(Config):
    processes: int = Field(default=2, description="Parser processes (peppi-py holds the GIL).")
    max_invalid_share: float = Field(
        default=0.2, description="The index check fails when more replays than this are invalid."
    )


def _sync_metadata(report: SyncReport) -> dict:
    preview = [
        {"file": state.path, "reason": reason, "bytes": state.size}
        for state, reason in report.plan.transfers[:20]
    ]
    preview += [{"file": rel, "reason": "delete", "bytes": ""} for rel in report.plan.deletes[:20]]
    refused = SkipLedger(what="refused_keys", max_share=1.0)
    for key, reason in report.plan.refused:
        refused.skip(key, reason)
    symlinks = SkipLedger(what="symlinks", max_share=1.0)
    for path, reason in report.skipped_symlinks:
        symlinks.skip(path, reason)
    return {
        "source": report.source,
        "destination": report.destination,
        "dry_run": report.dry_run,
        "new_files": report.new,
        "changed_files": report.changed,
        "unchanged_files": len(report.plan.unchanged),
        "deletions": len(report.deleted) if not report.dry_run else 0,
        "would_delete": len(report.plan.deletes) if report.dry_run else 0,
        "transferred_files": report.transferred_files,
        "transferred_bytes": MetadataValue.int(report.transferred_bytes),
        "seconds": MetadataValue.float(round(report.seconds, 3)),
        "changes": MetadataValue.md(markdown_table(preview) if preview else "nothing to do"),
        **refused.as_metadata(),
        **symlinks.as_metadata(),
        # stale partial downloads of a killed pull, removed before this one started
        "cleaned_partials": len(report.cleaned_partials),
        "cleaned_partial_bytes": MetadataValue.int(sum(n for _, n in report.cleaned_partials)),
    }


def _mirror_check(check_name: str, source: dict, destination: dict, config: SyncConfig):
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


def _push(context, config: SyncConfig, local: LocalTree, remote, transfers: int, check: str):
    """Upload sync, then the listing comparison; returns the report, bucket listing and check."""
    _refuse_emptied_source(local, config, "The source folder")
    if not local.root.is_dir():
        context.log.warning(
            f"{local.root} does not exist: nothing to upload. Create it, or point SLP_ROOT / "
            "REPLAY_SYNC_WORKSPACE at the right place."
        )
    report = sync_up(local, remote, config.delete, config.dry_run, transfers, context.log.info)
    bucket, _ = remote.list()
    return report, bucket, _mirror_check(check, _sizes(local.list()), _sizes(bucket), config)


def _pull(context, config: SyncConfig, remote, local: LocalTree, transfers: int, check: str):
    """Download sync, then the listing comparison (refused keys and skipped local symlinks,
    both named in the metadata, are left out of it)."""
    report = sync_down(remote, local, config.delete, config.dry_run, transfers, context.log.info)
    bucket, _ = remote.list()
    left_out = {key for key, _ in report.plan.refused + report.skipped_symlinks}
    expected = {path: size for path, size in _sizes(bucket).items() if path not in left_out}
    present = {path: size for path, size in _sizes(local.list()).items() if path not in left_out}
    return report, _mirror_check(check, expected, present, config)


@asset(
    key_prefix=KEY_PREFIX,
    partitions_def=character_partitions,
    group_name=GROUP,
    kinds={"s3", "python"},
    code_version="1",
    check_specs=[
        AssetCheckSpec(
            "bucket_matches_local", asset=AssetKey([KEY_PREFIX, "bucket_replays"]), blocking=True
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
    report, remote_listing, check = _push(
        context, config, local, remote, replay_store.transfers, "bucket_matches_local"
    )
    return MaterializeResult(
        metadata={
            **_sync_metadata(report),
            "bucket_objects": len(remote_listing),
            "bucket_bytes": MetadataValue.int(sum(s.size for s in remote_listing.values())),
        },
        check_results=[check],
    )


@asset(
    key_prefix=KEY_PREFIX,
    partitions_def=character_partitions,
    group_name=GROUP,
    kinds={"parquet", "python"},
    code_version="1",
    deps=[bucket_replays],
    check_specs=[
        AssetCheckSpec(
            "index_schema_and_keys", asset=AssetKey([KEY_PREFIX, "replay_index"]), blocking=True
        ),
        AssetCheckSpec(
            "valid_replay_share", asset=AssetKey([KEY_PREFIX, "replay_index"]), blocking=True
        ),
        AssetCheckSpec(
            "replays_feature_their_character", asset=AssetKey([KEY_PREFIX, "replay_index"])
        ),
    ],
)
def replay_index(
    context: AssetExecutionContext,
    config: IndexConfig,
    replay_folders: ReplayFoldersResource,
    lake: LakeResource,
) -> MaterializeResult:
    """Every replay of one character with its header and outline (ports, characters, stage,
    length in frames, start time, platform, Slippi version, winner when the game says), parsed by
    peppi-py, at `datasets/slp_index/<character>.parquet` in the lake. Broken files are rows too:
    `valid = false` with the parser's reason."""
    character = context.partition_key
    folder = replay_folders.source(character)
    paths = find_replays(folder)
    context.log.info(f"indexing {len(paths)} replays in {folder}")
    key = f"datasets/slp_index/{character}.parquet"
    batches = index_rows(paths, folder, character, SLUG_TO_EXTERNAL[character], config.processes)
    with lake.lake.publish(key) as destination:
        stats = write_index(batches, destination)
        size = destination.stat().st_size
        table = pq.read_table(destination, columns=PREVIEW_COLUMNS)
    invalid = SkipLedger(what="invalid_replays", max_share=config.max_invalid_share)
    for path, reason in stats["errors"]:
        invalid.skip(path, reason)
    invalid_share = stats["invalid"] / stats["rows"] if stats["rows"] else 0.0
    rows = table.to_pylist()
    off_character = [r["path"] for r in rows if r["valid"] and not r["has_partition_character"]]
    preview = [
        {k: (", ".join(v) if isinstance(v, list) else v) for k, v in r.items()} for r in rows[:10]
    ]
    return MaterializeResult(
        metadata={
            "path": lake.lake.uri(key),
            "dagster/row_count": stats["rows"],
            "valid_replays": stats["valid"],
            "bytes": MetadataValue.int(size),
            "preview": MetadataValue.md(markdown_table(preview) if preview else "no replays"),
            **invalid.as_metadata(),
        },
        check_results=[
            AssetCheckResult(
                check_name="index_schema_and_keys",
                passed=stats["paths_unique"] and table.num_rows == stats["rows"],
                metadata={"columns": len(COLUMNS), "paths_unique": stats["paths_unique"]},
            ),
            AssetCheckResult(
                check_name="valid_replay_share",
                passed=invalid_share <= config.max_invalid_share,
                metadata={
                    "invalid_share": round(invalid_share, 4),
                    "threshold": config.max_invalid_share,
                },
            ),
            AssetCheckResult(
                check_name="replays_feature_their_character",
                passed=not off_character,
                severity=AssetCheckSeverity.WARN,
                metadata={
                    "replays_without_character": len(off_character),
                    "examples": ", ".join(off_character[:10]) or "none",
                },
            ),
        ],
    )


@asset(
    key_prefix=KEY_PREFIX,
    partitions_def=character_partitions,
    group_name=GROUP,
    kinds={"s3", "python"},
    code_version="1",
    deps=[bucket_replays],
    check_specs=[
        AssetCheckSpec("workspace_matches_bucket", asset=AssetKey([KEY_PREFIX, "training_replays"]))
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
    report, check = _pull(
        context, config, remote, local, replay_store.transfers, "workspace_matches_bucket"
    )
    return MaterializeResult(metadata=_sync_metadata(report), check_results=[check])


@asset(
    key_prefix=KEY_PREFIX,
    group_name=GROUP,
    kinds={"s3", "python"},
    code_version="1",
    check_specs=[
        AssetCheckSpec("bucket_has_checkpoints", asset=AssetKey([KEY_PREFIX, "bucket_checkpoints"]))
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
    report, _, check = _push(
        context, config, local, remote, replay_store.transfers, "bucket_has_checkpoints"
    )
    return MaterializeResult(metadata=_sync_metadata(report), check_results=[check])


@asset(
    key_prefix=KEY_PREFIX,
    group_name=GROUP,
    kinds={"s3", "python"},
    code_version="1",
    deps=[bucket_checkpoints],
    check_specs=[
        AssetCheckSpec(
            "workspace_has_checkpoints", asset=AssetKey([KEY_PREFIX, "workspace_checkpoints"])
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
    report, check = _pull(
        context, config, remote, local, replay_store.transfers, "workspace_has_checkpoints"
    )
    return MaterializeResult(metadata=_sync_metadata(report), check_results=[check])


class StorageReportConfig(Config):
    pulls_per_month: float = Field(
        default=30.0, description="Full pulls of the bucket per month (egress), e.g. one a day."
    )


@asset(
    key_prefix=KEY_PREFIX,
    group_name=GROUP,
    kinds={"s3", "json"},
    code_version="1",
    deps=[bucket_replays, bucket_checkpoints],
)
def replay_storage_report(
    context: AssetExecutionContext,
    config: StorageReportConfig,
    replay_store: ReplayStoreResource,
    lake: LakeResource,
) -> MaterializeResult:
    """Objects and bytes per character folder (and checkpoints) in the bucket, with the monthly
    cost at the runbook's prices (B2 $0.005/GB + $0.01/GB egress, R2 $0.015/GB with free egress,
    S3 $0.023/GB + $0.09/GB egress), at `reports/replay_storage.json` in the lake."""
    usage = replay_store.top_level_usage()
    table = usage_table(usage)
    costs = monthly_costs(table[-1]["bytes"], config.pulls_per_month)
    key = "reports/replay_storage.json"
    lake.lake.write_bytes(
        key,
        json.dumps(
            {"usage": table, "monthly_costs": costs, "pulls_per_month": config.pulls_per_month},
            indent=2,
        ).encode(),
    )
    context.log.info(f"bucket holds {table[-1]['objects']} objects, {table[-1]['bytes']} bytes")
    return MaterializeResult(
        metadata={
            "path": lake.lake.uri(key),
            "objects": table[-1]["objects"],
            "bytes": MetadataValue.int(table[-1]["bytes"]),
            "usage": MetadataValue.md(markdown_table(table)),
            "monthly_cost": MetadataValue.md(markdown_table(costs)),
            **{f"monthly_usd_{c['provider'].split()[-1].lower()}": c["total_usd"] for c in costs},
        }
    )
