"""Run settings of replay_mining that are not I/O: thresholds and pool sizes."""

from __future__ import annotations

from dagster import ConfigurableResource


class ReplayMiningSettings(ConfigurableResource):
    """`REPLAY_MAX_FAILED_PERCENT` (default 5): a day fails when more of its replays fail.
    `REPLAY_DOWNLOAD_CONCURRENCY` (default 8): replays downloaded at once."""

    max_failed_percent: int = 5
    download_concurrency: int = 8
