"""Every shell command of README.md and docs/*.md, as a user pastes it: extracted from the bash code
blocks, told apart by what it does, and run block by block in one shell each.

    python -m tests.readme_commands REPORT.json     # in a checkout, after `uv sync --locked`

runs every block in a fresh `bash` (a block's variables and exports hold for its later lines, as
in a pasted shell), in an environment with nothing but HOME and PATH, and writes what each command
did: exit status, stderr, the runs it added to the instance (`dagster_home/`, what the bin/
commands use when DAGSTER_HOME is unset). Commands ending in `&` start a sandbox for the rest of
their block; a UI command (`bin/dg dev`, `bin/demo`) is started, asked through the webserver's
GraphQL API which locations it loaded and which runs it sees, and stopped. The README's own UI
command, `bin/dg dev`, is asked last, once every other command has run: for every run they made.
tests/test_readme_commands.py reads the report.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = ("README.md", "docs/*.md")

# Commands this machine cannot run, and why (a container engine, a cluster, minutes of work the
# suite measures elsewhere). Everything else runs.
NOT_HERE = {
    r"^\.?/?bin/test\b": "the test suite itself (CI runs it: .ci/run)",
    r"\bbenchmarks\.": "a benchmark: minutes of measuring (benchmarks/, each with --quick)",
    r"^(docker|helm|kubectl) ": "needs a container engine or a cluster",
    r"uv run --with jupyterlab jupyter lab": (
        "starts Jupyter, which the lock file does not hold (uv fetches it); the notebook cells"
        " themselves run in tests/test_use_the_data.py"
    ),
    r"CELERY_BROKER_URL=redis://broker\b": (
        "needs the broker host it names; tests/deploy/test_celery.py starts workers this way"
    ),
}
# Long-running commands with a UI: started, asked, stopped.
UI = r"^(\.?/?bin/demo\b(?!.*--no-ui)|bin/(dg|dagster) dev\b)"
UI_PORT = {r"^\.?/?bin/demo\b": 3000}  # bin/demo's default (DEMO_UI_PORT)
DEFAULT_UI_PORT = 3000
# Stderr lines a user can act on, or that say only what happened; anything else that looks like a
# warning fails the command.
WARNING = re.compile(r"\b\w*Warning\b|\bWARNING\b|\bwarn(ing)?:", re.IGNORECASE)
ACCEPTED_WARNINGS = {
    r"EventLogConsumerDaemon - WARNING - No cursor for event type \S+, ignoring older events": (
        "dagster-daemon, first start on an instance: it reads run events from now on"
    ),
    r" - dagster - WARNING - \S+ - [0-9a-f-]{36} - \S+ - ": (
        "a step's own warning in its run's log: the pipelines' messages say what happened and"
        " what to do (each pipeline's tests check them)"
    ),
}
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class Command:
    document: str
    line: int  # where it starts
    text: str  # as written, continuation lines and heredoc included
    block: int  # the index of its code block in the document

    @property
    def head(self) -> str:
        """The command without its comment, on one line."""
        first = self.text.split("\n", 1)[0] if "<<" in self.text else self.text
        joined = first.replace("\\\n", " ")
        return re.sub(r"\s+#.*$", "", joined).strip()

    @property
    def kind(self) -> str:
        if self.not_here:
            return "not here"
        if re.search(UI, self.head):
            return "ui"
        if self.head.endswith("&"):
            return "background"
        return "run"

    @property
    def not_here(self) -> str | None:
        return next((why for rx, why in NOT_HERE.items() if re.search(rx, self.head)), None)

    @property
    def port(self) -> int | None:
        """The port a background command or a UI listens on."""
        found = re.search(r"(?:--port|-p)[ =](\d+)", self.head)
        if found:
            return int(found.group(1))
        if self.kind == "ui":
            return next(
                (port for rx, port in UI_PORT.items() if re.search(rx, self.head)), DEFAULT_UI_PORT
            )
        return None

    @property
    def where(self) -> str:
        return f"{self.document}:{self.line}"


def _blocks(text: str):
    """(first line number, lines) of every bash/sh code block, indented ones (in lists) too."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = re.match(r"^(\s*)```(bash|sh|shell)\s*$", lines[i])
        if not opening:
            i += 1
            continue
        indent, start, body = opening.group(1), i + 2, []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i])
            i += 1
        yield start, body
        i += 1


def commands_of(path: Path, root: Path = ROOT) -> list[Command]:
    """The commands of one document, in order: continuation lines and heredocs joined."""
    out = []
    for block, (start, body) in enumerate(_blocks(path.read_text())):
        j = 0
        while j < len(body):
            line = body[j]
            if not line.strip() or line.lstrip().startswith("#"):
                j += 1
                continue
            first, text = start + j, [line]
            heredoc = re.search(r"<<-?\s*'?(\w+)'?", line)
            while text[-1].endswith("\\") and j + 1 < len(body):
                j += 1
                text.append(body[j])
            if heredoc:
                while j + 1 < len(body) and body[j].strip() != heredoc.group(1):
                    j += 1
                    text.append(body[j])
            out.append(Command(str(path.relative_to(root)), first, "\n".join(text), block))
            j += 1
    return out


def all_commands(root: Path = ROOT) -> list[Command]:
    paths = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    return [command for path in paths for command in commands_of(path, root)]


def unexplained_warnings(stderr: str) -> list[str]:
    lines = []
    for line in ANSI.sub("", stderr).splitlines():
        if WARNING.search(line) and not any(re.search(rx, line) for rx in ACCEPTED_WARNINGS):
            lines.append(line.strip())
    return lines


# --- running them ---------------------------------------------------------------------------


@dataclass
class Result:
    where: str
    text: str
    kind: str
    returncode: int | None = None
    seconds: float = 0.0
    stderr_tail: str = ""
    warnings: list[str] = field(default_factory=list)
    new_runs: dict[str, str] = field(default_factory=dict)  # run id -> status
    ui: dict = field(default_factory=dict)  # what the webserver answered
    skipped: str | None = None


# What a fresh login on this machine has besides HOME and PATH: how it reaches the package
# registries (certificates, proxies, pip's settings), never a project or Dagster variable.
MACHINE = re.compile(r"SSL_CERT|CA_BUNDLE|CA_CERTS|^PIP_|_PROXY$|^NO_PROXY$", re.IGNORECASE)


def clean_environment() -> dict[str, str]:
    """A fresh login's environment: HOME, a PATH with uv, the machine's TLS and proxy settings."""
    home = os.environ.get("HOME", str(Path.home()))
    path = f"{home}/.local/bin:/usr/local/bin:/usr/bin:/bin"
    machine = {k: v for k, v in os.environ.items() if MACHINE.search(k)}
    return {**machine, "HOME": home, "PATH": path, "LANG": "C.UTF-8", "TERM": "dumb"}


def _runs(root: Path) -> dict[str, str]:
    """Every run of the checkout's instance (dagster_home/), by id."""
    from dagster import DagsterInstance

    home = root / "dagster_home"
    if not (home / "history").exists():
        return {}
    with DagsterInstance.from_config(str(home)) as instance:
        return {r.run_id: r.status.value for r in instance.get_runs()}


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


GRAPHQL_STATE = """
query {
  workspaceOrError { ... on Workspace { locationEntries { name loadStatus
    locationOrLoadError { __typename ... on PythonError { message } } } } }
  runsOrError { ... on Runs { results { runId status } } }
}
"""


def ask_ui(port: int, timeout: float, group: int | None = None) -> dict:
    """Wait until the webserver on `port` has loaded every location; what it says then. Stops
    waiting when the command's process group (`group`) has ended before its UI answered."""
    deadline, last = time.monotonic() + timeout, "no answer"
    while time.monotonic() < deadline:
        if group is not None and not _group_alive(group):
            return {"error": f"the command ended before its UI answered: {last}"}
        try:
            answer = requests.post(
                f"http://127.0.0.1:{port}/graphql", json={"query": GRAPHQL_STATE}, timeout=30
            ).json()["data"]
            entries = answer["workspaceOrError"]["locationEntries"]
            last = json.dumps(entries)
            if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                return {
                    "locations": {
                        e["name"]: e["locationOrLoadError"]["__typename"] for e in entries
                    },
                    "runs": {r["runId"]: r["status"] for r in answer["runsOrError"]["results"]},
                }
        except (requests.RequestException, KeyError, TypeError, ValueError) as exc:
            last = repr(exc)
        time.sleep(2)
    return {"error": f"not ready after {timeout:.0f} s: {last}"}


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


class Shell:
    """One bash, as a terminal a user pastes into: job control on (a background job is its own
    process group, stopped as Ctrl-C stops it), each command's output kept in `logs`."""

    numbers = itertools.count(1)  # across shells: every command's output files have their own

    def __init__(self, root: Path, logs: Path):
        self.logs, self.jobs = logs, []
        self.proc = subprocess.Popen(
            ["bash", "--norc", "--noprofile"],
            cwd=root,
            env=clean_environment(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        self._send("set -m")

    def _send(self, script: str) -> tuple[int, list[str]]:
        """Run `script` in the shell; its status and what it printed on the shell's stdout."""
        marker = f"__done_{next(self.numbers)}__"
        self.proc.stdin.write(f"{script}\necho {marker} $?\n")
        self.proc.stdin.flush()
        printed = []
        for line in self.proc.stdout:
            if line.startswith(marker):
                return int(line.split()[1]), printed
            printed.append(line.rstrip("\n"))
        raise RuntimeError("the shell exited")

    def _files(self) -> tuple[str, Path]:
        number = next(self.numbers)
        out, err = self.logs / f"{number:03d}.out", self.logs / f"{number:03d}.err"
        return f"</dev/null >{shlex.quote(str(out))} 2>{shlex.quote(str(err))}", err

    def run(self, command: Command) -> tuple[int, str]:
        redirect, err = self._files()
        status, _ = self._send(f"{{\n{command.text}\n}} {redirect}")
        return status, err.read_text()

    def start(self, command: Command) -> tuple[int, Path]:
        """Start a one-line command in the background; its process group and stderr file."""
        redirect, err = self._files()
        _, printed = self._send(f"{command.head.rstrip('&').strip()} {redirect} &\necho $!")
        pid = int(printed[-1])
        self.jobs.append(pid)
        return pid, err

    def stop(self, pid: int) -> None:
        self.jobs.remove(pid)
        stop_group(pid)

    def close(self) -> None:
        for pid in list(self.jobs):
            self.stop(pid)
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def stop_group(pid: int, grace: float = 30) -> None:
    """Ctrl-C to a job's process group, as a terminal does, then SIGKILL if it lingers."""
    try:
        os.killpg(pid, signal.SIGINT)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not _group_alive(pid):
            return
        time.sleep(0.5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def run_all(root: Path, logs: Path) -> list[Result]:
    results: list[Result] = []
    commands = all_commands(root)
    launched: dict[str, str] = {}
    by_block: dict[tuple[str, int], list[Command]] = {}
    for command in commands:
        by_block.setdefault((command.document, command.block), []).append(command)
    # a UI command already asked, where; `bin/dg dev` is asked once, last (the final check)
    ui_seen: dict[str, str] = {FINAL_UI: "the final check, after every other command"}
    for block_commands in by_block.values():
        shell = Shell(root, logs)
        try:
            for command in block_commands:
                result = Result(command.where, command.text, command.kind)
                results.append(result)
                print(f"--- {command.where} [{command.kind}] {command.head}", flush=True)
                if command.not_here:
                    result.skipped = command.not_here
                    continue
                if command.kind == "ui" and command.head in ui_seen:
                    # the same UI on the same instance: asked once
                    result.skipped = f"the same command as {ui_seen[command.head]}"
                    continue
                before, started = _runs(root), time.monotonic()
                if command.kind == "run":
                    result.returncode, stderr = shell.run(command)
                elif command.kind == "background":
                    _pid, err = shell.start(command)
                    deadline = time.monotonic() + 120
                    while not _listening(command.port) and time.monotonic() < deadline:
                        time.sleep(0.5)
                    result.returncode = 0 if _listening(command.port) else 1
                    stderr = err.read_text()
                else:  # a UI: ready, asked, stopped
                    pid, err = shell.start(command)
                    result.ui = ask_ui(
                        command.port, timeout=1800 if "demo" in command.head else 600, group=pid
                    )
                    shell.stop(pid)
                    ui_seen[command.head] = command.where
                    result.returncode = 0 if "error" not in result.ui else 1
                    stderr = err.read_text()
                result.seconds = round(time.monotonic() - started, 1)
                result.stderr_tail = stderr[-3000:]
                result.warnings = unexplained_warnings(stderr)
                after = _runs(root)
                result.new_runs = {k: v for k, v in after.items() if k not in before}
                launched.update(result.new_runs)
                print(
                    f"    rc={result.returncode} {result.seconds} s, {len(result.new_runs)} runs",
                    flush=True,
                )
        finally:
            shell.close()
    # Every run a command made, seen by the UI the README starts; and a schedule started on its
    # location alone (locations/<p>/workspace.yaml) is the one that UI's daemon runs.
    final = Result("final check", FINAL_UI, "ui")
    shell = Shell(root, logs)
    one_location = "-w locations/replay_mining/workspace.yaml"
    try:
        start = Command(
            "final check", 0, f"bin/dagster schedule start {SCHEDULE} {one_location}", -1
        )
        started, _ = shell.run(start)
        pid, err = shell.start(Command("final check", 0, FINAL_UI, -1))
        final.ui = ask_ui(DEFAULT_UI_PORT, timeout=600, group=pid)
        if "error" not in final.ui:
            final.ui["schedule"] = schedule_status(DEFAULT_UI_PORT)
        shell.stop(pid)
        stop = Command("final check", 0, f"bin/dagster schedule stop {SCHEDULE} {one_location}", -1)
        stopped, _ = shell.run(stop)
        final.returncode = 0 if "error" not in final.ui and started == stopped == 0 else 1
        final.warnings = unexplained_warnings(err.read_text())
        final.new_runs = launched
    finally:
        shell.close()
    results.append(final)
    return results


SCHEDULE = "replay_mining_dataset_schedule"
FINAL_UI = "bin/dg dev"  # the README's UI command
GRAPHQL_SCHEDULE = """
query {
  scheduleOrError(scheduleSelector: {repositoryLocationName: "replay_mining",
      repositoryName: "__repository__", scheduleName: "%s"}) {
    ... on Schedule { scheduleState { status } }
  }
}
"""


def schedule_status(port: int) -> str:
    answer = requests.post(
        f"http://127.0.0.1:{port}/graphql", json={"query": GRAPHQL_SCHEDULE % SCHEDULE}, timeout=30
    ).json()
    return answer["data"]["scheduleOrError"]["scheduleState"]["status"]


def main() -> None:
    report = Path(sys.argv[1])
    logs = report.parent / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    results = run_all(ROOT, logs)
    report.write_text(json.dumps([asdict(r) for r in results], indent=1))


if __name__ == "__main__":
    main()
