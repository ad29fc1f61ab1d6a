"""replay_sync's assets, one module per asset (`assets/replay_sync/<name>.py` defines the asset
`replay_sync/<name>`): replays in the bucket, on the training machine and indexed; checkpoints
both ways; what the bucket costs. `spec.py` holds what they declare alike, `sync_steps.py` the
steps the four sync assets share; `characters`, `slp_index` and `storage_cost` are plain code."""
