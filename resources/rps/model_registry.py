"""MLflow tracking and model registry for the rps bots.

Default: a local SQLite store `sqlite:///data/mlflow/mlflow.db` with artifacts under
`data/mlflow/artifacts`; `MLFLOW_TRACKING_URI` points at any tracking server instead (the registry
follows the tracking URI). Registered names are `rps_bot_<family>`; every version carries an
`experiment` tag, the hyperparameter lineage that promotion moves between aliases.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource

from resources.redaction import first_line, redact, redacted_cause

REGISTERED_PREFIX = "rps_bot_"


class _DropNotices(logging.Filter):
    def __init__(self, *starts: str):
        super().__init__()
        self.starts = starts

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self.starts)


@contextlib.contextmanager
def _without_mlflow_notices():
    """MLflow's two notices on every saved model that say nothing to act on here: cloudpickle is
    chosen on purpose (skops cannot describe these models), and the requirements are pinned, so
    pip's own version (uv installs no pip) is not needed. Other MLflow messages pass."""
    filters = {
        "mlflow.sklearn": _DropNotices("Saving scikit-learn models in the pickle or cloudpickle"),
        "mlflow.utils.environment": _DropNotices("Failed to resolve installed pip version"),
    }
    for name, notice in filters.items():
        logging.getLogger(name).addFilter(notice)
    try:
        yield
    finally:
        for name, notice in filters.items():
            logging.getLogger(name).removeFilter(notice)


class MlflowUnavailable(RuntimeError):
    """MLflow could not be reached or refused a change; the message says what to check, then
    what was (not) done about it: `consequence`, which a caller may restate for its own work."""

    def __init__(self, problem: str, consequence: str = "No model alias was changed."):
        super().__init__(f"{problem} {consequence}")
        self.problem = problem

    def instead(self, consequence: str) -> MlflowUnavailable:
        """The same problem, told with the caller's consequence (chain the original cause)."""
        return MlflowUnavailable(self.problem, consequence)


def redact_uri(uri: str) -> str:
    return redact(uri)


@dataclass(frozen=True)
class RegisteredModel:
    version: str
    experiment: str
    run_id: str


