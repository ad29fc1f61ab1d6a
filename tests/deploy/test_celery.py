"""Steps on more than one machine: replay_mining runs with `DAGSTER_EXECUTOR=celery`, their steps
taken by two real Celery worker processes (deploy/local.py starts them and a real Redis, as
bin/deploy-local --celery-workers 2 does), the runs launched by `dagster asset materialize` and
recorded in a PostgreSQL-backed instance, the stats sandbox over HTTP. Faults: a worker killed
mid-step, the broker down at launch."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psutil
import psycopg
import pyarrow.parquet as pq
import pytest
import yaml
from dagster import (
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    Definitions,
    load_assets_from_package_module,
)
from dagster_celery.executor import CeleryExecutor
from dagster_celery.make_app import make_app

import assets.replay_mining
from assets.replay_mining.stages import dataset_key
from deploy.local import REPO, start_celery_workers, start_redis
from deploy.processes import Process, free_port, stop_processes
from resources.instance.celery_executor import CeleryUnavailable, check_celery
from resources.instance.executors import heavy_job_executor
from resources.lake import LocalLake
from sandboxes.serving import serve_in_background
from sandboxes.stats_server import StatsServerSandbox
from schedules.replay_mining import replay_mining_dataset_job
from tests.conftest import fresh_database
from tests.replay_mining.conftest import TOKEN, make_resources, small_config
from tests.replay_mining.test_schedule_and_cli import MATERIALIZE, Rendezvous

# One pytest-xdist worker runs the tests of the Celery cluster (a module fixture): it starts once.
pytestmark = pytest.mark.xdist_group("celery")

# The four stages and the three stage audits (asset checks run as steps of their own).
STEPS = [f"replay_mining__{name}" for name in (
    "replay_index", "raw_replays", "parsed_replays", "replay_dataset",
    "replay_index_episodes_unique_with_urls", "raw_replays_every_replay_downloaded_or_failed",
    "parsed_replays_every_replay_parsed_or_skipped",
)]  # fmt: skip
WORKER_LOST_SECONDS = 5  # CELERY_WORKER_LOST_SECONDS of the runs here (default 30)


def sqlalchemy_url(conninfo: str) -> str:
    """The libpq conninfo of a test database as the URL dagster-postgres takes."""
    info = psycopg.conninfo.conninfo_to_dict(conninfo)
    user = quote(info.get("user", "postgres")) + (
        ":" + quote(info["password"], safe="") if info.get("password") else ""
    )
    host, port, db = info.get("host", "localhost"), info.get("port", "5432"), info["dbname"]
    if host.startswith("/"):  # a socket directory
        return f"postgresql+psycopg2://{user}@/{db}?host={quote(host)}&port={port}"
    return f"postgresql+psycopg2://{user}@{host}:{port}/{db}"


class Front:
    """The sandbox behind a switchable fault-injecting layer (one server for the module)."""

    def __init__(self, app):
        self.app = self.front = app

    def __call__(self, environ, start_response):
        return self.front(environ, start_response)


class HoldReplays:
    """Holds every replay download until `release()`: the raw_replays step is then mid-step."""

    def __init__(self, app):
        self.app, self.arrived, self.released = app, threading.Event(), threading.Event()

    def __call__(self, environ, start_response):
        if environ["PATH_INFO"].startswith("/replays/"):
            self.arrived.set()
            self.released.wait(120)
        return self.app(environ, start_response)


@dataclass
class Cluster:
    env: dict[str, str]
    home: Path
    lake: Path
    workers: dict[str, Process]  # by Celery node name, e.g. celery-1@host
    front: Front
    url: str


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, pg_server_url) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("celery")
    logs, home = root / "logs", root / "dagster_home"
    logs.mkdir()
    home.mkdir()
    storage = {"storage": {"postgres": {"postgres_url": {"env": "DAGSTER_PG_URL"}}}}
    (home / "dagster.yaml").write_text(yaml.safe_dump({**storage, "telemetry": {"enabled": False}}))
    sandbox = StatsServerSandbox(small_config())
    front = Front(sandbox)
    processes: list[Process] = []
    with (
        fresh_database(pg_server_url) as dagster_db,
        serve_in_background(front) as server,
        pytest.MonkeyPatch.context() as patch,
    ):
        sandbox.base_url = server.url
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "DAGSTER_"))}
        env.update(
            DAGSTER_HOME=str(home),
            DAGSTER_PG_URL=sqlalchemy_url(dagster_db),
            STATS_API_URL=server.url,
            STATS_API_TOKEN=TOKEN,
            LAKE_ROOT=str(root / "lake"),
            DAGSTER_EXECUTOR="celery",
            CELERY_WORKER_LOST_SECONDS=str(WORKER_LOST_SECONDS),
        )
        patch.setenv("DAGSTER_PG_URL", env["DAGSTER_PG_URL"])  # this process reads the instance
        DagsterInstance.from_config(str(home)).dispose()  # the schema, once, before the workers
        try:
            processes.append(start_redis(env, logs))
            workers = start_celery_workers(env, logs, 2)
            processes += workers
            nodes = {f"{w.name}@{os.uname().nodename}": w for w in workers}
            yield Cluster(env, home, root / "lake", nodes, front, server.url)
        finally:
            stop_processes(processes)


def materialize(env: dict, first: str, last: str) -> subprocess.Popen:
    return subprocess.Popen(
        [*MATERIALIZE, "--partition-range", f"{first}...{last}"],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finished(run: subprocess.Popen, timeout: float = 240) -> str:
    return run.communicate(timeout=timeout)[0]


@contextlib.contextmanager
def instance_of(cluster: Cluster) -> Iterator[DagsterInstance]:
    with DagsterInstance.from_config(str(cluster.home)) as instance:
        yield instance


def run_of(instance: DagsterInstance, first: str):
    (record,) = [r for r in instance.get_run_records()
                 if r.dagster_run.tags.get("dagster/asset_partition_range_start") == first]  # fmt: skip
    return record.dagster_run


def workers_of_steps(instance: DagsterInstance, run_id: str) -> dict[str, tuple[str, set[int]]]:
    """Per step: the Celery node dagster-celery reports taking it, and the pids of its events."""
    node, pids = {}, {}
    for event in instance.all_logs(run_id):
        if event.step_key is None or event.dagster_event is None:
            continue
        data = event.dagster_event.event_specific_data
        # reported by the worker itself, with its Celery node name
        if event.dagster_event_type == DagsterEventType.ENGINE_EVENT and "in celery worker" in (
            event.dagster_event.message or ""
        ):
            node[event.step_key] = data.metadata["Celery worker"].value
        elif event.dagster_event_type in (DagsterEventType.STEP_START,
                                          DagsterEventType.STEP_SUCCESS):  # fmt: skip
            pids.setdefault(event.step_key, set()).add(event.dagster_event.pid)
    return {step: (node.get(step), pids.get(step, set())) for step in set(node) | set(pids)}


def message_of(event) -> str:
    """What the UI shows: an event reported from outside a step's log has its text on the event."""
    return "\n".join(
        [event.user_message, (event.dagster_event and event.dagster_event.message) or ""]
    )


