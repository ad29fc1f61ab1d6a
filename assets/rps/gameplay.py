"""Batches of games between players (legacy bots or simulated people) and the served models.

The served models are handed in already loaded (by alias, from the registry); when the alias
assigned to a game has no loadable model the game is played by a frequency baseline and the
fallback is recorded with its reason (that is what `rps_model_fallback_total` counts):
`no_model` (the alias is not registered yet: a fresh machine before its first training) or
`load_error` (a registered model failed to load). An unreachable registry is no reason to play:
the gameplay assets fail before any game instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from assets.rps.features import state_from_history
from assets.rps.game import MOVES, GameState, PlayedGame, PlayerPolicy, play_game, seeded_rng
from assets.rps.modeling import FAMILIES

PLAYING_ALIASES = ("Production", "B")


@dataclass(frozen=True)
class ServedModel:
    version: str
    experiment: str
    predict_proba: Callable[[list[float]], Sequence[float]]


@dataclass
class ServedFamily:
    family: str
    models: dict[str, ServedModel] = field(default_factory=dict)  # alias -> loaded model
    load_failures: dict[str, str] = field(default_factory=dict)  # alias -> fallback reason
    load_errors: dict[str, str] = field(default_factory=dict)  # alias -> why it did not load


@dataclass(frozen=True)
class Player:
    name: str
    policy: PlayerPolicy
    is_legacy: bool


def frequency_baseline(state: GameState) -> list[float]:
    """P(next move) from the player's move counts so far, add-one smoothed."""
    counts = [1.0, 1.0, 1.0]
    for r in state.history:
        counts[MOVES.index(r.player_move)] += 1
    total = sum(counts)
    return [c / total for c in counts]


def model_predictor(served: ServedFamily):
    def predict(state: GameState) -> dict[str, Sequence[float]]:
        row = state_from_history(state.history).features(state.round_number, state.values)
        return {alias: m.predict_proba(row) for alias, m in served.models.items()}

    return predict


def baseline_predictor(alias: str):
    return lambda state: {alias: frequency_baseline(state)}


@dataclass
class GameRecord:
    game: dict
    rounds: list[dict]


def play_batch(
    batch: str,
    players: Sequence[Player],
    games_per_player: int,
    served: dict[str, ServedFamily],
    started_at: str,
    finished_at: str,
    is_test: bool = False,
) -> list[GameRecord]:
    """Play `games_per_player` games for each player; opponents' family and alias (Production or
    B, 50/50) are drawn deterministically from the batch and game number."""
    records = []
    for p_index, player in enumerate(players):
        for g in range(games_per_player):
            game_key = f"{batch}:{player.name}:{g}"
            rng = seeded_rng("assign", game_key)
            family = FAMILIES[(p_index * games_per_player + g) % len(FAMILIES)]
            alias = rng.choice(PLAYING_ALIASES)
            family_models = served.get(family, ServedFamily(family))
            model = family_models.models.get(alias)
            if model is None:
                reason = family_models.load_failures.get(alias, "no_model")
                predictor, version = baseline_predictor(alias), None
            else:
                reason, predictor, version = None, model_predictor(family_models), model.version
            played = play_game(game_key, player.policy, predictor, alias)
            records.append(
                GameRecord(
                    game=_game_row(
                        batch,
                        player,
                        family,
                        alias,
                        version,
                        family_models,
                        played,
                        started_at,
                        finished_at,
                        is_test,
                        reason,
                    ),
                    rounds=[_round_row(r, keep_predictions=reason is None) for r in played.rounds],
                )  # fmt: skip
            )
    return records


