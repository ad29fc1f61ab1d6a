"""Rock-paper-scissors rules and the game loop, as plain code.

Rules (see the platform's reference): every round each move has a point value, one move 1.0, the
move it beats base+0.5 and the third base, base in {1.1 .. 1.5}, drawn deterministically from the
game key and round number. The round's winner gains the points of its own move, a draw gives both
0.5; first to 10 wins (scores clamp at 10), both at 10 in one round: the higher score wins, equal
is a tie. Rounds 1-3 are a scripted opening; the model plays from round 4.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

MOVES = ("rock", "paper", "scissors")
MOVE_INDEX = {m: i for i, m in enumerate(MOVES)}
BEATS = {"rock": "scissors", "paper": "rock", "scissors": "paper"}  # key beats value
BEATEN_BY = {loser: winner for winner, loser in BEATS.items()}
WIN_SCORE = 10.0
DRAW_POINTS = 0.5
MODEL_FIRST_ROUND = 4
MAX_ROUNDS = 200  # safety stop: a game that never reaches 10 is left unfinished

# Named three-move gambits and their weights for rounds 1-3.
OPENINGS: dict[str, tuple[tuple[str, str, str], float]] = {
    "avalanche": (("rock", "rock", "rock"), 1.0),
    "bureaucrat": (("paper", "paper", "paper"), 1.0),
    "crescendo": (("paper", "scissors", "rock"), 2.0),
    "denouement": (("rock", "scissors", "paper"), 2.0),
    "fistful_o_dollars": (("rock", "paper", "paper"), 1.5),
    "paper_dolls": (("paper", "scissors", "scissors"), 1.5),
    "toolbox": (("scissors", "scissors", "scissors"), 1.0),
}


def seeded_rng(*parts: object) -> random.Random:
    """A random generator that depends only on `parts` (stable across processes and platforms)."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


def round_values(game_key: str, round_number: int) -> dict[str, float]:
    """Point values of the three moves in one round, deterministic in (game_key, round_number)."""
    rng = seeded_rng("values", game_key, round_number)
    low = rng.choice(MOVES)
    base = rng.choice((1.1, 1.2, 1.3, 1.4, 1.5))
    beaten = BEATS[low]
    third = BEATEN_BY[low]
    return {low: 1.0, beaten: round(base + 0.5, 2), third: base}


def outcome(player_move: str, bot_move: str) -> str:
    """Result from the player's side: win, lose or draw."""
    if player_move == bot_move:
        return "draw"
    return "win" if BEATS[player_move] == bot_move else "lose"


def choose_opening(game_key: str) -> str:
    rng = seeded_rng("opening", game_key)
    names = sorted(OPENINGS)
    return rng.choices(names, weights=[OPENINGS[n][1] for n in names])[0]


def best_response(
    probabilities: Sequence[float],
    values: dict[str, float],
    bot_score: float,
    player_score: float,
) -> str:
    """The bot's move with the best expected value against P(player move).

    A win is worth the bot's own move's points (plus a bonus when it reaches 10), a loss costs the
    player's points (plus a penalty when the player would reach 10), a draw is worth nothing net.
    """
    best_move, best_value = MOVES[0], float("-inf")
    for bot_move in MOVES:
        expected = 0.0
        for player_move, p in zip(MOVES, probabilities, strict=True):
            result = outcome(player_move, bot_move)
            if result == "lose":  # the bot wins
                gain = values[bot_move]
                expected += p * (gain + (5.0 if bot_score + gain >= WIN_SCORE else 0.0))
            elif result == "win":
                loss = values[player_move]
                expected -= p * (loss + (5.0 if player_score + loss >= WIN_SCORE else 0.0))
        if expected > best_value:
            best_move, best_value = bot_move, expected
    return best_move


@dataclass
class Round:
    round_number: int
    player_move: str
    bot_move: str
    result: str  # from the player's side
    values: dict[str, float]
    player_points: float
    bot_points: float
    player_score: float  # after the round
    bot_score: float
    predictions: dict[str, str] = field(default_factory=dict)  # alias -> predicted player move


@dataclass
class GameState:
    """What both sides may look at before choosing a move: the history so far and the scores."""

    game_key: str
    round_number: int
    values: dict[str, float]
    player_score: float
    bot_score: float
    history: list[Round]


@dataclass
class PlayedGame:
    game_key: str
    opening: str
    rounds: list[Round]
    player_score: float
    bot_score: float
    winner: str | None  # user, bot, tie; None when unfinished

    @property
    def finished(self) -> bool:
        return self.winner is not None


def score_round(
    player_move: str, bot_move: str, values: dict[str, float], player_score: float, bot_score: float
) -> tuple[str, float, float, float, float]:
    result = outcome(player_move, bot_move)
    if result == "win":
        player_points, bot_points = values[player_move], 0.0
    elif result == "lose":
        player_points, bot_points = 0.0, values[bot_move]
    else:
        player_points = bot_points = DRAW_POINTS
    return (
        result,
        player_points,
        bot_points,
        min(WIN_SCORE, round(player_score + player_points, 4)),
        min(WIN_SCORE, round(bot_score + bot_points, 4)),
    )


def winner_of(player_score: float, bot_score: float) -> str | None:
    if player_score < WIN_SCORE and bot_score < WIN_SCORE:
        return None
    # both can only reach 10 together on a draw; clamped scores then tie
    if player_score > bot_score:
        return "user"
    if bot_score > player_score:
        return "bot"
    return "tie"


# A player policy sees the state (from its own side) and a random generator, returns its move.
PlayerPolicy = Callable[[GameState, random.Random], str]
# A predictor sees the state and returns {alias: P(rock, paper, scissors)}; one alias plays.
Predictor = Callable[[GameState], dict[str, Sequence[float]]]


def play_game(
    game_key: str,
    player: PlayerPolicy,
    predictor: Predictor,
    playing_alias: str,
    max_rounds: int = MAX_ROUNDS,
) -> PlayedGame:
    """Play one game of the player against the bot whose `playing_alias` model picks the moves."""
    opening = choose_opening(game_key)
    scripted = OPENINGS[opening][0]
    rng = seeded_rng("player", game_key)
    rounds: list[Round] = []
    player_score = bot_score = 0.0
    for number in range(1, max_rounds + 1):
        state = GameState(
            game_key, number, round_values(game_key, number), player_score, bot_score, rounds
        )
        player_move = player(state, rng)
        predictions: dict[str, str] = {}
        if number < MODEL_FIRST_ROUND:
            bot_move = scripted[number - 1]
        else:
            probabilities = predictor(state)
            predictions = {
                a: MOVES[max(range(3), key=p.__getitem__)] for a, p in probabilities.items()
            }
            bot_move = best_response(
                probabilities[playing_alias], state.values, bot_score, player_score
            )
        result, p_pts, b_pts, player_score, bot_score = score_round(
            player_move, bot_move, state.values, player_score, bot_score
        )
        rounds.append(
            Round(number, player_move, bot_move, result, state.values, p_pts, b_pts,
                  player_score, bot_score, predictions)
        )  # fmt: skip
        winner = winner_of(player_score, bot_score)
        if winner:
            return PlayedGame(game_key, opening, rounds, player_score, bot_score, winner)
    return PlayedGame(game_key, opening, rounds, player_score, bot_score, None)
