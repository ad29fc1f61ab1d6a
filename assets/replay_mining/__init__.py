"""replay_mining: stats query → download → parse → dataset, one daily partition per UTC day."""

from assets.replay_mining.dataset import replay_dataset
from assets.replay_mining.index import replay_index
from assets.replay_mining.parsed import parsed_replays
from assets.replay_mining.raw import raw_replays

replay_mining_assets = [replay_index, raw_replays, parsed_replays, replay_dataset]
