"""Game rules, the game loop and the legacy bots: plain code, no Dagster."""

from __future__ import annotations

import random

import pytest

from assets.rps.game import (
    BEATS,
    MOVES,
    OPENINGS,
    GameState,
    best_response,
    play_game,
    round_values,
    score_round,
    winner_of,
)
from assets.rps.players import LEGACY_BOTS, LEGACY_POLICIES, simulated_human


@pytest.mark.parametrize("key", ["a", "b", "game-42", "x:y:3"])
@pytest.mark.parametrize("number", [1, 2, 7, 30])
def test_round_values_follow_the_point_scheme(key, number):
    values = round_values(key, number)
    low = [m for m, v in values.items() if v == 1.0]
    assert len(low) == 1
    beaten, third = BEATS[low[0]], next(m for m in MOVES if m not in (low[0], BEATS[low[0]]))
    assert 1.1 <= values[third] <= 1.5
    assert values[beaten] == pytest.approx(values[third] + 0.5)
    assert round_values(key, number) == values  # deterministic


def test_round_values_vary_across_rounds():
    assert len({tuple(sorted(round_values("g", n).items())) for n in range(1, 40)}) > 5


def test_winner_gains_its_own_move_points_and_draw_gives_half():
    values = {"rock": 1.0, "scissors": 1.8, "paper": 1.3}
    assert score_round("rock", "scissors", values, 0, 0) == ("win", 1.0, 0.0, 1.0, 0.0)
    assert score_round("rock", "paper", values, 0, 0) == ("lose", 0.0, 1.3, 0.0, 1.3)
    assert score_round("paper", "paper", values, 2, 3) == ("draw", 0.5, 0.5, 2.5, 3.5)


def test_scores_clamp_at_ten_and_both_at_ten_is_a_tie():
    values = {"rock": 1.0, "scissors": 1.8, "paper": 1.3}
    result = score_round("paper", "paper", values, 9.5, 9.5)
    assert result[3:] == (10.0, 10.0)
    assert winner_of(10.0, 10.0) == "tie"
    assert score_round("scissors", "paper", values, 9.5, 0)[3] == 10.0
    assert winner_of(10.0, 9.9) == "user" and winner_of(3, 10.0) == "bot"
    assert winner_of(9.9, 9.9) is None


def test_best_response_counters_a_certain_move():
    values = {"rock": 1.0, "scissors": 1.6, "paper": 1.1}
    assert best_response([1, 0, 0], values, 0, 0) == "paper"
    assert best_response([0, 0, 1], values, 0, 0) == "rock"


def _always(move):
    return lambda state, rng: move


def test_game_reaches_ten_with_scripted_opening_then_model():
    seen_rounds = []

    def predictor(state: GameState):
        seen_rounds.append(state.round_number)
        return {"Production": [0.0, 0.0, 1.0], "B": [1 / 3] * 3}

    game = play_game("g1", _always("rock"), predictor, "Production")
    assert game.finished and max(game.player_score, game.bot_score) == 10.0
    opening = OPENINGS[game.opening][0]
    assert tuple(r.bot_move for r in game.rounds[:3]) == opening
    assert seen_rounds[0] == 4  # the model plays from round 4
    assert all(r.predictions == {} for r in game.rounds[:3])
    assert set(game.rounds[3].predictions) == {"Production", "B"}
    # Production is sure of scissors, so the bot answers rock
    assert all(r.bot_move == "rock" for r in game.rounds[3:])
    assert play_game("g1", _always("rock"), predictor, "Production").rounds == game.rounds


def test_game_left_unfinished_has_no_winner():
    game = play_game("g2", _always("rock"), lambda s: {"B": [1, 0, 0]}, "B", max_rounds=3)
    assert not game.finished and game.winner is None


def _state(history=(), values=None, player_score=0.0, bot_score=0.0, number=5):
    values = values or {"rock": 1.0, "scissors": 1.6, "paper": 1.1}
    return GameState("k", number, values, player_score, bot_score, list(history))


def test_legacy_bots_follow_their_scripts():
    class R:  # a played round, as far as the bots look at it
        def __init__(self, player_move, bot_move):
            self.player_move, self.bot_move = player_move, bot_move

    rng = random.Random(0)
    history = [R("rock", "scissors")]
    values = {"rock": 1.0, "scissors": 1.6, "paper": 1.1}  # scissors is worth most
    assert LEGACY_POLICIES["Ace"](_state(history), rng) == "paper"  # beats its own last move
    assert LEGACY_POLICIES["Bob"](_state(history, values), rng) == "scissors"
    assert LEGACY_POLICIES["Cal"](_state(history, values), rng) == "rock"  # beats scissors
    assert LEGACY_POLICIES["Edd"](_state(number=1), rng) == "rock"
    assert LEGACY_POLICIES["Edd"](_state(number=2), rng) == "paper"
    assert LEGACY_POLICIES["Fox"](_state(history, values, 5, 2), rng) == "rock"  # ahead: protect
    assert LEGACY_POLICIES["Fox"](_state(history, values, 2, 5), rng) == "scissors"
    assert LEGACY_POLICIES["Gus"](_state(history), rng) == "scissors"  # copies the bot
    assert LEGACY_POLICIES["Hal"](_state(history), rng) == "rock"  # beats the bot's last
    dan = [LEGACY_POLICIES["Dan"](_state(history, values, 0), random.Random(i)) for i in range(50)]
    assert set(dan) == {"scissors"}  # at 0 points Dan is Bob


def test_every_bot_and_simulated_person_finishes_games():
    players = [LEGACY_POLICIES[n] for n in LEGACY_BOTS] + [simulated_human(i)[1] for i in range(6)]
    for i, policy in enumerate(players):
        game = play_game(f"p{i}", policy, lambda s: {"Production": [1 / 3] * 3}, "Production")
        assert game.finished
        assert all(r.player_move in MOVES for r in game.rounds)
