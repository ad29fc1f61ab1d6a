"""What every replay_sync asset declares alike: the pipeline spec (key prefix and group
`replay_sync`, owners, the character partitions), and the run config the four sync assets share.

The replays are per character; the checkpoints and the storage report are not (they pass
`partitions_def=None` to `SPEC.asset_args`)."""

from dagster import Config, StaticPartitionsDefinition
from pydantic import Field

from assets.common import PipelineSpec
from assets.replay_sync.characters import parse_character_list
from resources.replay_sync.settings import LOAD_TIME

# Partition keys are read when the code location loads: a partition set is part of the definition.
character_partitions = StaticPartitionsDefinition(parse_character_list(LOAD_TIME.characters))

SPEC = PipelineSpec("replay_sync", partitions_def=character_partitions)

# The bucket prefix the checkpoints live below (`<bucket>/<prefix>/checkpoints/`).
CHECKPOINTS_PREFIX = "checkpoints"


class SyncConfig(Config):
    delete: bool = Field(
        default=False,
        description="Delete what the source no longer has (rclone sync); off = rclone copy.",
    )
    dry_run: bool = Field(default=False, description="List what would change; change nothing.")
