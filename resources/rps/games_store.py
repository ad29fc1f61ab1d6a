"""The rps games store: SQLite by default (as the platform uses), any PostgreSQL by URL.

One small adapter speaks both: SQL is written once with `?` placeholders and portable types
(timestamps are ISO-8601 UTC text, which sorts and compares the same in both engines).
`RPS_DATABASE_URL`: `sqlite:///data/rps/rps.db` (default) or `postgresql://user:pass@host/db`.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from dagster import ConfigurableResource

from resources.postgres import DatabaseUnavailable, _redact
from resources.redaction import first_line, redacted_cause

GAME_COLUMNS = (
    "batch", "game_key", "player", "is_legacy", "is_test", "opponent_family", "opponent_alias",
    "opponent_version", "alias_experiments", "started_at", "finished_at", "player_score",
    "bot_score", "winner", "opening", "fallback_reason",
)  # fmt: skip
ROUND_COLUMNS = (
    "game_id", "round_number", "player_move", "bot_move", "result", "value_rock", "value_paper",
    "value_scissors", "player_points", "bot_points", "player_score", "bot_score", "predictions",
)  # fmt: skip
EVENT_COLUMNS = (
    "created_at", "family", "decision", "z_statistic", "p_value", "production_wins",
    "production_games", "b_wins", "b_games", "reranked", "rankings", "accuracies", "assignments",
    "games_since_swap_production", "games_since_swap_b", "cycles_since_swap", "reason", "source",
    "payload",
)  # fmt: skip

_SCHEMA = """
CREATE TABLE IF NOT EXISTS games (
    id {id_column},
    batch TEXT, game_key TEXT NOT NULL, player TEXT NOT NULL,
    is_legacy BOOLEAN NOT NULL DEFAULT FALSE, is_test BOOLEAN NOT NULL DEFAULT FALSE,
    opponent_family TEXT NOT NULL, opponent_alias TEXT NOT NULL, opponent_version TEXT,
    alias_experiments TEXT, started_at TEXT NOT NULL, finished_at TEXT,
    player_score DOUBLE PRECISION, bot_score DOUBLE PRECISION, winner TEXT, opening TEXT,
    fallback_reason TEXT
);
CREATE INDEX IF NOT EXISTS games_batch ON games (batch);
CREATE INDEX IF NOT EXISTS games_family ON games (opponent_family, id);
CREATE TABLE IF NOT EXISTS rounds (
    game_id BIGINT NOT NULL, round_number INTEGER NOT NULL,
    player_move TEXT, bot_move TEXT, result TEXT,
    value_rock DOUBLE PRECISION, value_paper DOUBLE PRECISION, value_scissors DOUBLE PRECISION,
    player_points DOUBLE PRECISION, bot_points DOUBLE PRECISION,
    player_score DOUBLE PRECISION, bot_score DOUBLE PRECISION, predictions TEXT
);
CREATE INDEX IF NOT EXISTS rounds_game ON rounds (game_id, round_number);
CREATE TABLE IF NOT EXISTS promotion_events (
    id {id_column},
    created_at TEXT NOT NULL, family TEXT NOT NULL, decision TEXT NOT NULL,
    z_statistic DOUBLE PRECISION, p_value DOUBLE PRECISION,
    production_wins INTEGER, production_games INTEGER, b_wins INTEGER, b_games INTEGER,
    reranked BOOLEAN NOT NULL DEFAULT FALSE, rankings TEXT, accuracies TEXT, assignments TEXT,
    games_since_swap_production INTEGER, games_since_swap_b INTEGER, cycles_since_swap INTEGER,
    reason TEXT, source TEXT, payload TEXT
);
CREATE TABLE IF NOT EXISTS promotion_state (
    family TEXT PRIMARY KEY,
    baseline_game_id BIGINT NOT NULL DEFAULT 0,
    cycles_since_swap INTEGER NOT NULL DEFAULT 0,
    last_swap_at TEXT
);
"""


class StoreConnection:
    """One open transaction on either engine, with `?` placeholders everywhere."""

    def __init__(self, raw, postgres: bool):
        self.raw = raw
        self.postgres = postgres

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.postgres else sql

    def execute(self, sql: str, params: Sequence[Any] = ()):
        return self.raw.execute(self._sql(sql), tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        if self.postgres:
            with self.raw.cursor() as cur:
                cur.executemany(self._sql(sql), list(rows))
        else:
            self.raw.executemany(sql, rows)

    def stream(self, sql: str, params: Sequence[Any] = (), chunk: int = 10_000) -> Iterator[tuple]:
        """Rows one at a time with memory bounded by `chunk` (a server-side cursor on PostgreSQL)."""
        if self.postgres:
            with self.raw.cursor(name=f"rps_stream_{uuid.uuid4().hex[:8]}") as cur:
                cur.itersize = chunk
                cur.execute(self._sql(sql), tuple(params))
                yield from cur
        else:
            cur = self.raw.execute(sql, tuple(params))
            while batch := cur.fetchmany(chunk):
                yield from batch


@dataclass(frozen=True)
class PromotionState:
    family: str
    baseline_game_id: int = 0
    cycles_since_swap: int = 0
    last_swap_at: str | None = None


class GamesStore:
    def __init__(self, url: str):
        self.url = url
        # a postgresql:// URL or a libpq "key=value" conninfo string
        self.postgres = url.startswith(("postgresql://", "postgres://")) or (
            "=" in url and not url.startswith("sqlite:")
        )
        if not self.postgres and not url.startswith("sqlite:///"):
            raise ValueError(
                f"RPS_DATABASE_URL must start with sqlite:/// or postgresql:// (got {_redact_any(url)})"
            )
        self._schema_ready = False

    @property
    def sqlite_path(self) -> Path:
        return Path(self.url[len("sqlite:///") :])

    def describe(self) -> str:
        return _redact_any(self.url)

    @contextlib.contextmanager
    def connection(self) -> Iterator[StoreConnection]:
        """One transaction: committed when the block ends cleanly, rolled back if it raises."""
        if self.postgres:
            try:
                raw = psycopg.connect(self.url, connect_timeout=10)
            except psycopg.OperationalError as exc:
                raise DatabaseUnavailable(
                    f"Cannot connect to the games store at {_redact(self.url)}: "
                    f"{first_line(exc)}. Check the server and RPS_DATABASE_URL "
                    "(unset it to use the SQLite file under data/rps/)."
                ) from redacted_cause(exc)
            with raw:
                yield StoreConnection(raw, postgres=True)
            return
        self.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        raw = sqlite3.connect(self.sqlite_path, timeout=30, isolation_level=None)
        try:
            raw.execute("PRAGMA journal_mode=WAL")
            raw.execute("BEGIN")
            yield StoreConnection(raw, postgres=False)
            raw.execute("COMMIT")
        except BaseException:
            if raw.in_transaction:
                raw.execute("ROLLBACK")
            raise
        finally:
            raw.close()

    def ensure_schema(self) -> None:
        if self._schema_ready:
            return
        id_column = (
            "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
            if self.postgres
            else "INTEGER PRIMARY KEY AUTOINCREMENT"
        )
        with self.connection() as conn:
            for statement in _SCHEMA.format(id_column=id_column).split(";"):
                if statement.strip():
                    conn.execute(statement)
        self._schema_ready = True

    # --- games -------------------------------------------------------------------------------

    def insert_game(
        self, conn: StoreConnection, game: dict[str, Any], rounds: Sequence[dict[str, Any]]
    ) -> int:
        """Insert one game and its rounds; returns the game id. Dict keys are the column names."""
        placeholders = ", ".join("?" for _ in GAME_COLUMNS)
        game_id = conn.execute(
            f"INSERT INTO games ({', '.join(GAME_COLUMNS)}) VALUES ({placeholders}) RETURNING id",
            [_plain(game.get(c)) for c in GAME_COLUMNS],
        ).fetchone()[0]
        conn.executemany(
            f"INSERT INTO rounds ({', '.join(ROUND_COLUMNS)}) "
            f"VALUES ({', '.join('?' for _ in ROUND_COLUMNS)})",
            (
                [_plain(game_id if c == "game_id" else r.get(c)) for c in ROUND_COLUMNS]
                for r in rounds
            ),
        )
        return int(game_id)

    def delete_batch(self, conn: StoreConnection, batch: str) -> int:
        """Remove a batch's games and rounds (re-running a gameplay batch replaces it)."""
        conn.execute(
            "DELETE FROM rounds WHERE game_id IN (SELECT id FROM games WHERE batch = ?)", [batch]
        )
        return conn.execute("DELETE FROM games WHERE batch = ?", [batch]).rowcount

    def stream_training_rounds(
        self, conn: StoreConnection, since: str, chunk: int = 10_000
    ) -> Iterator[tuple]:
        """Rounds of non-test games started at or after `since`, in game then round order.

        Row: (game_id, is_legacy, finished, round_number, player_move, bot_move, result,
        value_rock, value_paper, value_scissors, player_score, bot_score).
        """
        return conn.stream(
            "SELECT g.id, g.is_legacy, g.winner IS NOT NULL, r.round_number, r.player_move, "
            "r.bot_move, r.result, r.value_rock, r.value_paper, r.value_scissors, "
            "r.player_score, r.bot_score "
            "FROM games g JOIN rounds r ON r.game_id = g.id "
            "WHERE NOT g.is_test AND g.started_at >= ? ORDER BY g.id, r.round_number",
            [since],
            chunk,
        )

    def count_games(self, conn: StoreConnection, since: str) -> dict[str, int]:
        row = conn.execute(
            "SELECT COUNT(*), SUM(CASE WHEN is_test THEN 1 ELSE 0 END) FROM games WHERE started_at >= ?",
            [since],
        ).fetchone()
        return {"games": int(row[0] or 0), "test_games": int(row[1] or 0)}

    def max_game_id(self, conn: StoreConnection) -> int:
        return int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM games").fetchone()[0])

    def window_games(self, conn: StoreConnection, family: str, after_game_id: int) -> list[tuple]:
        """Finished, non-test, model-played games of `family` after the baseline:
        (id, alias, winner). Games the frequency baseline played say nothing about a model."""
        return conn.execute(
            "SELECT id, opponent_alias, winner FROM games WHERE opponent_family = ? AND id > ? "
            "AND NOT is_test AND winner IS NOT NULL AND fallback_reason IS NULL ORDER BY id",
            [family, after_game_id],
        ).fetchall()

    def window_predictions(
        self, conn: StoreConnection, family: str, after_game_id: int
    ) -> Iterator[tuple]:
        """(alias_experiments JSON, player_move, predictions JSON) of model-played rounds."""
        return conn.stream(
            "SELECT g.alias_experiments, r.player_move, r.predictions FROM games g "
            "JOIN rounds r ON r.game_id = g.id WHERE g.opponent_family = ? AND g.id > ? "
            "AND NOT g.is_test AND g.winner IS NOT NULL AND g.fallback_reason IS NULL "
            "AND r.predictions IS NOT NULL AND r.predictions <> '{}' ORDER BY g.id, r.round_number",
            [family, after_game_id],
        )

    # --- promotion ---------------------------------------------------------------------------

    def promotion_state(self, conn: StoreConnection, family: str) -> PromotionState:
        row = conn.execute(
            "SELECT baseline_game_id, cycles_since_swap, last_swap_at FROM promotion_state "
            "WHERE family = ?",
            [family],
        ).fetchone()
        return (
            PromotionState(family, int(row[0]), int(row[1]), row[2])
            if row
            else PromotionState(family)
        )

    def save_promotion(
        self, conn: StoreConnection, event: dict[str, Any], state: PromotionState
    ) -> int:
        """Insert the decision row and the new tickers in the caller's transaction."""
        event_id = conn.execute(
            f"INSERT INTO promotion_events ({', '.join(EVENT_COLUMNS)}) "
            f"VALUES ({', '.join('?' for _ in EVENT_COLUMNS)}) RETURNING id",
            [_plain(event.get(c)) for c in EVENT_COLUMNS],
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO promotion_state (family, baseline_game_id, cycles_since_swap, last_swap_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (family) DO UPDATE SET "
            "baseline_game_id = excluded.baseline_game_id, "
            "cycles_since_swap = excluded.cycles_since_swap, last_swap_at = excluded.last_swap_at",
            [state.family, state.baseline_game_id, state.cycles_since_swap, state.last_swap_at],
        )
        return int(event_id)

    def promotion_event_counts(self, conn: StoreConnection) -> dict[tuple[str, str], int]:
        rows = conn.execute(
            "SELECT family, decision, COUNT(*) FROM promotion_events GROUP BY family, decision"
        ).fetchall()
        return {(f, d): int(n) for f, d, n in rows}

    def reorder_counts(self, conn: StoreConnection) -> dict[str, int]:
        rows = conn.execute(
            "SELECT family, COUNT(*) FROM promotion_events WHERE reranked GROUP BY family"
        ).fetchall()
        return {f: int(n) for f, n in rows}

    def fallback_counts(self, conn: StoreConnection) -> dict[tuple[str, str], int]:
        rows = conn.execute(
            "SELECT opponent_family, fallback_reason, COUNT(*) FROM games "
            "WHERE fallback_reason IS NOT NULL GROUP BY opponent_family, fallback_reason"
        ).fetchall()
        return {(f, r): int(n) for f, r, n in rows}


def _plain(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return value


def _redact_any(url: str) -> str:
    return url if url.startswith("sqlite:") else _redact(url)


class GamesStoreResource(ConfigurableResource):
    """The games store (`RPS_DATABASE_URL`): SQLite file by default, PostgreSQL by URL."""

    url: str = "sqlite:///data/rps/rps.db"

    def store(self) -> GamesStore:
        store = GamesStore(self.url)
        store.ensure_schema()
        return store
