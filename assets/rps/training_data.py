"""The asset `rps/training_data`: the selected games' rounds as feature rows, parquet in the lake."""

import numpy as np
import pyarrow.parquet as pq
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.catalog import arrow_columns, lake_metadata, uri_metadata
from assets.common import SkipLedger, metadata_table
from assets.rps.modeling import trainability_problem
from assets.rps.spec import SPEC, TRAINING_DATA_KEY, TRAINING_FRESHNESS
from assets.rps.training_rows import (
    SCHEMA,
    BuildStats,
    feature_rows,
    parse_since,
    record_batches,
)
from resources.lake import LakeResource
from resources.rps.games_store import GamesStoreResource
from resources.rps.settings import RpsTrainingSettings


class TrainingDataConfig(Config):
    max_skipped_share: float = 0.25  # unfinished (abandoned) games are common; past this, fail
    chunk_rows: int = 50_000


@asset(
    **SPEC.asset_args(
        kinds={"python", "parquet"},
        code_version="1",
        freshness_policy=TRAINING_FRESHNESS,
        metadata=lake_metadata(arrow_columns(SCHEMA), TRAINING_DATA_KEY),
        check_specs=[
            AssetCheckSpec(
                "labels_in_range",
                asset=SPEC.key("training_data"),
                blocking=True,
                description="Every row's label is a move (rock, paper or scissors).",
            ),
            AssetCheckSpec(
                "trainable",
                asset=SPEC.key("training_data"),
                description="Enough rows (RPS_MIN_TRAINING_ROWS) and all three moves among the "
                "labels, so bot_models can train (warns otherwise).",
            ),
        ],
    ),
    deps=[SPEC.key("legacy_games"), SPEC.key("simulated_human_games")],
)
def training_data(
    context: AssetExecutionContext,
    config: TrainingDataConfig,
    rps_games: GamesStoreResource,
    rps_training: RpsTrainingSettings,
    lake: LakeResource,
) -> MaterializeResult:
    """One row per model-played round (round >= 4) of the selected games: 50 features from the
    history before the round, label = the player's move. Non-test games since
    TRAINING_DATA_SINCE_DATE; humans all kept, legacy bots 1 in TRAINING_LEGACY_GAME_STRIDE by
    game id. Streamed from the store to parquet in the lake in bounded chunks."""
    store = rps_games.store()
    since = parse_since(rps_training.since_date)
    ledger = SkipLedger("rounds", max_share=config.max_skipped_share)
    stats = BuildStats()
    with store.connection() as conn:
        counts = store.count_games(conn, since)
        rows = feature_rows(
            store.stream_training_rounds(conn, since),
            rps_training.legacy_game_stride,
            ledger.skip,
            stats,
        )
        with (
            lake.lake.publish(TRAINING_DATA_KEY) as path,
            pq.ParquetWriter(path, SCHEMA, compression="zstd") as writer,
        ):
            for batch in record_batches(rows, config.chunk_rows):
                writer.write_batch(batch)
            ledger.enforce(stats.rounds_read)  # past the threshold: raise, publish nothing
    labels = stats.label_counts
    problem = trainability_problem(np.repeat(np.arange(3), labels), rps_training.min_training_rows)
    if counts["games"] and counts["games"] == counts["test_games"]:
        problem = "only test games in the window"
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(lake.lake.uri(TRAINING_DATA_KEY)),
            **uri_metadata(lake.lake.uri(TRAINING_DATA_KEY)),
            "dagster/row_count": stats.rows,
            "rows": stats.rows,
            "bytes": lake.lake.size(TRAINING_DATA_KEY) or 0,
            "since": since,
            "legacy_game_stride": rps_training.legacy_game_stride,
            "games_in_window": counts["games"],
            "test_games_excluded": counts["test_games"],
            "games_kept": stats.games_kept,
            "human_games": stats.human_games,
            "legacy_games": stats.legacy_games,
            "legacy_games_dropped_by_stride": stats.games_dropped_by_stride,
            "rounds_read": stats.rounds_read,
            "labels": metadata_table(
                [dict(zip(("rock", "paper", "scissors"), labels, strict=True))]
            ),
            "trainable": MetadataValue.text(problem or "yes"),
            **ledger.as_metadata(),
        },
        check_results=[
            AssetCheckResult(
                check_name="labels_in_range",
                passed=stats.rows == sum(labels),
                metadata={"rows": stats.rows, "labelled": sum(labels)},
            ),
            AssetCheckResult(
                check_name="trainable",
                passed=problem is None,
                severity=AssetCheckSeverity.WARN,
                description=problem or "enough rows and all three classes",
            ),
        ],
    )
