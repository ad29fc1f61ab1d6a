"""The eight legacy bots (scripted policies that play as the player) and human-like simulations.

Every policy is a function of the game state and a random generator seeded by the game, so a game
replays identically given the same opponent.
"""

from __future__ import annotations

import random
from collections import Counter

from assets.rps.game import BEATEN_BY, MOVES, GameState, PlayerPolicy

LEGACY_BOTS = ("Ace", "Bob", "Cal", "Dan", "Edd", "Fox", "Gus", "Hal")


def _highest_value_move(state: GameState) -> str:
    return max(MOVES, key=lambda m: (state.values[m], m))


def ace(state: GameState, rng: random.Random) -> str:
    """Counters its own last move (expects the model to chase it)."""
    if not state.history:
        return rng.choice(MOVES)
    return BEATEN_BY[state.history[-1].player_move]


def bob(state: GameState, rng: random.Random) -> str:
    """Always plays the highest-value move."""
    return _highest_value_move(state)


def cal(state: GameState, rng: random.Random) -> str:
    """Plays the beater of the highest-value move (expects the bot to go for the points)."""
    return BEATEN_BY[_highest_value_move(state)]


def dan(state: GameState, rng: random.Random) -> str:
    """Bob-like with a probability that tapers as its score grows."""
    if rng.random() < max(0.2, 1.0 - state.player_score / 12.0):
        return _highest_value_move(state)
    return rng.choice(MOVES)


def edd(state: GameState, rng: random.Random) -> str:
    """Cycles rock, paper, scissors."""
    return MOVES[(state.round_number - 1) % 3]


def fox(state: GameState, rng: random.Random) -> str:
    """Protects a lead: when ahead it plays the beater of the bot's most valuable move."""
    if state.player_score > state.bot_score:
        return BEATEN_BY[_highest_value_move(state)]
    return _highest_value_move(state)


def gus(state: GameState, rng: random.Random) -> str:
    """Copies the bot's last move."""
    return state.history[-1].bot_move if state.history else "rock"


def hal(state: GameState, rng: random.Random) -> str:
    """Beats the bot's last move."""
    return BEATEN_BY[state.history[-1].bot_move] if state.history else "paper"


LEGACY_POLICIES: dict[str, PlayerPolicy] = {
    "Ace": ace,
    "Bob": bob,
    "Cal": cal,
    "Dan": dan,
    "Edd": edd,
    "Fox": fox,
    "Gus": gus,
    "Hal": hal,
}


def patterned_player(pattern: tuple[str, ...], noise: float = 0.15) -> PlayerPolicy:
    """A person with a habit: repeats a personal sequence, sometimes breaking it."""

    def policy(state: GameState, rng: random.Random) -> str:
        if rng.random() < noise:
            return rng.choice(MOVES)
        return pattern[(state.round_number - 1) % len(pattern)]

    return policy


def biased_player(weights: tuple[float, float, float]) -> PlayerPolicy:
    """A person with a favourite move."""

    def policy(state: GameState, rng: random.Random) -> str:
        return rng.choices(MOVES, weights=weights)[0]

    return policy


def adaptive_player(exploration: float = 0.2) -> PlayerPolicy:
    """A person who notices the bot's favourite move and plays its beater."""

    def policy(state: GameState, rng: random.Random) -> str:
        if not state.history or rng.random() < exploration:
            return rng.choice(MOVES)
        favourite = Counter(r.bot_move for r in state.history).most_common(1)[0][0]
        return BEATEN_BY[favourite]

    return policy


def simulated_human(index: int) -> tuple[str, PlayerPolicy]:
    """Simulated person number `index` (`sim<index>`): patterned, biased or adaptive."""
    rng = random.Random(index)
    kind = index % 3
    if kind == 0:
        pattern = tuple(rng.choice(MOVES) for _ in range(rng.randint(2, 4)))
        return f"sim{index}", patterned_player(pattern)
    if kind == 1:
        weights = [1.0, 1.0, 1.0]
        weights[rng.randrange(3)] = 3.0
        return f"sim{index}", biased_player(tuple(weights))
    return f"sim{index}", adaptive_player()
