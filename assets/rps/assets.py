"""Dagster wiring of the rps pipeline: gameplay, training data, models, promotion, model cache.

Thin by design: each asset reads its inputs through resources, calls the plain modules next to
this one, writes its output and reports metadata.
"""

import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.common import SkipLedger
from assets.rps import cache as cache_logic
from assets.rps import gameplay, promotion
from assets.rps.modeling import (
    ALIASES,
    FAMILIES,
    Splits,
    load_experiments,
    prepare_splits,
    read_training_tail,
    trainability_problem,
)
from assets.rps.players import LEGACY_BOTS, LEGACY_POLICIES, simulated_human
from assets.rps.training_rows import (
    SCHEMA,
    BuildStats,
    feature_rows,
    parse_since,
    record_batches,
    timestamp_text,
)
from resources.lake import LakeResource, LocalLake
from resources.rps.games_store import GamesStore, GamesStoreResource, PromotionState
from resources.rps.metrics import RpsMetrics, RpsMetricsResource
from resources.rps.model_registry import (
    MlflowRegistryResource,
    MlflowUnavailable,
    ModelRegistry,
    redact_uri,
)
from resources.rps.settings import RpsTrainingSettings

GROUP = "rps"
# Asset keys carry the pipeline (`rps/...`): unique across the workspace.
KEY_PREFIX = "rps"
TRAINING_DATA_KEY = "rps/training_data/training_data.parquet"
MODEL_CACHE_PREFIX = "rps/model_cache"


def _now() -> str:
    return timestamp_text(datetime.now(UTC))


def _md_table(header: list[str], rows: list[list]) -> MetadataValue:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return MetadataValue.md("\n".join(lines))


# --- gameplay ----------------------------------------------------------------------------------


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


def _serve_models(registry: ModelRegistry) -> dict:
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


