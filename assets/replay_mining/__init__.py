"""replay_mining: stats query → download → parse → dataset, one daily partition per UTC day.

One asset per module, named after it (`replay_index.py`, `raw_replays.py`, `parsed_replays.py`,
`replay_dataset.py`); what they declare alike in `spec.py`; plain logic in `stages.py` (the
lake files of each stage) and `mettagrid.py` (the replay parser). The code location loads the
assets with `load_assets_from_package_module`, so this module imports nothing.
"""
