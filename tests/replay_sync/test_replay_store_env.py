"""The replay bucket configured by the AWS, B2 or R2 variable names (EnvVar, never the value),
through the code location's `resources_from_env()`."""

import pytest
from dagster import DagsterInstance, EnvVar, materialize

from assets.replay_sync.bucket_replays import bucket_replays
from resources.replay_sync.settings import resources_from_env
from tests.replay_sync.conftest import bucket_listing, write_file

PROVIDER_VARIABLES = [
    "REPLAY_SYNC_BUCKET", "REPLAY_SYNC_ENDPOINT_URL", "REPLAY_SYNC_REGION", "REPLAY_SYNC_PREFIX",
    "REPLAY_SYNC_ACCESS_KEY_ID", "REPLAY_SYNC_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL_S3",
    "B2_KEY_ID", "B2_APP_KEY", "B2_BUCKET", "B2_REGION", "B2_ENDPOINT",
    "R2_ACCESS_KEY", "R2_SECRET_KEY", "R2_ENDPOINT", "R2_BUCKET",
]  # fmt: skip
# The rest of the location's resources, set by the test that uses the whole dict.
LOCATION_VARIABLES = [
    "REPLAY_SYNC_TRANSFERS", "SLP_ROOT", "REPLAY_SYNC_WORKSPACE", "LAKE_ROOT",
    "LAKE_ENDPOINT_URL", "LAKE_REGION", "LAKE_ACCESS_KEY_ID", "LAKE_SECRET_ACCESS_KEY",
]  # fmt: skip


@pytest.fixture
def clean_env(monkeypatch):
    for name in PROVIDER_VARIABLES + LOCATION_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_b2_names_map_to_env_vars_and_the_b2_endpoint(clean_env):
    clean_env.setenv("B2_KEY_ID", "0041234")
    clean_env.setenv("B2_APP_KEY", "K004secret")
    clean_env.setenv("B2_BUCKET", "exphil-replays")
    clean_env.setenv("B2_REGION", "us-west-004")
    clean_env.setenv("AWS_ACCESS_KEY_ID", "an-unrelated-aws-key")  # B2's pair wins
    store = resources_from_env()["replay_store"]
    assert store.access_key_id == EnvVar("B2_KEY_ID")
    assert store.secret_access_key == EnvVar("B2_APP_KEY")
    assert store.bucket == EnvVar("B2_BUCKET")
    assert store.endpoint_url == "https://s3.us-west-004.backblazeb2.com"
    assert "K004secret" not in repr(store)


def test_nothing_configured_says_which_variables_to_set(clean_env):
    store = resources_from_env()["replay_store"]
    with pytest.raises(Exception, match="REPLAY_SYNC_BUCKET \\(or B2_BUCKET / R2_BUCKET\\)"):
        store.client()


def test_r2_names_drive_a_real_upload(clean_env, s3_bucket, tmp_path):
    server = s3_bucket.server
    clean_env.setenv("R2_ACCESS_KEY", server.access_key_id)
    clean_env.setenv("R2_SECRET_KEY", server.secret_access_key)
    clean_env.setenv("R2_ENDPOINT", server.endpoint_url)
    clean_env.setenv("R2_BUCKET", s3_bucket.name)
    clean_env.setenv("REPLAY_SYNC_PREFIX", "players/alice")
    clean_env.setenv("SLP_ROOT", str(tmp_path / "slp"))
    clean_env.setenv("LAKE_ROOT", str(tmp_path / "lake"))
    resources = resources_from_env()
    store = resources["replay_store"]
    assert store.region == "auto" and store.endpoint_url == EnvVar("R2_ENDPOINT")
    write_file(tmp_path / "slp", "fox/g1.slp", b"replay bytes", 1_700_000_000)
    result = materialize(
        [bucket_replays],
        partition_key="fox",
        resources=resources,
        instance=DagsterInstance.ephemeral(),
    )
    assert result.success
    listing = bucket_listing(s3_bucket.client(), s3_bucket.name, "players/alice/fox")
    assert list(listing) == ["g1.slp"]
    logs = "\n".join(str(e) for e in result.all_events)
    assert server.secret_access_key not in logs
