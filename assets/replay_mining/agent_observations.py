"""Stage 5 (opt-in), what each agent observed:
`datasets/agent_observations/agent_observations_YYYYMMDD.parquet`, published atomically."""

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.catalog import arrow_columns, lake_metadata
from assets.common import SkipLedger
from assets.pools import one_writer_per_partition
from assets.replay_mining.observations import OBSERVATION_SCHEMA
from assets.replay_mining.spec import SPEC, partition_days, stage_errors
from assets.replay_mining.stages import write_observations
from resources.lake import LakeResource


@asset(
    **SPEC.asset_args(
        kinds={"parquet", "s3"},
        code_version="1",
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
            )
        ],
    ),
    deps=[SPEC.key("parsed_replays")],
)
@one_writer_per_partition(SPEC.name)
def agent_observations(context: AssetExecutionContext, lake: LakeResource) -> MaterializeResult:
    """The observation each agent received before each action, in the simulator's own token
    encoding (up to num_tokens (location, feature id, value) byte triples), rebuilt from the
    replay's recorded object states, beside the action it took: one row per (episode, agent,
    step), as replay_dataset. Column and feature reference in docs/replay_mining.md.

    The biggest asset of the pipeline (3.6x replay_dataset on the sandbox): the daily job builds it
    only where REPLAY_OBSERVATIONS=1; anywhere it can be materialized by hand or backfilled.
    """
    ledger = SkipLedger(what="replays")
    per_day, not_rebuilt, duplicates = {}, {}, 0
    totals = {"rows": 0, "rows_rebuilt": 0, "episodes": 0, "tokens": 0, "bytes": 0}
    last_key = None
    for day in partition_days(context):
        with stage_errors():
            result = write_observations(lake.lake, day, progress=context.log.info)
        duplicates += result.duplicate_keys  # a day with any published nothing and failed
        for episode_id, reason in result.skipped.items():
            ledger.skip(f"{day} {episode_id}", reason)
        for feature, episodes in result.not_rebuilt.items():
            not_rebuilt[feature] = not_rebuilt.get(feature, 0) + episodes
        per_day[day.isoformat()] = {
            "rows": result.rows,
            "episodes": result.episodes,
            "bytes": result.bytes,
        }
        for name in totals:
            totals[name] += getattr(result, name)
        last_key = result.key
        context.log.info(
            f"{day}: {result.rows_rebuilt} observations of {result.episodes} replays published"
        )
    return MaterializeResult(
        metadata={
            **totals,
            "bytes": MetadataValue.int(totals["bytes"]),
            "tokens_per_observation": round(totals["tokens"] / max(totals["rows_rebuilt"], 1), 1),
            "path": MetadataValue.path(lake.lake.uri(last_key)),
            "days": MetadataValue.json(per_day),
            # features the episodes' configurations turn on that a replay cannot give back
            "features_not_rebuilt": MetadataValue.json(not_rebuilt),
            **ledger.as_metadata(),
        },
        check_results=[
            AssetCheckResult(
                check_name="episode_agent_step_unique",
                passed=duplicates == 0,
                metadata={"duplicate_keys": duplicates},
            )
        ],
    )
