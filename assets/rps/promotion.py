"""The auto-promotion rule, on plain data.

- Window: finished, non-test games of the family played after the last Production/B swap
  (`baseline_game_id`, a game-id watermark), grouped by the alias recorded on each game.
- Eligible once Production and B each have >= 3 games in the window. B replaces Production when
  B's bot win rate is strictly higher (a tie game is a bot loss; equal rates keep Production).
- Swap: Production and B exchange model versions; shadows untouched.
- Then the challengers (B, shadow1, shadow2) are re-ranked by the observed action accuracy of the
  model each holds (ties: more predictions, then current position). A re-rank never changes the
  recorded decision and never resets the tickers.
- Tickers: a swap resets games-since-swap and cycles to 0 and moves the baseline to the newest
  game; any other cycle adds 1 to cycles and games-since-swap = games in the window.

The old promoter used raw counters since the app restarted, keyed by alias label and including
test games, so a swap could swap straight back on the next cycle. The window here starts at the
swap, so the games that caused a swap can never count again.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from assets.rps.modeling import CHALLENGERS

MIN_GAMES = 3
SWAP = "swap_production_b"
RETAIN = "retain_production"
INSUFFICIENT = "insufficient_data"
DECISIONS = (SWAP, RETAIN, INSUFFICIENT)


@dataclass(frozen=True)
class AliasHolder:
    version: str
    experiment: str  # the model's lineage: retraining keeps it, promotion moves it between aliases


@dataclass(frozen=True)
class Tickers:
    baseline_game_id: int = 0
    cycles_since_swap: int = 0


@dataclass(frozen=True)
class AliasRecord:
    games: int = 0
    bot_wins: int = 0

    @property
    def win_rate(self) -> float | None:
        return self.bot_wins / self.games if self.games else None


@dataclass
class Decision:
    family: str
    decision: str
    reason: str
    production: AliasRecord
    b: AliasRecord
    z_statistic: float | None
    p_value: float | None
    before: dict[str, AliasHolder]
    after: dict[str, AliasHolder]
    reranked: bool
    accuracies: dict[str, dict[str, float]]  # experiment -> {accuracy, predictions}
    rankings: list[str]  # challenger aliases' experiments in their new order
    tickers: Tickers
    games_since_swap: dict[str, int] = field(default_factory=dict)

    @property
    def swapped(self) -> bool:
        return self.decision == SWAP

    def alias_changes(self) -> dict[str, str]:
        """alias -> new version, only for aliases whose version changes."""
        return {
            a: h.version
            for a, h in self.after.items()
            if self.before.get(a, h).version != h.version
        }

    def event_row(self, created_at: str, source: str) -> dict:
        return {
            "created_at": created_at,
            "family": self.family,
            "decision": self.decision,
            "z_statistic": self.z_statistic,
            "p_value": self.p_value,
            "production_wins": self.production.bot_wins,
            "production_games": self.production.games,
            "b_wins": self.b.bot_wins,
            "b_games": self.b.games,
            "reranked": self.reranked,
            "rankings": self.rankings,
            "accuracies": self.accuracies,
            "assignments": {a: h.version for a, h in self.after.items()},
            "games_since_swap_production": self.games_since_swap.get("Production", 0),
            "games_since_swap_b": self.games_since_swap.get("B", 0),
            "cycles_since_swap": self.tickers.cycles_since_swap,
            "reason": self.reason,
            "source": source,
            "payload": json.dumps(
                {
                    "before": {a: vars(h) for a, h in self.before.items()},
                    "after": {a: vars(h) for a, h in self.after.items()},
                },
                sort_keys=True,
            ),
        }


def alias_records(window_games: Iterable[tuple]) -> dict[str, AliasRecord]:
    """(id, alias, winner) rows -> games and bot wins per alias. Ties count as bot losses."""
    games: dict[str, int] = {}
    wins: dict[str, int] = {}
    for _id, alias, winner in window_games:
        if winner is None:  # unfinished games never count
            continue
        games[alias] = games.get(alias, 0) + 1
        wins[alias] = wins.get(alias, 0) + (winner == "bot")
    return {a: AliasRecord(games[a], wins[a]) for a in games}


def accuracy_by_experiment(rows: Iterable[tuple[str, str, str]]) -> dict[str, dict[str, float]]:
    """(alias_experiments JSON, player_move, predictions JSON) rows -> accuracy per experiment."""
    correct: dict[str, int] = {}
    total: dict[str, int] = {}
    for alias_experiments, player_move, predictions in rows:
        lineage = json.loads(alias_experiments or "{}")
        for alias, predicted in json.loads(predictions or "{}").items():
            experiment = lineage.get(alias)
            if experiment is None:
                continue
            total[experiment] = total.get(experiment, 0) + 1
            correct[experiment] = correct.get(experiment, 0) + (predicted == player_move)
    return {e: {"accuracy": correct[e] / total[e], "predictions": total[e]} for e in total}


def two_proportion_z(a: AliasRecord, b: AliasRecord) -> tuple[float | None, float | None]:
    """z statistic and two-sided p value of B's win rate against Production's (display only)."""
    if not a.games or not b.games:
        return None, None
    pooled = (a.bot_wins + b.bot_wins) / (a.games + b.games)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / a.games + 1 / b.games))
    if spread == 0:
        return 0.0, 1.0
    z = (b.bot_wins / b.games - a.bot_wins / a.games) / spread
    return z, math.erfc(abs(z) / math.sqrt(2))


def rerank_challengers(
    aliases: dict[str, AliasHolder], accuracies: dict[str, dict[str, float]]
) -> dict[str, AliasHolder]:
    """Challenger slots re-filled in order of accuracy (then predictions, then current slot)."""
    holders = [aliases[a] for a in CHALLENGERS if a in aliases]

    def key(item: tuple[int, AliasHolder]):
        position, holder = item
        seen = accuracies.get(holder.experiment, {"accuracy": 0.0, "predictions": 0})
        return (-seen["accuracy"], -seen["predictions"], position)

    ordered = [h for _, h in sorted(enumerate(holders), key=key)]
    slots = [a for a in CHALLENGERS if a in aliases]
    return {**aliases, **dict(zip(slots, ordered, strict=True))}


def decide(
    family: str,
    aliases: dict[str, AliasHolder],
    window_games: Iterable[tuple],
    accuracies: dict[str, dict[str, float]],
    tickers: Tickers,
    newest_game_id: int,
) -> Decision:
    """One promotion cycle for one family. Pure: the caller applies and persists the result."""
    records = alias_records(window_games)
    production = records.get("Production", AliasRecord())
    b = records.get("B", AliasRecord())
    z, p = two_proportion_z(production, b)
    after = dict(aliases)
    if "Production" not in aliases or "B" not in aliases:
        decision, reason = INSUFFICIENT, "Production or B has no model version yet"
    elif production.games < MIN_GAMES or b.games < MIN_GAMES:
        decision = INSUFFICIENT
        reason = (
            f"needs {MIN_GAMES} games each since the last swap: Production has "
            f"{production.games}, B has {b.games}"
        )
    elif b.win_rate > production.win_rate:
        decision = SWAP
        reason = (
            f"B's bot win rate {b.win_rate:.3f} ({b.bot_wins}/{b.games}) beats Production's "
            f"{production.win_rate:.3f} ({production.bot_wins}/{production.games})"
        )
        after["Production"], after["B"] = aliases["B"], aliases["Production"]
    else:
        decision = RETAIN
        reason = (
            f"B's bot win rate {b.win_rate:.3f} ({b.bot_wins}/{b.games}) does not beat "
            f"Production's {production.win_rate:.3f} ({production.bot_wins}/{production.games})"
        )
    reranked_aliases = rerank_challengers(after, accuracies)
    reranked = reranked_aliases != after
    if decision == SWAP:
        new_tickers = Tickers(baseline_game_id=newest_game_id, cycles_since_swap=0)
        games_since_swap = {"Production": 0, "B": 0}
    else:
        new_tickers = Tickers(tickers.baseline_game_id, tickers.cycles_since_swap + 1)
        games_since_swap = {"Production": production.games, "B": b.games}
    return Decision(
        family=family,
        decision=decision,
        reason=reason,
        production=production,
        b=b,
        z_statistic=z,
        p_value=p,
        before=dict(aliases),
        after=reranked_aliases,
        reranked=reranked,
        accuracies=accuracies,
        rankings=[reranked_aliases[a].experiment for a in CHALLENGERS if a in reranked_aliases],
        tickers=new_tickers,
        games_since_swap=games_since_swap,
    )
