"""The 50 features of one round, from the history before it. ONE code path for training and serving.

The old platform dropped rounds 1-3 before building training features while serving kept them in
the history (train/serve skew). Here `FeatureState` is fed every round of a game in order, by the
training-data builder and by the live bot alike; training just doesn't emit rows for the scripted
rounds 1-3, where no model plays.
"""

from __future__ import annotations

from collections.abc import Mapping

from assets.rps.game import BEATEN_BY, MOVE_INDEX, MOVES, WIN_SCORE

LAGS = 3
RESULTS = ("win", "lose", "draw")
RESULT_INDEX = {r: i for i, r in enumerate(RESULTS)}

FEATURE_NAMES: tuple[str, ...] = (
    *(f"lag{lag}_{side}_{v}" for lag in range(1, LAGS + 1)
      for side, values in (("player", MOVES), ("bot", MOVES), ("result", RESULTS))
      for v in values),
    *(f"points_{m}" for m in MOVES),
    *(f"lag{lag}_points_{m}" for lag in range(1, LAGS + 1) for m in MOVES),
    *(f"player_share_{m}" for m in MOVES),
    "share_highest_value", "share_beater_of_highest", "share_beater_of_beater",
    "score_diff", "player_needs", "bot_needs", "current_round",
    "unused_flag",
)  # fmt: skip
N_FEATURES = len(FEATURE_NAMES)
assert N_FEATURES == 50


class FeatureState:
    """Running state of one game; `features()` describes the next round, `add()` records it."""

    __slots__ = ("_lags", "_lag_values", "_counts", "_picks", "_n", "player_score", "bot_score")

    def __init__(self) -> None:
        self._lags: list[tuple[int, int, int]] = []  # (player, bot, result) indices, newest last
        self._lag_values: list[tuple[float, float, float]] = []
        self._counts = [0, 0, 0]
        self._picks = [0, 0, 0]  # highest-value move, its beater, the beater's beater
        self._n = 0
        self.player_score = 0.0
        self.bot_score = 0.0

    def features(self, round_number: int, values: Mapping[str, float]) -> list[float]:
        row = [0.0] * N_FEATURES
        for lag in range(1, LAGS + 1):
            if lag <= len(self._lags):
                player, bot, result = self._lags[-lag]
                base = (lag - 1) * 9
                row[base + player] = 1.0
                row[base + 3 + bot] = 1.0
                row[base + 6 + result] = 1.0
                row[30 + (lag - 1) * 3 : 33 + (lag - 1) * 3] = self._lag_values[-lag]
        row[27], row[28], row[29] = values["rock"], values["paper"], values["scissors"]
        if self._n:
            n = self._n
            row[39], row[40], row[41] = (c / n for c in self._counts)
            row[42], row[43], row[44] = (c / n for c in self._picks)
        row[45] = self.player_score - self.bot_score
        row[46] = WIN_SCORE - self.player_score
        row[47] = WIN_SCORE - self.bot_score
        row[48] = float(round_number)
        return row

    def add(
        self,
        player_move: str,
        bot_move: str,
        result: str,
        values: Mapping[str, float],
        player_score: float,
        bot_score: float,
    ) -> None:
        p = MOVE_INDEX[player_move]
        self._lags.append((p, MOVE_INDEX[bot_move], RESULT_INDEX[result]))
        self._lag_values.append((values["rock"], values["paper"], values["scissors"]))
        if len(self._lags) > LAGS:
            del self._lags[0], self._lag_values[0]
        self._counts[p] += 1
        highest = max(MOVES, key=lambda m: (values[m], m))
        beater = BEATEN_BY[highest]
        if player_move == highest:
            self._picks[0] += 1
        elif player_move == beater:
            self._picks[1] += 1
        else:
            self._picks[2] += 1
        self._n += 1
        self.player_score = player_score
        self.bot_score = bot_score


def state_from_history(rounds) -> FeatureState:
    """A FeatureState after the given played rounds (objects with the Round attributes)."""
    state = FeatureState()
    for r in rounds:
        state.add(r.player_move, r.bot_move, r.result, r.values, r.player_score, r.bot_score)
    return state
