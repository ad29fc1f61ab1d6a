"""The process toolkit of the deployment on one machine (deploy/local.py) and of the tests that
bring services up: free ports, a process in its own group with its output in a log, waiting for
it to listen or to say it is ready, and stopping a set of them as Ctrl-C does.

Every process runs from the repository root (`REPO`); a process that exits before it is ready
raises `DeployError` with the end of its log.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


class DeployError(RuntimeError):
    """The deployment (or one of its processes) cannot start; the message says what to fix."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def _default_sigint() -> None:
    # A script started in the background has SIGINT ignored, and its children inherit that;
    # Dagster's processes shut down cleanly on SIGINT (Ctrl-C), so give it back to them.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_process(name: str, argv: list[str], env: Mapping[str, str], log_dir: Path) -> Process:
    """`argv` in its own process group (so stopping it stops what it spawned), output to a log."""
    log = log_dir / f"{name}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(
            argv, env=dict(env), cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=_default_sigint,
        )  # fmt: skip
    return Process(name, popen, log)


def wait_for_port(process: Process, port: int, timeout_seconds: float = 180) -> None:
    deadline = time.monotonic() + timeout_seconds
    while not port_in_use(port):
        if process.popen.poll() is not None:
            raise DeployError(
                f"{process.name} exited with {process.popen.returncode} before listening on "
                f"port {port}; its log ({process.log}) ends:\n{process.tail()}"
            )
        if time.monotonic() > deadline:
            raise DeployError(f"{process.name} not listening on port {port} after "
                              f"{timeout_seconds:.0f} s; see {process.log}")  # fmt: skip
        time.sleep(0.3)


def stop_processes(processes: Sequence[Process], timeout_seconds: float = 30) -> None:
    """Ctrl-C to every group (last started first), then SIGKILL what is still there."""
    for process in reversed(processes):
        if process.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.popen.pid, signal.SIGINT)
    deadline = time.monotonic() + timeout_seconds
    for process in processes:
        try:
            process.popen.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.popen.pid, signal.SIGKILL)
            process.popen.wait()


def wait_for_output(process: Process, text: str, timeout_seconds: float = 60) -> None:
    deadline = time.monotonic() + timeout_seconds
    while text not in process.tail(100_000):
        if process.popen.poll() is not None or time.monotonic() > deadline:
            raise DeployError(f"{process.name} did not start; its log ({process.log}) ends:\n"
                              f"{process.tail()}")  # fmt: skip
        time.sleep(0.3)


def processes_by_name(processes: Sequence[Process]) -> dict[str, Process]:
    return {p.name: p for p in processes}
