"""One shape for every pipeline, checked on the definitions users load (every code location of
workspace.yaml):

- the asset `<p>/<name>` is the attribute `<name>` of the module `assets/<p>/<name>.py`;
- jobs, schedules and sensors are named `<p>_<what>_job/_schedule/_sensor`, and no name states a
  cron that an environment variable can change;
- `resources/<p>/` holds each pipeline's resources, with `settings.py` giving the one builder and
  `resources_from_env()` the code location calls; the root holds only shared I/O;
- `pipelines/<p>.py` builds its resources from that `resources_from_env()`.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest
import yaml
from dagster import AssetsDefinition

ROOT = Path(__file__).resolve().parents[1]
LOCATIONS = {
    entry["python_module"]["location_name"]: entry["python_module"]["module_name"]
    for entry in yaml.safe_load((ROOT / "workspace.yaml").read_text())["load_from"]
}
PIPELINES = sorted(LOCATIONS)
# The root of resources/ keeps only the I/O several pipelines share (lake, PostgreSQL, object
# store, HTTP, redaction, env helpers) and at most this many modules.
MAX_SHARED_RESOURCE_MODULES = 8


def _repository(pipeline: str):
    return importlib.import_module(LOCATIONS[pipeline]).defs.get_repository_def()


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_every_asset_key_leads_to_the_module_of_its_name(pipeline):
    graph = _repository(pipeline).asset_graph
    keys = sorted(k for k in graph.get_all_asset_keys() if graph.get(k).is_executable)
    assert keys, f"{pipeline} defines no asset"
    wrong = []
    for key in keys:
        prefix, name = key.path[0], key.path[-1]
        if key.path != [pipeline, name]:
            wrong.append(f"{key.to_user_string()}: the key is not {pipeline}/<name>")
            continue
        try:
            module = importlib.import_module(f"assets.{prefix}.{name}")
        except ModuleNotFoundError:
            wrong.append(f"{key.to_user_string()}: no module assets/{prefix}/{name}.py")
            continue
        defined = getattr(module, name, None)
        if not isinstance(defined, AssetsDefinition) or key not in defined.keys:
            wrong.append(f"{key.to_user_string()}: assets/{prefix}/{name}.py has no asset `{name}`")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_jobs_schedules_and_sensors_are_named_by_pipeline_and_what(pipeline):
    repository = _repository(pipeline)
    names = {
        "job": [j.name for j in repository.get_all_jobs() if not j.name.startswith("__")],
        "schedule": [s.name for s in repository.schedule_defs],
        "sensor": [s.name for s in repository.sensor_defs],
    }
    wrong = [
        f"{kind} {name}: not {pipeline}_<what>_{kind}"
        for kind, found in names.items()
        for name in found
        if not re.fullmatch(rf"{pipeline}_[a-z0-9]+(_[a-z0-9]+)*_{kind}", name)
    ]
    # A cron read from the environment can change; a name that states one would then lie.
    wrong += [
        f"{name}: states a cron"
        for found in names.values()
        for name in found
        if re.search(r"every_\d|\d+_(minutes?|hours?)|hourly_at|at_\d", name)
    ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_each_pipeline_builds_its_resources_in_its_own_settings_module(pipeline):
    settings = importlib.import_module(f"resources.{pipeline}.settings")
    assert callable(getattr(settings, "build_resources", None)), "no build_resources(...)"
    assert callable(getattr(settings, "resources_from_env", None)), "no resources_from_env()"
    location = ROOT / (LOCATIONS[pipeline].replace(".", "/") + ".py")
    imported = {
        (node.module, alias.name)
        for node in ast.walk(ast.parse(location.read_text()))
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert (f"resources.{pipeline}.settings", "resources_from_env") in imported


def test_resources_are_packaged_by_pipeline_with_few_shared_modules():
    packages = sorted(p.parent.name for p in (ROOT / "resources").glob("*/__init__.py"))
    assert set(PIPELINES) <= set(packages), (
        f"missing resources/<p>/: {set(PIPELINES) - set(packages)}"
    )
    shared = sorted(p.name for p in (ROOT / "resources").glob("*.py") if p.name != "__init__.py")
    assert len(shared) <= MAX_SHARED_RESOURCE_MODULES, f"{len(shared)} shared modules: {shared}"
