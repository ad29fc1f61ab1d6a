"""The replay index: one row per `.slp` file with its header and outline, parsed by peppi-py.

A file peppi-py cannot read is still a row (valid = false, with the reason), so the index also
tells which synced files are broken. peppi-py holds the GIL, so large sets are parsed in worker
processes; rows are written to Parquet in batches so memory stays bounded by one batch.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from assets.replay_sync.characters import character_name, stage_name

# Game End methods after which the placements name a winner (peppi: 1 TIME, 2 GAME).
DECISIVE_END_METHODS = {1: "TIME", 2: "GAME"}
END_METHOD_NAMES = {0: "UNRESOLVED", 1: "TIME", 2: "GAME", 3: "RESOLVED", 7: "NO_CONTEST"}

INDEX_SCHEMA = pa.schema(
    [
        ("character", pa.string()),  # the partition (folder) the file lives in
        ("path", pa.string()),  # relative to the character folder
        ("size_bytes", pa.int64()),
        ("valid", pa.bool_()),
        ("error", pa.string()),
        ("slippi_version", pa.string()),
        ("start_at", pa.string()),
        ("played_on", pa.string()),
        ("stage_id", pa.int16()),
        ("stage", pa.string()),
        ("last_frame", pa.int32()),
        ("frames", pa.int32()),
        ("is_teams", pa.bool_()),
        ("is_pal", pa.bool_()),
        ("ports", pa.list_(pa.int8())),  # 1-based port numbers P1..P4
        ("character_ids", pa.list_(pa.int16())),  # external (CSS) ids, in port order
        ("characters", pa.list_(pa.string())),
        ("player_types", pa.list_(pa.string())),
        ("netplay_codes", pa.list_(pa.string())),
        ("end_method", pa.string()),
        ("winner_port", pa.int8()),
        ("winner_character", pa.string()),
        ("has_partition_character", pa.bool_()),
    ]
)
COLUMNS = INDEX_SCHEMA.names
FIRST_FRAME = -123


def _enum_value(value) -> int | None:
    if value is None:
        return None
    return int(getattr(value, "value", value))


def describe_game(game) -> dict:
    """The index fields of a parsed peppi-py game (header and outline only)."""
    start, end, metadata = game.start, game.end, game.metadata or {}
    players = list(start.players)
    character_ids = [int(p.character) for p in players]
    ports = [_enum_value(p.port) + 1 for p in players]
    method = _enum_value(end.method) if end is not None else None
    winner_port = winner_character = None
    if end is not None and method in DECISIVE_END_METHODS and end.players:
        winners = [pe for pe in end.players if pe.placement == 0]
        if len(winners) == 1:
            winner_port = _enum_value(winners[0].port) + 1
            by_port = dict(zip(ports, character_ids, strict=True))
            winner_character = character_name(by_port.get(winner_port))
    last_frame = metadata.get("lastFrame")
    return {
        "valid": True,
        "error": None,
        "slippi_version": ".".join(str(v) for v in start.slippi.version),
        "start_at": metadata.get("startAt"),
        "played_on": metadata.get("playedOn"),
        "stage_id": int(start.stage),
        "stage": stage_name(int(start.stage)),
        "last_frame": last_frame,
        "frames": last_frame - FIRST_FRAME + 1 if last_frame is not None else None,
        "is_teams": bool(start.is_teams),
        "is_pal": start.is_pal,
        "ports": ports,
        "character_ids": character_ids,
        "characters": [character_name(c) for c in character_ids],
        "player_types": [getattr(p.type, "name", str(p.type)) for p in players],
        "netplay_codes": [(p.netplay.code or None) if p.netplay else None for p in players],
        "end_method": END_METHOD_NAMES.get(method, str(method)) if method is not None else None,
        "winner_port": winner_port,
        "winner_character": winner_character,
    }


def index_row(path: str, root: str, character: str, character_id: int | None) -> dict:
    """One index row for the replay at `path` (a str: peppi-py wants one). Never raises on bad
    files: every peppi-py parse error is an OSError, and it becomes the row's `error`."""
    import peppi_py  # imported here so worker processes pay for it only once they parse

    row = dict.fromkeys(COLUMNS)
    row.update(
        character=character,
        path=Path(path).relative_to(root).as_posix(),
        size_bytes=os.path.getsize(path),
        valid=False,
    )
    try:
        game = peppi_py.read_slippi(str(path), skip_frames=True)
        row.update(describe_game(game))
    except OSError as exc:
        row["error"] = f"unreadable replay: {exc}"
    except (AttributeError, TypeError, ValueError, KeyError) as exc:
        row["error"] = f"unexpected replay content: {type(exc).__name__}: {exc}"
    if row["valid"]:
        row["has_partition_character"] = character_id in (row["character_ids"] or [])
    return row


def _index_batch(args: tuple[list[str], str, str, int | None]) -> list[dict]:
    paths, root, character, character_id = args
    return [index_row(p, root, character, character_id) for p in paths]


def find_replays(folder: Path) -> list[Path]:
    """Every `.slp` below `folder`, in a stable order (hidden temporary files excluded)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*.slp") if p.is_file() and not p.name.startswith("."))


def _batched(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def index_rows(
    paths: list[Path],
    root: Path,
    character: str,
    character_id: int | None,
    processes: int = 1,
    batch_size: int = 500,
) -> Iterator[list[dict]]:
    """Index rows in batches, in the order of `paths`; `processes` > 1 parses in a process pool."""
    jobs = [
        ([str(p) for p in batch], str(root), character, character_id)
        for batch in _batched(paths, batch_size)
    ]
    if processes <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield _index_batch(job)
        return
    # spawn, not fork: the run worker has threads (Dagster's, boto3's) that fork would clone.
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(processes, mp_context=context) as pool:
        yield from pool.map(_index_batch, jobs)


def write_index(batches: Iterable[list[dict]], destination: Path) -> dict:
    """Write row batches to a Parquet file; return counts for metadata and checks."""
    stats = {"rows": 0, "valid": 0, "invalid": 0, "errors": [], "paths_unique": True}
    seen: set[str] = set()
    with pq.ParquetWriter(destination, INDEX_SCHEMA, compression="zstd") as writer:
        for rows in batches:
            if not rows:
                continue
            writer.write_table(pa.Table.from_pylist(rows, schema=INDEX_SCHEMA))
            for row in rows:
                stats["rows"] += 1
                if row["valid"]:
                    stats["valid"] += 1
                else:
                    stats["invalid"] += 1
                    stats["errors"].append((row["path"], row["error"]))
                if row["path"] in seen:
                    stats["paths_unique"] = False
                seen.add(row["path"])
    return stats
