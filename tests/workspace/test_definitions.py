"""The workspace as one asset graph: every location of workspace.yaml loaded together.

Unique asset keys, job, schedule and sensor names across locations (Dagster keeps one history per
key, and the UI's global lineage joins locations by key); no dependency that crosses locations;
one rule for the default status of schedules and sensors; the README's CLI commands as written.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml
from dagster import DefaultScheduleStatus, DefaultSensorStatus, Definitions

from tests.stack import DAGSTER, REPO

# Dependencies that cross code locations on purpose, with the reason (none today).
CROSS_LOCATION_DEPS: dict[tuple[str, str], str] = {}


def workspace_locations() -> dict[str, Definitions]:
    """Every location of workspace.yaml, imported in this process (as `dagster dev` loads them,
    one module per location)."""
    spec = yaml.safe_load((REPO / "workspace.yaml").read_text())
    locations = {}
    for entry in spec["load_from"]:
        module = entry["python_module"]
        locations[module["location_name"]] = importlib.import_module(module["module_name"]).defs
    return locations


@pytest.fixture(scope="module")
def locations() -> dict[str, Definitions]:
    return workspace_locations()


def _names(locations, kind: str) -> Counter:
    names: Counter = Counter()
    for defs in locations.values():
        repo = defs.get_repository_def()
        if kind == "jobs":
            names.update(j for j in repo.job_names if not j.startswith("__"))
        elif kind == "schedules":
            names.update(s.name for s in repo.schedule_defs)
        else:
            names.update(s.name for s in repo.sensor_defs)
    return names


def test_workspace_has_the_five_pipelines(locations):
    assert set(locations) == {"replay_mining", "analytics", "rps", "riot", "replay_sync"}


def test_asset_keys_are_unique_and_carry_their_pipeline(locations):
    owner: dict[str, str] = {}
    for location, defs in locations.items():
        for key in defs.resolve_asset_graph().get_all_asset_keys():
            name = key.to_user_string()
            assert name not in owner, f"{name} is defined in {owner[name]} and {location}"
            owner[name] = location
            assert key.path[0] == location, f"{name} in {location} lacks the prefix {location}/"


@pytest.mark.parametrize("kind", ["jobs", "schedules", "sensors"])
def test_job_schedule_and_sensor_names_are_unique(locations, kind):
    names = _names(locations, kind)
    assert [n for n, count in names.items() if count > 1] == []
    for name in names:  # a name says which pipeline it belongs to
        assert name.startswith(tuple(locations)), name


def test_checks_groups_and_dependencies_stay_in_their_location(locations):
    for location, defs in locations.items():
        graph = defs.resolve_asset_graph()
        own = set(graph.get_all_asset_keys())
        for key in own:
            node = graph.get(key)
            if node.is_materializable or node.is_observable:
                assert node.group_name == location, (key, node.group_name)
            for parent in node.parent_keys:
                assert (
                    parent in own or (location, parent.to_user_string()) in CROSS_LOCATION_DEPS
                ), (
                    f"{key.to_user_string()} depends on {parent.to_user_string()}, "
                    f"which {location} does not define"
                )
        for check_key in graph.asset_check_keys:
            assert check_key.asset_key in own, check_key


def test_schedules_and_sensors_ship_stopped(locations):
    """One rule: nothing starts on its own when a workspace is first loaded (a laptop's
    `dagster dev` must not begin training or calling APIs); turn on what you need (README)."""
    for defs in locations.values():
        repo = defs.get_repository_def()
        for schedule in repo.schedule_defs:
            assert schedule.default_status == DefaultScheduleStatus.STOPPED, schedule.name
        for sensor in repo.sensor_defs:
            assert sensor.default_status == DefaultSensorStatus.STOPPED, sensor.name


def _after_dagster(command: str) -> list[str]:
    """The arguments of a `dagster`, `uv run dagster` or `bin/dagster` command line."""
    words = command.split("#", 1)[0].split()  # without the line's comment
    return words[[w.endswith("dagster") for w in words].index(True) + 1 :]


def _run_cli(args: list[str], home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    return subprocess.run(
        [DAGSTER, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.mark.slow
def test_definitions_validate_passes_for_the_whole_workspace(tmp_path):
    result = _run_cli(["definitions", "validate", "-w", "workspace.yaml"], tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "All code locations passed validation" in result.stdout + result.stderr


def readme_automation_commands() -> list[str]:
    """The `bin/dagster schedule|sensor ...` lines of the README's code blocks, as written."""
    text = (REPO / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    return [
        line.strip()
        for block in blocks
        for line in block.splitlines()
        if re.match(r"\s*(uv run |bin/)?dagster (schedule|sensor) ", line)
    ]


@pytest.mark.slow
def test_the_readme_schedule_and_sensor_commands_work_as_written(tmp_path):
    commands = readme_automation_commands()
    assert any(" schedule start " in c for c in commands), commands
    assert any(" sensor start " in c for c in commands), commands
    (tmp_path / "dagster.yaml").write_text("")
    from dagster import DagsterInstance

    for command in commands:
        args = _after_dagster(command)
        result = _run_cli(args, tmp_path)
        assert result.returncode == 0, (command, result.stdout[-2000:], result.stderr[-2000:])
    # What the README's commands leave behind: the one they started last is running, and so on.
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        states = {s.name: s.status.value for s in instance.all_instigator_state()}
    expected = {}
    for command in commands:  # the last start or stop of a name decides its state
        verb, name = _after_dagster(command)[1:3]
        if verb in ("start", "stop"):
            expected[name] = "RUNNING" if verb == "start" else "STOPPED"
    assert {name: states.get(name) for name in expected} == expected


def test_loading_every_location_prints_no_warning():
    """No warning on every load that a user cannot act on (superseded APIs, beta notices)."""
    modules = [
        entry["python_module"]["module_name"]
        for entry in yaml.safe_load((REPO / "workspace.yaml").read_text())["load_from"]
    ]
    code = "; ".join(f"import {m}; {m}.defs.resolve_asset_graph()" for m in modules)
    result = subprocess.run(
        [sys.executable, "-W", "default", "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Warning" not in result.stderr, result.stderr[-3000:]
