"""The asset `rps/simulated_human_games`: demo stand-ins for people, so a laptop has human games."""

from dagster import AssetExecutionContext, MaterializeResult, asset

from assets.rps import gameplay
from assets.rps.gameplay_wiring import KINDS, GameplayConfig, play, serving_check
from assets.rps.players import simulated_human
from assets.rps.spec import SPEC, games_store_metadata
from resources.rps.games_store import GamesStoreResource
from resources.rps.model_registry import MlflowRegistryResource


@asset(
    **SPEC.asset_args(
        kinds=KINDS,
        code_version="1",
        check_specs=serving_check("simulated_human_games"),
        metadata=games_store_metadata("games"),  # with their rounds in `rounds`
    )
)
def simulated_human_games(
    context: AssetExecutionContext,
    config: GameplayConfig,
    rps_games: GamesStoreResource,
    mlflow_registry: MlflowRegistryResource,
) -> MaterializeResult:
    """Demo stand-ins for people (`sim<n>`: patterned, biased and adaptive players) so a laptop
    has human games, which training always keeps. Not scheduled."""
    players = [gameplay.Player(*simulated_human(i), False) for i in range(config.simulated_players)]
    return play(context, config, rps_games, mlflow_registry, players, "human")
