"""`replay_sync/replay_index`: every replay of one character parsed by peppi-py into a Parquet
index in the lake. Thin wiring over `slp_index` (plain code)."""

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
from pydantic import Field

from assets.catalog import arrow_columns, lake_metadata, uri_metadata
from assets.common import SkipLedger, metadata_table
from assets.replay_sync.characters import SLUG_TO_EXTERNAL
from assets.replay_sync.slp_index import (
    COLUMNS,
    INDEX_SCHEMA,
    find_replays,
    index_rows,
    write_index,
)
from assets.replay_sync.spec import SPEC
from resources.lake import LakeResource
from resources.lake_tables import lake_key
from resources.replay_sync.folders import ReplayFoldersResource
from resources.replay_sync.settings import SLP_INDEX_KEY

PREVIEW_COLUMNS = [
    "path",
    "valid",
    "stage",
    "characters",
    "frames",
    "winner_character",
    "has_partition_character",
]


class IndexConfig(Config):
    processes: int = Field(default=2, description="Parser processes (peppi-py holds the GIL).")
    max_invalid_share: float = Field(
        default=0.2, description="The index check fails when more replays than this are invalid."
    )


@asset(
    **SPEC.asset_args(
        kinds={"parquet", "python"},
        code_version="1",
        metadata=lake_metadata(
            arrow_columns(INDEX_SCHEMA), "datasets/slp_index/<character>.parquet"
        ),
    ),
    deps=[SPEC.key("bucket_replays")],
    check_specs=[
        AssetCheckSpec(
            "index_schema_and_keys",
            asset=SPEC.key("replay_index"),
            blocking=True,
            description="One row per replay file (paths unique), every row written.",
        ),
        AssetCheckSpec(
            "valid_replay_share",
            asset=SPEC.key("replay_index"),
            blocking=True,
            description="At most max_invalid_share of the replays are unreadable.",
        ),
        AssetCheckSpec(
            "replays_feature_their_character",
            asset=SPEC.key("replay_index"),
            description="Every readable replay in a character's folder has that character "
            "playing (warns otherwise: a file in the wrong folder).",
        ),
    ],
)
def replay_index(
    context: AssetExecutionContext,
    config: IndexConfig,
    replay_folders: ReplayFoldersResource,
    lake: LakeResource,
) -> MaterializeResult:
    """Every replay of one character with its header and outline (ports, characters, stage,
    length in frames, start time, platform, Slippi version, winner when the game says), parsed by
    peppi-py, at `datasets/slp_index/<character>.parquet` in the lake. Broken files are rows too:
    `valid = false` with the parser's reason."""
    character = context.partition_key
    folder = replay_folders.source(character)
    paths = find_replays(folder)
    context.log.info(f"indexing {len(paths)} replays in {folder}")
    key = lake_key(SLP_INDEX_KEY, character)
    batches = index_rows(paths, folder, character, SLUG_TO_EXTERNAL[character], config.processes)
    with lake.lake.publish(key) as destination:
        stats = write_index(batches, destination)
        size = destination.stat().st_size
        table = pq.read_table(destination, columns=PREVIEW_COLUMNS)
    invalid = SkipLedger(what="invalid_replays", max_share=config.max_invalid_share)
    for path, reason in stats["errors"]:
        invalid.skip(path, reason)
    invalid_share = stats["invalid"] / stats["rows"] if stats["rows"] else 0.0
    rows = table.to_pylist()
    off_character = [r["path"] for r in rows if r["valid"] and not r["has_partition_character"]]
    preview = [
        {k: (", ".join(v) if isinstance(v, list) else v) for k, v in r.items()} for r in rows[:10]
    ]
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(lake.lake.uri(key)),
            **uri_metadata(lake.lake.uri(key)),
            "dagster/row_count": stats["rows"],
            "valid_replays": stats["valid"],
            "bytes": MetadataValue.int(size),
            # the first 10 rows; an empty table: no replays
            "preview": metadata_table(preview, columns=PREVIEW_COLUMNS),
            **invalid.as_metadata(),
        },
        check_results=[
            AssetCheckResult(
                check_name="index_schema_and_keys",
                passed=stats["paths_unique"] and table.num_rows == stats["rows"],
                metadata={"columns": len(COLUMNS), "paths_unique": stats["paths_unique"]},
            ),
            AssetCheckResult(
                check_name="valid_replay_share",
                passed=invalid_share <= config.max_invalid_share,
                metadata={
                    "invalid_share": round(invalid_share, 4),
                    "threshold": config.max_invalid_share,
                },
            ),
            AssetCheckResult(
                check_name="replays_feature_their_character",
                passed=not off_character,
                severity=AssetCheckSeverity.WARN,
                metadata={
                    "replays_without_character": len(off_character),
                    "examples": ", ".join(off_character[:10]) or "none",
                },
            ),
        ],
    )
