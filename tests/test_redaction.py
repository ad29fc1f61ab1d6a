"""No password, key or token in any message, log line, metadata value or chained exception.

Each pipeline is run for real (`dagster asset materialize` in its own process and instance) with a
secret in every variable and a server that cannot be reached or a URL that cannot be parsed; the
run fails, and then the instance's run storage, event log and compute logs, and the process's
output, are searched for every secret.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from resources.redaction import redact, redacted_cause

ROOT = Path(__file__).resolve().parents[1]
SECRETS = {
    "STATS_API_TOKEN": "tok-STATSSECRET1",
    "LAKE_SECRET_ACCESS_KEY": "LAKESECRET2",
    "RIOT_API_KEY": "RGAPI-RIOTSECRET3",
}
URL_SECRETS = ["PWSTATS4", "QTOKEN5", "PWMLFLOW6", "PWRIOT7", "PWANALYTICS8"]
URLS = {
    # unreachable (nothing listens on the discard port) or unparseable, each with a password
    "STATS_API_URL": "http://stats:PWSTATS4@127.0.0.1:9/api?token=QTOKEN5",
    "MLFLOW_TRACKING_URI": "http://ml:PWMLFLOW6@127.0.0.1:9",
    "RIOT_DATABASE_URL": "postgresql://riot:PWRIOT7@[bad/riot",
    "ANALYTICS_SOURCE_DATABASE_URL": "postgresql://an:PWANALYTICS8@127.0.0.1:9/platform",
    "LAKE_ENDPOINT_URL": "http://127.0.0.1:9",
    "LAKE_ACCESS_KEY_ID": "lake-access-id",
}


def test_the_rule_covers_user_info_query_strings_headers_and_conninfo():
    text = (
        "postgresql://u:pw1secret@h/db http://tok2secret@h/x https://h/p?X-Amz-Signature=sig3secret"
        "&a=1 {'X-Riot-Token': 'RGAPI-abcdef123'} Authorization: Bearer bear4secret "
        "host=h password=pw5secret"
    )
    out = redact(text)
    for secret in (
        "pw1secret",
        "tok2secret",
        "sig3secret",
        "abcdef123",
        "bear4secret",
        "pw5secret",
    ):
        assert secret not in out
    assert "postgresql://u:***@h/db" in out and "&a=1" in out
    cause = redacted_cause(ValueError("bad URI http://u:pw6secret@h"))
    assert "pw6secret" not in str(cause) and "ValueError" in str(cause)


@pytest.mark.slow
@pytest.mark.parametrize(
    "module, selection",
    [
        ("replay_mining", "replay_mining/replay_index"),
        ("rps", "rps/model_cache"),
        ("riot", "riot/tracked_player_updates"),
        ("analytics", "analytics/execution_spans"),
        ("replay_sync", "replay_sync/bucket_replays"),
    ],
)
def test_a_failing_run_shows_no_secret_anywhere(module, selection, pg_url, tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = {
        **os.environ,
        **SECRETS,
        **URLS,
        "POSTGRES_URL": pg_url,
        "DAGSTER_HOME": str(home),
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-m", "dagster", "asset", "materialize", "-m", f"pipelines.{module}"]
        + ["--select", selection],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0, done.stdout[-2000:]
    assert "STEP_FAILURE" in done.stdout + done.stderr or "failed" in done.stderr.lower()
    stored = [done.stdout, done.stderr]
    for path in home.rglob("*"):
        if path.is_file():
            stored.append(path.read_bytes().decode("utf-8", "replace"))
    assert len(stored) > 3, "the run left its storage and event log under DAGSTER_HOME"
    found = {
        secret for secret in [*SECRETS.values(), *URL_SECRETS] for text in stored if secret in text
    }
    assert not found, f"secrets shown: {sorted(found)}"
