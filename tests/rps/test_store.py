"""The games store's queries on both engines (SQLite file, PostgreSQL server)."""

from __future__ import annotations

import pytest

from resources.rps.games_store import GamesStore, PromotionState
from tests.rps.helpers import crafted_game, insert_games


def test_batches_replace_and_windows_filter(any_store):
    lineage = {"Production": "exp_p", "B": "exp_b"}
    predictions = {"Production": "rock", "B": "paper"}
    ids = insert_games(
        any_store,
        [
            crafted_game("xgboost", "Production", "bot", key="a", batch="b1", experiments=lineage, predictions=predictions),
            crafted_game("xgboost", "B", None, key="b", batch="b1"),  # unfinished
            crafted_game("xgboost", "B", "user", key="c", batch="b1", is_test=True),
            crafted_game("xgboost", "B", "bot", key="d", batch="b2", fallback_reason="no_model"),
            crafted_game("mnlogit", "B", "tie", key="e", batch="b2"),
        ],
    )  # fmt: skip
    with any_store.connection() as conn:
        assert any_store.window_games(conn, "xgboost", 0) == [(ids[0], "Production", "bot")]
        assert any_store.window_games(conn, "xgboost", ids[0]) == []
        assert any_store.window_games(conn, "mnlogit", 0) == [(ids[4], "B", "tie")]
        rows = list(any_store.window_predictions(conn, "xgboost", 0))
        assert len(rows) == 1 and '"B": "paper"' in rows[0][2]
        assert any_store.fallback_counts(conn) == {("xgboost", "no_model"): 1}
        assert any_store.max_game_id(conn) == max(ids)
        assert any_store.count_games(conn, "2025-01-01") == {"games": 5, "test_games": 1}
    with any_store.connection() as conn:
        assert any_store.delete_batch(conn, "b1") == 3
    with any_store.connection() as conn:
        assert conn.execute("SELECT COUNT(*) FROM rounds").fetchone()[0] == 8
        assert any_store.max_game_id(conn) == max(ids)


def test_promotion_state_upserts_and_rolls_back(any_store):
    event = {"created_at": "t", "family": "xgboost", "decision": "retain_production", "reranked": True,
             "accuracies": {"e": {"accuracy": 0.5, "predictions": 2}}}  # fmt: skip
    with any_store.connection() as conn:
        assert any_store.promotion_state(conn, "xgboost") == PromotionState("xgboost")
        any_store.save_promotion(conn, event, PromotionState("xgboost", 5, 1, None))
    with any_store.connection() as conn:
        any_store.save_promotion(conn, event, PromotionState("xgboost", 9, 0, "t2"))
    with pytest.raises(RuntimeError), any_store.connection() as conn:
        any_store.save_promotion(conn, event, PromotionState("xgboost", 99, 7, "t3"))
        raise RuntimeError("the alias move failed")
    with any_store.connection() as conn:
        assert any_store.promotion_state(conn, "xgboost") == PromotionState("xgboost", 9, 0, "t2")
        assert any_store.promotion_event_counts(conn) == {("xgboost", "retain_production"): 2}
        assert any_store.reorder_counts(conn) == {"xgboost": 2}


def test_bad_database_url_says_what_to_use():
    with pytest.raises(ValueError, match="sqlite:/// or postgresql://"):
        GamesStore("mysql://u:p@h/db")


def test_unreachable_postgres_names_the_variable_not_the_password():
    from resources.postgres import DatabaseUnavailable

    store = GamesStore("postgresql://rps:hunter2@127.0.0.1:1/rps")
    with pytest.raises(DatabaseUnavailable) as info, store.connection():
        pass
    assert "RPS_DATABASE_URL" in str(info.value) and "hunter2" not in str(info.value)
