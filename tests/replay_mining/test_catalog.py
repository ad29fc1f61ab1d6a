"""The catalog's column schemas of the replay_mining datasets are the schemas of the files a run
writes, and the three stage checks pass on a good day and name what breaks them."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
from dagster import (
    AssetKey,
    load_asset_checks_from_package_module,
    load_assets_from_package_module,
    materialize,
)

import assets.replay_mining
from assets.catalog import arrow_columns
from assets.replay_mining.stage_audits import download_problems, index_problems, parse_problems
from assets.replay_mining.stages import (
    PART_SUFFIX,
    dataset_key,
    index_key,
    parsed_prefix,
    raw_prefix,
)
from resources.lake import LocalLake
from tests.replay_mining.conftest import DAY, make_resources

# As pipelines/replay_mining.py loads them: the assets and the stage checks.
DEFINITIONS = [
    *load_assets_from_package_module(assets.replay_mining),
    *load_asset_checks_from_package_module(assets.replay_mining),
]
STAGE_CHECKS = {
    "episodes_unique_with_urls",
    "every_replay_downloaded_or_failed",
    "every_replay_parsed_or_skipped",
}


def _definition_schema(name: str):
    (asset,) = [a for a in DEFINITIONS if AssetKey(["replay_mining", name]) in a.keys]
    return asset.specs_by_key[AssetKey(["replay_mining", name])].metadata["dagster/column_schema"]


def test_written_files_have_the_catalogs_column_schemas_and_the_stage_checks_pass(
    stats_sandbox, tmp_path
):
    _, url = stats_sandbox
    result = materialize(
        DEFINITIONS, partition_key=DAY.isoformat(), resources=make_resources(url, str(tmp_path))
    )
    assert result.success
    lake = LocalLake(tmp_path)
    index = pq.read_schema(io.BytesIO(lake.read_bytes(index_key(DAY))))
    assert arrow_columns(index) == _definition_schema("replay_index")
    (part,) = [o.key for o in lake.list(parsed_prefix(DAY)) if o.key.endswith(PART_SUFFIX)][:1]
    part_schema = pa.ipc.open_file(pa.BufferReader(lake.read_bytes(part))).schema
    assert arrow_columns(part_schema) == _definition_schema("parsed_replays")
    dataset = pq.read_schema(io.BytesIO(lake.read_bytes(dataset_key(DAY))))
    assert arrow_columns(dataset) == _definition_schema("replay_dataset")

    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert set(checks) >= STAGE_CHECKS and all(checks[name] for name in STAGE_CHECKS)


def test_the_stage_audits_name_a_missing_download_and_a_missing_part(stats_sandbox, tmp_path):
    _, url = stats_sandbox
    assert materialize(
        DEFINITIONS, partition_key=DAY.isoformat(), resources=make_resources(url, str(tmp_path))
    ).success
    lake = LocalLake(tmp_path)
    assert (
        index_problems(lake, DAY) == download_problems(lake, DAY) == parse_problems(lake, DAY) == []
    )
    raw = sorted(o.key for o in lake.list(raw_prefix(DAY)) if o.key.endswith(".json.z"))[0]
    lake.delete(raw)
    episode = raw.rsplit("/", 1)[-1].removesuffix(".json.z")
    assert download_problems(lake, DAY) == [
        f"{DAY}: episode {episode} recorded as downloaded, its file is missing"
    ]
    lake.delete(f"{parsed_prefix(DAY)}/{episode}{PART_SUFFIX}")
    assert parse_problems(lake, DAY) == [
        f"{DAY}: the part of episode {episode} is listed but missing"
    ]
