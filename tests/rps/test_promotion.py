"""The promotion rule on crafted histories, and its all-or-nothing application."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from assets.rps.model_promotion import promote_family
from assets.rps.promotion import (
    INSUFFICIENT,
    RETAIN,
    SWAP,
    AliasHolder,
    Tickers,
    accuracy_by_experiment,
    decide,
)
from resources.rps.model_registry import MlflowUnavailable
from tests.rps.helpers import crafted_game, insert_games

ALIASES = {
    "Production": AliasHolder("1", "exp_p"),
    "B": AliasHolder("2", "exp_b"),
    "shadow1": AliasHolder("3", "exp_s1"),
    "shadow2": AliasHolder("4", "exp_s2"),
}


def _games(production: list[str], b: list[str]) -> list[tuple]:
    rows = [(i, "Production", w) for i, w in enumerate(production)]
    return rows + [(100 + i, "B", w) for i, w in enumerate(b)]


def test_below_three_games_nothing_happens_but_tickers_advance():
    d = decide("xgboost", ALIASES, _games(["bot"] * 2, ["bot"] * 9), {}, Tickers(10, 4), 500)
    assert d.decision == INSUFFICIENT and "Production has 2" in d.reason
    assert d.after == ALIASES and not d.alias_changes()
    assert d.tickers == Tickers(10, 5)
    assert d.games_since_swap == {"Production": 2, "B": 9}


def test_b_with_strictly_higher_win_rate_swaps_and_resets_tickers():
    games = _games(["bot", "user", "user"], ["bot", "bot", "user"])
    d = decide("xgboost", ALIASES, games, {}, Tickers(10, 4), 500)
    assert d.decision == SWAP
    assert d.after["Production"] == ALIASES["B"] and d.after["B"] == ALIASES["Production"]
    assert d.after["shadow1"] == ALIASES["shadow1"] and d.after["shadow2"] == ALIASES["shadow2"]
    assert d.alias_changes() == {"Production": "2", "B": "1"}
    assert d.tickers == Tickers(baseline_game_id=500, cycles_since_swap=0)
    assert d.games_since_swap == {"Production": 0, "B": 0}
    assert d.z_statistic > 0 and 0 < d.p_value <= 1


def test_equal_rates_keep_production_and_a_tie_is_a_bot_loss():
    equal = decide(
        "x", ALIASES, _games(["bot", "user", "user"], ["user", "bot", "user"]), {}, Tickers(), 9
    )
    assert equal.decision == RETAIN and equal.after == ALIASES
    ties = decide(
        "x", ALIASES, _games(["bot", "user", "user"], ["bot", "tie", "tie"]), {}, Tickers(), 9
    )
    assert ties.decision == RETAIN  # B's 1 win + 2 ties = 1/3, not better than 1/3


def test_unfinished_games_never_count():
    games = _games(["bot", "user", "user"], ["bot", "bot", None, None])
    assert decide("x", ALIASES, games, {}, Tickers(), 9).decision == INSUFFICIENT


def test_challenger_rerank_moves_models_but_resets_nothing():
    accuracies = {
        "exp_b": {"accuracy": 0.40, "predictions": 100},
        "exp_s1": {"accuracy": 0.45, "predictions": 50},
        "exp_s2": {"accuracy": 0.50, "predictions": 80},
    }
    d = decide("x", ALIASES, _games(["bot"] * 3, ["user"] * 3), accuracies, Tickers(7, 2), 99)
    assert d.decision == RETAIN  # the recorded decision is the win-rate one
    assert d.reranked
    assert [d.after[a].experiment for a in ("B", "shadow1", "shadow2")] == [
        "exp_s2",
        "exp_s1",
        "exp_b",
    ]
    assert d.after["Production"] == ALIASES["Production"]
    assert d.tickers == Tickers(7, 3)  # a re-rank is not a swap
    assert d.games_since_swap == {"Production": 3, "B": 3}


def test_rerank_ties_break_on_predictions_then_position():
    same = {e: {"accuracy": 0.5, "predictions": 10} for e in ("exp_b", "exp_s1", "exp_s2")}
    assert not decide("x", ALIASES, [], same, Tickers(), 0).reranked
    more = {**same, "exp_s2": {"accuracy": 0.5, "predictions": 11}}
    assert decide("x", ALIASES, [], more, Tickers(), 0).after["B"].experiment == "exp_s2"


def test_accuracy_is_counted_per_model_lineage():
    lineage = '{"Production": "p", "B": "b"}'
    rows = [
        (lineage, "rock", '{"Production": "rock", "B": "paper"}'),
        (lineage, "paper", '{"Production": "rock", "B": "paper"}'),
    ]
    assert accuracy_by_experiment(rows) == {
        "p": {"accuracy": 0.5, "predictions": 2},
        "b": {"accuracy": 0.5, "predictions": 2},
    }


# --- applied to a real games store and a real MLflow registry ----------------------------------


@pytest.fixture
def registry_with_aliases(mlflow_store):
    """mnlogit registered four times (tiny models), aliases Production..shadow2 -> 1..4."""
    registry = mlflow_store.resource().registry()
    x = np.random.default_rng(0).random((30, 50))
    model = LogisticRegression(max_iter=50).fit(x, np.arange(30) % 3)
    versions = {}
    for alias, experiment in zip(
        ("Production", "B", "shadow1", "shadow2"),
        ("mnl_c1", "mnl_c01", "mnl_c10", "mnl_c001"),
        strict=True,
    ):
        versions[alias] = registry.log_model(
            "mnlogit", experiment, model, {}, {}, x[:2], {}
        ).version
    registry.set_aliases("mnlogit", versions)
    return registry, versions


def _swap_history(store, start: int = 0):
    """Production loses all 3 games, B wins all 3: a swap when eligible."""
    games = [crafted_game("mnlogit", "Production", "user", key=f"p{start + i}") for i in range(3)]
    games += [crafted_game("mnlogit", "B", "bot", key=f"b{start + i}") for i in range(3)]
    games += [crafted_game("mnlogit", "B", "bot", key=f"t{start}", is_test=True)]  # never counts
    return insert_games(store, games)


def _events(store):
    with store.connection() as conn:
        return conn.execute(
            "SELECT decision, cycles_since_swap, games_since_swap_production, games_since_swap_b "
            "FROM promotion_events WHERE family = 'mnlogit' ORDER BY id"
        ).fetchall()


def test_promotion_cycles_on_a_real_store_and_registry(
    sqlite_store, registry_with_aliases, mlflow_store
):
    registry, versions = registry_with_aliases
    client = mlflow_store.client()
    name = "rps_bot_mnlogit"
    ids = _swap_history(sqlite_store)

    swap = promote_family(sqlite_store, registry, "mnlogit", "test")
    assert swap.decision == SWAP
    assert str(client.get_model_version_by_alias(name, "Production").version) == versions["B"]
    assert str(client.get_model_version_by_alias(name, "B").version) == versions["Production"]
    with sqlite_store.connection() as conn:
        state = sqlite_store.promotion_state(conn, "mnlogit")
    assert state.baseline_game_id == max(ids) and state.cycles_since_swap == 0

    # the games that caused the swap never count again: no swap straight back
    again = promote_family(sqlite_store, registry, "mnlogit", "test")
    assert again.decision == INSUFFICIENT
    assert str(client.get_model_version_by_alias(name, "Production").version) == versions["B"]

    insert_games(
        sqlite_store, [crafted_game("mnlogit", "Production", "bot", key=f"n{i}") for i in range(2)]
    )
    third = promote_family(sqlite_store, registry, "mnlogit", "test")
    assert third.decision == INSUFFICIENT
    assert _events(sqlite_store) == [
        (SWAP, 0, 0, 0),
        (INSUFFICIENT, 1, 0, 0),
        (INSUFFICIENT, 2, 2, 0),
    ]


def test_failed_alias_move_changes_nothing(
    sqlite_store, registry_with_aliases, mlflow_store, monkeypatch
):
    registry, versions = registry_with_aliases
    _swap_history(sqlite_store)
    real = registry.client.set_registered_model_alias
    calls = []

    def flaky(name, alias, version):  # fault injection: MLflow drops out after one alias moved
        calls.append(alias)
        if len(calls) == 2:
            raise ConnectionError("connection refused")
        return real(name, alias, version)

    monkeypatch.setattr(registry.client, "set_registered_model_alias", flaky)
    with pytest.raises(MlflowUnavailable, match="No model alias was changed"):
        promote_family(sqlite_store, registry, "mnlogit", "test")
    monkeypatch.setattr(registry.client, "set_registered_model_alias", real)

    client = mlflow_store.client()
    for alias, version in versions.items():
        assert str(client.get_model_version_by_alias("rps_bot_mnlogit", alias).version) == version
    assert _events(sqlite_store) == []
    with sqlite_store.connection() as conn:
        assert sqlite_store.promotion_state(conn, "mnlogit").cycles_since_swap == 0


def test_failed_commit_puts_the_aliases_back(
    sqlite_store, registry_with_aliases, mlflow_store, monkeypatch
):
    registry, versions = registry_with_aliases
    _swap_history(sqlite_store)
    real_connection = sqlite_store.connection

    @contextlib.contextmanager
    def failing_commit():
        with real_connection() as conn:
            yield conn
            raise OSError("disk full")  # the transaction rolls back after the aliases moved

    monkeypatch.setattr(sqlite_store, "connection", failing_commit)
    with pytest.raises(OSError, match="disk full"):
        promote_family(sqlite_store, registry, "mnlogit", "test")
    monkeypatch.setattr(sqlite_store, "connection", real_connection)
    client = mlflow_store.client()
    for alias, version in versions.items():
        assert str(client.get_model_version_by_alias("rps_bot_mnlogit", alias).version) == version
    assert _events(sqlite_store) == []


def test_training_moves_all_families_aliases_or_none(
    registry_with_aliases, mlflow_store, monkeypatch
):
    from assets.rps.bot_models import move_aliases

    registry, mnlogit_before = registry_with_aliases
    x = np.random.default_rng(0).random((30, 50))
    model = LogisticRegression(max_iter=50).fit(x, np.arange(30) % 3)
    log = lambda family: registry.log_model(family, "e", model, {}, {}, x[:2], {}).version  # noqa: E731
    feedforward_before = {a: log("feedforward") for a in ("Production", "B", "shadow1", "shadow2")}
    registry.set_aliases("feedforward", feedforward_before)
    new = {
        "mnlogit": {a: log("mnlogit") for a in mnlogit_before},
        "feedforward": {a: log("feedforward") for a in feedforward_before},
    }
    real = registry.client.set_registered_model_alias

    def refuse_feedforward(name, alias, version):  # fault injection on the second family
        if name == "rps_bot_feedforward" and alias == "B":
            raise ConnectionError("connection reset")
        return real(name, alias, version)

    monkeypatch.setattr(registry.client, "set_registered_model_alias", refuse_feedforward)
    with pytest.raises(MlflowUnavailable):
        move_aliases(registry, new)
    monkeypatch.setattr(registry.client, "set_registered_model_alias", real)
    client = mlflow_store.client()
    for family, before in (("mnlogit", mnlogit_before), ("feedforward", feedforward_before)):
        for alias, version in before.items():
            assert (
                str(client.get_model_version_by_alias(f"rps_bot_{family}", alias).version)
                == version
            )
    move_aliases(registry, new)
    assert (
        str(client.get_model_version_by_alias("rps_bot_feedforward", "B").version)
        == new["feedforward"]["B"]
    )
