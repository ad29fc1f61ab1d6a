"""The whole rps graph materialised with dagster against real stores: SQLite games store, an S3
lake over HTTP (moto server), a real MLflow registry and the Prometheus textfile."""

from __future__ import annotations

import json

import pytest
from dagster import DagsterInstance, load_assets_from_package_module, materialize

import assets.rps
from assets.rps.modeling import ALIASES, FAMILIES, REGISTERED_NAMES
from assets.rps.spec import MODEL_CACHE_PREFIX
from resources.lake import LakeResource
from resources.rps.games_store import GamesStore, GamesStoreResource
from tests.metadata import table_rows, table_text
from tests.rps.helpers import crafted_game, insert_games

rps_assets = load_assets_from_package_module(assets.rps)  # as the code location loads them

SMALL = {
    "ops": {
        "rps__legacy_games": {"config": {"games_per_player": 6}},
        "rps__simulated_human_games": {"config": {"games_per_player": 8, "simulated_players": 8}},
        "rps__bot_models": {"config": {"n_jobs": 1}},
    }
}


def _metadata(result, asset: str) -> dict:
    for event in result.get_asset_materialization_events():
        if event.materialization.asset_key.path[-1] == asset:
            return {k: v.value for k, v in event.materialization.metadata.items()}
    raise AssertionError(f"{asset} was not materialised")


def _aliases(client) -> dict[tuple[str, str], str]:
    return {
        (family, alias): str(
            client.get_model_version_by_alias(REGISTERED_NAMES[family], alias).version
        )
        for family in FAMILIES
        for alias in ALIASES
    }


@pytest.fixture
def s3_lake(s3_bucket) -> LakeResource:
    return LakeResource(
        root=f"s3://{s3_bucket.name}/lake",
        endpoint_url=s3_bucket.server.endpoint_url,
        region=s3_bucket.server.region,
        access_key_id=s3_bucket.server.access_key_id,
        secret_access_key=s3_bucket.server.secret_access_key,
    )


@pytest.mark.slow
def test_full_graph_trains_promotes_serves_and_caches(
    rps_resources, mlflow_store, sqlite_store, s3_lake, s3_bucket, tmp_path
):
    resources = {**rps_resources, "lake": s3_lake}
    instance = DagsterInstance.ephemeral()
    first = materialize(rps_assets, resources=resources, run_config=SMALL, instance=instance)
    assert first.success
    # before any model exists every game is a counted fallback to the frequency baseline
    assert _metadata(first, "legacy_games")["games_by_fallback"] == 48
    models = _metadata(first, "bot_models")
    assert models["registered_models"] == 12
    columns = table_rows(models["models"])[0]
    assert "held-out accuracy" in columns and "CV accuracy" in columns
    assert 0 <= models["cv_action_accuracy_mean/xgboost/Production"] <= 1

    client = mlflow_store.client()
    registered = _aliases(client)
    assert len(set(registered.values())) >= 4  # each family's four aliases name four versions
    for family in FAMILIES:
        versions = {registered[(family, a)] for a in ALIASES}
        assert len(versions) == 4
        for alias in ALIASES:
            mv = client.get_model_version(REGISTERED_NAMES[family], registered[(family, alias)])
            run = client.get_run(mv.run_id)
            assert {
                "action_accuracy",
                "log_loss",
                "holdout_action_accuracy",
                "holdout_log_loss",
                "cv_action_accuracy_mean",
                "cv_action_accuracy_std",
                "cv_log_loss_mean",
            } <= set(run.data.metrics)
            assert run.data.metrics["cv_folds"] == 3
            assert mv.tags["experiment"]

    # baseline games never count toward promotion: nothing is eligible after the first run
    promotion = _metadata(first, "model_promotion")
    assert promotion["swaps"] == 0
    assert "insufficient_data" in table_text(promotion["decisions"])

    # served by alias: a new gameplay batch plays exactly the versions the registry names now
    second = materialize(
        [a for a in rps_assets if a.key.path[-1] == "legacy_games"],
        resources=resources,
        run_config={
            "ops": {"rps__legacy_games": {"config": {"games_per_player": 3, "batch": "x"}}}
        },
        instance=instance,
    )
    assert second.success and _metadata(second, "legacy_games")["games_by_fallback"] == 0
    with sqlite_store.connection() as conn:
        played = conn.execute(
            "SELECT opponent_family, opponent_alias, opponent_version FROM games "
            "WHERE batch = 'legacy:x'"
        ).fetchall()
    assert len(played) == 24
    for family, alias, version in played:
        assert version == registered[(family, alias)]

    # the cache holds exactly the 12 served models and their markers
    cache_keys = [
        o["Key"][len("lake/") :]
        for o in s3_bucket.client().list_objects_v2(Bucket=s3_bucket.name)["Contents"]
        if o["Key"].startswith(f"lake/{MODEL_CACHE_PREFIX}/")
    ]
    runs = {k.split("/")[2] for k in cache_keys}
    assert len(runs) == 12
    markers = [k for k in cache_keys if k.rsplit("/", 1)[1].startswith(".alias_")]
    assert len(markers) == 12
    for key in markers:
        body = json.loads(s3_bucket.client().get_object(Bucket=s3_bucket.name, Key=f"lake/{key}")["Body"].read())  # fmt: skip
        assert registered[(body["family"], body["alias"])] == body["version"]
        assert key.split("/")[2] == body["run_id"]
    check = first.get_asset_check_evaluations()
    assert all(c.passed for c in check), [(c.check_name, c.description) for c in check]

    # one decision per family stored; Prometheus textfile written
    with sqlite_store.connection() as conn:
        assert conn.execute("SELECT COUNT(*) FROM promotion_events").fetchone()[0] == 3
    text = (tmp_path / "metrics" / "rps.prom").read_text()
    assert (
        'rps_model_promotion_events_total{decision="insufficient_data",model="xgboost"} 1.0' in text
    )
    assert 'rps_model_fallback_total{model="xgboost",reason="no_model"}' in text
    assert "rps_model_promotion_cycles_since_swap" in text

    # bad input: a window holding only test games registers nothing and leaves the aliases alone
    only_tests = GamesStore(f"sqlite:///{tmp_path / 'only_tests.db'}")
    only_tests.ensure_schema()
    insert_games(only_tests, [crafted_game(is_test=True, key=f"t{i}") for i in range(30)])
    untrainable = materialize(
        [a for a in rps_assets if a.key.path[-1] in ("training_data", "bot_models")],
        resources={**resources, "rps_games": GamesStoreResource(url=only_tests.url)},
        instance=instance,
    )
    assert untrainable.success
    meta = _metadata(untrainable, "bot_models")
    assert meta["registered_models"] == 0
    assert "no non-test games" in meta["reason"]
    assert _aliases(client) == registered
