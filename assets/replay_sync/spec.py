"""What every replay_sync asset declares alike: the pipeline spec (key prefix and group
`replay_sync`, owners, the character partitions), and the run config the four sync assets share.

The replays are per character; the checkpoints and the storage report are not (they pass
`partitions_def=None` to `SPEC.asset_args`)."""

from datetime import timedelta

from dagster import Config, FreshnessPolicy, StaticPartitionsDefinition
from pydantic import Field

from assets.common import PipelineSpec
from assets.replay_sync.characters import parse_character_list
from resources.replay_sync.settings import LOAD_TIME

# Partition keys are read when the code location loads: a partition set is part of the definition.
character_partitions = StaticPartitionsDefinition(parse_character_list(LOAD_TIME.characters))

SPEC = PipelineSpec("replay_sync", partitions_def=character_partitions)

# What a schedule keeps fresh (the uploads and checkpoint pushes follow the folders through
# sensors: they run when files change, so their age says nothing). The training pull runs hourly
# by default (REPLAY_SYNC_PULL_CRON): a character not pulled for 2 h warns, for 4 h fails.
TRAINING_PULL_FRESHNESS = FreshnessPolicy.time_window(
    fail_window=timedelta(hours=4), warn_window=timedelta(hours=2)
)
# The storage report at 06:00 UTC: late at 08:00.
STORAGE_REPORT_FRESHNESS = FreshnessPolicy.cron(
    deadline_cron="0 8 * * *", lower_bound_delta=timedelta(hours=2)
)

# The bucket prefix the checkpoints live below (`<bucket>/<prefix>/checkpoints/`).
CHECKPOINTS_PREFIX = "checkpoints"


class SyncConfig(Config):
    delete: bool = Field(
        default=False,
        description="Delete what the source no longer has (rclone sync); off = rclone copy.",
    )
    dry_run: bool = Field(default=False, description="List what would change; change nothing.")