def pids_of(process: Process) -> set[int]:
    main = psutil.Process(process.popen.pid)
    return {main.pid} | {child.pid for child in main.children(recursive=True)}


def days(first: str, count: int) -> list[dt.date]:
    return [dt.date.fromisoformat(first) + dt.timedelta(days=i) for i in range(count)]


def test_heavy_jobs_run_in_process_unless_celery_is_configured():
    assert heavy_job_executor({}).name == "in_process"
    celery = heavy_job_executor({"DAGSTER_EXECUTOR": "celery", "CELERY_BROKER_URL": "redis://h/0"})
    assert celery.name == "watched_celery"
    with pytest.raises(ValueError, match="needs CELERY_BROKER_URL"):
        heavy_job_executor({"DAGSTER_EXECUTOR": "celery"})
    with pytest.raises(ValueError, match="DAGSTER_EXECUTOR='dask' is not an executor"):
        heavy_job_executor({"DAGSTER_EXECUTOR": "dask"})


@pytest.mark.slow
def test_two_multi_day_runs_spread_their_steps_over_both_workers(cluster, tmp_path):
    """Each run's replay_index step waits in the sandbox for the other's: they meet only if two
    workers run them at once (each worker takes one step at a time)."""
    # two days each, of three replay format versions (not BUSY_DAY: it fails by design)
    ranges = [("2026-11-07", "2026-11-08"), ("2026-11-09", "2026-11-10")]
    cluster.front.front = Rendezvous(cluster.front.app, timeout=90)
    try:
        runs = [materialize(cluster.env, first, last) for first, last in ranges]
        outputs = [finished(run) for run in runs]
    finally:
        cluster.front.front = cluster.front.app
    assert [run.returncode for run in runs] == [0, 0], "\n".join(o[-3000:] for o in outputs)

    used = set()
    with instance_of(cluster) as instance:
        for first, _ in ranges:
            run = run_of(instance, first)
            assert run.status == DagsterRunStatus.SUCCESS
            steps = workers_of_steps(instance, run.run_id)
            assert sorted(steps) == sorted(STEPS)
            for step, (node, pids) in steps.items():
                # the step's events came from the worker dagster-celery named, not the run
                assert node in cluster.workers, (step, node)
                assert pids and pids <= pids_of(cluster.workers[node]), (step, node, pids)
                used.add(node)
        index_nodes = {workers_of_steps(instance, run_of(instance, first).run_id)
                       ["replay_mining__replay_index"][0] for first, _ in ranges}  # fmt: skip
    assert index_nodes == set(cluster.workers)  # the two index steps ran on the two workers
    assert used == set(cluster.workers)

    # the same days in one process give the same dataset
    lake, alone = LocalLake(cluster.lake), LocalLake(tmp_path / "lake")
    defs = Definitions(
        assets=load_assets_from_package_module(assets.replay_mining),
        jobs=[replay_mining_dataset_job],
        resources=make_resources(cluster.url, str(tmp_path / "lake")),
    )
    job = defs.resolve_job_def("replay_mining_dataset_job")
    for first, last in ranges:
        tags = {"dagster/asset_partition_range_start": first,
                "dagster/asset_partition_range_end": last}  # fmt: skip
        assert job.execute_in_process(instance=DagsterInstance.ephemeral(), tags=tags).success
    for day in days("2026-11-07", 4):
        celery_table = pq.read_table(lake.path(dataset_key(day)))
        assert celery_table.num_rows > 0
        assert celery_table.equals(pq.read_table(alone.path(dataset_key(day)))), day


