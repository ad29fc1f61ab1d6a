"""Stage 3, parsed replays: one Arrow IPC part per replay, one row per agent per step."""

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset, asset_check

from assets.catalog import arrow_columns, lake_metadata
from assets.common import SkipLedger
from assets.pools import one_writer_per_partition
from assets.replay_mining.mettagrid import DATASET_SCHEMA
from assets.replay_mining.spec import (
    SPEC,
    audit_days,
    partition_days,
    stage_errors,
)
from assets.replay_mining.stage_audits import parse_problems
from assets.replay_mining.stages import parse_day, parsed_prefix, read_index
from resources.lake import LakeResource
from resources.replay_mining.settings import ReplayMiningSettings


@asset(
    # Arrow IPC parts (not parquet): each row as the dataset will hold it.
    **SPEC.asset_args(
        kinds={"python", "arrow"},
        code_version="3",
        metadata=lake_metadata(
            arrow_columns(DATASET_SCHEMA), "parsed/replays/date=<YYYY-MM-DD>/<episode_id>.arrow"
        ),
    ),
    deps=[SPEC.key("raw_replays")],
)
@one_writer_per_partition(SPEC.name)
def parsed_replays(
    context: AssetExecutionContext, lake: LakeResource, replay_mining_settings: ReplayMiningSettings
) -> MaterializeResult:
    """Replays decompressed and parsed (format versions 1 to 4) into per-replay Arrow IPC parts.

    Parts already written from the same raw file by the same parser are kept, so a crashed day
    resumes where it stopped. A bad replay is skipped with its reason; the day fails only when more
    than `max_failed_percent` of its replays failed (download and parse together).
    """
    ledger = SkipLedger(what="replays", max_share=replay_mining_settings.max_failed_percent / 100)
    totals = {"parsed": 0, "resumed": 0, "rows": 0, "replays": 0}
    for day in partition_days(context):
        with stage_errors():
            result = parse_day(
                lake.lake, day, read_index(lake.lake, day), progress=context.log.info
            )
        day_ledger = SkipLedger(what="replays", max_share=ledger.max_share)
        for episode_id, reason in result.failed.items():
            day_ledger.skip(f"{day} {episode_id}", reason)
            ledger.skip(f"{day} {episode_id}", reason)
        day_ledger.enforce(result.total)
        totals["parsed"] += result.parsed
        totals["resumed"] += result.resumed
        totals["rows"] += result.rows
        totals["replays"] += result.total
        context.log.info(f"{day}: {len(result.parts)} replays parsed, {len(result.failed)} skipped")
    return MaterializeResult(
        metadata={
            "rows": totals["rows"],
            "replays": totals["replays"],
            "replays_parsed_now": totals["parsed"],
            "replays_resumed": totals["resumed"],
            "path": MetadataValue.path(lake.lake.uri(parsed_prefix(partition_days(context)[-1]))),
            **ledger.as_metadata(),
        }
    )


@asset_check(
    asset=parsed_replays,
    description="Every episode of the day's index has a parsed part or a skip reason in the parse "
    "manifest, and every part the manifest lists exists.",
)
def every_replay_parsed_or_skipped(context, lake: LakeResource):
    return audit_days(context, lake.lake, parse_problems)
