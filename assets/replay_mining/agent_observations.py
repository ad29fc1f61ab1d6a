"""Stage 5 (opt-in), what each agent observed:
`datasets/agent_observations/agent_observations_YYYYMMDD.parquet`, published atomically."""

import datetime as dt
from collections.abc import Iterator

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    Failure,
    MetadataValue,
    asset,
)

from assets.catalog import arrow_columns, lake_metadata
from assets.common import SkipLedger
from assets.partition_records import PartitionRejected, Published
from assets.pools import one_writer_per_partition
from assets.replay_mining.observations import OBSERVATION_SCHEMA
from assets.replay_mining.spec import SPEC, each_day, stage_errors
from assets.replay_mining.stages import ObservationsRejected, write_observations
from resources.lake import LakeResource


@asset(
    **SPEC.asset_args(
        kinds={"parquet", "s3"},
        code_version="2",
        metadata=lake_metadata(
            arrow_columns(OBSERVATION_SCHEMA),
            "datasets/agent_observations/agent_observations_<YYYYMMDD>.parquet",
        ),
        check_specs=[
            AssetCheckSpec(
                "episode_agent_step_unique",
                asset=SPEC.key("agent_observations"),
                description="No (episode_id, agent_id, step) appears twice.",
                blocking=True,
                partitions_def=SPEC.partitions_def,  # each day its own result
            )
        ],
    ),
    deps=[SPEC.key("parsed_replays")],
)
@one_writer_per_partition(SPEC.name)
def agent_observations(context: AssetExecutionContext, lake: LakeResource) -> Iterator:
    """The observation each agent received before each action, in the simulator's own token
    encoding (up to num_tokens (location, feature id, value) byte triples), rebuilt from the
    replay's recorded object states, beside the action it took: one row per (episode, agent,
    step), as replay_dataset. Column and feature reference in docs/replay_mining.md.

    The biggest asset of the pipeline (3.6x replay_dataset on the sandbox): the daily job builds it
    only where REPLAY_OBSERVATIONS=1; anywhere it can be materialized by hand or backfilled.
    """

    def publish(day: dt.date) -> Published:
        try:
            with stage_errors():
                result = write_observations(lake.lake, day, progress=context.log.info)
        except ObservationsRejected as rejected:
            raise PartitionRejected(
                Failure(description=str(rejected)), [_unique_check(rejected.duplicate_keys)]
            ) from rejected
        ledger = SkipLedger(what="replays", skipped=list(result.skipped.items()))
        metadata = {
            "dagster/row_count": result.rows,
            "rows_rebuilt": result.rows_rebuilt,
            "episodes": result.episodes,
            "tokens": result.tokens,
            "tokens_per_observation": round(result.tokens / max(result.rows_rebuilt, 1), 1),
            "bytes": MetadataValue.int(result.bytes),
            "path": MetadataValue.path(lake.lake.uri(result.key)),
            # features the episodes' configurations turn on that a replay cannot give back
            "features_not_rebuilt": MetadataValue.json(result.not_rebuilt),
            **ledger.as_metadata(),
        }
        return Published(metadata, [_unique_check(0)])

    yield from each_day(context, publish)


def _unique_check(duplicate_keys: int) -> AssetCheckResult:
    return AssetCheckResult(
        check_name="episode_agent_step_unique",
        passed=duplicate_keys == 0,
        metadata={"duplicate_keys": duplicate_keys},
    )