@contextlib.contextmanager
def held_run(cluster: Cluster, first: str, last: str) -> Iterator[tuple[subprocess.Popen, str]]:
    """A run whose raw_replays step is held mid-download: (the run, the node running the step).
    When the block ends the downloads are let go and the sandbox is served as before."""
    hold = HoldReplays(cluster.front.app)
    cluster.front.front = hold
    try:
        run = materialize(cluster.env, first, last)
        assert hold.arrived.wait(180), "the raw_replays step never downloaded"
        with instance_of(cluster) as instance:
            steps = workers_of_steps(instance, run_of(instance, first).run_id)
        yield run, steps["replay_mining__raw_replays"][0]
    finally:
        hold.released.set()
        cluster.front.front = cluster.front.app


@pytest.mark.slow
def test_a_killed_pool_process_fails_the_step_at_once_and_its_worker_goes_on(cluster):
    first, last = "2026-11-05", "2026-11-06"
    with held_run(cluster, first, last) as (run, node):
        worker = cluster.workers[node]
        (child,) = psutil.Process(worker.popen.pid).children()  # --concurrency 1
        child.send_signal(signal.SIGKILL)
        output = finished(run, timeout=120)
    assert run.returncode != 0
    died = "The Celery worker process running step replay_mining__raw_replays died: Worker exited"
    assert died in output
    with instance_of(cluster) as instance:
        dagster_run = run_of(instance, first)
        assert dagster_run.status == DagsterRunStatus.FAILURE
        assert died in "\n".join(message_of(e) for e in instance.all_logs(dagster_run.run_id))
    written = [p.name for p in cluster.lake.rglob("datasets/**/*") if p.is_file()]
    assert not [n for n in written if any(d.strftime("%Y%m%d") in n for d in days(first, 2))]
    assert worker.popen.poll() is None  # the worker itself lives on, with a new pool process
    deadline = time.monotonic() + 60
    while not psutil.Process(worker.popen.pid).children():
        assert time.monotonic() < deadline, "the worker started no new pool process"
        time.sleep(0.5)


