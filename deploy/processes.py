"""The process toolkit of the deployment on one machine (deploy/local.py) and of the tests that
bring services up: free ports, a process in its own group with its output in a log, waiting for
it to listen or to say it is ready, stopping a set of them as Ctrl-C does, and keeping a set of
them running (`Supervisor`: one that exits is started again and reported, never stops the rest).

Every process runs from the repository root (`REPO`); a process that exits before it is ready
raises `DeployError` with the end of its log.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

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


@dataclass
class Supervised:
    """A process kept running: how to start it again and to wait until it is ready, what it is
    and what losing it meant, said when it is restarted."""

    process: Process
    start: Callable[[], Process]
    ready: Callable[[Process], None]
    what: str
    lost: str
    restarts: list[float] = field(default_factory=list)  # when it was restarted (monotonic)
    given_up: bool = False


class Supervisor:
    """Keeps a set of processes running, as compose's `restart:` and Kubernetes do: `revive()`
    starts again each one that exited, saying which and what that meant; one that keeps dying
    (more than `limit` restarts in `window_seconds`) is reported once and left down. A lost
    process never stops the others."""

    def __init__(self, out: TextIO | None = None, limit: int = 5, window_seconds: float = 600):
        self.out, self.limit, self.window = out, limit, window_seconds
        self.services: dict[str, Supervised] = {}
        self.replaced: list[Process] = []  # every process started, for stopping them all

    def add(
        self,
        process: Process,
        start: Callable[[], Process],
        *,
        ready: Callable[[Process], None] = lambda _: None,
        what: str,
        lost: str,
    ) -> None:
        self.services[process.name] = Supervised(process, start, ready, what, lost)

    @property
    def processes(self) -> dict[str, Process]:
        return {name: s.process for name, s in self.services.items()}

    def all_started(self) -> list[Process]:
        return [s.process for s in self.services.values()] + self.replaced

    def revive(self, out: TextIO | None = None) -> list[str]:
        """Restart what exited, saying so (to `out`, else the supervisor's, else stdout); the
        names restarted."""

        def say(text: str) -> None:
            print(text, file=out or self.out or sys.stdout, flush=True)

        revived = []
        for name, service in self.services.items():
            old = service.process
            if old.popen.poll() is None or service.given_up:
                continue
            now = time.monotonic()
            service.restarts = [t for t in service.restarts if now - t < self.window]
            if len(service.restarts) >= self.limit:
                service.given_up = True
                say(
                    f"{service.what} exited with {old.popen.returncode} again, "
                    f"{len(service.restarts)} restarts in {self.window / 60:.0f} min: not "
                    f"restarting it; the other processes keep running. Its log: {old.log}. "
                    "Fix the cause, then restart bin/deploy-local."
                )
                continue
            service.restarts.append(now)
            kept = old.log.with_suffix(f".{old.popen.pid}.log")  # the dead one's, beside the new
            if old.log.exists():
                old.log.replace(kept)
            say(f"{service.what} exited with {old.popen.returncode} (log {kept}); restarting it. "
                f"{service.lost}")  # fmt: skip
            self.replaced.append(old)
            service.process = service.start()
            try:
                service.ready(service.process)
            except DeployError as exc:  # dead again: the next revive() tries again
                say(f"{service.what} did not start again: {exc}")
                continue
            revived.append(name)
        return revived
