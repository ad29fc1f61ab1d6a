"""The catalog's column schema of rps/training_data is the schema of the file a run writes."""

from __future__ import annotations

import pyarrow.parquet as pq
from dagster import AssetKey, materialize

from assets.catalog import arrow_columns
from assets.rps.spec import TRAINING_DATA_KEY
from assets.rps.training_data import training_data
from tests.rps.helpers import crafted_game, insert_games

MOVES = [("rock", "paper"), ("paper", "scissors"), ("scissors", "rock")] * 3


def test_training_data_file_has_the_catalogs_column_schema(rps_resources, sqlite_store, tmp_path):
    insert_games(sqlite_store, [crafted_game(key=f"h{i}", moves=MOVES) for i in range(3)])
    resources = {k: rps_resources[k] for k in ("rps_games", "rps_training", "lake")}
    result = materialize([training_data], resources=resources)
    path = tmp_path / "lake" / TRAINING_DATA_KEY
    spec = training_data.specs_by_key[AssetKey(["rps", "training_data"])]
    assert arrow_columns(pq.read_schema(path)) == spec.metadata["dagster/column_schema"]
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["dagster/row_count"].value == pq.read_metadata(path).num_rows == 18
    assert metadata["dagster/uri"].value == str(path)
