"""Stage 3, parsed replays: one Arrow IPC part per replay, one row per agent per step."""

import datetime as dt
from collections.abc import Iterator

from dagster import AssetExecutionContext, Failure, MetadataValue, asset, asset_check

from assets.catalog import arrow_columns, lake_metadata
from assets.common import SkipLedger
from assets.partition_records import Published
from assets.pools import one_writer_per_partition
from assets.replay_mining.mettagrid import DATASET_SCHEMA
from assets.replay_mining.spec import SPEC, audit_days, each_day, stage_errors
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
) -> Iterator:
    """Replays decompressed and parsed (format versions 1 to 4) into per-replay Arrow IPC parts.

    Parts already written from the same raw file by the same parser are kept, so a crashed day
    resumes where it stopped. A bad replay is skipped with its reason; the day fails only when more
    than `max_failed_percent` of its replays failed (download and parse together).
    """
    max_share = replay_mining_settings.max_failed_percent / 100

    def publish(day: dt.date) -> Published:
        with stage_errors():
            result = parse_day(
                lake.lake,
                day,
                read_index(lake.lake, day),
                progress=context.log.info,
                max_decompressed_bytes=replay_mining_settings.max_decompressed_bytes,
            )
        ledger = SkipLedger(
            what="replays", max_share=max_share, skipped=list(result.failed.items())
        )
        try:
            ledger.enforce(result.total)
        except Failure as too_many:  # name the day: a range run holds several
            raise Failure(f"{day}: {too_many.description}", metadata=too_many.metadata) from None
        return Published(
            {
                "dagster/row_count": result.rows,
                "replays": result.total,
                "replays_parsed_now": result.parsed,
                "replays_resumed": result.resumed,
                "path": MetadataValue.path(lake.lake.uri(parsed_prefix(day))),
                **ledger.as_metadata(),
            }
        )

    yield from each_day(context, publish)


@asset_check(
    asset=parsed_replays,
    description="Every episode of the day's index has a parsed part or a skip reason in the parse "
    "manifest, and every part the manifest lists exists.",
)
def every_replay_parsed_or_skipped(context, lake: LakeResource):
    return audit_days(context, lake.lake, parse_problems)
