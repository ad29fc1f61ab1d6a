"""Stage 1, the replay index: the day's episodes that have a replay, from the stats server."""

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset, asset_check

from assets.catalog import arrow_columns, lake_metadata
from assets.pools import one_writer_per_partition
from assets.replay_mining.spec import SPEC, audit_days, partition_days
from assets.replay_mining.stage_audits import index_problems
from assets.replay_mining.stages import INDEX_SCHEMA, index_key, write_index
from resources.lake import LakeResource
from resources.replay_mining.stats_api import StatsApiResource


@asset(
    **SPEC.asset_args(
        kinds={"api", "parquet"},
        code_version="1",
        metadata=lake_metadata(
            arrow_columns(INDEX_SCHEMA), "replay_mining/index/date=<YYYY-MM-DD>.parquet"
        ),
    )
)
@one_writer_per_partition(SPEC.name)
def replay_index(
    context: AssetExecutionContext, stats_api: StatsApiResource, lake: LakeResource
) -> MaterializeResult:
    """Episodes of the UTC day with a replay: id, replay URL, policy, environment, created time.

    Pages through the stats server by (created_at, id), since it cuts every answer at 1000 rows.
    """
    per_day = {}
    for day in partition_days(context):
        table = write_index(lake.lake, day, stats_api.episodes_on(day))
        per_day[day.isoformat()] = table.num_rows
        context.log.info(f"{day}: {table.num_rows} episodes with a replay")
    last = partition_days(context)[-1]
    return MaterializeResult(
        metadata={
            "episodes": sum(per_day.values()),
            "episodes_per_day": MetadataValue.json(per_day),
            "path": MetadataValue.path(lake.lake.uri(index_key(last))),
        }
    )


@asset_check(
    asset=replay_index,
    description="No episode appears twice in a day's index, and every episode has a replay URL.",
)
def episodes_unique_with_urls(context, lake: LakeResource):
    return audit_days(context, lake.lake, index_problems)
