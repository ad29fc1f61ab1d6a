"""What the two gameplay assets (`legacy_games`, `simulated_human_games`) share: their config,
their `served_by_registry` check, and their body: serve every family's aliases from the registry,
play one batch (`gameplay.play_batch`), store it in one transaction, report it. Each asset's
module holds only its players."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    Config,
    MaterializeResult,
    MetadataValue,
)

from assets.common import metadata_table
from assets.rps import gameplay
from assets.rps.modeling import ALIASES, FAMILIES
from assets.rps.spec import GAMES_STORE_ENGINE, SPEC
from assets.rps.training_rows import timestamp_text
from resources.rps.games_store import GamesStoreResource
from resources.rps.model_registry import (
    MlflowRegistryResource,
    MlflowUnavailable,
    ModelRegistry,
    redact_uri,
)

# What both gameplay assets are, besides their own key and description.
KINDS = {"python", GAMES_STORE_ENGINE}


class GameplayConfig(Config):
    games_per_player: int = 3
    batch: str = ""  # empty: the run id; the schedule passes the tick time so a retry replaces it
    simulated_players: int = 8  # only for simulated_human_games


# Said when the registry does not answer: gameplay fails rather than play every game by the
# baseline (such games teach the models nothing and never count toward promotion).
NOT_PLAYED = (
    "No game was played or stored: without the registry every game would be served by the "
    "frequency baseline. Re-run once MLflow answers."
)
SERVING_CHECK = "served_by_registry"


def serving_check(name: str) -> list[AssetCheckSpec]:
    return [
        AssetCheckSpec(
            SERVING_CHECK,
            asset=SPEC.key(name),
            description="every game is played by a registry model; a fallback other than "
            "no_model (nothing trained yet) fails it",
        )
    ]


def serve_models(registry: ModelRegistry) -> dict:
    """Every family's four aliases, loaded from the registry. An alias with no model, or whose
    model fails to load while the registry still answers, becomes a fallback reason; a registry
    that does not answer raises MlflowUnavailable before any game is played."""
    served = {}
    for family in FAMILIES:
        served[family] = fam = gameplay.ServedFamily(family)
        registered = registry.aliases(family, ALIASES)
        for alias in ALIASES:
            if alias not in registered:
                fam.load_failures[alias] = "no_model"
                continue
            try:
                model, version = registry.load_model(family, alias)
            except MlflowUnavailable as exc:
                registry.check()  # the registry itself went away: that fails the run
                fam.load_failures[alias], fam.load_errors[alias] = "load_error", exc.problem
                continue
            fam.models[alias] = gameplay.ServedModel(
                version.version,
                version.experiment,
                lambda row, m=model: m.predict_proba(np.asarray([row], dtype=np.float32))[0],
            )
    return served


def play(
    context: AssetExecutionContext,
    config: GameplayConfig,
    store_resource: GamesStoreResource,
    mlflow_resource: MlflowRegistryResource,
    players: list[gameplay.Player],
    kind: str,
) -> MaterializeResult:
    """One batch of `kind` ("legacy", "human") games by `players`, stored and reported."""
    try:  # before the games store is even opened: a failure here leaves nothing behind
        registry = mlflow_resource.registry()
        registry.check()
        served = serve_models(registry)
    except MlflowUnavailable as exc:
        raise exc.instead(NOT_PLAYED) from exc.__cause__
    store = store_resource.store()
    batch = f"{kind}:{config.batch or context.run_id}"
    now = timestamp_text(datetime.now(UTC))
    records = gameplay.play_batch(batch, players, config.games_per_player, served, now, now)
    with store.connection() as conn:  # one transaction: a re-run of the batch replaces it
        replaced = store.delete_batch(conn, batch)
        for record in records:
            store.insert_game(conn, record.game, record.rounds)
        stored = store.count_stored_games(conn, legacy=kind == "legacy")
    opponents, win_rates = gameplay.opponent_tally(records, served)
    serving = gameplay.summarise_serving(records)
    warning = serving.message(served)
    if warning:
        context.log.warning(warning)
    return MaterializeResult(
        metadata={
            "dagster/row_count": stored,  # this kind's games in the store, this batch included
            "batch": batch,
            "games": len(records),
            "rounds": sum(len(r.rounds) for r in records),
            "replaced_games": replaced,
            "games_by_registry_model": serving.by_model,
            "games_by_fallback": serving.by_fallback,
            "fallback_reasons": MetadataValue.json(serving.reasons),
            "registry": redact_uri(registry.tracking_uri),
            "games_store": store.describe(),
            "opponents": metadata_table(opponents),
            **win_rates,
        },
        check_results=[
            AssetCheckResult(
                check_name=SERVING_CHECK,
                passed=serving.unexpected == 0,
                severity=AssetCheckSeverity.WARN,
                description=warning or f"all {serving.games} games served by registry models",
                metadata={
                    "games_by_registry_model": serving.by_model,
                    "games_by_fallback": serving.by_fallback,
                    **{f"fallback/{r}": n for r, n in serving.reasons.items()},
                },
            )
        ],
    )
