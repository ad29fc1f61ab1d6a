"""`replay_sync/replay_storage_report`: what the bucket holds and costs per month. Thin wiring
over `storage_cost` (plain code)."""

import json

from dagster import AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset
from pydantic import Field

from assets.common import metadata_table
from assets.replay_sync.spec import SPEC
from assets.replay_sync.storage_cost import monthly_costs, usage_table
from resources.lake import LakeResource
from resources.replay_sync.store import ReplayStoreResource


class StorageReportConfig(Config):
    pulls_per_month: float = Field(
        default=30.0, description="Full pulls of the bucket per month (egress), e.g. one a day."
    )


@asset(
    **SPEC.asset_args(kinds={"s3", "json"}, code_version="1", partitions_def=None),
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
            "usage": metadata_table(table, limit=len(table)),  # every folder and the total
            "monthly_cost": metadata_table(costs),
            **{f"monthly_usd_{c['provider'].split()[-1].lower()}": c["total_usd"] for c in costs},
        }
    )
