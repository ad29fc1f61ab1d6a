"""Features (one code path for training and serving, no look-ahead) and the training-data rules."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from assets.rps.features import FEATURE_NAMES, N_FEATURES, state_from_history
from assets.rps.game import MOVE_INDEX, play_game
from assets.rps.players import LEGACY_POLICIES
from assets.rps.training_rows import (
    SCHEMA,
    BuildStats,
    feature_rows,
    keeps_game,
    parse_since,
    record_batches,
)
from tests.rps.helpers import crafted_game, insert_games


def _stream_rows(game_id, game, finished=True, is_legacy=False):
    """A game as the store streams it (see GamesStore.stream_training_rounds)."""
    return [
        (game_id, is_legacy, finished, r.round_number, r.player_move, r.bot_move, r.result,
         r.values["rock"], r.values["paper"], r.values["scissors"], r.player_score, r.bot_score)
        for r in game.rounds
    ]  # fmt: skip


@pytest.fixture(scope="module")
def played():
    return play_game("feat", LEGACY_POLICIES["Dan"], lambda s: {"B": [0.5, 0.3, 0.2]}, "B")


def test_fifty_named_features():
    assert N_FEATURES == 50 == len(set(FEATURE_NAMES))
    assert not set(FEATURE_NAMES) & {"game_id", "round_number", "label"}
    assert SCHEMA.names[-1] == "label"


def test_training_rows_equal_what_serving_computes(played):
    """Serving builds features from the live history; training from the stored rounds: same."""
    rows = list(feature_rows(_stream_rows(1, played), 5, _no_skip, BuildStats()))
    assert [r[1] for r in rows] == list(range(4, len(played.rounds) + 1))
    for game_id, number, features, label in rows:
        history = played.rounds[: number - 1]
        served = state_from_history(history).features(number, played.rounds[number - 1].values)
        assert features == served
        assert label == MOVE_INDEX[played.rounds[number - 1].player_move]  # the move this round
        assert game_id == 1


def test_no_look_ahead(played):
    """Changing round n and later never changes the features of round n."""
    n = 6
    original = list(feature_rows(_stream_rows(1, played), 5, _no_skip, BuildStats()))
    altered = _stream_rows(1, played)
    for i in range(n - 1, len(altered)):
        row = list(altered[i])
        row[4] = {"rock": "paper", "paper": "scissors", "scissors": "rock"}[row[4]]
        altered[i] = tuple(row)
    changed = list(feature_rows(altered, 5, _no_skip, BuildStats()))
    assert changed[n - 4][2] == original[n - 4][2]  # row of round n: same features...
    assert changed[n - 4][3] != original[n - 4][3]  # ...but the label is the new move
    assert changed[n - 3][2] != original[n - 3][2]  # round n+1 sees the change in its history


def test_first_rounds_are_history_not_rows(played):
    rows = list(feature_rows(_stream_rows(1, played), 5, _no_skip, BuildStats()))
    first = dict(zip(FEATURE_NAMES, rows[0][2], strict=True))
    # round 4 sees rounds 1-3 (the serving history includes them; the old trainer dropped them)
    assert sum(first[f"lag3_player_{m}"] for m in ("rock", "paper", "scissors")) == 1.0
    assert first["current_round"] == 4.0


def _no_skip(item, reason):
    raise AssertionError(f"unexpected skip of {item}: {reason}")


def test_sampling_rule_keeps_humans_and_one_in_stride_legacy_by_id():
    ids = range(1, 101)
    assert all(keeps_game(i, False, 5) for i in ids)
    kept = [i for i in ids if keeps_game(i, True, 5)]
    assert kept == list(range(5, 101, 5))
    assert all(keeps_game(i, True, 1) for i in ids)  # 1 disables downsampling
    # deterministic by id: a game's fate doesn't depend on which other games exist
    assert [keeps_game(i, True, 5) for i in (5, 7)] == [True, False]
    with pytest.raises(ValueError, match="TRAINING_LEGACY_GAME_STRIDE"):
        keeps_game(1, True, 0)


def test_bad_rounds_and_unfinished_games_are_skipped_with_reasons(played):
    rows = _stream_rows(10, played)
    rows.insert(5, rows[4])  # a duplicate round
    bad = list(rows[7])
    bad[4] = "lizard"
    rows[7] = tuple(bad)
    unfinished = [(11, *r[1:2], False, *r[3:]) for r in _stream_rows(11, played)[:5]]
    skipped = []
    stats = BuildStats()
    out = list(feature_rows(rows + unfinished, 5, lambda i, r: skipped.append((i, r)), stats))
    reasons = [r.split(":")[0] for _, r in skipped]
    assert sorted(reasons) == ["bad move", "duplicate round", "unfinished game"]
    assert len(out) == len(played.rounds) - 3 - 1  # one bad round dropped
    assert stats.games_kept == 1 and stats.rounds_read == len(rows) + 5


def test_record_batches_are_bounded_by_chunk(played):
    rows = list(feature_rows(_stream_rows(1, played), 5, _no_skip, BuildStats())) * 10
    batches = list(record_batches(iter(rows), chunk_rows=7))
    assert all(b.num_rows <= 7 for b in batches)
    table = pa.Table.from_batches(batches)
    assert table.num_rows == len(rows) and table.schema == SCHEMA
    assert np.array_equal(table.column("label").to_numpy(), [r[3] for r in rows])


def test_since_date_is_validated():
    assert parse_since("2025-10-01T00:00:00Z") == "2025-10-01T00:00:00.000000Z"
    assert parse_since("2025-10-01") == "2025-10-01T00:00:00.000000Z"
    with pytest.raises(ValueError, match="TRAINING_DATA_SINCE_DATE"):
        parse_since("last tuesday")


def test_store_streams_only_non_test_games_since_the_date(any_store):
    games = [
        crafted_game(key="old", started_at="2025-09-30T23:59:59.000000Z"),
        crafted_game(key="test", is_test=True),
        crafted_game(key="kept"),
        crafted_game(key="legacy", is_legacy=True, player="Ace"),
    ]
    ids = insert_games(any_store, games)
    with any_store.connection() as conn:
        streamed = list(any_store.stream_training_rounds(conn, parse_since("2025-10-01")))
    assert sorted({r[0] for r in streamed}) == [ids[2], ids[3]]
    assert [r[3] for r in streamed if r[0] == ids[2]] == [1, 2, 3, 4]
    assert {bool(r[1]) for r in streamed if r[0] == ids[3]} == {True}
