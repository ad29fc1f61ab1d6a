"""Training rows: which games count, and their rounds turned into feature rows, streamed (the
plain logic of the `training_data` asset, in `training_data.py`).

Selection (the platform's rule): non-test games since `TRAINING_DATA_SINCE_DATE`; human games all
kept; legacy-bot games kept 1 in `TRAINING_LEGACY_GAME_STRIDE`, chosen by game id (`id % stride
== 0`) so the choice is deterministic and a game's fate never changes as new games arrive.
Rows: one per model-played round (round >= 4), features from the whole history before it.
Bad rounds (moves outside rock/paper/scissors, duplicate round numbers) and unfinished games are
skipped and reported through `skip(item, reason)`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import groupby

import numpy as np
import pyarrow as pa

from assets.rps.features import FEATURE_NAMES, FeatureState
from assets.rps.game import MODEL_FIRST_ROUND, MOVE_INDEX, outcome

DEFAULT_SINCE = "2025-10-01T00:00:00Z"
DEFAULT_STRIDE = 5

SCHEMA = pa.schema(
    [
        pa.field("game_id", pa.int64()),
        pa.field("round_number", pa.int32()),
        *(pa.field(name, pa.float32()) for name in FEATURE_NAMES),
        pa.field("label", pa.int8()),
    ]
)

Skip = Callable[[str, str], None]


def parse_since(text: str) -> str:
    """`TRAINING_DATA_SINCE_DATE` as the store's timestamp text; a clear error when malformed."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(
            f"TRAINING_DATA_SINCE_DATE={text!r} is not an ISO date/time; use e.g. "
            "2025-10-01T00:00:00Z"
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return timestamp_text(moment)


def timestamp_text(moment: datetime) -> str:
    """The store's timestamp format: ISO-8601 UTC with microseconds, sortable as text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def keeps_game(game_id: int, is_legacy: bool, stride: int) -> bool:
    """The sampling rule: humans always; legacy bots 1 in `stride` by game id."""
    if stride < 1:
        raise ValueError(f"TRAINING_LEGACY_GAME_STRIDE must be >= 1 (got {stride})")
    return not is_legacy or stride == 1 or game_id % stride == 0


@dataclass
class BuildStats:
    games_read: int = 0
    games_kept: int = 0
    games_dropped_by_stride: int = 0
    human_games: int = 0
    legacy_games: int = 0
    rounds_read: int = 0
    rows: int = 0
    label_counts: list[int] = field(default_factory=lambda: [0, 0, 0])


def feature_rows(
    rounds: Iterable[tuple], stride: int, skip: Skip, stats: BuildStats
) -> Iterator[tuple[int, int, list[float], int]]:
    """Feature rows (game_id, round_number, features, label) from the store's round stream.

    `rounds` rows are those of `GamesStore.stream_training_rounds`, ordered by game and round.
    """
    for game_id, game_rounds in groupby(rounds, key=lambda r: r[0]):
        game_rounds = list(game_rounds)  # one game: a few dozen rows
        stats.games_read += 1
        stats.rounds_read += len(game_rounds)
        _, is_legacy, finished = game_rounds[0][:3]
        if not keeps_game(game_id, bool(is_legacy), stride):
            stats.games_dropped_by_stride += 1
            continue
        if not finished:
            skip(f"game {game_id}", f"unfinished game: {len(game_rounds)} rounds, no winner")
            continue
        stats.games_kept += 1
        if is_legacy:
            stats.legacy_games += 1
        else:
            stats.human_games += 1
        state = FeatureState()
        seen: set[int] = set()
        for row in game_rounds:
            _, _, _, number, player, bot, result, v_rock, v_paper, v_scissors, p_score, b_score = (
                row
            )
            if number in seen:
                skip(f"game {game_id} round {number}", "duplicate round: kept the first")
                continue
            if player not in MOVE_INDEX or bot not in MOVE_INDEX:
                skip(f"game {game_id} round {number}", f"bad move: {player!r} vs {bot!r}")
                continue
            seen.add(number)
            values = {"rock": v_rock, "paper": v_paper, "scissors": v_scissors}
            if number >= MODEL_FIRST_ROUND:
                label = MOVE_INDEX[player]
                stats.rows += 1
                stats.label_counts[label] += 1
                yield game_id, number, state.features(number, values), label
            state.add(player, bot, result or outcome(player, bot), values, p_score, b_score)


def record_batches(
    rows: Iterable[tuple[int, int, list[float], int]], chunk_rows: int = 50_000
) -> Iterator[pa.RecordBatch]:
    """Group rows into Arrow record batches of at most `chunk_rows` (memory bounded by a chunk)."""
    buffer: list[tuple[int, int, list[float], int]] = []
    for row in rows:
        buffer.append(row)
        if len(buffer) >= chunk_rows:
            yield _batch(buffer)
            buffer = []
    if buffer:
        yield _batch(buffer)


def _batch(rows: list[tuple[int, int, list[float], int]]) -> pa.RecordBatch:
    features = np.asarray([r[2] for r in rows], dtype=np.float32)
    columns = [
        pa.array(np.fromiter((r[0] for r in rows), np.int64, len(rows))),
        pa.array(np.fromiter((r[1] for r in rows), np.int32, len(rows))),
        *(pa.array(features[:, i]) for i in range(features.shape[1])),
        pa.array(np.fromiter((r[3] for r in rows), np.int8, len(rows))),
    ]
    return pa.RecordBatch.from_arrays(columns, schema=SCHEMA)
