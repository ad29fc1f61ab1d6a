"""The asset `rps/bot_models`: 3 model families x 4 aliases trained, logged and registered in
MLflow, all aliases moved together (`train_family`, `move_aliases` are its steps)."""

import tempfile
import time
from pathlib import Path

import numpy as np
from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    Config,
    MaterializeResult,
    asset,
)

from assets.common import metadata_table
from assets.rps.modeling import (
    ALIASES,
    FAMILIES,
    Splits,
    load_experiments,
    prepare_splits,
    read_training_tail,
    trainability_problem,
)
from assets.rps.spec import SPEC, TRAINING_DATA_KEY, TRAINING_FRESHNESS
from resources.lake import LakeResource, LocalLake
from resources.rps.model_registry import MlflowRegistryResource, ModelRegistry
from resources.rps.settings import RpsTrainingSettings

ALIASES_CHECK = "aliases_on_new_versions"


class ModelsConfig(Config):
    families: list[str] = list(FAMILIES)
    n_jobs: int = 1


def _read_training_matrix(lake: LakeResource, max_rows: int):
    if isinstance(lake.lake, LocalLake):  # read in place: only the tail's row groups are read
        return read_training_tail(lake.lake.path(TRAINING_DATA_KEY), max_rows)
    with tempfile.TemporaryDirectory(prefix="rps-train-") as tmp:
        local = Path(tmp) / "training_data.parquet"
        lake.lake.download_to(TRAINING_DATA_KEY, local)
        return read_training_tail(local, max_rows)


def train_family(
    registry: ModelRegistry,
    family: str,
    splits: Splits,
    example: np.ndarray,
    n_jobs: int,
    tags: dict[str, str],
) -> tuple[list[dict], dict[str, str]]:
    """Evaluate, fit, log and register the four aliases' models of one family; returns the results
    and the alias -> new version assignment (not applied here: all families' aliases move together).
    `example`: a few raw feature rows, for the logged signature.

    Each alias is retrained with the experiment (hyperparameters) of the model it holds now, so a
    promotion's outcome survives retraining; a new family starts from the config's initial
    assignment.
    """
    from assets.rps.modeling import evaluate_and_fit

    config = load_experiments(family)
    current = registry.aliases(family, ALIASES)
    results, assignments = [], {}
    for alias in ALIASES:
        experiment = (
            current[alias].experiment if alias in current else config.initial_aliases[alias]
        )
        if experiment not in config.experiments:
            experiment = config.initial_aliases[alias]
        params = config.params(experiment)
        started, cpu = time.perf_counter(), time.process_time()
        fitted = evaluate_and_fit(family, params, splits, n_jobs)
        fit_seconds, fit_cpu = time.perf_counter() - started, time.process_time() - cpu
        registered = registry.log_model(
            family,
            experiment,
            fitted.model,
            params,
            fitted.metrics,
            example,
            {**tags, "alias": alias, "config_version": config.version},
        )
        assignments[alias] = registered.version
        results.append({"family": family, "alias": alias, "experiment": experiment,
                        "version": registered.version, "fit_seconds": fit_seconds,
                        "fit_cpu_seconds": fit_cpu,
                        **fitted.metrics})  # fmt: skip
    return results, assignments


def move_aliases(registry: ModelRegistry, assignments: dict[str, dict[str, str]]) -> None:
    """Apply every family's new aliases, or none: a failure puts back the families already moved."""
    previous = {
        f: {a: m.version for a, m in registry.aliases(f, mapping).items()}
        for f, mapping in assignments.items()
    }
    moved: list[str] = []
    try:
        for family, mapping in assignments.items():
            registry.set_aliases(family, mapping, previous[family])  # restores its own on failure
            moved.append(family)
    except BaseException:
        for family in moved:
            registry.restore_aliases(
                family, {a: previous[family].get(a) for a in assignments[family]}
            )
        raise


# (table heading, metric): the registered fit's validation games, then the held-out report and CV
_MODEL_COLUMNS = (
    ("accuracy", "action_accuracy"),
    ("log loss", "log_loss"),
    ("held-out accuracy", "holdout_action_accuracy"),
    ("held-out log loss", "holdout_log_loss"),
    ("CV accuracy", "cv_action_accuracy_mean"),
    ("CV std", "cv_action_accuracy_std"),
    ("CV log loss", "cv_log_loss_mean"),
)
# also per family/alias as numbers, so the UI plots them over training runs
_CHARTED_METRICS = (
    "action_accuracy",
    "log_loss",
    "holdout_action_accuracy",
    "holdout_log_loss",
    "cv_action_accuracy_mean",
)


