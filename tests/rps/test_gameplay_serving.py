"""Gameplay says who played each game: a registry model or the frequency baseline, and why.

An unreachable registry (a real closed port) fails the run before any game is stored; a reachable
store with no model yet (a fresh machine) is a fallback said in metadata, the check and the log;
a registered model that fails to load is a failing check.
"""

from __future__ import annotations

import logging
import shutil
import socket
from pathlib import Path
from urllib.parse import unquote, urlsplit

from dagster import DagsterInstance, materialize

from assets.rps.gameplay_wiring import SERVING_CHECK
from assets.rps.legacy_games import legacy_games
from resources.rps.model_registry import MlflowRegistryResource
from tests.rps.helpers import crafted_game, insert_games

ONE_EACH = {"ops": {"rps__legacy_games": {"config": {"games_per_player": 3, "batch": "x"}}}}


def _closed_port() -> int:
    with socket.socket() as s:  # bound then closed: nothing listens there
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _metadata(result) -> dict:
    [event] = result.get_asset_materialization_events()
    return {k: v.value for k, v in event.materialization.metadata.items()}


def _game_count(store) -> int:
    with store.connection() as conn:
        return conn.execute("SELECT COUNT(*) FROM games").fetchone()[0]


def test_an_unreachable_registry_fails_gameplay_with_nothing_stored(rps_resources, sqlite_store):
    insert_games(sqlite_store, [crafted_game(batch="legacy:x", key="kept")])  # the batch before
    uri = f"http://ml:pw-SERVE-SECRET@127.0.0.1:{_closed_port()}"
    resources = {**rps_resources, "mlflow_registry": MlflowRegistryResource(tracking_uri=uri)}
    instance = DagsterInstance.ephemeral()
    result = materialize(
        [legacy_games], resources=resources, run_config=ONE_EACH, instance=instance,
        raise_on_error=False,
    )  # fmt: skip
    assert not result.success
    [failure] = result.get_step_failure_events()
    chain, error = [], failure.event_specific_data.error
    while error is not None:  # Dagster's wrapper, our error, the library's (redacted)
        chain.append((error.cls_name, error.message + "".join(error.stack)))
        error = error.cause
    [message] = [text for cls, text in chain if cls == "MlflowUnavailable"]
    assert "MLFLOW_TRACKING_URI" in message and "No game was played or stored" in message
    assert "http://ml:***@127.0.0.1" in message
    chain = [text for _, text in chain]
    logs = [e.user_message or "" for e in instance.all_logs(result.run_id)]
    assert not [t for t in chain + logs if "pw-SERVE-SECRET" in t]
    # the previous batch is intact and no new game was written
    with sqlite_store.connection() as conn:
        keys = [r[0] for r in conn.execute("SELECT game_key FROM games").fetchall()]
    assert keys == ["kept"]


def test_no_model_registered_yet_is_a_fallback_said_in_metadata_check_and_log(
    rps_resources, sqlite_store
):
    instance = DagsterInstance.ephemeral()
    result = materialize(
        [legacy_games], resources=rps_resources, run_config=ONE_EACH, instance=instance
    )
    assert result.success
    meta = _metadata(result)
    assert meta["games_by_registry_model"] == 0
    assert meta["games_by_fallback"] == 24 == _game_count(sqlite_store)
    assert meta["fallback_reasons"] == {"no_model": 24}
    [check] = result.get_asset_check_evaluations()
    assert check.check_name == SERVING_CHECK and check.passed  # expected on a fresh machine
    assert "no model is registered" in check.description
    warnings = [
        e.user_message
        for e in instance.all_logs(result.run_id)
        if e.level == logging.WARNING and not e.is_dagster_event
    ]
    assert len(warnings) == 1 and "24 of 24 games" in warnings[0]
    assert "rps_training_job" in warnings[0]


def _tiny_model():
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    x = np.random.default_rng(0).random((30, 50)).astype(np.float32)
    return LogisticRegression(max_iter=50).fit(x, np.arange(30) % 3), x


def test_a_registered_model_that_fails_to_load_fails_the_check(rps_resources, mlflow_store):
    registry = mlflow_store.resource().registry()
    model, x = _tiny_model()
    good = registry.log_model("mnlogit", "mnl_c1", model, {}, {}, x[:2], {})
    broken = registry.log_model("mnlogit", "mnl_c1", model, {}, {}, x[:2], {})
    registry.set_aliases("mnlogit", {"Production": good.version, "B": broken.version})
    artifacts = mlflow_store.client().get_run(broken.run_id).info.artifact_uri
    shutil.rmtree(Path(unquote(urlsplit(artifacts).path)) / "model")  # its model files are gone
    result = materialize([legacy_games], resources=rps_resources, run_config=ONE_EACH)
    assert result.success  # the registry answers: the other games are still worth playing
    meta = _metadata(result)
    reasons = meta["fallback_reasons"]
    assert set(reasons) == {"load_error", "no_model"}
    assert meta["games_by_registry_model"] > 0  # mnlogit@Production, loaded
    assert meta["games_by_registry_model"] + meta["games_by_fallback"] == 24
    [check] = result.get_asset_check_evaluations()
    assert not check.passed
    assert "mnlogit@B" in check.description and "failed to load" in check.description
    assert check.metadata["fallback/load_error"].value == reasons["load_error"]
