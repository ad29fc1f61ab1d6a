"""The asset `rps/legacy_games`: the eight legacy bots' games against the served models."""

from dagster import AssetExecutionContext, MaterializeResult, asset

from assets.rps import gameplay
from assets.rps.gameplay_wiring import KINDS, GameplayConfig, play, serving_check
from assets.rps.players import LEGACY_BOTS, LEGACY_POLICIES
from assets.rps.spec import GAMEPLAY_FRESHNESS, SPEC, games_store_metadata
from resources.rps.games_store import GamesStoreResource
from resources.rps.model_registry import MlflowRegistryResource


@asset(
    **SPEC.asset_args(
        kinds=KINDS,
        code_version="1",
        check_specs=serving_check("legacy_games"),
        metadata=games_store_metadata("games"),  # with their rounds in `rounds`
        freshness_policy=GAMEPLAY_FRESHNESS,
    )
)
def legacy_games(
    context: AssetExecutionContext,
    config: GameplayConfig,
    rps_games: GamesStoreResource,
    mlflow_registry: MlflowRegistryResource,
) -> MaterializeResult:
    """Games of the eight legacy bots (Ace .. Hal) against the models served now by alias
    (Production or B, 50/50), stored in the games store. Every 150 minutes; they feed training."""
    players = [gameplay.Player(name, LEGACY_POLICIES[name], True) for name in LEGACY_BOTS]
    return play(context, config, rps_games, mlflow_registry, players, "legacy")
