"""Configuration from the environment, the Dagster way: the one set of env helpers.

`env_or(name, default)` gives `dagster.EnvVar(name)` when the variable is set, so the value is
read at run launch and hidden in the UI, and the embedded default otherwise, so a fresh machine
runs with no configuration at all. `env_int_or` is the same for whole numbers.

A few settings cannot wait for run launch (a schedule's cron, a backfill policy, a flag that
changes which resource is built, a table name the catalog shows): `load_time_flag`,
`load_time_int` and `load_time_text` read those once, when the code location loads, and name the
variable when its value is wrong.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from dagster import EnvVar

from resources.http import AlertWebhookResource
from resources.lake import LakeResource
from resources.postgres import PostgresResource

TRUE_WORDS = ("1", "true", "yes", "on")


def env_or(name: str, default):
    return EnvVar(name) if os.environ.get(name) else default


def env_int_or(name: str, default: int):
    return EnvVar.int(name) if os.environ.get(name) else default


def load_time_flag(name: str, env: Mapping[str, str] = os.environ) -> bool:
    """`NAME=1/true/yes/on` (any case) is on; unset or anything else is off."""
    return env.get(name, "").strip().lower() in TRUE_WORDS


def load_time_int(
    name: str, default: int | None, *, minimum: int = 0, env: Mapping[str, str] = os.environ
) -> int | None:
    """`NAME` as a whole number >= `minimum`, `default` when unset; a wrong value is an error
    that names the variable."""
    value = env.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < minimum:
        example = f" (e.g. {default})" if default is not None else ""
        raise ValueError(
            f"{name}={value!r} is not a whole number >= {minimum}: set it{example} or unset it."
        )
    return int(value)


def load_time_text(name: str, default: str, env: Mapping[str, str] = os.environ) -> str:
    """`NAME` as text when set and not blank, `default` otherwise: for what a definition shows
    (a table's schema in the catalog), never for a secret."""
    return env.get(name, "").strip() or default


def lake_from_env() -> LakeResource:
    """The lake as configured by LAKE_* variables (default: the local folder `data/lake`)."""
    return LakeResource(
        root=env_or("LAKE_ROOT", "data/lake"),
        endpoint_url=env_or("LAKE_ENDPOINT_URL", None),
        region=env_or("LAKE_REGION", None),
        access_key_id=env_or("LAKE_ACCESS_KEY_ID", None),
        secret_access_key=env_or("LAKE_SECRET_ACCESS_KEY", None),
    )


def alert_webhook_from_env() -> AlertWebhookResource:
    """Run-failure alerts: POSTed to ALERT_WEBHOOK_URL when set (a secret: read at launch,
    hidden in the UI), linked to the run in DAGSTER_UI_URL's UI when set; only logged otherwise."""
    return AlertWebhookResource(
        url=env_or("ALERT_WEBHOOK_URL", None), ui_url=env_or("DAGSTER_UI_URL", None)
    )


def postgres_from_env(url_variable: str = "POSTGRES_URL") -> PostgresResource:
    """PostgreSQL at `$url_variable`, else `$POSTGRES_URL`, else the embedded server."""
    url, variable = env_or(url_variable, None), url_variable
    if url is None and url_variable != "POSTGRES_URL":
        url = env_or("POSTGRES_URL", None)
        variable = "POSTGRES_URL" if url is not None else url_variable
    return PostgresResource(
        url=url,
        embedded_data_dir=env_or("POSTGRES_DATA_DIR", "data/postgres"),
        variable=variable,  # the one that gave the URL: what a connection failure names
    )


CODE_LINK_URL = "DAGSTER_CODE_LINK_URL"
CODE_LINK_REF = "DAGSTER_CODE_LINK_REF"
# git@github.com:org/repo.git, ssh://git@gitlab.example.com/org/repo.git -> https://host/org/repo
_SSH_REMOTE = re.compile(r"^(?:ssh://)?[^@/]+@(?P<host>[^:/]+)[:/](?P<path>.+?)(?:\.git)?/?$")


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):  # no git binary (an image), a hung git
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def _web_url(remote: str) -> str:
    """A remote's web address, without any user or token it was cloned with."""
    match = _SSH_REMOTE.match(remote)
    if match:
        return f"https://{match['host']}/{match['path']}"
    parts = urlsplit(remote)
    host = parts.hostname or ""
    path = re.sub(r"\.git/?$", "", parts.path).rstrip("/")
    return f"https://{host}{path}" if host else ""


def code_link_target(root: Path, env: Mapping[str, str] = os.environ) -> tuple[str, str] | None:
    """(repository web URL, branch or commit) the catalog links asset code to, read when the
    code location loads: `DAGSTER_CODE_LINK_URL` (and `DAGSTER_CODE_LINK_REF`, default the
    checkout's commit, else `main`), else the checkout's `origin` remote when it is on GitHub or
    GitLab; None when neither (the catalog still links to the local file)."""
    url = env.get(CODE_LINK_URL, "").strip().rstrip("/")
    if url and not ("github" in url or "gitlab" in url):
        raise ValueError(
            f"{CODE_LINK_URL}={url!r}: only GitHub and GitLab URLs can be linked "
            "(https://github.com/<org>/<repo>); unset it to link to the local files only."
        )
    if not url:
        remote = _git(root, "remote", "get-url", "origin")
        url = _web_url(remote) if remote else ""
        if not ("github" in url or "gitlab" in url):
            return None
    ref = env.get(CODE_LINK_REF, "").strip() or _git(root, "rev-parse", "HEAD") or "main"
    return url, ref
