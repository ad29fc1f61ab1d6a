"""Stage 4, the replay dataset: `datasets/replays/replays_YYYYMMDD.parquet`, published atomically."""

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.catalog import arrow_columns, lake_metadata
from assets.common import SkipLedger, metadata_table
from assets.pools import one_writer_per_partition
from assets.replay_mining.mettagrid import DATASET_SCHEMA
from assets.replay_mining.spec import SPEC, partition_days, stage_errors
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
            AssetCheckSpec(name, asset=SPEC.key("replay_dataset"), description=text, blocking=True)
            for name, text in CHECKS.items()
        ],
    ),
    deps=[SPEC.key("parsed_replays")],
)
@one_writer_per_partition(SPEC.name)
def replay_dataset(context: AssetExecutionContext, lake: LakeResource) -> MaterializeResult:
    """The day's supervised-learning dataset: one row per agent per step, sorted by
    (episode_id, agent_id, step), schema in docs/replay_mining.md.

    Written, audited by the checks, then published atomically: readers see the old file or the
    new one, never half of one, and a day that fails its checks publishes nothing.
    """
    overall = DatasetChecks()
    ledger = SkipLedger(what="replays")
    per_day, rows, episodes, size, preview, last_key = {}, 0, 0, 0, [], None
    for day in partition_days(context):
        try:
            with stage_errors():
                result = write_dataset(lake.lake, day)
        except DatasetCheckFailed as exc:
            raise Failure(
                description=str(exc),
                metadata={"problems": MetadataValue.json(exc.checks.problems[:20])},
            ) from exc
        for name in ("duplicate_keys", "unknown_actions", "steps_out_of_range"):
            setattr(overall, name, getattr(overall, name) + getattr(result.checks, name))
        for episode_id, reason in result.failed.items():
            ledger.skip(f"{day} {episode_id}", reason)
        per_day[day.isoformat()] = {
            "rows": result.rows,
            "episodes": result.episodes,
            "bytes": result.bytes,
        }
        rows, episodes, size = rows + result.rows, episodes + result.episodes, size + result.bytes
        preview = preview or result.preview
        last_key = result.key
        context.log.info(f"{day}: published {result.rows} rows from {result.episodes} replays")
    return MaterializeResult(
        metadata={
            "rows": rows,
            "episodes": episodes,
            "bytes": MetadataValue.int(size),
            "path": MetadataValue.path(lake.lake.uri(last_key)),
            "days": MetadataValue.json(per_day),
            # the first rows, as a typed table (an empty one for a day without replays)
            "preview": metadata_table(preview, columns=PREVIEW_COLUMNS),
            **ledger.as_metadata(),
        },
        check_results=_check_results(overall),
    )
