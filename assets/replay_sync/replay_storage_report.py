"""`replay_sync/replay_storage_report`: what the bucket holds and costs per month. Thin wiring
over `storage_cost` (plain code)."""

import json

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field

from assets.catalog import lake_metadata, uri_metadata
from assets.common import metadata_table
from assets.replay_sync.spec import SPEC, STORAGE_REPORT_FRESHNESS, character_partitions
from assets.replay_sync.storage_cost import monthly_costs, usage_table
from resources.lake import LakeResource
from resources.replay_sync.store import ReplayStoreResource

STORAGE_REPORT_KEY = "reports/replay_storage.json"


class StorageReportConfig(Config):
    pulls_per_month: float = Field(
        default=30.0, description="Full pulls of the bucket per month (egress), e.g. one a day."
    )


@asset(
    **SPEC.asset_args(
        kinds={"s3", "json"},
        code_version="1",
        partitions_def=None,
        metadata=lake_metadata(None, STORAGE_REPORT_KEY),
        freshness_policy=STORAGE_REPORT_FRESHNESS,
        check_specs=[
            AssetCheckSpec(
                "every_character_in_bucket",
                asset=SPEC.key("replay_storage_report"),
                description="Every configured character's folder in the bucket holds replays "
                "(warns: a character whose uploads never ran or went elsewhere).",
            )
        ],
    ),
    deps=[SPEC.key("bucket_replays"), SPEC.key("bucket_checkpoints")],
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
    key = STORAGE_REPORT_KEY
    lake.lake.write_bytes(
        key,
        json.dumps(
            {"usage": table, "monthly_costs": costs, "pulls_per_month": config.pulls_per_month},
            indent=2,
        ).encode(),
    )
    context.log.info(f"bucket holds {table[-1]['objects']} objects, {table[-1]['bytes']} bytes")
    held = {row["folder"] for row in table[:-1] if row["objects"]}
    absent = [c for c in character_partitions.get_partition_keys() if c not in held]
    return MaterializeResult(
        check_results=[
            AssetCheckResult(
                check_name="every_character_in_bucket",
                passed=not absent,
                severity=AssetCheckSeverity.WARN,
                description=f"no replays in the bucket for {', '.join(absent)}"
                if absent
                else "every character has replays in the bucket",
            )
        ],
        metadata={
            "path": MetadataValue.path(lake.lake.uri(key)),
            **uri_metadata(lake.lake.uri(key)),
            "objects": table[-1]["objects"],
            "bytes": MetadataValue.int(table[-1]["bytes"]),
            "usage": metadata_table(table, limit=len(table)),  # every folder and the total
            "monthly_cost": metadata_table(costs),
            **{f"monthly_usd_{c['provider'].split()[-1].lower()}": c["total_usd"] for c in costs},
        },
    )
