"""Builders of crafted games for the rps tests."""

from __future__ import annotations

from assets.rps.game import round_values, score_round

STAMP = "2026-01-01T00:00:00.000000Z"


def crafted_game(
    family: str = "xgboost",
    alias: str = "Production",
    winner: str | None = "bot",
    *,
    player: str = "alice",
    is_legacy: bool = False,
    is_test: bool = False,
    moves: list[tuple[str, str]] | None = None,
    predictions: dict[str, str] | None = None,
    experiments: dict[str, str] | None = None,
    batch: str = "crafted",
    key: str = "g",
    started_at: str = STAMP,
    fallback_reason: str | None = None,
) -> tuple[dict, list[dict]]:
    """A game row and its rounds; `moves` are (player, bot) pairs, scored by the real rules."""
    moves = moves or [
        ("rock", "paper"),
        ("paper", "scissors"),
        ("scissors", "rock"),
        ("rock", "paper"),
    ]
    rounds, p_score, b_score = [], 0.0, 0.0
    for number, (p, b) in enumerate(moves, start=1):
        values = round_values(key, number)
        known = p in values and b in values
        result, p_pts, b_pts, p_score, b_score = (
            score_round(p, b, values, p_score, b_score) if known else (None, 0, 0, p_score, b_score)
        )
        rounds.append(
            {
                "round_number": number, "player_move": p, "bot_move": b, "result": result,
                "value_rock": values["rock"], "value_paper": values["paper"],
                "value_scissors": values["scissors"], "player_points": p_pts,
                "bot_points": b_pts, "player_score": p_score, "bot_score": b_score,
                "predictions": predictions if (predictions and number >= 4) else {},
            }
        )  # fmt: skip
    game = {
        "batch": batch, "game_key": key, "player": player, "is_legacy": is_legacy,
        "is_test": is_test, "opponent_family": family, "opponent_alias": alias,
        "opponent_version": "1", "alias_experiments": experiments or {}, "started_at": started_at,
        "finished_at": STAMP if winner else None, "player_score": p_score, "bot_score": b_score,
        "winner": winner, "opening": "avalanche", "fallback_reason": fallback_reason,
    }  # fmt: skip
    return game, rounds


def insert_games(store, games: list[tuple[dict, list[dict]]]) -> list[int]:
    with store.connection() as conn:
        return [store.insert_game(conn, g, r) for g, r in games]
