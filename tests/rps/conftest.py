"""Fixtures of the rps tests: a real MLflow store (SQLite + artifact folder) per test, copied from
one migrated template so each test does not pay MLflow's ~5 s of schema migrations."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from resources.lake import LakeResource
from resources.rps.games_store import GamesStore
from resources.rps.model_registry import MlflowRegistryResource
from resources.rps.settings import build_resources


@dataclass(frozen=True)
class MlflowStore:
    uri: str
    artifacts: Path

    def client(self):
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)

    def resource(self) -> MlflowRegistryResource:
        return MlflowRegistryResource(tracking_uri=self.uri, artifact_location=str(self.artifacts))


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("mlflow_template") / "mlflow.db"
    from mlflow import MlflowClient

    MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()  # runs the migrations
    return path


@pytest.fixture
def mlflow_store(tmp_path, mlflow_template) -> MlflowStore:
    db = tmp_path / "mlflow" / "mlflow.db"
    db.parent.mkdir()
    shutil.copyfile(mlflow_template, db)
    return MlflowStore(f"sqlite:///{db}", tmp_path / "mlflow" / "artifacts")


@pytest.fixture
def sqlite_store(tmp_path) -> GamesStore:
    store = GamesStore(f"sqlite:///{tmp_path / 'rps' / 'rps.db'}")
    store.ensure_schema()
    return store


@pytest.fixture(params=["sqlite", "postgres"])
def any_store(request, tmp_path) -> GamesStore:
    """The games store on both engines it speaks."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'rps.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    store = GamesStore(url)
    store.ensure_schema()
    return store


@pytest.fixture
def rps_resources(tmp_path, mlflow_store, sqlite_store) -> dict:
    """The code location's resources (`build_resources`) on this test's stores."""
    return build_resources(
        lake=LakeResource(root=str(tmp_path / "lake")),
        games_url=sqlite_store.url,
        tracking_uri=mlflow_store.uri,
        artifact_location=str(mlflow_store.artifacts),
        metrics_textfile=str(tmp_path / "metrics" / "rps.prom"),
        min_training_rows=200,
    )
