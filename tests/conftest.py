"""Shared test infrastructure: a real PostgreSQL server, a real S3 API over HTTP, whole stacks.

- PostgreSQL: `POSTGRES_URL` when set (CI with a service), otherwise one embedded server for the
  session; every test that asks for `pg_url` gets a fresh database on it, dropped afterwards.
- S3: moto's server mode on loopback; boto3 reaches it by endpoint URL exactly as it reaches
  B2, R2 or MinIO. `s3_bucket` gives each test its own bucket.
- Whole stacks (tests/stack.py): `workspace` (`dagster dev`, every code location) and
  `deployment` (deploy/local.py's production topology), each started once per session. A test
  that uses one is marked `stack` and put in the stack's `xdist_group`, so under pytest-xdist
  (`bin/test`) all of a stack's tests run on one worker and it still starts once.

Under pytest-xdist every worker is its own session: its own PostgreSQL data folder, moto server,
temporary folders and free ports; nothing here is fixed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from resources.object_store import make_s3_client
from resources.postgres import embedded_postgres_url, stop_embedded_postgres
from tests.stack import Deployment, Workspace, deployment_stack, workspace_stack


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """URL of a PostgreSQL server's maintenance database for this test session."""
    if os.environ.get("POSTGRES_URL"):
        yield os.environ["POSTGRES_URL"]
        return
    # Not under pytest's basetemp: pytest prunes old basetemps, which would pull the data folder
    # from under a server still in use by a concurrent session.
    root = Path(tempfile.mkdtemp(prefix="asset-graph-pg-"))
    data_dir = root / "data"
    yield embedded_postgres_url(data_dir, database="postgres")
    stop_embedded_postgres(data_dir)
    shutil.rmtree(root, ignore_errors=True)


def _with_dbname(url: str, dbname: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(url)
    info["dbname"] = dbname
    return psycopg.conninfo.make_conninfo(**info)


@contextlib.contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the server for the block; dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_dbname(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url(pg_server_url) -> Iterator[str]:
    """A fresh, empty database on the session's server; dropped after the test."""
    with fresh_database(pg_server_url) as url:
        yield url


@pytest.fixture
def second_pg_url(pg_server_url) -> Iterator[str]:
    """Another fresh database on the same server (a second process's or a separate store's)."""
    with fresh_database(pg_server_url) as url:
        yield url


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    access_key_id: str = "testing-key-id"
    secret_access_key: str = "testing-secret-key"
    region: str = "us-east-1"

    def client(self):
        return make_s3_client(
            self.endpoint_url, self.region, self.access_key_id, self.secret_access_key
        )


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's S3 server over real HTTP on loopback."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield S3Server(endpoint_url=f"http://{host}:{port}")
    server.stop()


@dataclass(frozen=True)
class S3Bucket:
    server: S3Server
    name: str

    def client(self):
        return self.server.client()


@pytest.fixture
def s3_bucket(s3_server) -> S3Bucket:
    name = f"test-{uuid.uuid4().hex[:12]}"
    s3_server.client().create_bucket(Bucket=name)
    return S3Bucket(s3_server, name)


@pytest.fixture(autouse=True)
def _dagster_context_as_found() -> Iterator[None]:
    """Each test leaves Dagster's current definitions-state storage as it found it. A failed
    `load_asset_value` leaves it pointing at the loader's closed instance: Dagster's InputContext
    enters an ephemeral instance that is only exited when the context is garbage-collected, after
    the loader's own instance (dagster 1.13.29 too). The next test that builds a repository then
    fails with "Attempted to resolve undefined DagsterInstance weakref"."""
    from dagster._core.storage.defs_state.base import _current_storage

    before = _current_storage.get()
    yield
    _current_storage.set(before)


@pytest.fixture
def instance():
    """An ephemeral Dagster instance, closed after the test (one left to the garbage collector
    logs "Cannot operate on a closed database" from its SQLite pool: dagster#21586)."""
    from dagster import DagsterInstance

    with DagsterInstance.ephemeral() as instance:
        yield instance


# The whole stacks running in this process, by fixture name. Each is stopped after the last test
# that uses it (pytest_runtest_teardown below) rather than at the end of the session: an idle
# stack (daemon, webserver and code servers polling) takes about a tenth of a core from the tests
# that run after it.
_running_stacks: dict[str, contextlib.ExitStack] = {}


@pytest.fixture(scope="session")
def workspace(tmp_path_factory, pg_server_url, s3_server) -> Iterator[Workspace]:
    """The whole workspace under `dagster dev`, loaded (tests/stack.py), once per session."""
    started_once(tmp_path_factory, "workspace")
    with contextlib.ExitStack() as stop:
        _running_stacks["workspace"] = stop
        pg_url = stop.enter_context(fresh_database(pg_server_url))
        root = tmp_path_factory.mktemp("workspace")
        yield stop.enter_context(workspace_stack(root, pg_url, s3_server))


@pytest.fixture(scope="session")
def deployment(tmp_path_factory, pg_server_url) -> Iterator[Deployment]:
    """The production topology of deploy/local.py, loaded (tests/stack.py), once per session."""
    started_once(tmp_path_factory, "deployment")
    with contextlib.ExitStack() as stop:
        _running_stacks["deployment"] = stop
        pg_url = stop.enter_context(fresh_database(pg_server_url))
        yield stop.enter_context(deployment_stack(pg_url))


STACK_FIXTURES = ("workspace", "deployment")
LONGEST_TEST = (
    "tests/test_readme_commands.py::test_every_command_runs_as_pasted_on_a_clean_checkout"
)


@pytest.hookimpl(trylast=True)  # after the test's own and its module's fixtures are torn down
def pytest_runtest_teardown(item, nextitem):
    """Stop a whole stack once the last test of the session that uses it has run."""
    for name in list(_running_stacks):
        users = [i for i in item.session.items if name in i.fixturenames]
        if users and item is users[-1]:
            _running_stacks.pop(name).close()


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own hook reads the groups
def pytest_collection_modifyitems(config, items):
    """A test that uses a whole stack is marked `stack` and joins the stack's xdist group."""
    for item in items:
        for name in STACK_FIXTURES:
            if name in item.fixturenames:
                item.add_marker(pytest.mark.stack)
                item.add_marker(pytest.mark.xdist_group(name))
    # Longest first, so no long piece starts last and leaves the other workers idle: the longest
    # test (every documented command on a clean checkout, ~10 min here), then the xdist groups
    # (each a stack's or a cluster's tests, minutes each), then the slow tests. bin/test keeps
    # this order in xdist (--no-loadscope-reorder: its own order puts the groups with the most
    # tests first, and so the longest test after a whole stack's tests on the same worker).
    items.sort(
        key=lambda item: (
            item.nodeid != LONGEST_TEST,
            item.get_closest_marker("xdist_group") is None,
            item.get_closest_marker("slow") is None,
        )
    )


def started_once(tmp_path_factory, stack: str) -> None:
    """Under pytest-xdist, fail rather than start a whole stack on a second worker of the run: its
    tests are one xdist group, which only `--dist loadgroup` keeps on one worker (and which
    pytest 9.2 breaks with pytest-xdist 3.8: pytest-xdist issue 1386, hence pytest<9.2)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    mark = tmp_path_factory.getbasetemp().parent / f"{stack}-stack-started-by"  # the run's
    try:
        with mark.open("x") as out:
            out.write(worker)
    except FileExistsError:
        pytest.fail(
            f"the {stack} stack was started by {mark.read_text()} already and now by {worker}: "
            "run the suite with --dist loadgroup (bin/test does), so each stack's tests share "
            "one worker"
        )
