"""Every pipeline's assets, one package per pipeline.

Two Dagster APIs we rely on on purpose are marked beta: `backfill_policy=` (a partition range in
one run, see the README's Backfills) and `multi_observable_source_asset` (the span observation
with its check); one is marked preview: `partitions_def=` on an `AssetCheckSpec` (a check result
per day, assets/partition_records.py). Dagster warns once per asset on every load of every code
location; the warning gives a user nothing to act on, so it is silenced here, before any asset
module is imported.
"""

import warnings

from dagster import BetaWarning, PreviewWarning

warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=BetaWarning)
warnings.filterwarnings(
    "ignore", message="Function `multi_observable_source_asset`", category=BetaWarning
)
warnings.filterwarnings(
    "ignore", message="Specifying a partitions_def on an AssetCheckSpec", category=PreviewWarning
)
