"""`rps/training_data` loaded the Dagster way after it is materialised from a real games store:
`defs.load_asset_value(...)` and a downstream `AssetIn` give exactly the published rows (pandas
and pyarrow); before any materialisation the error says how to make it."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
from dagster import AssetKey, Definitions, materialize

from assets.rps.legacy_games import legacy_games
from assets.rps.simulated_human_games import simulated_human_games
from assets.rps.spec import TRAINING_DATA_KEY
from assets.rps.training_data import training_data
from tests.loading import load_error, published_file, reader_of
from tests.rps.helpers import crafted_game, insert_games

MOVES = [("rock", "paper"), ("paper", "scissors"), ("scissors", "rock")] * 3
ASSETS = [legacy_games, simulated_human_games, training_data]
KEY = AssetKey(["rps", "training_data"])


def test_training_data_loads_as_exactly_the_published_rows(
    rps_resources, sqlite_store, tmp_path, instance
):
    insert_games(sqlite_store, [crafted_game(key=f"h{i}", moves=MOVES) for i in range(12)])
    defs = Definitions(assets=ASSETS, resources=rps_resources)
    message = load_error(defs, KEY, instance=instance)
    assert "rps/training_data was never materialised" in message
    assert "`dagster asset materialize -m pipelines.rps --select rps/training_data`" in message

    result = materialize(
        ASSETS, selection=[training_data.key], resources=rps_resources, instance=instance
    )
    assert result.success
    expected = published_file(tmp_path / "lake" / TRAINING_DATA_KEY)
    assert expected.num_rows == 12 * 6
    frame = defs.load_asset_value(KEY, instance=instance)
    pd.testing.assert_frame_equal(frame, expected.to_pandas())
    table = defs.load_asset_value(KEY, python_type=pa.Table, instance=instance)
    assert table.equals(expected)

    reader, seen = reader_of(KEY, pa.Table, "label_counts")
    downstream = materialize(
        [*ASSETS, reader], selection=[reader.key], resources=rps_resources, instance=instance
    )
    assert downstream.success and seen[0].equals(expected)
