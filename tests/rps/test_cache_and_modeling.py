"""The 12-model cache plan and invariant; experiment configs, the trainability rules and the
evaluation procedure's split rules."""

from __future__ import annotations

import numpy as np
import pytest

from assets.rps.cache import CacheEntry, invariant_problems, plan_sync
from assets.rps.modeling import (
    ALIASES,
    FAMILIES,
    TrainingMatrix,
    chronological_parts,
    cv_folds,
    evaluate_and_fit,
    load_experiments,
    prepare_splits,
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


def _learnable(games: int = 200, rounds: int = 5, seed: int = 1) -> TrainingMatrix:
    """Rows in game order (as the training data is); feature 0 is the game id, so a split's
    games can be read back from its scaled rows; the label is learnable from feature 1."""
    rng = np.random.default_rng(seed)
    game_ids = np.repeat(np.arange(1, games + 1) * 5, rounds)  # legacy-like: ids of one stride
    x = rng.random((len(game_ids), 50)).astype(np.float32)
    x[:, 0] = game_ids
    x[:, 2:6] = x[:, 1:2]  # a few copies of the signal: the small MLP finds it on 600 rows
    return TrainingMatrix(x, (x[:, 1] * 3).astype(np.int8), game_ids)


def _games(split, part: str) -> set[int]:
    rows = split.scaler.inverse_transform(getattr(split, f"x_{part}"))
    return set(np.rint(rows[:, 0]).astype(int))


def test_holdout_is_chronological_by_game_and_the_newest_games_are_held_out():
    rng = np.random.default_rng(2)
    game_ids = np.repeat(np.arange(1, 101), rng.integers(4, 30, 100))
    part = chronological_parts(game_ids)
    spans = [(game_ids[part == p].min(), game_ids[part == p].max()) for p in range(3)]
    assert spans[0][1] < spans[1][0] and spans[1][1] < spans[2][0]  # train < validation < held out
    assert spans[2][1] == game_ids.max()
    shares = np.bincount(part) / len(part)
    assert abs(shares[0] - 0.6) < 0.05 and abs(shares[1] - 0.2) < 0.05
    # by game id, not row position: the same games whatever order the rows come in
    shuffled = rng.permutation(len(game_ids))
    assert np.array_equal(chronological_parts(game_ids[shuffled]), part[shuffled])


def test_cv_folds_partition_the_games_deterministically():
    game_ids = np.repeat(np.arange(5, 1001, 5), 3)  # legacy-sampled ids, all one stride apart
    folds = cv_folds(game_ids)
    per_game = {g: set(folds[game_ids == g]) for g in np.unique(game_ids)}
    assert all(len(f) == 1 for f in per_game.values())  # no game in two folds
    sizes = np.bincount([f.pop() for f in per_game.values()])
    assert len(sizes) == 3 and sizes.max() - sizes.min() <= 1
    assert np.array_equal(cv_folds(game_ids), folds)
    order = np.random.default_rng(3).permutation(len(game_ids))
    assert np.array_equal(cv_folds(game_ids[order]), folds[order])


def test_every_split_keeps_games_apart_and_scales_on_its_training_rows_only():
    matrix = _learnable()
    splits = prepare_splits(matrix)
    newest = set(np.unique(matrix.game_ids)[-40:])  # 20 % of 200 equal-length games
    assert _games(splits.holdout, "test") == newest
    assert max(_games(splits.holdout, "train")) < min(_games(splits.holdout, "val"))
    tested = set()
    for split in [splits.registered, splits.holdout, *splits.folds]:
        train, val, test = (_games(split, p) for p in ("train", "val", "test"))
        assert not train & val and not train & test
        # the scaler saw the training rows only
        assert split.scaler.n_samples_seen_ == len(split.y_train)
        assert np.isclose(
            split.scaler.mean_[0], np.mean(split.scaler.inverse_transform(split.x_train)[:, 0])
        )
        if split in splits.folds:
            assert not tested & test  # CV test folds are disjoint ...
            tested |= test
            assert train | val | test == set(matrix.game_ids.tolist())
    assert tested == set(matrix.game_ids.tolist())  # ... and cover every game
    assert np.array_equal(splits.registered.x_test, splits.registered.x_val)  # scored on its val


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_is_evaluated_and_fitted(family):
    matrix = _learnable()
    params = load_experiments(family).params(load_experiments(family).initial_aliases["Production"])
    result = evaluate_and_fit(family, params, prepare_splits(matrix))
    probabilities = result.model.predict_proba(matrix.features[:4])  # raw features: scaler inside
    assert probabilities.shape == (4, 3)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    metrics = result.metrics
    for key in ("action_accuracy", "holdout_action_accuracy", "cv_action_accuracy_mean"):
        assert metrics[key] > 0.5  # well above a third on a learnable label
    assert 0 <= metrics["cv_action_accuracy_std"] < 0.2 and metrics["cv_folds"] == 3
    assert metrics["holdout_log_loss"] > 0 and metrics["cv_log_loss_mean"] > 0
    assert metrics["train_rows"] + metrics["validation_rows"] == len(matrix.labels)


def test_evaluation_is_deterministic_and_skips_a_part_missing_a_class():
    matrix = _learnable()
    params = {**load_experiments("xgboost").params("xgb_depth2_lr10"), "n_estimators": 30}
    first = evaluate_and_fit("xgboost", params, prepare_splits(matrix)).metrics
    assert evaluate_and_fit("xgboost", params, prepare_splits(matrix)).metrics == first
    # scissors only in the newest games: the held-out model's training part never saw it
    matrix.labels[matrix.labels == 2] = 0
    matrix.labels[-30:] = 2
    metrics = evaluate_and_fit("mnlogit", {"C": 1.0}, prepare_splits(matrix)).metrics
    assert "holdout_action_accuracy" not in metrics and "action_accuracy" in metrics
