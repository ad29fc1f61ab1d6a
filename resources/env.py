"""Configuration from the environment, the Dagster way: the one set of env helpers.

`env_or(name, default)` gives `dagster.EnvVar(name)` when the variable is set, so the value is
read at run launch and hidden in the UI, and the embedded default otherwise, so a fresh machine
runs with no configuration at all. `env_int_or` is the same for whole numbers.

A few settings cannot wait for run launch (a schedule's cron, a backfill policy, a flag that
changes which resource is built): `load_time_flag` and `load_time_int` read those once, when the
code location loads, and name the variable when its value is wrong.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from dagster import EnvVar

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