def _play(context, config, store_resource, mlflow_resource, players, kind) -> MaterializeResult:
    try:  # before the games store is even opened: a failure here leaves nothing behind
        registry = mlflow_resource.registry()
        registry.check()
        served = _serve_models(registry)
    except MlflowUnavailable as exc:
        raise exc.instead(NOT_PLAYED) from exc.__cause__
    store = store_resource.store()
    batch = f"{kind}:{config.batch or context.run_id}"
    now = _now()
    records = gameplay.play_batch(batch, players, config.games_per_player, served, now, now)
    with store.connection() as conn:  # one transaction: a re-run of the batch replaces it
        replaced = store.delete_batch(conn, batch)
        for record in records:
            store.insert_game(conn, record.game, record.rounds)
    rows = []
    win_rates = {}
    for family in FAMILIES:
        for alias in gameplay.PLAYING_ALIASES:
            games = [r.game for r in records if (r.game["opponent_family"], r.game["opponent_alias"]) == (family, alias)]  # fmt: skip
            wins = sum(g["winner"] == "bot" for g in games)
            fallbacks = sum(g["fallback_reason"] is not None for g in games)
            version = served[family].models.get(alias)
            rows.append([family, alias, version.version if version else "-", len(games), wins, fallbacks])  # fmt: skip
            if games:
                win_rates[f"bot_win_rate/{family}/{alias}"] = wins / len(games)
    serving = gameplay.summarise_serving(records)
    warning = serving.message(served)
    if warning:
        context.log.warning(warning)
    return MaterializeResult(
        metadata={
            "batch": batch,
            "games": len(records),
            "rounds": sum(len(r.rounds) for r in records),
            "replaced_games": replaced,
            "games_by_registry_model": serving.by_model,
            "games_by_fallback": serving.by_fallback,
            "fallback_reasons": MetadataValue.json(serving.reasons),
            "registry": redact_uri(registry.tracking_uri),
            "games_store": store.describe(),
            "opponents": _md_table(
                ["family", "alias", "version", "games", "bot wins", "fallbacks"], rows
            ),
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


def _serving_check(name: str) -> list[AssetCheckSpec]:
    return [
        AssetCheckSpec(
            SERVING_CHECK,
            asset=AssetKey([KEY_PREFIX, name]),
            description="every game is played by a registry model; a fallback other than "
            "no_model (nothing trained yet) fails it",
        )
    ]


@asset(
    key_prefix=KEY_PREFIX,
    group_name=GROUP,
    kinds={"python", "sqlite"},
    code_version="1",
    check_specs=_serving_check("legacy_games"),
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
    return _play(context, config, rps_games, mlflow_registry, players, "legacy")


@asset(
    key_prefix=KEY_PREFIX,
    group_name=GROUP,
    kinds={"python", "sqlite"},
    code_version="1",
    check_specs=_serving_check("simulated_human_games"),
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
    return _play(context, config, rps_games, mlflow_registry, players, "human")


# --- training data -----------------------------------------------------------------------------


class TrainingDataConfig(Config):
    max_skipped_share: float = 0.25  # unfinished (abandoned) games are common; past this, fail
    chunk_rows: int = 50_000


@asset(
    key_prefix=KEY_PREFIX,
    group_name=GROUP,
    kinds={"python", "parquet"},
    code_version="1",
    deps=[legacy_games, simulated_human_games],
    check_specs=[
        AssetCheckSpec(
            "labels_in_range", asset=AssetKey([KEY_PREFIX, "training_data"]), blocking=True
        ),
        AssetCheckSpec("trainable", asset=AssetKey([KEY_PREFIX, "training_data"])),
    ],
)
def training_data(
    context: AssetExecutionContext,
    config: TrainingDataConfig,
    rps_games: GamesStoreResource,
    rps_training: RpsTrainingSettings,
    lake: LakeResource,
) -> MaterializeResult:
    """One row per model-played round (round >= 4) of the selected games: 50 features from the
    history before the round, label = the player's move. Non-test games since
    TRAINING_DATA_SINCE_DATE; humans all kept, legacy bots 1 in TRAINING_LEGACY_GAME_STRIDE by
    game id. Streamed from the store to parquet in the lake in bounded chunks."""
    store = rps_games.store()
    since = parse_since(rps_training.since_date)
    ledger = SkipLedger("rounds", max_share=config.max_skipped_share)
    stats = BuildStats()
    with store.connection() as conn:
        counts = store.count_games(conn, since)
        rows = feature_rows(
            store.stream_training_rounds(conn, since),
            rps_training.legacy_game_stride,
            ledger.skip,
            stats,
        )
        with (
            lake.lake.publish(TRAINING_DATA_KEY) as path,
            pq.ParquetWriter(path, SCHEMA, compression="zstd") as writer,
        ):
            for batch in record_batches(rows, config.chunk_rows):
                writer.write_batch(batch)
            ledger.enforce(stats.rounds_read)  # past the threshold: raise, publish nothing
    labels = stats.label_counts
    problem = trainability_problem(np.repeat(np.arange(3), labels), rps_training.min_training_rows)
    if counts["games"] and counts["games"] == counts["test_games"]:
        problem = "only test games in the window"
    return MaterializeResult(
        metadata={
            "path": lake.lake.uri(TRAINING_DATA_KEY),
            "rows": stats.rows,
            "bytes": lake.lake.size(TRAINING_DATA_KEY) or 0,
            "since": since,
            "legacy_game_stride": rps_training.legacy_game_stride,
            "games_in_window": counts["games"],
            "test_games_excluded": counts["test_games"],
            "games_kept": stats.games_kept,
            "human_games": stats.human_games,
            "legacy_games": stats.legacy_games,
            "legacy_games_dropped_by_stride": stats.games_dropped_by_stride,
            "rounds_read": stats.rounds_read,
            "labels": _md_table(["rock", "paper", "scissors"], [labels]),
            "trainable": MetadataValue.text(problem or "yes"),
            **ledger.as_metadata(),
        },
        check_results=[
            AssetCheckResult(
                check_name="labels_in_range",
                passed=stats.rows == sum(labels),
                metadata={"rows": stats.rows, "labelled": sum(labels)},
            ),
            AssetCheckResult(
                check_name="trainable",
                passed=problem is None,
                severity=AssetCheckSeverity.WARN,
                description=problem or "enough rows and all three classes",
            ),
        ],
    )


# --- models ------------------------------------------------------------------------------------


class ModelsConfig(Config):
    families: list[str] = list(FAMILIES)
    n_jobs: int = 1


def _read_training_matrix(lake: LakeResource, max_rows: int):
    if isinstance(lake.lake, LocalLake):  # read in place: only the tail's row groups are read
        return read_training_tail(lake.lake.path(TRAINING_DATA_KEY), max_rows)
    with tempfile.TemporaryDirectory(prefix="rps-train-") as tmp:
        local = Path(tmp) / "training_data.parquet"
        lake.lake.download_to(TRAINING_DATA_KEY, local)
        return read_training_tail(local, max_rows)


def train_family(
    registry: ModelRegistry,
    family: str,
    splits: Splits,
    example: np.ndarray,
    n_jobs: int,
    tags: dict[str, str],
) -> tuple[list[dict], dict[str, str]]:
    """Evaluate, fit, log and register the four aliases' models of one family; returns the results
    and the alias -> new version assignment (not applied here: all families' aliases move together).
    `example`: a few raw feature rows, for the logged signature.

    Each alias is retrained with the experiment (hyperparameters) of the model it holds now, so a
    promotion's outcome survives retraining; a new family starts from the config's initial
    assignment.
    """
    from assets.rps.modeling import evaluate_and_fit

    config = load_experiments(family)
    current = registry.aliases(family, ALIASES)
    results, assignments = [], {}
    for alias in ALIASES:
        experiment = (
            current[alias].experiment if alias in current else config.initial_aliases[alias]
        )
        if experiment not in config.experiments:
            experiment = config.initial_aliases[alias]
        params = config.params(experiment)
        started, cpu = time.perf_counter(), time.process_time()
        fitted = evaluate_and_fit(family, params, splits, n_jobs)
        fit_seconds, fit_cpu = time.perf_counter() - started, time.process_time() - cpu
        registered = registry.log_model(
            family,
            experiment,
            fitted.model,
            params,
            fitted.metrics,
            example,
            {**tags, "alias": alias, "config_version": config.version},
        )
        assignments[alias] = registered.version
        results.append({"family": family, "alias": alias, "experiment": experiment,
                        "version": registered.version, "fit_seconds": fit_seconds,
                        "fit_cpu_seconds": fit_cpu,
                        **fitted.metrics})  # fmt: skip
    return results, assignments


def move_aliases(registry: ModelRegistry, assignments: dict[str, dict[str, str]]) -> None:
    """Apply every family's new aliases, or none: a failure puts back the families already moved."""
    previous = {
        f: {a: m.version for a, m in registry.aliases(f, mapping).items()}
        for f, mapping in assignments.items()
    }
    moved: list[str] = []
    try:
        for family, mapping in assignments.items():
            registry.set_aliases(family, mapping, previous[family])  # restores its own on failure
            moved.append(family)
    except BaseException:
        for family in moved:
            registry.restore_aliases(
                family, {a: previous[family].get(a) for a in assignments[family]}
            )
        raise


# (table heading, metric): the registered fit's validation games, then the held-out report and CV
_MODEL_COLUMNS = (
    ("accuracy", "action_accuracy"),
    ("log loss", "log_loss"),
    ("held-out accuracy", "holdout_action_accuracy"),
    ("held-out log loss", "holdout_log_loss"),
    ("CV accuracy", "cv_action_accuracy_mean"),
    ("CV std", "cv_action_accuracy_std"),
    ("CV log loss", "cv_log_loss_mean"),
)
# also per family/alias as numbers, so the UI plots them over training runs
_CHARTED_METRICS = (
    "action_accuracy",
    "log_loss",
    "holdout_action_accuracy",
    "holdout_log_loss",
    "cv_action_accuracy_mean",
)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"  # "-": that part was missing a class


@asset(
    key_prefix=KEY_PREFIX,
    group_name=GROUP,
    kinds={"xgboost", "scikitlearn", "mlflow"},
    code_version="1",
    deps=[training_data],
)
def bot_models(
    context: AssetExecutionContext,
    config: ModelsConfig,
    rps_training: RpsTrainingSettings,
    lake: LakeResource,
    mlflow_registry: MlflowRegistryResource,
) -> MaterializeResult:
    """Three model families (feedforward net, xgboost, multinomial logit) x four aliases
    (Production, B, shadow1, shadow2), trained on the newest training rows with hyperparameters
    from the versioned JSON experiment configs. Each is evaluated on a chronological 60/20/20
    held-out split and by 3-fold CV by game, then fitted on a game-stratified 80/20 split; logged
    to MLflow (params, those metrics, signature, model) and registered; all aliases move together at the end, or none do.
    With no usable data no model is registered and the aliases stay as they were."""
    registry = mlflow_registry.registry()
    registry.check()  # unreachable MLflow: a clear error before any work
    matrix = _read_training_matrix(lake, rps_training.max_training_rounds)
    problem = trainability_problem(matrix.labels, rps_training.min_training_rows)
    if problem:
        context.log.warning(f"no model trained: {problem}; the aliases stay as they were")
        return MaterializeResult(
            metadata={"registered_models": 0, "reason": problem, "rows": len(matrix.labels)}
        )
    tags = {"dagster_run_id": context.run_id}
    splits = prepare_splits(matrix)  # data-only: shared by every family and experiment
    results, assignments = [], {}
    for family in config.families:
        family_results, assignments[family] = train_family(
            registry, family, splits, matrix.features[:5], config.n_jobs, tags
        )
        results += family_results
    move_aliases(registry, assignments)
    per_alias = {
        f"{key}/{r['family']}/{r['alias']}": r[key]
        for r in results
        for key in _CHARTED_METRICS
        if key in r  # a held-out or CV part missing a class has no metric
    }
    return MaterializeResult(
        metadata={
            "registered_models": len(results),
            "rows": len(matrix.labels),
            "fit_seconds": round(sum(r["fit_seconds"] for r in results), 3),
            # CPU of fitting and evaluating alone (all threads): the rest of the run is overhead
            "fit_cpu_seconds": round(sum(r["fit_cpu_seconds"] for r in results), 3),
            "models": _md_table(
                ["family", "alias", "experiment", "version", *(h for h, _ in _MODEL_COLUMNS)],
                [
                    [
                        r["family"],
                        r["alias"],
                        r["experiment"],
                        r["version"],
                        *(_fmt(r.get(key)) for _, key in _MODEL_COLUMNS),
                    ]
                    for r in results
                ],
            ),  # fmt: skip
            **per_alias,
        }
    )


# --- promotion ---------------------------------------------------------------------------------


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
            now = _now()
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
    key_prefix=KEY_PREFIX,
    group_name=GROUP,
    kinds={"mlflow", "sqlite", "prometheus"},
    code_version="1",
    deps=[bot_models, legacy_games, simulated_human_games],
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
            "decisions": _md_table(
                [
                    "family",
                    "decision",
                    "P wins/games",
                    "B wins/games",
                    "re-ranked",
                    "cycles",
                    "reason",
                ],
                [
                    [
                        d.family,
                        d.decision,
                        f"{d.production.bot_wins}/{d.production.games}",
                        f"{d.b.bot_wins}/{d.b.games}",
                        d.reranked,
                        d.tickers.cycles_since_swap,
                        d.reason,
                    ]
                    for d in decisions
                ],
            ),  # fmt: skip
            "aliases": _md_table(
                ["family", *ALIASES],
                [
                    [d.family, *(d.after[a].version if a in d.after else "-" for a in ALIASES)]
                    for d in decisions
                ],
            ),  # fmt: skip
            "swaps": sum(d.swapped for d in decisions),
            "metrics_textfile": path,
            **chart,
        }
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


# --- model cache -------------------------------------------------------------------------------


@asset(
    key_prefix=KEY_PREFIX,
    group_name=GROUP,
    kinds={"s3", "mlflow"},
    code_version="1",
    deps=[model_promotion],
    check_specs=[AssetCheckSpec("twelve_models", asset=AssetKey([KEY_PREFIX, "model_cache"]))],
)
def model_cache(
    context: AssetExecutionContext,
    mlflow_registry: MlflowRegistryResource,
    lake: LakeResource,
) -> MaterializeResult:
    """The served models in the lake under rps/model_cache/: exactly one directory per
    (family, alias) model, named by its MLflow run id, with `.alias_<alias>` markers; anything
    else under the prefix is removed (the old `sync_promoted_models_to_minio.py --clean`)."""
    registry = mlflow_registry.registry()
    registry.check()
    desired = []
    for family in FAMILIES:
        for alias, m in sorted(registry.aliases(family, ALIASES).items()):
            desired.append(
                cache_logic.CacheEntry(
                    family, alias, registry.registered_name(family), m.version, m.run_id
                )
            )
    store = lake.lake
    prefix = MODEL_CACHE_PREFIX + "/"
    existing = [info.key[len(prefix) :] for info in store.list(prefix)]
    plan = cache_logic.plan_sync(desired, existing)
    uploaded_bytes = 0
    for entry in plan.upload_runs:
        with tempfile.TemporaryDirectory(prefix="rps-cache-") as tmp:
            local = registry.download_model(entry.family, entry.version, Path(tmp))
            files = sorted(p for p in local.rglob("*") if p.is_file())
            # MLmodel last: its presence is what marks a directory complete
            files.sort(key=lambda p: p.name == cache_logic.COMPLETE_FILE)
            for file in files:
                key = f"{prefix}{entry.run_id}/{file.relative_to(local).as_posix()}"
                store.upload_file(file, key)
                uploaded_bytes += file.stat().st_size
    for key, body in plan.markers.items():
        store.write_bytes(prefix + key, body)
    for key in plan.delete:
        store.delete(prefix + key)
    final = [info.key[len(prefix) :] for info in store.list(prefix)]
    problems = cache_logic.invariant_problems(final, desired)
    expected = len(FAMILIES) * len(ALIASES)
    if len(desired) != expected:
        problems.append(f"the registry names {len(desired)} served models, expected {expected}")
    return MaterializeResult(
        metadata={
            "prefix": store.uri(MODEL_CACHE_PREFIX),
            "model_directories": len({k.partition("/")[0] for k in final}),
            "uploaded_models": len(plan.upload_runs),
            "uploaded_bytes": uploaded_bytes,
            "deleted_objects": len(plan.delete),
            "markers": _md_table(
                ["family", "alias", "version", "run"],
                [[e.family, e.alias, e.version, e.run_id] for e in desired],
            ),
        },
        check_results=[
            AssetCheckResult(
                check_name="twelve_models",
                passed=not problems,
                description="; ".join(problems) or f"exactly {expected} models and their markers",
            )
        ],
    )


rps_assets = [
    legacy_games,
    simulated_human_games,
    training_data,
    bot_models,
    model_promotion,
    model_cache,
]
