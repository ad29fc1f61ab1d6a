"""The deployment files this machine cannot run (no Docker, no cluster), checked as far as it can:
each instance YAML validates against Dagster's own instance schema and the config schema of every
class it names, compose and Helm values parse and serve every code location, and every
environment variable they name is documented in the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from dagster._config import validate_config
from dagster._core.instance.config import dagster_instance_config
from dagster._serdes import class_from_code_pointer

from deploy.local import REPO, code_locations, grpc_workspace, service_name

DEPLOY = REPO / "deploy"
README = (REPO / "README.md").read_text()
CLASS_SECTIONS = ("run_coordinator", "run_launcher", "compute_logs")


def load(name: str) -> dict:
    return yaml.safe_load((DEPLOY / name).read_text())


def validate_instance(instance: dict, tmp_path: Path) -> None:
    """Dagster's instance schema (and its cross-section rules), then each named class's schema."""
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(instance))
    dagster_instance_config(str(tmp_path))  # raises DagsterInvalidConfigError
    for section in CLASS_SECTIONS:
        spec = instance[section]
        cls = class_from_code_pointer(spec["module"], spec["class"])
        result = validate_config(cls.config_type(), spec.get("config", {}))
        assert result.success, (section, [e.message for e in result.errors])
    from dagster_postgres import DagsterPostgresStorage

    result = validate_config(DagsterPostgresStorage.config_type(), instance["storage"]["postgres"])
    assert result.success, [e.message for e in result.errors]


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def snake_keys(values: dict) -> dict:
    return {snake(k): v for k, v in values.items()}


def test_the_production_instance_validates(tmp_path):
    instance = load("dagster.yaml")
    validate_instance(instance, tmp_path)
    assert instance["storage"]["postgres"]["postgres_url"] == {"env": "DAGSTER_PG_URL"}
    assert instance["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert instance["compute_logs"]["class"] == "S3ComputeLogManager"


def test_the_local_and_production_instances_share_limits_monitoring_and_retries():
    local = yaml.safe_load((REPO / "dagster_home/dagster.yaml").read_text())
    production = load("dagster.yaml")
    for section in ("run_monitoring", "run_launcher", "run_retries"):
        assert production[section] == local[section], section
    assert production["concurrency"]["pools"] == local["concurrency"]["pools"]
    assert (
        production["concurrency"]["runs"]["tag_concurrency_limits"]
        == local["concurrency"]["runs"]["tag_concurrency_limits"]
    )


def test_helm_has_one_user_deployment_per_code_location():
    deployments = load("helm/values.yaml")["dagster-user-deployments"]["deployments"]
    served = {
        d["name"]: (d["codeServerArgs"][1], d["codeServerArgs"][3], d["port"]) for d in deployments
    }
    assert served == {
        service_name(loc): (loc.module, loc.name, loc.port) for loc in code_locations()
    }
    assert all(d["envSecrets"] == [{"name": "asset-graph-env"}] for d in deployments)


def test_compose_serves_every_code_location_to_the_webserver_and_daemon():
    compose = load("compose.yaml")
    services = compose["services"]
    for loc in code_locations():
        command = services[service_name(loc)]["command"]
        assert command[:3] == ["dagster", "code-server", "start"]
        assert command[command.index("-m") + 1] == loc.module
        assert command[command.index("-p") + 1] == str(loc.port)
        assert command[command.index("--location-name") + 1] == loc.name
    assert load("workspace.compose.yaml") == grpc_workspace(code_locations(), host=None)
    for name in ("daemon", "webserver"):
        assert "deploy/workspace.compose.yaml" in services[name]["command"]
        assert set(services[name]["depends_on"]) >= {service_name(c) for c in code_locations()}


def _env_names() -> dict[str, set[str]]:
    """Every environment variable each file names."""
    names: dict[str, set[str]] = {}
    instance_text = (DEPLOY / "dagster.yaml").read_text()
    names["dagster.yaml"] = set(re.findall(r"env: ([A-Z_][A-Z0-9_]*)", instance_text))
    compose_text = (DEPLOY / "compose.yaml").read_text()
    compose = load("compose.yaml")
    names["compose.yaml"] = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", compose_text)) | set(
        compose["x-dagster"]["environment"]
    )
    helm = load("helm/values.yaml")
    names["helm/values.yaml"] = {
        e["name"] for d in helm["dagster-user-deployments"]["deployments"] for e in d.get("env", [])
    }
    return names


@pytest.mark.parametrize("file", ["dagster.yaml", "compose.yaml", "helm/values.yaml"])
def test_every_environment_variable_is_documented(file):
    names = _env_names()[file]
    assert names
    undocumented = sorted(n for n in names if f"`{n}`" not in README)
    assert not undocumented, f"deploy/{file} names variables README.md does not document"


def test_the_image_installs_from_the_lock_file_without_dev_dependencies():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "uv sync --locked --no-dev --no-install-project" in dockerfile
    assert "uv sync --locked --no-dev" in dockerfile.replace("--no-install-project", "")
    for package in ("pipelines", "schedules", "assets", "resources"):
        assert f"COPY {package} {package}" in dockerfile
