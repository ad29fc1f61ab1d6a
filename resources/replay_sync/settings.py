"""replay_sync's configuration, in one place: the resource dict of the code location and the few
values that must be known when it loads.

- `build_resources(...)` builds the whole resource dict (`replay_store`, `replay_folders`,
  `lake`, and the `io_manager` that loads the replay index) from plain values: what the tests
  call.
- `resources_from_env()` reads the environment the Dagster way (`EnvVar` where a variable is set,
  the embedded default otherwise) and calls `build_resources(...)`: what the code location calls.
  The bucket accepts the AWS, B2 and R2 spellings of its variables.
- `load_time_settings()` reads what cannot wait for run launch (the partition list, the pull
  schedule's cron, the sensors' settle time: they are definitions), once, as `LOAD_TIME`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from dagster import EnvVar

from resources.env import env_int_or, env_or, lake_from_env, load_time_int
from resources.lake import LakeResource
from resources.lake_tables import LakeTablesIOManager
from resources.replay_sync.folders import ReplayFoldersResource
from resources.replay_sync.store import ReplayStoreResource

# Key id and secret variables, by provider; the first pair whose key id is set supplies both.
KEY_PAIRS = (
    ("REPLAY_SYNC_ACCESS_KEY_ID", "REPLAY_SYNC_SECRET_ACCESS_KEY"),
    ("B2_KEY_ID", "B2_APP_KEY"),
    ("R2_ACCESS_KEY", "R2_SECRET_KEY"),
    ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
)
DEFAULT_PULL_CRON = "15 * * * *"
DEFAULT_SETTLE_SECONDS = 30
# Where `replay_sync/replay_index` publishes each character's index in the lake (written by the
# asset, read by the IO manager): resources/lake_tables.py's `lake_key`.
SLP_INDEX_KEY = "datasets/slp_index/{partition}.parquet"


def build_resources(
    *,
    bucket: str | EnvVar | None,
    lake: LakeResource,
    endpoint_url: str | EnvVar | None = None,
    region: str | EnvVar | None = None,
    access_key_id: str | EnvVar | None = None,
    secret_access_key: str | EnvVar | None = None,
    prefix: str | EnvVar = "",
    transfers: int | EnvVar = 8,
    slp_root: str | EnvVar = "data/slp",
    workspace: str | EnvVar = "data/workspace",
) -> dict[str, object]:
    """The replay_sync code location's resources: the replay bucket, the local folders (the
    replay source `slp_root/<character>/`, the training `workspace`), and the shared lake."""
    return {
        "replay_store": ReplayStoreResource(
            bucket=bucket,
            prefix=prefix,
            endpoint_url=endpoint_url,
            region=region,
            access_key_id=access_key_id,
            secret_access_key=secret_access_key,
            transfers=transfers,
        ),
        "replay_folders": ReplayFoldersResource(slp_root=slp_root, workspace=workspace),
        "lake": lake,
        # `defs.load_asset_value(...)` and an `AssetIn` read the published replay index.
        "io_manager": LakeTablesIOManager(
            lake=lake, tables={"replay_sync/replay_index": SLP_INDEX_KEY}
        ),
    }


def _first_env(*names: str) -> str | None:
    return next((name for name in names if os.environ.get(name)), None)


def _env_var(*names: str):
    """dagster.EnvVar of the first variable set among `names`, or None."""
    name = _first_env(*names)
    return EnvVar(name) if name else None


def resources_from_env() -> dict[str, object]:
    """The resources as the environment names them; the bucket from the AWS, B2 or R2 spellings."""
    endpoint = _env_var(
        "REPLAY_SYNC_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "R2_ENDPOINT", "B2_ENDPOINT"
    )
    region = _env_var("REPLAY_SYNC_REGION", "AWS_REGION", "AWS_DEFAULT_REGION", "B2_REGION")
    if endpoint is None and os.environ.get("B2_REGION"):
        # B2's S3 endpoint is derived from the bucket's region, e.g. us-west-004.
        endpoint = f"https://s3.{os.environ['B2_REGION']}.backblazeb2.com"
    if region is None and _first_env("R2_ENDPOINT", "R2_ACCESS_KEY"):
        region = "auto"  # R2 takes any region; "auto" is what Cloudflare documents
    # Keys travel in pairs: the first provider whose key id is set supplies both halves.
    key_id, secret = next(
        ((kid, sec) for kid, sec in KEY_PAIRS if os.environ.get(kid)), (None, None)
    )
    return build_resources(
        bucket=_env_var("REPLAY_SYNC_BUCKET", "B2_BUCKET", "R2_BUCKET"),
        prefix=env_or("REPLAY_SYNC_PREFIX", ""),
        endpoint_url=endpoint,
        region=region,
        access_key_id=_env_var(key_id) if key_id else None,
        secret_access_key=_env_var(secret) if key_id else None,
        transfers=env_int_or("REPLAY_SYNC_TRANSFERS", 8),
        slp_root=env_or("SLP_ROOT", "data/slp"),
        workspace=env_or("REPLAY_SYNC_WORKSPACE", "data/workspace"),
        lake=lake_from_env(),
    )


@dataclass(frozen=True)
class LoadTimeSettings:
    """What the definitions themselves depend on, so it is read when the code location loads:
    `characters` (`REPLAY_SYNC_CHARACTERS`, the partition keys; unset = the defaults; parsed and
    checked by `assets/replay_sync/characters.py`), `pull_cron` (`REPLAY_SYNC_PULL_CRON`, the
    training pull schedule, UTC) and `settle_seconds` (`REPLAY_SYNC_SETTLE_SECONDS`: the sensors
    wait until a folder has been quiet this long)."""

    characters: str | None = None
    pull_cron: str = DEFAULT_PULL_CRON
    settle_seconds: int = DEFAULT_SETTLE_SECONDS


def load_time_settings(env: Mapping[str, str] = os.environ) -> LoadTimeSettings:
    return LoadTimeSettings(
        characters=env.get("REPLAY_SYNC_CHARACTERS"),
        pull_cron=env.get("REPLAY_SYNC_PULL_CRON", DEFAULT_PULL_CRON),
        settle_seconds=load_time_int("REPLAY_SYNC_SETTLE_SECONDS", DEFAULT_SETTLE_SECONDS, env=env),
    )


LOAD_TIME = load_time_settings()
