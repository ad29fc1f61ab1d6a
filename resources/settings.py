"""Configuration from the environment, the Dagster way.

`env_or(name, default)` gives `dagster.EnvVar(name)` when the variable is set, so the value is
read at run launch and hidden in the UI, and the embedded default otherwise, so a fresh machine
runs with no configuration at all.
"""

from __future__ import annotations

import os

from dagster import EnvVar

from resources.lake import LakeResource
from resources.postgres import PostgresResource


def env_or(name: str, default):
    return EnvVar(name) if os.environ.get(name) else default


def env_int_or(name: str, default: int):
    return EnvVar.int(name) if os.environ.get(name) else default


def lake_from_env() -> LakeResource:
    """The lake as configured by LAKE_* variables (default: the local folder `data/lake`)."""
    return LakeResource(
        root=env_or("LAKE_ROOT", "data/lake"),
        endpoint_url=env_or("LAKE_ENDPOINT_URL", None),
        region=env_or("LAKE_REGION", None),
        access_key_id=env_or("LAKE_ACCESS_KEY_ID", None),
        secret_access_key=env_or("LAKE_SECRET_ACCESS_KEY", None),
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
