"""Stage 2, raw replays: each replay file copied into the lake, concurrently, skipping copies
already present and identical."""

import datetime as dt
from collections.abc import Iterator

from dagster import AssetExecutionContext, MetadataValue, asset, asset_check

from assets.catalog import lake_metadata
from assets.common import SkipLedger
from assets.partition_records import Published
from assets.pools import one_writer_per_partition
from assets.replay_mining.spec import SPEC, audit_days, each_day, stage_errors
from assets.replay_mining.stage_audits import download_problems
from assets.replay_mining.stages import download_day, raw_prefix, read_index
from resources.lake import LakeResource
from resources.replay_mining.settings import ReplayMiningSettings
from resources.replay_mining.stats_api import ReplayFilesResource


@asset(
    **SPEC.asset_args(
        kinds={"s3", "file"},
        code_version="1",
        metadata=lake_metadata(None, "raw/replays/date=<YYYY-MM-DD>/<episode_id>.json.z"),
    ),
    deps=[SPEC.key("replay_index")],
)
@one_writer_per_partition(SPEC.name)
def raw_replays(
    context: AssetExecutionContext,
    replay_files: ReplayFilesResource,
    lake: LakeResource,
    replay_mining_settings: ReplayMiningSettings,
) -> Iterator:
    """The day's compressed replay files under `raw/replays/date=YYYY-MM-DD/` in the lake.

    Transient failures (connection errors, 429, 5xx) are retried with backoff; a replay that still
    fails is recorded with its reason and skipped by the parse stage.
    """

    def publish(day: dt.date) -> Published:
        with stage_errors():
            episodes = read_index(lake.lake, day)
            result = download_day(
                lake.lake,
                replay_files,
                day,
                episodes,
                concurrency=replay_mining_settings.download_concurrency,
                progress=context.log.info,
            )
        # not fatal here: the parse stage holds the threshold
        failed = SkipLedger(what="replays", skipped=list(result.failed.items()))
        return Published(
            {
                "replays": len(episodes),
                "replays_downloaded": result.downloaded,
                "replays_already_present": result.already_present,
                "bytes_downloaded": MetadataValue.int(result.bytes_downloaded),
                "path": MetadataValue.path(lake.lake.uri(raw_prefix(day))),
                **failed.as_metadata(),
            }
        )

    yield from each_day(context, publish)


@asset_check(
    asset=raw_replays,
    description="Every episode of the day's index is downloaded (its file in the lake) or failed "
    "with a reason in the download manifest.",
)
def every_replay_downloaded_or_failed(context, lake: LakeResource):
    return audit_days(context, lake.lake, download_problems)
