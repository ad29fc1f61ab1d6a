"""The three model families, their versioned experiment configs, fitting and evaluation.

Every model is a scikit-learn `Pipeline(StandardScaler, classifier)` so the scaling travels inside
the logged model and serving feeds raw features. Validation is game-stratified (every 5th game by
id): rounds of one game never sit on both sides of the split.
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


def validation_mask(game_ids: np.ndarray) -> np.ndarray:
    """Every 5th game (by a hash of its id) validates. Not `id % 5`: the legacy-game sampling
    keeps ids divisible by the stride, which would put every legacy game on the validation side."""
    mixed = (game_ids.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(40)
    return mixed % np.uint64(VALIDATION_EVERY) == 0


@dataclass
class FitResult:
    model: Any  # sklearn Pipeline(StandardScaler, classifier)
    metrics: dict[str, float]


@dataclass
class Split:
    """One matrix split game-stratified and scaled, shared by every model trained on it (the
    split and the scaler depend only on the data, not on the family or the hyperparameters)."""

    scaler: Any  # StandardScaler fitted on the training part
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


def split_and_scale(features: np.ndarray, labels: np.ndarray, game_ids: np.ndarray) -> Split:
    """Validation games by `validation_mask`; the scaler is fitted on the training part only."""
    # imported here: loading the code location should not pay for scikit-learn
    from sklearn.preprocessing import StandardScaler

    val = validation_mask(game_ids)
    if not val.any() or val.all():  # too few games to stratify: validate on the last fifth
        val = np.zeros(len(labels), bool)
        val[int(len(labels) * 0.8) :] = True
    scaler = StandardScaler().fit(features[~val])
    return Split(
        scaler,
        scaler.transform(features[~val]),
        labels[~val],
        scaler.transform(features[val]),
        labels[val],
    )


def fit_model(
    family: str, params: dict[str, Any], split: Split, n_jobs: int = 1, seed: int = 0
) -> FitResult:
    """Fit one model on the split's training part; metrics on its validation games."""
    from sklearn.metrics import accuracy_score, log_loss
    from sklearn.pipeline import Pipeline

    classifier = make_classifier(family, params, n_jobs, seed)
    if family == "xgboost":
        classifier.fit(
            split.x_train, split.y_train, eval_set=[(split.x_val, split.y_val)], verbose=False
        )
    else:
        classifier.fit(split.x_train, split.y_train)
    model = Pipeline([("scale", split.scaler), ("model", classifier)])
    probabilities = classifier.predict_proba(split.x_val)
    return FitResult(
        model,
        {
            "action_accuracy": float(accuracy_score(split.y_val, probabilities.argmax(axis=1))),
            "log_loss": float(log_loss(split.y_val, probabilities, labels=[0, 1, 2])),
            "train_rows": float(len(split.y_train)),
            "validation_rows": float(len(split.y_val)),
        },
    )


@dataclass
class TrainingMatrix:
    features: np.ndarray
    labels: np.ndarray
    game_ids: np.ndarray


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
