"""The asset `rps/model_promotion`: one promotion cycle per family after each training, stored,
exported as Prometheus metrics and shown (`promote_family` is one family's cycle)."""

from collections import Counter
from datetime import UTC, datetime

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.common import metadata_table
from assets.rps import promotion
from assets.rps.modeling import ALIASES, FAMILIES
from assets.rps.spec import GAMES_STORE_ENGINE, SPEC, TRAINING_FRESHNESS, games_store_metadata
from assets.rps.training_rows import timestamp_text
from resources.rps.games_store import GamesStore, GamesStoreResource, PromotionState
from resources.rps.metrics import RpsMetrics, RpsMetricsResource
from resources.rps.model_registry import MlflowRegistryResource, ModelRegistry


def promote_family(store: GamesStore, registry: ModelRegistry, family: str, source: str):
    """One promotion cycle for one family, all or nothing: the decision row, the tickers and the
    alias moves commit together, or none of them do."""
    current = {
        a: promotion.AliasHolder(m.version, m.experiment)
        for a, m in registry.aliases(family, ALIASES).items()
    }
    moved: dict[str, str | None] = {}
    try:
        with store.connection() as conn:
            state = store.promotion_state(conn, family)
            newest = store.max_game_id(conn)
            window = store.window_games(conn, family, state.baseline_game_id)
            accuracies = promotion.accuracy_by_experiment(
                store.window_predictions(conn, family, state.baseline_game_id)
            )
            decision = promotion.decide(
                family,
                current,
                window,
                accuracies,
                promotion.Tickers(state.baseline_game_id, state.cycles_since_swap),
                newest,
            )
            now = timestamp_text(datetime.now(UTC))
            new_state = PromotionState(
                family,
                decision.tickers.baseline_game_id,
                decision.tickers.cycles_since_swap,
                now if decision.swapped else state.last_swap_at,
            )
            store.save_promotion(conn, decision.event_row(now, source), new_state)
            changes = decision.alias_changes()
            moved = {a: current[a].version if a in current else None for a in changes}
            registry.set_aliases(family, changes)  # restores itself and raises on failure
    except BaseException:
        if moved:  # the aliases moved but the transaction did not commit: put them back
            registry.restore_aliases(family, moved)
        raise
    return decision


@asset(
    **SPEC.asset_args(
        kinds={"mlflow", GAMES_STORE_ENGINE, "prometheus"},
        code_version="1",
        freshness_policy=TRAINING_FRESHNESS,
        metadata=games_store_metadata("promotion_events"),  # one decision row per family and cycle
        check_specs=[
            AssetCheckSpec(
                "aliases_distinct",
                asset=SPEC.key("model_promotion"),
                description="After the cycle, no two aliases of a family hold the same model "
                "version (a swap exchanges Production and B, a re-rank reorders the challengers).",
            )
        ],
    ),
    deps=[SPEC.key("bot_models"), SPEC.key("legacy_games"), SPEC.key("simulated_human_games")],
)
def model_promotion(
    context: AssetExecutionContext,
    rps_games: GamesStoreResource,
    mlflow_registry: MlflowRegistryResource,
    rps_metrics: RpsMetricsResource,
) -> MaterializeResult:
    """After each training: per family, once Production and B each have >= 3 games since the last
    Production/B swap, swap them when B's bot win rate is strictly higher; re-rank the challengers
    by observed action accuracy. The decision, the numbers behind it and the tickers are stored in
    `promotion_events`, exported as Prometheus metrics and shown here."""
    store = rps_games.store()
    registry = mlflow_registry.registry()
    registry.check()
    decisions = [promote_family(store, registry, f, f"dagster:{context.run_id}") for f in FAMILIES]
    shared = [
        f"{d.family}: {', '.join(sorted(a for a, h in d.after.items() if h.version == version))} "
        f"all hold version {version}"
        for d in decisions
        for version, n in Counter(h.version for h in d.after.values()).items()
        if n > 1
    ]
    metrics = _metrics_snapshot(store, decisions)
    path = rps_metrics.publish(metrics)
    chart = {}
    for d in decisions:
        for alias, record in (("Production", d.production), ("B", d.b)):
            if record.win_rate is not None:
                chart[f"win_rate/{d.family}/{alias}"] = record.win_rate
            chart[f"games_since_swap/{d.family}/{alias}"] = d.games_since_swap[alias]
        chart[f"cycles_since_swap/{d.family}"] = d.tickers.cycles_since_swap
        for alias, holder in d.after.items():
            seen = d.accuracies.get(holder.experiment)
            if seen:
                chart[f"action_accuracy/{d.family}/{alias}"] = seen["accuracy"]
    return MaterializeResult(
        metadata={
            "decisions": metadata_table(
                [
                    {
                        "family": d.family,
                        "decision": d.decision,
                        "P wins/games": f"{d.production.bot_wins}/{d.production.games}",
                        "B wins/games": f"{d.b.bot_wins}/{d.b.games}",
                        "re-ranked": d.reranked,
                        "cycles": d.tickers.cycles_since_swap,
                        "reason": d.reason,
                    }
                    for d in decisions
                ]
            ),
            "aliases": metadata_table(
                [
                    {
                        "family": d.family,
                        **{a: d.after[a].version if a in d.after else "-" for a in ALIASES},
                    }
                    for d in decisions
                ]
            ),
            "swaps": sum(d.swapped for d in decisions),
            "dagster/row_count": sum(metrics.promotion_events.values()),  # promotion_events
            "metrics_textfile": MetadataValue.path(str(path)),
            **chart,
        },
        check_results=[
            AssetCheckResult(
                check_name="aliases_distinct",
                passed=not shared,
                description="; ".join(shared) or "every alias on its own version",
            )
        ],
    )


def _metrics_snapshot(store: GamesStore, decisions) -> RpsMetrics:
    metrics = RpsMetrics()
    with store.connection() as conn:
        metrics.promotion_events = store.promotion_event_counts(conn)
        metrics.alias_reorders = store.reorder_counts(conn)
        metrics.fallbacks = store.fallback_counts(conn)
    for d in decisions:
        for name in promotion.DECISIONS:
            metrics.decision_state[(d.family, name)] = int(d.decision == name)
        if d.z_statistic is not None:
            metrics.z_statistic[d.family] = d.z_statistic
            metrics.p_value[d.family] = d.p_value
        for alias in ("Production", "B"):
            metrics.games_since_swap[(d.family, alias)] = d.games_since_swap[alias]
        metrics.cycles_since_swap[d.family] = d.tickers.cycles_since_swap
        ranked = sorted(
            d.after.items(),
            key=lambda item: -d.accuracies.get(item[1].experiment, {"accuracy": -1})["accuracy"],
        )
        for rank, (alias, _) in enumerate(ranked, start=1):
            metrics.alias_rank[(d.family, alias)] = rank
    return metrics
