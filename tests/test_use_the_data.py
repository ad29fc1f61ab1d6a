"""The README's "Use the data" cells, run verbatim as a notebook runs them: in a fresh Python
process (one namespace, cell after cell) with the deployment's variables, against a sandbox
instance where every day, hour, character and table they name was materialised. Each value they
load is checked against the published rows; the downstream asset they define is materialised."""

from __future__ import annotations

import json
import os
import pickle
import re
import subprocess
import sys
import textwrap
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from dagster import (
    DagsterInstance,
    load_assets_from_package_module,
    materialize,
)

import assets.replay_mining
from assets.analytics.execution_spans import execution_spans
from assets.analytics.hourly_analytics import hourly_analytics
from assets.analytics.model_usage_stats import model_usage_stats
from assets.replay_mining.stages import dataset_key, index_key
from assets.replay_sync.replay_index import replay_index
from assets.rps.legacy_games import legacy_games
from assets.rps.simulated_human_games import simulated_human_games
from assets.rps.training_data import training_data
from resources.analytics.rollup_queries import HOURLY, MODEL_USAGE
from resources.lake import LakeResource
from resources.lake_tables import lake_key
from resources.replay_sync.settings import SLP_INDEX_KEY
from resources.replay_sync.settings import build_resources as replay_sync_resources
from resources.rps.games_store import GamesStore
from resources.rps.settings import TRAINING_DATA_KEY
from resources.rps.settings import build_resources as rps_resources
from sandboxes.serving import serve_in_background
from sandboxes.stats_server import StatsServerSandbox
from tests.analytics.conftest import load_traffic, rows_in
from tests.analytics.conftest import make_resources as analytics_resources
from tests.loading import as_records, published
from tests.replay_mining.conftest import make_resources as replay_mining_resources
from tests.replay_mining.conftest import small_config
from tests.replay_sync.test_pipeline import seed_replays
from tests.rps.helpers import crafted_game, insert_games

ROOT = Path(__file__).resolve().parents[1]
# What the cells name: two days of the dataset (a week for the downstream asset), an hour and a
# day of the rollups, one character.
DAY, DAY_BEFORE, WEEK_START = date(2026, 12, 4), date(2026, 12, 3), date(2026, 11, 28)
HOUR = datetime(2026, 12, 4, 13, tzinfo=UTC)
RUNNER = textwrap.dedent(
    """
    import json, pickle, sys
    import pandas as pd, pyarrow as pa
    cells, out = json.load(open(sys.argv[1])), sys.argv[2]
    namespace = {"__name__": "__main__"}
    for number, cell in enumerate(cells, start=1):
        exec(compile(cell, f"README 'Use the data' cell {number}", "exec"), namespace)
    values = {k: v for k, v in namespace.items() if isinstance(v, (pd.DataFrame, pa.Table))}
    pickle.dump(values, open(out, "wb"))
    """
)


def use_the_data_cells() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Use the data\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def materialise_replay_mining(resources, instance) -> None:
    result = materialize(
        load_assets_from_package_module(assets.replay_mining),
        resources=resources,
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": WEEK_START.isoformat(),
            "dagster/asset_partition_range_end": DAY.isoformat(),
        },
    )
    assert result.success


def materialise_analytics(resources, instance) -> None:
    db = resources["analytics_db"]
    db.create_source_table()
    load_traffic(db, datetime(2026, 12, 4, tzinfo=UTC), datetime(2026, 12, 5, tzinfo=UTC), 3_000, 7)
    everything = [execution_spans, hourly_analytics, model_usage_stats]
    for asset, partition in (
        (hourly_analytics, "2026-12-04-13:00"),
        (model_usage_stats, "2026-12-04"),
    ):
        result = materialize(
            everything,
            selection=[asset.key],
            partition_key=partition,
            resources=resources,
            instance=instance,
        )
        assert result.success


def materialise_rps(tmp_path: Path, lake: LakeResource, instance) -> None:
    store = GamesStore(f"sqlite:///{tmp_path / 'rps.db'}")
    store.ensure_schema()
    moves = [("rock", "paper"), ("paper", "scissors"), ("scissors", "rock")] * 3
    insert_games(store, [crafted_game(key=f"g{i}", moves=moves) for i in range(8)])
    resources = rps_resources(
        lake=lake, games_url=store.url, tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}"
    )
    result = materialize(
        [legacy_games, simulated_human_games, training_data],
        selection=[training_data.key],
        resources=resources,
        instance=instance,
    )
    assert result.success


