"""Stage 2, raw replays: each replay file copied into the lake, concurrently, skipping copies
already present and identical."""

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset, asset_check

from assets.catalog import lake_metadata
from assets.pools import one_writer_per_partition
from assets.replay_mining.spec import (
    SPEC,
    audit_days,
    partition_days,
    stage_errors,
)
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
) -> MaterializeResult:
    """The day's compressed replay files under `raw/replays/date=YYYY-MM-DD/` in the lake.

    Transient failures (connection errors, 429, 5xx) are retried with backoff; a replay that still
    fails is recorded with its reason and skipped by the parse stage.
    """
    totals = {"downloaded": 0, "already_present": 0, "bytes": 0, "failed": 0}
    failures: dict[str, str] = {}
    for day in partition_days(context):
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
        totals["downloaded"] += result.downloaded
        totals["already_present"] += result.already_present
        totals["bytes"] += result.bytes_downloaded
        totals["failed"] += len(result.failed)
        failures.update({f"{day} {k}": v for k, v in result.failed.items()})
    return MaterializeResult(
        metadata={
            "replays_downloaded": totals["downloaded"],
            "replays_already_present": totals["already_present"],
            "bytes_downloaded": MetadataValue.int(totals["bytes"]),
            "replays_failed": totals["failed"],
            "failures": MetadataValue.json(dict(list(failures.items())[:50])),
            "path": MetadataValue.path(lake.lake.uri(raw_prefix(partition_days(context)[-1]))),
        }
    )


@asset_check(
    asset=raw_replays,
    description="Every episode of the day's index is downloaded (its file in the lake) or failed "
    "with a reason in the download manifest.",
)
def every_replay_downloaded_or_failed(context, lake: LakeResource):
    return audit_days(context, lake.lake, download_problems)
