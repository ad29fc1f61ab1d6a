"""The code location, its schedules, the metrics textfile and the MLflow error paths."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dagster import RunRequest, build_schedule_context

from resources.rps.metrics import RpsMetrics, RpsMetricsResource
from resources.rps.model_registry import MlflowRegistryResource, MlflowUnavailable
from schedules.rps import rps_legacy_gameplay_schedule


def test_code_location_loads_without_other_pipelines():
    code = (
        "import sys, pipelines.rps as p;"
        "d = p.defs;"
        "assert d.resolve_job_def('rps_training_job').tags['pipeline/serial'] == 'rps';"
        "assert d.resolve_job_def('rps_legacy_gameplay_job').tags['pipeline/serial'] == 'rps';"
        "bad = [m for m in sys.modules if m.startswith(('assets.riot', 'assets.analytics', "
        "'assets.replay', 'peppi'))];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_assets_are_described_grouped_and_versioned():
    from pipelines.rps import defs

    specs = list(defs.resolve_all_asset_specs())
    assert {s.key.to_user_string() for s in specs} == {
        "rps/legacy_games", "rps/simulated_human_games", "rps/training_data", "rps/bot_models",
        "rps/model_promotion", "rps/model_cache",
    }  # fmt: skip
    for spec in specs:
        assert spec.group_name == "rps" and spec.description and spec.code_version and spec.kinds


def test_legacy_gameplay_runs_every_150_minutes_across_midnights():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    fired = []
    for half_hour in range(7 * 48):  # a week of the schedule's 30-minute ticks
        tick = start + timedelta(minutes=30 * half_hour)
        result = rps_legacy_gameplay_schedule(build_schedule_context(scheduled_execution_time=tick))
        if isinstance(result, RunRequest):
            fired.append(tick)
    gaps = {b - a for a, b in zip(fired, fired[1:], strict=False)}
    assert gaps == {timedelta(minutes=150)}
    assert len(fired) == 7 * 24 * 60 // 150


def test_schedule_names_the_batch_after_the_tick():
    tick = datetime(2026, 1, 1, 1, 30, tzinfo=UTC)  # on the grid (minutes since epoch % 150 == 0)
    request = rps_legacy_gameplay_schedule(build_schedule_context(scheduled_execution_time=tick))
    assert request.run_config["ops"]["rps__legacy_games"]["config"]["batch"] == "2026-01-01T01:30"
    assert request.run_key == "2026-01-01T01:30"


def test_metrics_textfile_has_every_promotion_metric(tmp_path):
    metrics = RpsMetrics(
        promotion_events={("xgboost", "swap_production_b"): 2},
        decision_state={("xgboost", "swap_production_b"): 1},
        z_statistic={"xgboost": 1.5},
        p_value={"xgboost": 0.13},
        alias_rank={("xgboost", "B"): 2},
        alias_reorders={"xgboost": 1},
        games_since_swap={("xgboost", "Production"): 4},
        cycles_since_swap={"xgboost": 3},
        fallbacks={("xgboost", "no_model"): 7},
    )
    path = RpsMetricsResource(textfile_path=str(tmp_path / "m" / "rps.prom")).publish(metrics)
    text = Path(path).read_text()
    for line in (
        'rps_model_promotion_events_total{decision="swap_production_b",model="xgboost"} 2.0',
        'rps_model_promotion_decision_state{decision="swap_production_b",model="xgboost"} 1.0',
        'rps_model_promotion_z_statistic{model="xgboost"} 1.5',
        'rps_model_promotion_p_value{model="xgboost"} 0.13',
        'rps_model_alias_rank{alias="B",model="xgboost"} 2.0',
        'rps_model_alias_reorders_total{model="xgboost"} 1.0',
        'rps_model_games_since_production_swap{alias="Production",model="xgboost"} 4.0',
        'rps_model_promotion_cycles_since_swap{model="xgboost"} 3.0',
        'rps_model_fallback_total{model="xgboost",reason="no_model"} 7.0',
    ):
        assert line in text


def test_unreachable_mlflow_is_a_clear_error_without_secrets():
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    registry = MlflowRegistryResource(
        tracking_uri=f"http://user:s3cret@127.0.0.1:{port}"
    ).registry()
    with pytest.raises(MlflowUnavailable) as info:
        registry.check()
    message = str(info.value)
    assert "MLFLOW_TRACKING_URI" in message and "No model alias was changed" in message
    assert "s3cret" not in message


def test_lineage_and_training_job_run_promotion_after_training():
    from pipelines.rps import defs

    graph = {
        s.key.path[-1]: {d.asset_key.path[-1] for d in s.deps}
        for s in defs.resolve_all_asset_specs()
    }
    assert graph["training_data"] == {"legacy_games", "simulated_human_games"}
    assert graph["bot_models"] == {"training_data"}
    assert "bot_models" in graph["model_promotion"]
    assert graph["model_cache"] == {"model_promotion"}
    job = defs.resolve_job_def("rps_training_job")
    assert {n.name for n in job.graph.node_defs} == {
        "rps__training_data", "rps__bot_models", "rps__model_promotion", "rps__model_cache",
    }  # fmt: skip


def _tiny_model():
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    x = np.random.default_rng(0).random((30, 50)).astype(np.float32)
    return LogisticRegression(max_iter=50).fit(x, np.arange(30) % 3), x


def test_logged_model_is_a_finished_run_with_params_metrics_signature_and_a_version(mlflow_store):
    from mlflow.models import Model

    registry = mlflow_store.resource().registry()
    model, x = _tiny_model()
    logged = registry.log_model(
        "mnlogit", "mnl_c1", model, {"C": 1.0}, {"log_loss": 0.5}, x[:2], {"alias": "B"}
    )
    client = mlflow_store.client()
    run = client.get_run(logged.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params == {"C": "1.0"} and run.data.metrics == {"log_loss": 0.5}
    assert {
        "alias": "B",
        "family": "mnlogit",
        "experiment": "mnl_c1",
    }.items() <= run.data.tags.items()
    mv = client.get_model_version("rps_bot_mnlogit", logged.version)
    assert mv.run_id == logged.run_id and mv.tags["experiment"] == "mnl_c1"

    registry.set_aliases("mnlogit", {"Production": logged.version})
    loaded, version = registry.load_model("mnlogit", "Production")
    assert version == logged
    assert (loaded.predict_proba(x[:2]) == model.predict_proba(x[:2])).all()
    files = registry.download_model("mnlogit", logged.version, mlflow_store.artifacts.parent)
    signature = Model.load(files).signature
    assert tuple(signature.inputs.to_dict()[0]["tensor-spec"]["shape"]) == (-1, 50)


def test_a_model_that_fails_to_register_leaves_a_failed_run_and_no_version(
    mlflow_store, monkeypatch
):
    registry = mlflow_store.resource().registry()
    model, x = _tiny_model()

    def refuse(*args, **kwargs):
        raise RuntimeError("registry refused")

    monkeypatch.setattr(registry.client, "create_model_version", refuse)
    with pytest.raises(MlflowUnavailable, match="registry refused"):
        registry.log_model("mnlogit", "mnl_c1", model, {}, {}, x[:2], {})
    client = mlflow_store.client()
    [run] = client.search_runs([registry.experiment_id()])
    assert run.info.status == "FAILED"
    assert client.search_model_versions("name='rps_bot_mnlogit'") == []
