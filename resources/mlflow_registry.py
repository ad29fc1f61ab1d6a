"""MLflow tracking and model registry for the rps bots.

Default: a local SQLite store `sqlite:///data/mlflow/mlflow.db` with artifacts under
`data/mlflow/artifacts`; `MLFLOW_TRACKING_URI` points at any tracking server instead (the registry
follows the tracking URI). Registered names are `rps_bot_<family>`; every version carries an
`experiment` tag, the hyperparameter lineage that promotion moves between aliases.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource

REGISTERED_PREFIX = "rps_bot_"


class MlflowUnavailable(RuntimeError):
    """MLflow could not be reached or refused a change; the message says what to check."""


def redact_uri(uri: str) -> str:
    return re.sub(r"//[^/@\s]*@", "//***@", uri)


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
            raise self._unavailable("open the store", exc) from exc
        self._experiment_id: str | None = None

    def _unavailable(self, action: str, exc: Exception) -> MlflowUnavailable:
        # MLflow's own messages repeat the URI, credentials included: redact those too
        first_line = redact_uri((str(exc).strip().splitlines() or [type(exc).__name__])[0][:300])
        return MlflowUnavailable(
            f"MLflow at {redact_uri(self.tracking_uri)} could not {action}: {first_line}. "
            "Check that the tracking server is up and MLFLOW_TRACKING_URI is right (unset it to "
            "use the local store under data/mlflow/). No model alias was changed."
        )

    @staticmethod
    def registered_name(family: str) -> str:
        return f"{REGISTERED_PREFIX}{family}"

    def check(self) -> None:
        """Raise MlflowUnavailable unless the tracking store answers."""
        try:
            self.client.search_experiments(max_results=1)
        except Exception as exc:  # noqa: BLE001
            raise self._unavailable("answer", exc) from exc

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
                raise self._unavailable("create the experiment", exc) from exc
        return self._experiment_id

    def aliases(self, family: str) -> dict[str, RegisteredModel]:
        """alias -> the version it names, with that version's experiment lineage; {} if none."""
        from mlflow.exceptions import MlflowException

        name = self.registered_name(family)
        try:
            model = self.client.get_registered_model(name)
        except MlflowException as exc:
            if getattr(exc, "error_code", "") == "RESOURCE_DOES_NOT_EXIST":
                return {}
            raise self._unavailable(f"read {name}", exc) from exc
        except Exception as exc:  # noqa: BLE001
            raise self._unavailable(f"read {name}", exc) from exc
        result = {}
        for alias, version in model.aliases.items():
            mv = self.client.get_model_version(name, str(version))
            result[alias] = RegisteredModel(str(version), mv.tags.get("experiment", ""), mv.run_id)
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
        """
        import mlflow.sklearn
        import sklearn
        from mlflow.models import infer_signature

        requirements = [f"scikit-learn=={sklearn.__version__}"]
        if family == "xgboost":
            import xgboost

            requirements.append(f"xgboost=={xgboost.__version__}")
        name = self.registered_name(family)
        try:
            self._mlflow.set_tracking_uri(self.tracking_uri)
            self._mlflow.set_registry_uri(self.tracking_uri)
            with self._mlflow.start_run(
                experiment_id=self.experiment_id(), run_name=f"{family}-{experiment}"
            ) as run:
                self._mlflow.log_params({k: str(v) for k, v in params.items()})
                self._mlflow.log_metrics(dict(metrics))
                self._mlflow.set_tags({**tags, "family": family, "experiment": experiment})
                signature = infer_signature(example, model.predict_proba(example))
                info = mlflow.sklearn.log_model(
                    model,
                    name="model",
                    signature=signature,
                    pip_requirements=requirements,
                    # our own models (xgboost inside a Pipeline); skops cannot describe them
                    serialization_format="cloudpickle",
                    registered_model_name=name,
                )
            version = str(info.registered_model_version)
            self.client.set_model_version_tag(name, version, "experiment", experiment)
        except MlflowUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001
            raise self._unavailable(f"log a {family} model", exc) from exc
        return RegisteredModel(version, experiment, run.info.run_id)

    def set_aliases(self, family: str, assignments: Mapping[str, str]) -> None:
        """Point each alias at its version, all or nothing: on any failure the aliases already
        moved are put back and MlflowUnavailable is raised."""
        name = self.registered_name(family)
        previous = {a: m.version for a, m in self.aliases(family).items()}
        done: list[str] = []
        try:
            for alias, version in assignments.items():
                if previous.get(alias) == str(version):
                    continue
                self.client.set_registered_model_alias(name, alias, str(version))
                done.append(alias)
        except Exception as exc:  # noqa: BLE001
            self.restore_aliases(family, {a: previous.get(a) for a in done})
            raise self._unavailable(f"move the aliases of {name}", exc) from exc

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

    def load_model(self, family: str, alias: str) -> tuple[Any, RegisteredModel]:
        """The model an alias names now, with the exact version loaded."""
        import mlflow.sklearn

        name = self.registered_name(family)
        try:
            mv = self.client.get_model_version_by_alias(name, alias)
            self._mlflow.set_registry_uri(self.tracking_uri)
            model = mlflow.sklearn.load_model(f"models:/{name}/{mv.version}")
        except Exception as exc:  # noqa: BLE001
            raise self._unavailable(f"load {name}@{alias}", exc) from exc
        return model, RegisteredModel(str(mv.version), mv.tags.get("experiment", ""), mv.run_id)

    def download_model(self, family: str, version: str, destination: Path) -> Path:
        """The model's artifact directory (MLmodel, model file, requirements) under destination."""
        name = self.registered_name(family)
        try:
            self._mlflow.set_registry_uri(self.tracking_uri)
            self._mlflow.set_tracking_uri(self.tracking_uri)
            path = self._mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{name}/{version}", dst_path=str(destination)
            )
        except Exception as exc:  # noqa: BLE001
            raise self._unavailable(f"download {name} version {version}", exc) from exc
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