def materialise_replay_sync(tmp_path: Path, lake: LakeResource, instance) -> None:
    seed_replays(tmp_path / "slp", "mewtwo", 3)
    resources = replay_sync_resources(bucket=None, lake=lake, slp_root=str(tmp_path / "slp"))
    result = materialize(
        [replay_index], partition_key="mewtwo", resources=resources, instance=instance
    )
    assert result.success


@pytest.mark.slow  # the pipelines materialised, then the README cells, ~18 s
def test_the_readme_cells_load_exactly_the_published_rows(tmp_path, pg_url):
    cells = use_the_data_cells()
    assert len(cells) >= 7, "the README's Use the data section lost its cells"
    home, lake_root = tmp_path / "dagster_home", tmp_path / "lake"
    home.mkdir()
    lake = LakeResource(root=str(lake_root))
    stats = StatsServerSandbox(small_config(end_date=date(2026, 12, 5), days=10))
    with DagsterInstance.local_temp(str(home)) as instance, serve_in_background(stats) as server:
        stats.base_url = server.url
        materialise_replay_mining(replay_mining_resources(server.url, str(lake_root)), instance)
        analytics = analytics_resources(pg_url)
        materialise_analytics(analytics, instance)
        materialise_rps(tmp_path, lake, instance)
        materialise_replay_sync(tmp_path, lake, instance)

        # The downstream asset the section defines, materialised over its week.
        namespace: dict = {}
        [asset_cell] = [cell for cell in cells if "@asset(" in cell]
        exec(compile(asset_cell, "README asset cell", "exec"), namespace)
        weekly = namespace["weekly_rewards"]
        result = materialize(
            [*load_assets_from_package_module(assets.replay_mining), weekly],
            selection=[weekly.key],
            partition_key=DAY.isoformat(),
            resources=replay_mining_resources(server.url, str(lake_root)),
            instance=instance,
        )
        assert result.success
        week = pa.concat_tables(
            published(lake.lake, dataset_key(WEEK_START + timedelta(days=n))) for n in range(7)
        )
        [event] = result.asset_materializations_for_node("weekly_rewards")
        assert event.metadata["episodes"].value == len(set(week["episode_id"].to_pylist())) > 7

    (tmp_path / "cells.json").write_text(json.dumps(cells))
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("LAKE_", "ANALYTICS_", "DAGSTER_"))
    }
    env |= {"DAGSTER_HOME": str(home), "LAKE_ROOT": str(lake_root), "POSTGRES_URL": pg_url}
    run = subprocess.run(
        [sys.executable, "-c", RUNNER, str(tmp_path / "cells.json"), str(tmp_path / "values.pkl")],
        cwd=tmp_path,  # nothing relative to the repository: the variables say where the data is
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    values = pickle.loads((tmp_path / "values.pkl").read_bytes())

    dataset = published(lake.lake, dataset_key(DAY))
    pd.testing.assert_frame_equal(values["replays"], dataset.to_pandas())
    assert values["index"].equals(published(lake.lake, index_key(DAY)))
    columns = ["episode_id", "agent_id", "step", "reward"]
    two_days = pa.concat_tables([published(lake.lake, dataset_key(DAY_BEFORE)), dataset])
    pd.testing.assert_frame_equal(values["steps"], two_days.select(columns).to_pandas())
    slp = published(lake.lake, lake_key(SLP_INDEX_KEY, "mewtwo"))
    pd.testing.assert_frame_equal(values["slp_index"], slp.to_pandas())
    training = published(lake.lake, TRAINING_DATA_KEY)
    pd.testing.assert_frame_equal(values["training"], training.to_pandas())
    db = analytics["analytics_db"]
    hour_rows = rows_in(db, HOURLY, HOUR, HOUR + timedelta(hours=1))
    day_rows = rows_in(
        db, MODEL_USAGE, HOUR.replace(hour=0), HOUR.replace(hour=0) + timedelta(days=1)
    )
    assert hour_rows and day_rows
    assert as_records(values["hour"]) == hour_rows
    assert as_records(values["models"]) == day_rows
    assert values["replays"].shape[0] == dataset.num_rows > 0
