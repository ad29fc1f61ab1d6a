"""Every command of the README and docs/ works as a user pastes it (issue 21): on a clean copy of
this checkout, after the set-up, in an environment with nothing but HOME and PATH, on the
instance the UI shows, with no warning a user cannot act on (tests/readme_commands.py runs them).

The whole run happens in a private network namespace when the machine allows one (`unshare`),
so the ports the documents name (8701, 8702, 9000, 3000) are free whatever else runs here, and
nothing reaches past loopback.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from resources.postgres import stop_embedded_postgres
from tests.readme_commands import ROOT, all_commands, clean_environment, unexplained_warnings

PIPELINES = ["replay_mining", "analytics", "rps", "riot", "replay_sync"]


def test_every_command_of_the_documents_is_run_or_says_why_not():
    commands = all_commands()
    assert len(commands) >= 60, "the documents lost their command blocks?"
    kinds = {c.kind for c in commands}
    assert {"run", "ui", "background"} <= kinds
    not_here = [c for c in commands if c.kind == "not here"]
    # only the suite itself, benchmarks, Jupyter and the Celery worker line, each with its reason
    measuring = re.compile(r"^\.?/?bin/test\b|\bbenchmarks\.")
    others = [c for c in not_here if not measuring.search(c.head)]
    assert len(others) <= 2, [c.where for c in others]
    for command in commands:
        if command.kind in ("ui", "background"):
            assert command.port, f"{command.where}: which port does it listen on?"
    # the forms the README calls deprecated or noisy are gone from every command
    for command in commands:
        assert not re.search(r"\bgroup:", command.text), f"{command.where}: BetaWarning"
        # bin/ sets DAGSTER_HOME; a command outside bin/ names the same instance
        for home in re.findall(r"DAGSTER_HOME=(\S*)", command.text):
            assert home == "$PWD/dagster_home", f"{command.where}: DAGSTER_HOME={home}"
        assert not re.match(r"(uv run (--locked )?)?dagster ", command.head), (
            f"{command.where}: `dagster` without bin/ runs on a temporary instance"
        )


def test_dg_and_dagster_name_the_same_five_locations():
    workspace = {
        e["python_module"]["location_name"]: e["python_module"]["module_name"]
        for e in yaml.safe_load((ROOT / "workspace.yaml").read_text())["load_from"]
    }
    assert workspace == {p: f"pipelines.{p}" for p in PIPELINES}
    projects = tomllib.loads((ROOT / "dg.toml").read_text())["workspace"]["projects"]
    assert [p["path"] for p in projects] == [f"locations/{p}" for p in PIPELINES]
    for pipeline in PIPELINES:
        folder = ROOT / "locations" / pipeline
        project = tomllib.loads((folder / "dg.toml").read_text())["project"]
        assert project["code_location_name"] == pipeline
        module = project["code_location_target_module"]
        assert f"from pipelines.{pipeline} import defs" in (folder / f"{module}.py").read_text()
        alone = yaml.safe_load((folder / "workspace.yaml").read_text())["load_from"]
        assert alone == [
            {"python_module": {"module_name": f"pipelines.{pipeline}", "location_name": pipeline}}
        ]


def test_bin_dagster_uses_the_project_instance_unless_dagster_home_is_set(tmp_path):
    env = clean_environment()
    shown = subprocess.run(
        ["bin/dagster", "instance", "info"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert shown.returncode == 0, shown.stderr
    assert f"$DAGSTER_HOME: {ROOT}/dagster_home\n" in shown.stdout
    assert unexplained_warnings(shown.stderr) == []
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    other = subprocess.run(
        ["bin/dagster", "instance", "info"],
        cwd=ROOT,
        env={**env, "DAGSTER_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert f"$DAGSTER_HOME: {tmp_path}\n" in other.stdout, other.stderr


def test_bin_commands_started_at_once_on_a_fresh_instance_create_its_storage_once(tmp_path):
    """Processes that start at once on a fresh SQLite instance (bin/demo's pipelines, a UI and a
    launch) each created Dagster's storage and collided ("table kvs already exists"): the first
    bin/ command creates it under a lock (bin/_env.sh), and every one of them succeeds."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    env = {**clean_environment(), "DAGSTER_HOME": str(home)}
    commands = [
        subprocess.Popen(
            ["bin/dagster", "instance", "info"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(5)
    ]
    outcomes = [(command.wait(timeout=300), *command.communicate()) for command in commands]
    for returncode, stdout, stderr in outcomes:
        assert returncode == 0, stderr[-2000:]
        assert f"$DAGSTER_HOME: {home}\n" in stdout
        assert unexplained_warnings(stderr) == []
    assert (home / ".storage-created").exists()
    assert (home / "history" / "runs.db").exists()
    assert (home / "schedules" / "schedules.db").exists()


def _checkout(target: Path) -> None:
    """A clean copy of this checkout: the files git knows (committed or not), no data, no .venv."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (n.decode() for n in listed)):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def _private_network() -> list[str]:
    """The command prefix that gives a process its own loopback, or [] when the machine won't."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return []
    for prefix in (["unshare", "-n"], ["unshare", "-rn"]):
        probe = subprocess.run([*prefix, "ip", "link", "set", "lo", "up"], capture_output=True)
        if probe.returncode == 0:
            return prefix
    return []


def _set_up(checkout: Path) -> None:
    """A clean copy, then the README's set-up command (uv links the packages from its cache)."""
    _checkout(checkout)
    setup = subprocess.run(
        ["uv", "sync", "--locked", "--quiet"],
        cwd=checkout,
        env=clean_environment(),
        capture_output=True,
        text=True,
    )
    assert setup.returncode == 0, setup.stderr


@pytest.fixture
def checkout(tmp_path) -> Iterator[Path]:
    """Where a clean copy goes; the embedded PostgreSQL servers its commands started (left up
    for the next command, as a user's are) stopped after the test."""
    where = tmp_path / "asset-graph"
    yield where
    for pid_file in where.glob("data/**/postmaster.pid"):  # POSTGRES_DATA_DIR is under data/
        stop_embedded_postgres(pid_file.parent)


def _in_private_network(script: str, checkout: Path) -> subprocess.CompletedProcess:
    """`script` under bash in the checkout, on its own loopback when the machine allows it."""
    prefix = _private_network()
    if prefix:
        script = f"ip link set lo up && {script}"
    return subprocess.run(
        [*prefix, "bash", "-c", script],
        cwd=checkout,
        env={**clean_environment(), "PYTHONUNBUFFERED": "1"},
        capture_output=True,
        text=True,
    )


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_bin_demo_takes_a_free_port_when_its_own_is_taken(checkout):
    _set_up(checkout)
    # something else listens on the stats sandbox's port; STATS_SANDBOX_PORT names another one
    holder = (
        "python3 -c 'import socket, time; s = socket.socket(); "
        's.bind(("127.0.0.1", 8701)); s.listen(); time.sleep(900)\' >/dev/null 2>&1 & H=$!'
    )
    done = _in_private_network(
        f"{holder}; sleep 1; STATS_SANDBOX_PORT=8701 ./bin/demo --main --no-ui; rc=$?; "
        "kill $H; exit $rc",
        checkout,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    moved = re.search(
        r"port 8701 \(STATS_SANDBOX_PORT\) is taken: using (\d+) instead", done.stderr
    )
    assert moved, done.stderr[-3000:]
    assert int(moved.group(1)) != 8701
    assert list((checkout / "data/lake/datasets/replays").glob("replays_*.parquet"))


@pytest.mark.slow
@pytest.mark.timeout(7200)
def test_every_command_runs_as_pasted_on_a_clean_checkout(checkout, tmp_path):
    _set_up(checkout)
    report = tmp_path / "report.json"
    done = _in_private_network(f"exec .venv/bin/python -m tests.readme_commands {report}", checkout)
    assert report.exists(), done.stdout[-4000:] + done.stderr[-4000:]
    results = json.loads(report.read_text())
    failed = [
        f"{r['where']} ({r['kind']}, rc {r['returncode']}): {r['text']}\n{r['stderr_tail'][-1500:]}"
        f"\n{r['ui'].get('error', '') if r['ui'] else ''}"
        for r in results
        if not r["skipped"] and r["returncode"] != 0
    ]
    assert not failed, "\n\n".join(failed)
    warned = [f"{r['where']}: {r['warnings']}" for r in results if r["warnings"]]
    assert not warned, "\n".join(warned)

    ran = [r for r in results if not r["skipped"]]
    # Each materialise/launch command recorded its run, a successful one, in dagster_home/.
    for result in ran:
        if re.search(
            r"\b(dg launch|asset materialize|job execute|bin/analytics-day)\b", result["text"]
        ):
            assert result["new_runs"], f"{result['where']}: no run in dagster_home/"
            assert set(result["new_runs"].values()) == {"SUCCESS"}, result
    launched = {
        run_id
        for r in ran
        if re.search(
            r"\b(dg launch|asset materialize|job execute|bin/riot|bin/analytics-day)\b", r["text"]
        )
        for run_id in r["new_runs"]
    }
    assert len(launched) >= 25
    # ... and the UI the README starts shows every one of them, and every location loaded.
    final = results[-1]
    assert final["where"] == "final check"
    assert final["ui"]["locations"] == {p: "RepositoryLocation" for p in PIPELINES}
    missing = launched - set(final["ui"]["runs"])
    assert not missing, f"runs the UI does not show: {sorted(missing)}"
    assert {final["ui"]["runs"][run_id] for run_id in launched} == {"SUCCESS"}
    assert final["ui"]["schedule"] == "RUNNING"  # started on locations/replay_mining alone
    for result in ran:
        if result["kind"] == "ui":
            assert set(result["ui"]["locations"]) == set(PIPELINES), result["where"]
    # the schedule commands acted on the locations the UI runs (their ticks need its daemon)
    assert any("schedule start" in r["text"] for r in ran)
    assert os.path.isdir(checkout / "dagster_home" / "schedules")
