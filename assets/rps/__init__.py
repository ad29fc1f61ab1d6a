"""The rps pipeline's assets. The asset `rps/<name>` is `<name>` in `<name>.py` (legacy_games,
simulated_human_games, training_data, bot_models, model_promotion, model_cache); what they all
declare alike is in `spec.py`; the two gameplay assets share `gameplay_wiring.py`.

Thin by design: each asset reads its inputs through resources, calls the plain modules beside it
(rules, bots, features, training rows, modeling, promotion, cache plan: no Dagster import),
writes its output and reports metadata. No imports here, so importing plain logic stays light.
"""
