"""The 12-model cache plan and invariant; experiment configs and the trainability rules."""

from __future__ import annotations

import numpy as np
import pytest

from assets.rps.cache import CacheEntry, invariant_problems, plan_sync
from assets.rps.modeling import (
    ALIASES,
    FAMILIES,
    fit_model,
    load_experiments,
    split_and_scale,
    trainability_problem,
    validation_mask,
)


def _desired(suffix: str = "") -> list[CacheEntry]:
    return [
        CacheEntry(f, a, f"rps_bot_{f}", str(i), f"run-{f}-{a}{suffix}")
        for f in FAMILIES
        for i, a in enumerate(ALIASES, start=1)
    ]


def _apply(keys: set[str], plan, desired) -> set[str]:
    keys = set(keys) - set(plan.delete)
    for entry in plan.upload_runs:
        keys |= {f"{entry.run_id}/model.pkl", f"{entry.run_id}/MLmodel"}
    return keys | set(plan.markers)


def test_sync_from_empty_uploads_twelve_and_writes_markers():
    desired = _desired()
    plan = plan_sync(desired, [])
    assert len(plan.upload_runs) == 12 and len(plan.markers) == 12 and plan.delete == []
    assert invariant_problems(_apply(set(), plan, desired), desired) == []


def test_sync_removes_everything_else_and_moves_markers():
    desired = _desired()
    keys = _apply(set(), plan_sync(desired, []), desired)
    # a swap: Production and B of xgboost exchange runs; plus junk from an older sync
    swapped = [
        CacheEntry(e.family, {"Production": "B", "B": "Production"}.get(e.alias, e.alias) if e.family == "xgboost" else e.alias, e.registered_name, e.version, e.run_id)
        for e in desired
    ]  # fmt: skip
    keys |= {"run-old/model.pkl", "run-old/MLmodel", "run-old/.alias_Production", "stray.txt"}
    plan = plan_sync(swapped, keys)
    assert plan.upload_runs == []  # same runs: nothing re-uploaded
    assert {
        "run-old/model.pkl",
        "run-old/MLmodel",
        "run-old/.alias_Production",
        "stray.txt",
    } <= set(plan.delete)
    assert "run-xgboost-Production/.alias_Production" in plan.delete
    after = _apply(keys, plan, swapped)
    assert invariant_problems(after, swapped) == []
    assert "run-xgboost-Production/.alias_B" in after


def test_incomplete_directory_is_uploaded_again():
    desired = _desired()
    keys = _apply(set(), plan_sync(desired, []), desired) - {"run-mnlogit-B/MLmodel"}
    assert [e.run_id for e in plan_sync(desired, keys).upload_runs] == ["run-mnlogit-B"]
    assert any("incomplete" in p for p in invariant_problems(keys, desired))


def test_invariant_names_extra_and_missing():
    desired = _desired()
    keys = _apply(set(), plan_sync(desired, []), desired) | {"run-zzz/MLmodel"}
    problems = invariant_problems(keys, desired)
    assert "extra ['run-zzz']" in problems[0]


def test_experiment_configs_are_complete_and_versioned():
    for family in FAMILIES:
        config = load_experiments(family)
        assert config.version
        assert set(config.initial_aliases) == set(ALIASES)
        assert len(set(config.initial_aliases.values())) == 4
    xgb = load_experiments("xgboost").params("xgb_depth3_lr05")
    assert (
        xgb["n_estimators"] == 300 and xgb["max_depth"] == 3 and xgb["early_stopping_rounds"] == 20
    )


def test_trainability_reasons():
    assert "no training rows" in trainability_problem(np.array([], np.int8))
    assert "at least 200" in trainability_problem(np.zeros(50, np.int8))
    assert "scissors never played" in trainability_problem(np.arange(300) % 2)
    assert trainability_problem(np.arange(300) % 3) is None


def test_validation_split_keeps_games_whole():
    game_ids = np.repeat(np.arange(1, 201), 7)
    val = validation_mask(game_ids)
    for g in np.unique(game_ids):
        assert len(set(val[game_ids == g])) == 1
    assert 0.1 < val.mean() < 0.35
    # independent of the legacy sampling (ids divisible by the stride): both sides get such games
    legacy = np.arange(5, 5001, 5)
    assert 0.1 < validation_mask(legacy).mean() < 0.3


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_fits_and_predicts_probabilities(family):
    rng = np.random.default_rng(1)
    x = rng.random((1000, 50)).astype(np.float32)
    y = (x[:, 0] * 3).astype(np.int8)  # learnable
    params = load_experiments(family).params(load_experiments(family).initial_aliases["Production"])
    result = fit_model(family, params, split_and_scale(x, y, np.repeat(np.arange(200), 5)))
    probabilities = result.model.predict_proba(x[:4])
    assert probabilities.shape == (4, 3)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert result.metrics["action_accuracy"] > 0.5  # well above a third on a learnable label
