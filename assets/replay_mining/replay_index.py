"""Stage 1, the replay index: the day's episodes that have a replay, from the stats server."""

import datetime as dt
from collections.abc import Iterator

from dagster import AssetExecutionContext, MetadataValue, asset, asset_check

from assets.catalog import arrow_columns, lake_metadata
from assets.partition_records import Published
from assets.pools import one_writer_per_partition
from assets.replay_mining.spec import SPEC, audit_days, each_day, stage_errors
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
) -> Iterator:
    """Episodes of the UTC day with a replay: id, replay URL, policy, environment, created time.

    Pages through the stats server by (created_at, id), since it cuts every answer at 1000 rows.
    """

    def publish(day: dt.date) -> Published:
        episodes = stats_api.episodes_on(day)
        with stage_errors():
            table = write_index(lake.lake, day, episodes)
        key = index_key(day)
        return Published(
            {
                "dagster/row_count": table.num_rows,  # one row per episode
                "bytes": MetadataValue.int(lake.lake.size(key) or 0),
                "path": MetadataValue.path(lake.lake.uri(key)),
            }
        )

    yield from each_day(context, publish)


@asset_check(
    asset=replay_index,
    description="No episode appears twice in a day's index, and every episode has a replay URL.",
)
def episodes_unique_with_urls(context, lake: LakeResource):
    return audit_days(context, lake.lake, index_problems)