def _game_row(batch, player, family, alias, version, served, played: PlayedGame,
              started_at, finished_at, is_test, reason) -> dict:  # fmt: skip
    return {
        "batch": batch,
        "game_key": played.game_key,
        "player": player.name,
        "is_legacy": player.is_legacy,
        "is_test": is_test,
        "opponent_family": family,
        "opponent_alias": alias,
        "opponent_version": version,
        "alias_experiments": {a: m.experiment for a, m in served.models.items()},
        "started_at": started_at,
        "finished_at": finished_at if played.finished else None,
        "player_score": played.player_score,
        "bot_score": played.bot_score,
        "winner": played.winner,
        "opening": played.opening,
        "fallback_reason": reason,
    }


def _round_row(r, keep_predictions: bool) -> dict:
    return {
        "round_number": r.round_number,
        "player_move": r.player_move,
        "bot_move": r.bot_move,
        "result": r.result,
        "value_rock": r.values["rock"],
        "value_paper": r.values["paper"],
        "value_scissors": r.values["scissors"],
        "player_points": r.player_points,
        "bot_points": r.bot_points,
        "player_score": r.player_score,
        "bot_score": r.bot_score,
        "predictions": r.predictions if keep_predictions else {},
    }


def opponent_tally(
    records: Sequence[GameRecord], served: dict[str, ServedFamily]
) -> tuple[list[dict], dict[str, float]]:
    """Per family and playing alias: the served version, games, bot wins and fallbacks (a table
    row each), and the bot's win rate where it played (`bot_win_rate/<family>/<alias>`)."""
    rows, win_rates = [], {}
    for family in FAMILIES:
        for alias in PLAYING_ALIASES:
            games = [r.game for r in records if (r.game["opponent_family"], r.game["opponent_alias"]) == (family, alias)]  # fmt: skip
            wins = sum(g["winner"] == "bot" for g in games)
            fallbacks = sum(g["fallback_reason"] is not None for g in games)
            model = served[family].models.get(alias)
            rows.append({"family": family, "alias": alias, "version": model.version if model else "-",
                         "games": len(games), "bot wins": wins, "fallbacks": fallbacks})  # fmt: skip
            if games:
                win_rates[f"bot_win_rate/{family}/{alias}"] = wins / len(games)
    return rows, win_rates


# fallback reasons that mean something is wrong (a failing check), not just "nothing trained yet"
EXPECTED_FALLBACKS = frozenset({"no_model"})


@dataclass(frozen=True)
class ServingSummary:
    games: int
    by_model: int
    by_fallback: int
    reasons: dict[str, int]  # fallback reason -> games
    missing: list[str]  # "family@alias" behind the fallback games, sorted

    @property
    def unexpected(self) -> int:
        return sum(n for r, n in self.reasons.items() if r not in EXPECTED_FALLBACKS)

    def message(self, served: dict[str, ServedFamily]) -> str | None:
        """What to tell a person when any game was played by the baseline, else None."""
        if not self.by_fallback:
            return None
        parts = []
        if self.reasons.get("no_model"):
            parts.append(
                f"{self.reasons['no_model']} because no model is registered for the alias yet "
                "(expected before the first training: materialise rps_training_job)"
            )
        errors = sorted(
            f"{f}@{a}: {e}" for f, fam in served.items() for a, e in fam.load_errors.items()
        )
        if self.reasons.get("load_error"):
            parts.append(
                f"{self.reasons['load_error']} because a registered model failed to load "
                f"({'; '.join(errors)[:500]})"
            )
        return (
            f"{self.by_fallback} of {self.games} games were played by the frequency baseline, "
            f"not a registry model ({', '.join(self.missing)}): " + "; ".join(parts)
        )


def summarise_serving(records: Sequence[GameRecord]) -> ServingSummary:
    reasons: dict[str, int] = {}
    missing = set()
    for r in records:
        reason = r.game["fallback_reason"]
        if reason is not None:
            reasons[reason] = reasons.get(reason, 0) + 1
            missing.add(f"{r.game['opponent_family']}@{r.game['opponent_alias']}")
    fallbacks = sum(reasons.values())
    return ServingSummary(
        len(records), len(records) - fallbacks, fallbacks, dict(sorted(reasons.items())),
        sorted(missing),
    )  # fmt: skip
