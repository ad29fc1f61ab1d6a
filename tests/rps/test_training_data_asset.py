"""The training_data asset on a real games store: metadata, idempotence, the skip threshold."""

from __future__ import annotations

import pyarrow.parquet as pq
from dagster import materialize

from assets.rps.spec import TRAINING_DATA_KEY
from assets.rps.training_data import training_data
from tests.rps.helpers import crafted_game, insert_games

MOVES = [("rock", "paper"), ("paper", "scissors"), ("scissors", "rock")] * 3


def _resources(rps_resources) -> dict:
    return {k: rps_resources[k] for k in ("rps_games", "rps_training", "lake")}


def test_training_data_counts_skips_and_is_idempotent(rps_resources, sqlite_store, tmp_path):
    games = [crafted_game(key=f"h{i}", moves=MOVES) for i in range(10)]
    games += [
        crafted_game(key=f"l{i}", moves=MOVES, is_legacy=True, player="Bob") for i in range(10)
    ]
    games += [crafted_game(key="bad", moves=[*MOVES[:5], ("lizard", "rock"), *MOVES[6:]])]
    games += [crafted_game(key="open", moves=MOVES[:4], winner=None)]
    games += [crafted_game(key="test", moves=MOVES, is_test=True)]
    ids = insert_games(sqlite_store, games)
    first = materialize([training_data], resources=_resources(rps_resources))
    meta = {
        k: v.value
        for k, v in first.get_asset_materialization_events()[0].materialization.metadata.items()
    }
    legacy_kept = sum(1 for i in ids[10:20] if i % 5 == 0)
    assert meta["legacy_games"] == legacy_kept and meta["human_games"] == 11
    assert meta["legacy_games_dropped_by_stride"] == 10 - legacy_kept
    assert meta["test_games_excluded"] == 1
    assert meta["skipped_rounds"] == 2  # the lizard round and the unfinished game
    assert meta["rows"] == (10 + legacy_kept) * 6 + 5
    path = tmp_path / "lake" / TRAINING_DATA_KEY
    table = pq.read_table(path)
    assert table.num_rows == meta["rows"] and set(table.column("game_id").to_pylist()) <= set(ids)
    assert {c.check_name: c.passed for c in first.get_asset_check_evaluations()} == {
        "labels_in_range": True,
        "trainable": False,  # 65 rows < 200: shown, not fatal
    }
    second = materialize([training_data], resources=_resources(rps_resources))
    assert second.success and pq.read_table(path).equals(table)


def test_too_many_bad_rounds_fail_and_publish_nothing(rps_resources, sqlite_store, tmp_path):
    insert_games(sqlite_store, [crafted_game(key="open", moves=MOVES, winner=None)] * 3)
    result = materialize(
        [training_data],
        resources=_resources(rps_resources),
        run_config={"ops": {"rps__training_data": {"config": {"max_skipped_share": 0.1}}}},
        raise_on_error=False,
    )
    assert not result.success
    assert not (tmp_path / "lake" / TRAINING_DATA_KEY).exists()