def _shown(value: float | None) -> float | None:
    return None if value is None else round(float(value), 3)  # None: that part was missing a class


@asset(
    **SPEC.asset_args(
        kinds={"xgboost", "scikitlearn", "mlflow"},
        code_version="1",
        freshness_policy=TRAINING_FRESHNESS,
        check_specs=[
            AssetCheckSpec(
                ALIASES_CHECK,
                asset=SPEC.key("bot_models"),
                description="After training, each trained family's four aliases name the "
                "versions this run registered (all moved together); with no usable data, "
                "none moved.",
            )
        ],
    ),
    deps=[SPEC.key("training_data")],
)
def bot_models(
    context: AssetExecutionContext,
    config: ModelsConfig,
    rps_training: RpsTrainingSettings,
    lake: LakeResource,
    mlflow_registry: MlflowRegistryResource,
) -> MaterializeResult:
    """Three model families (feedforward net, xgboost, multinomial logit) x four aliases
    (Production, B, shadow1, shadow2), trained on the newest training rows with hyperparameters
    from the versioned JSON experiment configs. Each is evaluated on a chronological 60/20/20
    held-out split and by 3-fold CV by game, then fitted on a game-stratified 80/20 split; logged
    to MLflow (params, those metrics, signature, model) and registered; all aliases move together at the end, or none do.
    With no usable data no model is registered and the aliases stay as they were."""
    registry = mlflow_registry.registry()
    registry.check()  # unreachable MLflow: a clear error before any work
    matrix = _read_training_matrix(lake, rps_training.max_training_rounds)
    problem = trainability_problem(matrix.labels, rps_training.min_training_rows)
    if problem:
        context.log.warning(f"no model trained: {problem}; the aliases stay as they were")
        return MaterializeResult(
            metadata={"registered_models": 0, "reason": problem, "rows": len(matrix.labels)},
            check_results=[
                AssetCheckResult(
                    check_name=ALIASES_CHECK,
                    passed=True,
                    description=f"no model trained ({problem}): no alias moved",
                )
            ],
        )
    tags = {"dagster_run_id": context.run_id}
    splits = prepare_splits(matrix)  # data-only: shared by every family and experiment
    results, assignments = [], {}
    for family in config.families:
        family_results, assignments[family] = train_family(
            registry, family, splits, matrix.features[:5], config.n_jobs, tags
        )
        results += family_results
    move_aliases(registry, assignments)
    # what the registry says now, not what we asked for
    wrong = [
        f"{family}/{alias}: {held.get(alias)} instead of {version}"
        for family, mapping in assignments.items()
        for held in [{a: m.version for a, m in registry.aliases(family, ALIASES).items()}]
        for alias, version in mapping.items()
        if held.get(alias) != version
    ]
    per_alias = {
        f"{key}/{r['family']}/{r['alias']}": r[key]
        for r in results
        for key in _CHARTED_METRICS
        if key in r  # a held-out or CV part missing a class has no metric
    }
    return MaterializeResult(
        metadata={
            "registered_models": len(results),
            "rows": len(matrix.labels),
            "fit_seconds": round(sum(r["fit_seconds"] for r in results), 3),
            # CPU of fitting and evaluating alone (all threads): the rest of the run is overhead
            "fit_cpu_seconds": round(sum(r["fit_cpu_seconds"] for r in results), 3),
            "models": metadata_table(
                [
                    {
                        "family": r["family"],
                        "alias": r["alias"],
                        "experiment": r["experiment"],
                        "version": r["version"],
                        **{heading: _shown(r.get(key)) for heading, key in _MODEL_COLUMNS},
                    }
                    for r in results
                ]
            ),
            **per_alias,
        },
        check_results=[
            AssetCheckResult(
                check_name=ALIASES_CHECK,
                passed=not wrong,
                description="; ".join(wrong) or f"{len(results)} aliases on their new versions",
            )
        ],
    )
