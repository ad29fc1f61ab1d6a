"""Hostile replays through the code location's own configuration path (issue 24): the
decompressed-size cap comes from `REPLAY_MAX_DECOMPRESSED_MB`, read like every other setting by
`resources_from_env()`, and a day served an int64-overflow agent_id, a zlib bomb and JSON nested
200,000 deep publishes the rest with three reasons."""

from __future__ import annotations

import pytest
from dagster import load_assets_from_package_module, materialize

import assets.replay_mining
from resources.lake import LocalLake
from resources.replay_mining.settings import resources_from_env
from sandboxes.serving import serve_in_background
from sandboxes.stats_server import StatsServerSandbox
from tests.metadata import table_text
from tests.replay_mining.conftest import BUSY_DAY, TOKEN, small_config

ASSETS = load_assets_from_package_module(assets.replay_mining)


@pytest.mark.slow  # a day with hostile replays through Dagster, ~15 s
def test_the_decompressed_size_cap_is_read_from_replay_max_decompressed_mb(tmp_path, monkeypatch):
    app = StatsServerSandbox(small_config(hostile=True))
    with serve_in_background(app) as server:
        app.base_url = server.url
        for name, value in {
            "STATS_API_URL": server.url,
            "STATS_API_TOKEN": TOKEN,
            "LAKE_ROOT": str(tmp_path / "lake"),
            "REPLAY_MAX_FAILED_PERCENT": "12",
            "REPLAY_MAX_DECOMPRESSED_MB": "4",
        }.items():
            monkeypatch.setenv(name, value)
        result = materialize(
            ASSETS, partition_key=BUSY_DAY.isoformat(), resources=resources_from_env()
        )
    assert result.success
    metadata = result.asset_materializations_for_node("replay_mining__replay_dataset")[0].metadata
    reasons = table_text(metadata["skipped_replays_reasons"])
    assert "decompresses to more than 4 MiB (a decompression bomb" in reasons
    assert "raise REPLAY_MAX_DECOMPRESSED_MB if such replays are real" in reasons
    assert "an agent_id is outside 0..2^31-1" in reasons
    assert "nested too deeply to read" in reasons
    assert metadata["skipped_replays"].value == 12 and metadata["episodes"].value == 88
    assert LocalLake(tmp_path / "lake").list("datasets")