class ModelRegistry:
    """A thin, explicit wrapper over MlflowClient for one tracking URI."""

    def __init__(self, tracking_uri: str, artifact_location: str, experiment_name: str):
        # Fail fast against an unreachable server instead of MLflow's minutes of retries.
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        # no usage telemetry from training runs (offline machines; and it costs time per call)
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        logging.getLogger("mlflow").setLevel(logging.ERROR)  # its pip/pickle notices, per model
        import mlflow
        from mlflow import MlflowClient

        self.tracking_uri = tracking_uri
        if tracking_uri.startswith("sqlite:///"):
            Path(tracking_uri[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
        self.artifact_location = artifact_location
        self.experiment_name = experiment_name
        self._mlflow = mlflow
        try:
            self.client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        except Exception as exc:  # noqa: BLE001 - MLflow raises many kinds; all mean "unusable"
            raise self._unavailable("open the store", exc) from redacted_cause(exc)
        self._experiment_id: str | None = None
        self._registered: set[str] = set()

    def _unavailable(self, action: str, exc: Exception) -> MlflowUnavailable:
        # MLflow's own messages repeat the URI, credentials included: redact those too
        return MlflowUnavailable(
            f"MLflow at {redact_uri(self.tracking_uri)} could not {action}: "
            f"{first_line(exc)[:300]}. "
            "Check that the tracking server is up and MLFLOW_TRACKING_URI is right (unset it to "
            "use the local store under data/mlflow/)."
        )

    @staticmethod
    def registered_name(family: str) -> str:
        return f"{REGISTERED_PREFIX}{family}"

    def check(self) -> None:
        """Raise MlflowUnavailable unless the tracking store answers."""
        try:
            self.client.search_experiments(max_results=1)
        except Exception as exc:  # noqa: BLE001
            raise self._unavailable("answer", exc) from redacted_cause(exc)

    def experiment_id(self) -> str:
        if self._experiment_id is None:
            try:
                found = self.client.get_experiment_by_name(self.experiment_name)
                if found is not None:
                    self._experiment_id = found.experiment_id
                else:
                    location = None
                    if not self.tracking_uri.startswith(("http://", "https://", "databricks")):
                        location = Path(self.artifact_location).expanduser().resolve().as_uri()
                    self._experiment_id = self.client.create_experiment(
                        self.experiment_name, artifact_location=location
                    )
            except Exception as exc:  # noqa: BLE001
                raise self._unavailable("create the experiment", exc) from redacted_cause(exc)
        return self._experiment_id

    def aliases(self, family: str, names: Iterable[str]) -> dict[str, RegisteredModel]:
        """alias -> the version it names, with that version's experiment lineage, for each of
        `names` that is set; {} if the model is not registered yet.

        One lookup per alias, not `get_registered_model`: that loads every version ever
        registered (to compute the deprecated per-stage "latest versions"), and each training run
        adds four per family."""
        from mlflow.exceptions import MlflowException

        name = self.registered_name(family)
        result = {}
        for alias in names:
            try:
                mv = self.client.get_model_version_by_alias(name, alias)
            except MlflowException as exc:
                code = getattr(exc, "error_code", "")
                if code == "RESOURCE_DOES_NOT_EXIST":  # no such registered model
                    return {}
                if code == "INVALID_PARAMETER_VALUE":  # the alias is not set
                    continue
                raise self._unavailable(f"read {name}@{alias}", exc) from redacted_cause(exc)
            except Exception as exc:  # noqa: BLE001
                raise self._unavailable(f"read {name}@{alias}", exc) from redacted_cause(exc)
            self._registered.add(name)
            result[alias] = RegisteredModel(
                str(mv.version), mv.tags.get("experiment", ""), mv.run_id
            )
        return result

    def log_model(
        self,
        family: str,
        experiment: str,
        model: Any,
        params: Mapping[str, Any],
        metrics: Mapping[str, float],
        example: Any,
        tags: Mapping[str, str],
    ) -> RegisteredModel:
        """Log one fitted model as a run (params, metrics, signature, artifact) and register it.

        The new version gets no alias here; aliases move together in `set_aliases`.

        Plain client calls rather than `mlflow.sklearn.log_model`: that also creates an MLflow 3
        LoggedModel, copies the run's metrics onto it and re-reads the run, which cost ~0.3 s of
        CPU per model against a SQLite store, more than fitting a small model. The version's
        source is the run's `model` artifact folder, which `models:/` URIs load from as before.
        """
        import mlflow.sklearn
        import sklearn
        from mlflow.entities import Metric, Param
        from mlflow.models import infer_signature
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        requirements = [f"scikit-learn=={sklearn.__version__}"]
        if family == "xgboost":
            import xgboost

            requirements.append(f"xgboost=={xgboost.__version__}")
        name = self.registered_name(family)
        try:
            run = self.client.create_run(
                self.experiment_id(),
                run_name=f"{family}-{experiment}",
                tags={**tags, "family": family, "experiment": experiment},
            )
            run_id = run.info.run_id
            status = "FAILED"
            try:
                now = int(time.time() * 1000)
                self.client.log_batch(
                    run_id,
                    metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items()],
                    params=[Param(k, str(v)) for k, v in params.items()],
                )
                with scratch_dir() as tmp, _without_mlflow_notices():
                    local = Path(tmp) / "model"
                    mlflow.sklearn.save_model(
                        model,
                        local,
                        signature=infer_signature(example, model.predict_proba(example)),
                        pip_requirements=requirements,
                        # our own models (xgboost inside a Pipeline); skops cannot describe them
                        serialization_format="cloudpickle",
                    )
                    # the run's own artifact store, addressed directly: the client would first
                    # re-read the whole run just to learn the artifact URI we already hold
                    get_artifact_repository(
                        run.info.artifact_uri, tracking_uri=self.tracking_uri
                    ).log_artifacts(str(local), "model")
                self._ensure_registered(name)
                version = self.client.create_model_version(
                    name,
                    f"{run.info.artifact_uri}/model",
                    run_id,
                    tags={"experiment": experiment},
                ).version
                status = "FINISHED"
            finally:
                self.client.set_terminated(run_id, status)
        except MlflowUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001
            raise self._unavailable(f"log a {family} model", exc) from redacted_cause(exc)
        return RegisteredModel(str(version), experiment, run_id)

    def _ensure_registered(self, name: str) -> None:
        """Create the registered model on first use (once per registry object, not per model)."""
        from mlflow.exceptions import MlflowException

        if name in self._registered:
            return
        try:
            self.client.create_registered_model(name)
        except MlflowException as exc:
            if getattr(exc, "error_code", "") != "RESOURCE_ALREADY_EXISTS":
                raise
        self._registered.add(name)

    def set_aliases(
        self,
        family: str,
        assignments: Mapping[str, str],
        previous: Mapping[str, str] | None = None,
    ) -> None:
        """Point each alias at its version, all or nothing: on any failure the aliases already
        moved are put back and MlflowUnavailable is raised. `previous` (alias -> version now)
        saves re-reading them when the caller just did."""
        name = self.registered_name(family)
        if previous is None:
            previous = {a: m.version for a, m in self.aliases(family, assignments).items()}
        done: list[str] = []
        try:
            for alias, version in assignments.items():
                if previous.get(alias) == str(version):
                    continue
                self.client.set_registered_model_alias(name, alias, str(version))
                done.append(alias)
        except Exception as exc:  # noqa: BLE001
            self.restore_aliases(family, {a: previous.get(a) for a in done})
            raise self._unavailable(f"move the aliases of {name}", exc) from redacted_cause(exc)

    def restore_aliases(self, family: str, previous: Mapping[str, str | None]) -> None:
        name = self.registered_name(family)
        for alias, version in previous.items():
            try:
                if version is None:
                    self.client.delete_registered_model_alias(name, alias)
                else:
                    self.client.set_registered_model_alias(name, alias, str(version))
            except Exception:  # noqa: BLE001, S110 - best effort; the raise that follows explains
                pass

    def _use_store(self) -> None:
        # `models:/` URIs resolve through MLflow's global URIs; left unset, MLflow 3 opens its
        # default store, a new mlflow.db in the working directory.
        self._mlflow.set_registry_uri(self.tracking_uri)
        self._mlflow.set_tracking_uri(self.tracking_uri)

    def load_model(self, family: str, alias: str) -> tuple[Any, RegisteredModel]:
        """The model an alias names now, with the exact version loaded."""
        import mlflow.sklearn

        name = self.registered_name(family)
        try:
            mv = self.client.get_model_version_by_alias(name, alias)
            self._use_store()
            model = mlflow.sklearn.load_model(f"models:/{name}/{mv.version}")
        except Exception as exc:  # noqa: BLE001
            raise self._unavailable(f"load {name}@{alias}", exc) from redacted_cause(exc)
        return model, RegisteredModel(str(mv.version), mv.tags.get("experiment", ""), mv.run_id)

    def download_model(self, family: str, version: str, destination: Path) -> Path:
        """The model's artifact directory (MLmodel, model file, requirements) under destination."""
        name = self.registered_name(family)
        try:
            self._use_store()
            path = self._mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{name}/{version}", dst_path=str(destination)
            )
        except Exception as exc:  # noqa: BLE001
            raise self._unavailable(f"download {name} version {version}", exc) from redacted_cause(
                exc
            )
        return Path(path)


class MlflowRegistryResource(ConfigurableResource):
    """MLflow (`MLFLOW_TRACKING_URI`, default the local SQLite store under data/mlflow/)."""

    tracking_uri: str = "sqlite:///data/mlflow/mlflow.db"
    artifact_location: str = "data/mlflow/artifacts"
    experiment_name: str = "rps"

    def registry(self) -> ModelRegistry:
        return ModelRegistry(self.tracking_uri, self.artifact_location, self.experiment_name)


def scratch_dir() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="rps-model-")