@pytest.mark.slow
def test_a_worker_killed_mid_step_fails_the_run_says_what_to_do_and_publishes_nothing(cluster):
    first, last = "2026-11-14", "2026-11-15"
    with held_run(cluster, first, last) as (run, node):
        victim = cluster.workers[node]
        os.killpg(victim.popen.pid, signal.SIGKILL)  # the whole worker: nobody reports the step
        victim.popen.wait()
        killed_at = time.monotonic()
        output = finished(run, timeout=120)
    assert run.returncode != 0
    # ended within the bound: detection after CELERY_WORKER_LOST_SECONDS plus a few pings
    assert time.monotonic() - killed_at < 120
    with instance_of(cluster) as instance:
        dagster_run = run_of(instance, first)
        assert dagster_run.status == DagsterRunStatus.FAILURE
        messages = "\n".join(message_of(e) for e in instance.all_logs(dagster_run.run_id))
        lost = f"Celery worker {node} has not answered for {WORKER_LOST_SECONDS} s while running "
        assert lost + "step replay_mining__raw_replays" in messages
        assert "re-execute the run from failure" in messages and "worker's log" in messages
        assert lost in output
        for day in (first, last):
            # the dead step's hold on its days was let go: a re-run need not wait for it
            assert not instance.event_log_storage.get_concurrency_info(
                f"replay_mining/{day}"
            ).active_run_ids
    # not even a temporary file of the two days (the lake publishes by rename)
    written = [p.name for p in cluster.lake.rglob("datasets/**/*") if p.is_file()]
    assert not [n for n in written if any(d.strftime("%Y%m%d") in n for d in days(first, 2))]


@pytest.mark.slow
def test_the_broker_down_at_launch_names_celery_broker_url_and_writes_nothing(cluster, tmp_path):
    closed = free_port()  # nothing listens here
    env = {
        **cluster.env,
        "CELERY_BROKER_URL": f"redis://:broker-secret@127.0.0.1:{closed}/0",
        "LAKE_ROOT": str(tmp_path / "lake"),
    }
    run = materialize(env, "2026-11-17", "2026-11-18")
    output = finished(run, timeout=180)
    assert run.returncode != 0
    expected = f"Cannot reach the Celery broker at redis://:***@127.0.0.1:{closed}/0"
    assert expected in output and "CELERY_BROKER_URL" in output, output[-3000:]
    assert "broker-secret" not in output
    with instance_of(cluster) as instance:
        dagster_run = run_of(instance, "2026-11-17")
        assert dagster_run.status == DagsterRunStatus.FAILURE
        events = instance.all_logs(dagster_run.run_id)
        assert not [e for e in events if e.dagster_event_type == DagsterEventType.STEP_START]
        assert "broker-secret" not in "\n".join(message_of(e) for e in events)
    assert not [p for p in (tmp_path / "lake").rglob("*") if p.is_file()]  # nothing written


@pytest.mark.slow
def test_a_broker_no_worker_listens_on_fails_the_run_instead_of_queueing_it_forever(tmp_path):
    """The executor's check before the first step (the run then fails as with the broker down)."""
    env: dict[str, str] = {}
    redis = start_redis(env, tmp_path)
    try:
        app = make_app(CeleryExecutor.for_cli(broker=env["CELERY_BROKER_URL"]).app_args())
        with pytest.raises(CeleryUnavailable) as raised:
            check_celery(app, env["CELERY_BROKER_URL"], wait_for_workers_seconds=2)
    finally:
        stop_processes([redis])
    assert str(raised.value).startswith(
        f"No Celery worker answers on the broker at {env['CELERY_BROKER_URL']} after 2 s"
    )
    assert "unset DAGSTER_EXECUTOR" in str(raised.value)
