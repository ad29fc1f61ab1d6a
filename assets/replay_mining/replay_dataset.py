"""Stage 4, the replay dataset: `datasets/replays/replays_YYYYMMDD.parquet`, published atomically."""

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
from assets.common import SkipLedger, metadata_table
from assets.partition_records import PartitionRejected, Published
from assets.pools import one_writer_per_partition
from assets.replay_mining.mettagrid import DATASET_SCHEMA
from assets.replay_mining.spec import SPEC, each_day, stage_errors
from assets.replay_mining.stages import DatasetCheckFailed, DatasetChecks, write_dataset
from resources.lake import LakeResource

CHECKS = {
    "schema_matches_documented": "Columns, types and order are exactly the documented schema.",
    "episode_agent_step_unique": "No (episode_id, agent_id, step) appears twice.",
    "action_names_known": "Every action_name is one of its replay's action_names.",
    "steps_within_max_steps": "Every step is in [0, max_steps) of its replay.",
}

# The columns of the preview, the dataset's first rows.
PREVIEW_COLUMNS = [
    "episode_id",
    "agent_id",
    "step",
    "position_x",
    "position_y",
    "action_name",
    "reward",
]


def _check_results(checks: DatasetChecks) -> list[AssetCheckResult]:
    return [
        AssetCheckResult(check_name="schema_matches_documented", passed=checks.schema_ok),
        AssetCheckResult(
            check_name="episode_agent_step_unique",
            passed=checks.duplicate_keys == 0,
            metadata={"duplicate_keys": checks.duplicate_keys},
        ),
        AssetCheckResult(
            check_name="action_names_known",
            passed=checks.unknown_actions == 0,
            metadata={"unknown_actions": checks.unknown_actions},
        ),
        AssetCheckResult(
            check_name="steps_within_max_steps",
            passed=checks.steps_out_of_range == 0,
            metadata={"steps_out_of_range": checks.steps_out_of_range},
        ),
    ]


@asset(
    **SPEC.asset_args(
        kinds={"parquet", "s3"},
        code_version="3",
        metadata=lake_metadata(
            arrow_columns(DATASET_SCHEMA), "datasets/replays/replays_<YYYYMMDD>.parquet"
        ),
        check_specs=[
            # Per day: each day's file is audited on its own, so each partition has its result.
            AssetCheckSpec(
                name,
                asset=SPEC.key("replay_dataset"),
                description=text,
                blocking=True,
                partitions_def=SPEC.partitions_def,
            )
            for name, text in CHECKS.items()
        ],
    ),
    deps=[SPEC.key("parsed_replays")],
)
@one_writer_per_partition(SPEC.name)
def replay_dataset(context: AssetExecutionContext, lake: LakeResource) -> Iterator:
    """The day's supervised-learning dataset: one row per agent per step, sorted by
    (episode_id, agent_id, step), schema in docs/replay_mining.md.

    Written, audited by the checks, then published atomically: readers see the old file or the
    new one, never half of one, and a day that fails its checks publishes nothing.
    """

    def publish(day: dt.date) -> Published:
        try:
            with stage_errors():
                result = write_dataset(lake.lake, day)
        except DatasetCheckFailed as exc:
            failure = Failure(
                description=str(exc),
                metadata={"problems": MetadataValue.json(exc.checks.problems[:20])},
            )
            raise PartitionRejected(failure, _check_results(exc.checks)) from exc
        ledger = SkipLedger(what="replays", skipped=list(result.failed.items()))
        metadata = {
            "dagster/row_count": result.rows,
            "episodes": result.episodes,
            "bytes": MetadataValue.int(result.bytes),
            "path": MetadataValue.path(lake.lake.uri(result.key)),
            # the first rows, as a typed table (an empty one for a day without replays)
            "preview": metadata_table(result.preview, columns=PREVIEW_COLUMNS),
            **ledger.as_metadata(),
        }
        return Published(metadata, _check_results(result.checks))

    yield from each_day(context, publish)
