"""The three model families, their versioned experiment configs, fitting and evaluation.

Every model is a scikit-learn `Pipeline(StandardScaler, classifier)` so the scaling travels inside
the logged model and serving feeds raw features. Each experiment is evaluated the reference's way
(`evaluate_and_fit`): a chronological 60/20/20 held-out report, 3-fold CV by game, and the
registered fit on a game-stratified 80/20 split (every 5th game by a hash of its id validates).
Every split keeps a game's rounds on one side and fits its own scaler on its own training rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from assets.rps.features import FEATURE_NAMES

FAMILIES = ("feedforward", "xgboost", "mnlogit")
ALIASES = ("Production", "B", "shadow1", "shadow2")
CHALLENGERS = ("B", "shadow1", "shadow2")
REGISTERED_NAMES = {f: f"rps_bot_{f}" for f in FAMILIES}
EXPERIMENTS_DIR = Path(__file__).parent / "experiments"
MIN_TRAINING_ROWS = 200
DEFAULT_MAX_TRAINING_ROUNDS = 3000
VALIDATION_EVERY = 5
HOLDOUT_CUTS = (0.6, 0.8)  # train | validation | held out, by game order
CV_FOLDS = 3


@dataclass(frozen=True)
class ExperimentConfig:
    family: str
    version: str
    experiments: dict[str, dict[str, Any]]  # name -> full hyperparameters
    initial_aliases: dict[str, str]

    def params(self, experiment: str) -> dict[str, Any]:
        if experiment not in self.experiments:
            # an alias may hold a version trained from an experiment since removed from the file
            experiment = self.initial_aliases["Production"]
        return dict(self.experiments[experiment])


def load_experiments(family: str, directory: Path = EXPERIMENTS_DIR) -> ExperimentConfig:
    raw = json.loads((directory / f"{family}.json").read_text())
    if raw.get("family") != family:
        raise ValueError(f"{directory / family}.json describes family {raw.get('family')!r}")
    experiments = {name: {**raw["defaults"], **over} for name, over in raw["experiments"].items()}
    missing = set(ALIASES) - set(raw["initial_aliases"])
    unknown = set(raw["initial_aliases"].values()) - set(experiments)
    if missing or unknown:
        raise ValueError(
            f"{family}.json: initial_aliases must name an experiment for each of {ALIASES} "
            f"(missing {sorted(missing)}, unknown experiments {sorted(unknown)})"
        )
    return ExperimentConfig(family, str(raw["version"]), experiments, dict(raw["initial_aliases"]))


def make_classifier(family: str, params: dict[str, Any], n_jobs: int = 1, seed: int = 0):
    if family == "xgboost":
        from xgboost import XGBClassifier

        return XGBClassifier(
            objective="multi:softprob",
            num_class=3,
            tree_method="hist",
            n_jobs=n_jobs,
            random_state=seed,
            **params,
        )
    if family == "feedforward":
        from sklearn.neural_network import MLPClassifier

        params = {**params, "hidden_layer_sizes": tuple(params["hidden_layer_sizes"])}
        return MLPClassifier(random_state=seed, **params)
    if family == "mnlogit":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(random_state=seed, **params)
    raise ValueError(f"unknown model family {family!r}; expected one of {FAMILIES}")


def trainability_problem(labels: np.ndarray, min_rows: int = MIN_TRAINING_ROWS) -> str | None:
    """Why these labels cannot train a model, or None when they can."""
    if len(labels) == 0:
        return "no training rows: no non-test games in the window"
    if len(labels) < min_rows:
        return f"only {len(labels)} training rows; at least {min_rows} are needed"
    missing = [c for c in range(3) if not np.any(labels == c)]
    if missing:
        names = ", ".join(("rock", "paper", "scissors")[c] for c in missing)
        return f"class missing from the labels: {names} never played"
    return None


def _game_hash(game_ids: np.ndarray) -> np.ndarray:
    """A bijective mix of the game id (multiplication by an odd constant, mod 2**64)."""
    return game_ids.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)


def validation_mask(game_ids: np.ndarray) -> np.ndarray:
    """Every 5th game (by a hash of its id) validates. Not `id % 5`: the legacy-game sampling
    keeps ids divisible by the stride, which would put every legacy game on the validation side."""
    return (_game_hash(game_ids) >> np.uint64(40)) % np.uint64(VALIDATION_EVERY) == 0


def _validation_rows(game_ids: np.ndarray) -> np.ndarray:
    """`validation_mask`, or the last fifth of the rows when there are too few games to stratify."""
    val = validation_mask(game_ids)
    if not val.any() or val.all():
        val = np.zeros(len(game_ids), bool)
        val[int(len(game_ids) * 0.8) :] = True
    return val


def chronological_parts(game_ids: np.ndarray) -> np.ndarray:
    """Per row 0 (train), 1 (validation) or 2 (held out): the games in id order (ids grow with
    time) cut 60/20/20 by rows, each game whole on the side where its first row falls, so the
    held-out part is the newest games. Too few games for three parts: cut the rows instead."""
    order = np.argsort(game_ids, kind="stable")
    games, first_row = np.unique(game_ids[order], return_index=True)
    cuts = np.array(HOLDOUT_CUTS) * len(game_ids)
    part = np.searchsorted(cuts, first_row, side="right")[np.searchsorted(games, game_ids)]
    if len(np.unique(part)) < 3:
        part = np.empty(len(game_ids), np.int64)
        part[order] = np.searchsorted(cuts, np.arange(len(game_ids)), side="right")
    return part


def cv_folds(game_ids: np.ndarray, folds: int = CV_FOLDS) -> np.ndarray:
    """Per row its fold, 0 .. folds-1: the games in hash order dealt round-robin, so a game is in
    one fold only, folds differ by at most one game and every fold spans the whole period. Fewer
    games than folds: consecutive blocks of rows."""
    games = np.unique(game_ids)
    if len(games) < folds:
        return np.arange(len(game_ids)) * folds // max(len(game_ids), 1)
    fold_of_game = np.empty(len(games), np.int64)
    fold_of_game[np.argsort(_game_hash(games))] = np.arange(len(games)) % folds
    return fold_of_game[np.searchsorted(games, game_ids)]


@dataclass
class FitResult:
    model: Any  # sklearn Pipeline(StandardScaler, classifier)
    metrics: dict[str, float]


@dataclass
class Split:
    """Training rows, validation rows (xgboost's early stopping; other families ignore them) and
    the scored rows, scaled by a scaler fitted on the training rows only. The split and scaler
    depend only on the data, so one is shared by every model trained on it."""

    scaler: Any  # StandardScaler fitted on the training part
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray  # the registered fit scores its validation games: the same arrays
    y_test: np.ndarray

    def scorable(self) -> bool:
        # a part missing a class cannot train a 3-class xgboost (nor a comparable 3-column model)
        return len(self.y_test) > 0 and len(np.unique(self.y_train)) == 3


def _scaled_split(
    features: np.ndarray,
    labels: np.ndarray,
    train: np.ndarray,
    val: np.ndarray,
    test: np.ndarray | None = None,
) -> Split:
    # imported here: loading the code location should not pay for scikit-learn
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(features[train])
    x_val, y_val = scaler.transform(features[val]), labels[val]
    if test is None:
        x_test, y_test = x_val, y_val
    else:
        x_test, y_test = scaler.transform(features[test]), labels[test]
    x_train = scaler.transform(features[train])
    return Split(scaler, x_train, labels[train], x_val, y_val, x_test, y_test)


def split_and_scale(features: np.ndarray, labels: np.ndarray, game_ids: np.ndarray) -> Split:
    """The registered model's split: validation games by `validation_mask`, which it is scored on;
    the scaler is fitted on the training part only."""
    val = _validation_rows(game_ids)
    return _scaled_split(features, labels, ~val, val)


@dataclass
class TrainingMatrix:
    features: np.ndarray
    labels: np.ndarray
    game_ids: np.ndarray


@dataclass
class Splits:
    """Every split of the evaluation procedure, each with its own scaler."""

    registered: Split  # game-stratified 80/20: the model that is logged and served
    holdout: Split  # chronological 60/20/20
    folds: list[Split]  # 3-fold game-stratified CV


def prepare_splits(matrix: TrainingMatrix) -> Splits:
    """CV folds: each fold's test games are scored by a model trained on the other folds, whose
    every 5th game validates (early stopping), the registered model's own recipe."""
    x, y, games = matrix.features, matrix.labels, matrix.game_ids
    part = chronological_parts(games)
    folds = cv_folds(games)
    cv = []
    for k in range(CV_FOLDS):
        test = folds == k
        val = np.zeros(len(y), bool)
        val[~test] = _validation_rows(games[~test])
        cv.append(_scaled_split(x, y, ~test & ~val, val, test))
    return Splits(
        split_and_scale(x, y, games),
        _scaled_split(x, y, part == 0, part == 1, part == 2),
        cv,
    )


def _fit(family: str, params: dict[str, Any], split: Split, n_jobs: int, seed: int):
    classifier = make_classifier(family, params, n_jobs, seed)
    if family == "xgboost":
        classifier.fit(
            split.x_train, split.y_train, eval_set=[(split.x_val, split.y_val)], verbose=False
        )
    else:
        classifier.fit(split.x_train, split.y_train)
    return classifier


def _score(classifier, split: Split) -> tuple[float, float]:
    """(action accuracy, log loss) on the split's scored rows."""
    from sklearn.metrics import accuracy_score, log_loss

    probabilities = classifier.predict_proba(split.x_test)
    return (
        float(accuracy_score(split.y_test, probabilities.argmax(axis=1))),
        float(log_loss(split.y_test, probabilities, labels=[0, 1, 2])),
    )


def fit_model(
    family: str, params: dict[str, Any], split: Split, n_jobs: int = 1, seed: int = 0
) -> FitResult:
    """Fit one model on the split's training part; metrics on its scored games."""
    from sklearn.pipeline import Pipeline

    classifier = _fit(family, params, split, n_jobs, seed)
    accuracy, loss = _score(classifier, split)
    return FitResult(
        Pipeline([("scale", split.scaler), ("model", classifier)]),
        {
            "action_accuracy": accuracy,
            "log_loss": loss,
            "train_rows": float(len(split.y_train)),
            "validation_rows": float(len(split.y_val)),
        },
    )


def evaluate_and_fit(
    family: str, params: dict[str, Any], splits: Splits, n_jobs: int = 1, seed: int = 0
) -> FitResult:
    """The reference's procedure for one experiment: a held-out report (chronological 60/20/20),
    3-fold game-stratified CV, then the registered model (game-stratified 80/20) with its own
    `action_accuracy` and `log_loss`. A part missing a class is skipped (its metrics absent)."""
    metrics: dict[str, float] = {}
    if splits.holdout.scorable():
        accuracy, loss = _score(_fit(family, params, splits.holdout, n_jobs, seed), splits.holdout)
        metrics |= {"holdout_action_accuracy": accuracy, "holdout_log_loss": loss}
    scores = np.array(
        [_score(_fit(family, params, s, n_jobs, seed), s) for s in splits.folds if s.scorable()]
    )
    if len(scores):
        metrics |= {
            "cv_action_accuracy_mean": float(scores[:, 0].mean()),
            "cv_action_accuracy_std": float(scores[:, 0].std()),  # population std of the folds
            "cv_log_loss_mean": float(scores[:, 1].mean()),
        }
    metrics["cv_folds"] = float(len(scores))
    registered = fit_model(family, params, splits.registered, n_jobs, seed)
    return FitResult(registered.model, {**registered.metrics, **metrics})


def read_training_tail(path: Path, max_rows: int) -> TrainingMatrix:
    """The last `max_rows` rows of a training-data parquet file, reading only the row groups needed."""
    file = pq.ParquetFile(path)
    groups: list[int] = []
    rows = 0
    for index in range(file.num_row_groups - 1, -1, -1):
        if rows >= max_rows:
            break
        groups.insert(0, index)
        rows += file.metadata.row_group(index).num_rows
    if not groups:
        return TrainingMatrix(np.zeros((0, len(FEATURE_NAMES)), np.float32), np.zeros(0, np.int8),
                              np.zeros(0, np.int64))  # fmt: skip
    table = file.read_row_groups(groups)
    table = table.slice(max(0, table.num_rows - max_rows))
    features = np.column_stack([table.column(n).to_numpy() for n in FEATURE_NAMES]).astype(
        np.float32
    )
    return TrainingMatrix(
        features, table.column("label").to_numpy(), table.column("game_id").to_numpy()
    )
