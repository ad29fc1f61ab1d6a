"""The riot tables in PostgreSQL: players, matches, participants, rank history, analyses, ban checks.

Idempotent by natural keys: a match is stored once (`match_id`), its participants once per
(match, player), a discovered player once (`puuid`); each match is its own short transaction, so
a run that dies keeps everything it fetched and the next one continues from there. The schema is
created with `CREATE ... IF NOT EXISTS` under an advisory lock, so concurrent first runs agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from resources.postgres import connect
from resources.riot.riot_id import split_riot_id

SCHEMA = """
CREATE TABLE IF NOT EXISTS riot_players (
    puuid                   text PRIMARY KEY,
    game_name               text,
    tag_line                text,
    platform                text NOT NULL,
    tracked                 boolean NOT NULL DEFAULT false,
    tracked_at              timestamptz,
    analysed                boolean NOT NULL DEFAULT false,
    analysed_at             timestamptz,
    tier                    text,
    division                text,
    league_points           integer,
    ranked_wins             integer,
    ranked_losses           integer,
    summoner_level          integer,
    last_updated            timestamptz,
    matches_fetched_until   bigint,          -- epoch ms of the newest match fetched for the player
    matches_exhausted       boolean NOT NULL DEFAULT false,
    gone_at                 timestamptz,     -- when summoner-v4 last answered 404 (banned or deleted)
    discovered_from_match   text,
    discovered_at           timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE riot_players ADD COLUMN IF NOT EXISTS gone_at timestamptz;
CREATE INDEX IF NOT EXISTS riot_players_to_analyse ON riot_players (discovered_at) WHERE NOT analysed;
CREATE INDEX IF NOT EXISTS riot_players_riot_id ON riot_players (lower(game_name), lower(tag_line));
CREATE TABLE IF NOT EXISTS riot_matches (
    match_id    text PRIMARY KEY,
    platform    text NOT NULL,
    queue_id    integer NOT NULL,
    game_start  timestamptz NOT NULL,
    duration_s  integer NOT NULL,
    remake      boolean NOT NULL,
    game_mode   text,            -- CLASSIC, ARAM, CHERRY (Arena: no positions, placements), ...
    raw         jsonb NOT NULL,
    fetched_at  timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE riot_matches ADD COLUMN IF NOT EXISTS game_mode text;
CREATE TABLE IF NOT EXISTS riot_participants (
    match_id       text NOT NULL REFERENCES riot_matches ON DELETE CASCADE,
    puuid          text NOT NULL,
    team_id        integer NOT NULL,
    champion_id    integer NOT NULL,
    champion_name  text NOT NULL,
    position       text NOT NULL,   -- TOP .. UTILITY; '' where the mode has none (ARAM, Arena)
    kills          integer NOT NULL,
    deaths         integer NOT NULL,
    assists        integer NOT NULL,
    cs             integer NOT NULL,
    gold           integer NOT NULL,
    damage         integer NOT NULL,
    vision         integer NOT NULL,
    win            boolean NOT NULL,
    summoner_level integer NOT NULL,
    PRIMARY KEY (match_id, puuid)
);
CREATE INDEX IF NOT EXISTS riot_participants_by_player ON riot_participants (puuid);
CREATE TABLE IF NOT EXISTS riot_rank_history (
    puuid          text NOT NULL,
    queue_type     text NOT NULL,
    observed_at    timestamptz NOT NULL DEFAULT now(),
    tier           text NOT NULL,
    division       text NOT NULL,
    league_points  integer NOT NULL,
    wins           integer NOT NULL,
    losses         integer NOT NULL,
    PRIMARY KEY (puuid, queue_type, observed_at)
);
CREATE TABLE IF NOT EXISTS riot_analyses (
    id                 bigserial PRIMARY KEY,
    puuid              text NOT NULL,
    analysed_at        timestamptz NOT NULL DEFAULT now(),
    confidence         double precision NOT NULL,
    smurf_score        double precision NOT NULL,
    boosted_score      double precision NOT NULL,
    kind               text NOT NULL,
    level              text NOT NULL,
    is_detection       boolean NOT NULL,
    min_confidence     double precision NOT NULL,
    games_considered   integer NOT NULL,
    signals            jsonb NOT NULL,
    algorithm_version  text NOT NULL
);
CREATE INDEX IF NOT EXISTS riot_analyses_detections ON riot_analyses (analysed_at) WHERE is_detection;
CREATE TABLE IF NOT EXISTS riot_ban_checks (
    id           bigserial PRIMARY KEY,
    puuid        text NOT NULL,
    analysis_id  bigint REFERENCES riot_analyses,
    checked_at   timestamptz NOT NULL DEFAULT now(),
    status       text NOT NULL,
    evidence     jsonb NOT NULL
);
CREATE TABLE IF NOT EXISTS riot_bad_matches (
    match_id  text PRIMARY KEY,
    reason    text NOT NULL,
    seen_at   timestamptz NOT NULL DEFAULT now()
);
"""

# Summoner's Rift queues (ranked solo/flex, draft, blind); ARAM says little about a player.
RIFT_QUEUES = [420, 440, 400, 430]


class RiotStore:
    def __init__(self, database_url: str, variable: str = "RIOT_DATABASE_URL"):
        self.database_url = database_url
        self.variable = variable  # named by a connection failure: what to fix

    def _conn(self, **kwargs) -> psycopg.Connection:
        return connect(self.database_url, self.variable, **kwargs)

    def ensure_schema(self) -> None:
        with self._conn() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('riot schema'))")
            conn.execute(SCHEMA)

    # -- players ---------------------------------------------------------------------------------

    def track(self, puuid: str, game_name: str, tag_line: str, platform: str) -> None:
        with self._conn() as conn:
            conn.execute(
                "INSERT INTO riot_players (puuid, game_name, tag_line, platform, tracked, tracked_at)"
                " VALUES (%s, %s, %s, %s, true, now()) ON CONFLICT (puuid) DO UPDATE SET"
                " tracked = true, tracked_at = coalesce(riot_players.tracked_at, now()),"
                # an account without a Riot ID keeps the name its old matches gave it
                " game_name = coalesce(EXCLUDED.game_name, riot_players.game_name),"
                " tag_line = coalesce(EXCLUDED.tag_line, riot_players.tag_line),"
                " platform = EXCLUDED.platform",
                (puuid, game_name, tag_line, platform),
            )

    def find_player(self, ref: str) -> dict | None:
        """A stored player by PUUID or by Riot ID `gameName#tagLine` (case-insensitive); a bare
        name finds a player stored without a tag line (known only from a pre-Riot-ID body)."""
        with self._conn() as conn:
            conn.row_factory = dict_row
            riot_id = split_riot_id(ref)
            if riot_id:
                return conn.execute(
                    "SELECT * FROM riot_players WHERE lower(game_name) = lower(%s)"
                    " AND lower(tag_line) = lower(%s)",
                    riot_id,
                ).fetchone()
            by_puuid = conn.execute(
                "SELECT * FROM riot_players WHERE puuid = %s", (ref,)
            ).fetchone()
            return (
                by_puuid
                or conn.execute(
                    "SELECT * FROM riot_players WHERE lower(game_name) = lower(%s)"
                    " AND coalesce(tag_line, '') = '' ORDER BY discovered_at LIMIT 1",
                    (ref,),
                ).fetchone()
            )

    def untrack(self, puuid: str) -> bool:
        with self._conn() as conn:
            cur = conn.execute(
                "UPDATE riot_players SET tracked = false, tracked_at = NULL"
                " WHERE puuid = %s AND tracked",
                (puuid,),
            )
            return cur.rowcount > 0

    def tracked_players(self, limit: int | None = None) -> list[dict]:
        """Tracked players, least recently updated first (so a limit rotates through them)."""
        with self._conn() as conn:
            conn.row_factory = dict_row
            return conn.execute(
                "SELECT * FROM riot_players WHERE tracked"
                " ORDER BY last_updated NULLS FIRST, tracked_at LIMIT %s",
                (limit,),
            ).fetchall()

    def players_to_analyse(self, limit: int) -> list[dict]:
        with self._conn() as conn:
            conn.row_factory = dict_row
            return conn.execute(
                "SELECT * FROM riot_players WHERE NOT analysed ORDER BY discovered_at, puuid LIMIT %s",
                (limit,),
            ).fetchall()

    def update_rank(self, puuid: str, summoner_level: int | None, entries: list[dict]) -> int:
        """Store level and solo-queue rank; add rank-history rows that changed. Returns rows added."""
        solo = next((e for e in entries if e.get("queueType") == "RANKED_SOLO_5x5"), None)
        added = 0
        with self._conn() as conn:
            conn.execute(
                "UPDATE riot_players SET summoner_level = coalesce(%s, summoner_level),"
                " tier = %s, division = %s, league_points = %s, ranked_wins = %s,"
                " ranked_losses = %s, gone_at = NULL, last_updated = now() WHERE puuid = %s",
                (
                    summoner_level,
                    solo and solo.get("tier"),
                    solo and solo.get("rank"),
                    solo and solo.get("leaguePoints"),
                    solo and solo.get("wins"),
                    solo and solo.get("losses"),
                    puuid,
                ),
            )
            for entry in entries:
                values = (
                    entry.get("tier"),
                    entry.get("rank"),
                    entry.get("leaguePoints"),
                    entry.get("wins"),
                    entry.get("losses"),
                )
                # Arena's CHERRY entry has no tier and no division: nothing to rank
                if None in values or not entry.get("tier") or not entry.get("queueType"):
                    continue
                last = conn.execute(
                    "SELECT tier, division, league_points, wins, losses FROM riot_rank_history"
                    " WHERE puuid = %s AND queue_type = %s ORDER BY observed_at DESC LIMIT 1",
                    (puuid, entry["queueType"]),
                ).fetchone()
                if last != values:
                    conn.execute(
                        "INSERT INTO riot_rank_history (puuid, queue_type, tier, division,"
                        " league_points, wins, losses) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                        (puuid, entry["queueType"], *values),
                    )
                    added += 1
        return added

    def mark_matches_fetched(self, puuid: str, until_ms: int | None, exhausted: bool) -> None:
        with self._conn() as conn:
            conn.execute(
                "UPDATE riot_players SET matches_fetched_until ="
                " greatest(matches_fetched_until, %s), matches_exhausted = %s,"
                " last_updated = now() WHERE puuid = %s",
                (until_ms, exhausted, puuid),
            )

    def list_players(self, tracked_only: bool = True) -> list[dict]:
        with self._conn() as conn:
            conn.row_factory = dict_row
            return conn.execute(
                "SELECT puuid, game_name, tag_line, platform, tracked, tier, division,"
                " league_points, summoner_level, last_updated, analysed FROM riot_players"
                + (" WHERE tracked" if tracked_only else "")
                + " ORDER BY game_name, tag_line"
            ).fetchall()

    # -- matches ---------------------------------------------------------------------------------

    def known_match_ids(self, match_ids: Iterable[str]) -> set[str]:
        """Ids already stored, or already found malformed (never fetched twice)."""
        ids = list(match_ids)
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT match_id FROM riot_matches WHERE match_id = ANY(%s)"
                " UNION SELECT match_id FROM riot_bad_matches WHERE match_id = ANY(%s)",
                (ids, ids),
            ).fetchall()
        return {r[0] for r in rows}

    def save_match(self, match, raw: dict) -> tuple[bool, int]:
        """Store a parsed match, its participants and any player not seen before, in one
        transaction. Returns (stored now, players discovered); a match seen before is a no-op."""
        with self._conn() as conn:
            created = conn.execute(
                "INSERT INTO riot_matches (match_id, platform, queue_id, game_start, duration_s,"
                " remake, game_mode, raw)"
                " VALUES (%s, %s, %s, to_timestamp(%s / 1000.0), %s, %s, %s, %s)"
                " ON CONFLICT (match_id) DO NOTHING RETURNING match_id",
                (
                    match.match_id,
                    match.platform,
                    match.queue_id,
                    match.start_ms,
                    match.duration_s,
                    match.remake,
                    match.game_mode,
                    Jsonb(raw),
                ),
            ).fetchone()
            if not created:
                return False, 0
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO riot_participants (match_id, puuid, team_id, champion_id,"
                    " champion_name, position, kills, deaths, assists, cs, gold, damage, vision,"
                    " win, summoner_level) VALUES"
                    " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT DO NOTHING",
                    [
                        (
                            match.match_id,
                            p.puuid,
                            p.team_id,
                            p.champion_id,
                            p.champion_name,
                            p.position,
                            p.kills,
                            p.deaths,
                            p.assists,
                            p.cs,
                            p.gold,
                            p.damage,
                            p.vision,
                            p.win,
                            p.summoner_level,
                        )
                        for p in match.participants
                    ],
                )
            discovered = 0
            for p in match.participants:
                row = conn.execute(
                    "INSERT INTO riot_players (puuid, game_name, tag_line, platform,"
                    " summoner_level, discovered_from_match) VALUES (%s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (puuid) DO NOTHING RETURNING puuid",
                    (
                        p.puuid,
                        p.game_name,
                        p.tag_line,
                        match.platform,
                        p.summoner_level,
                        match.match_id,
                    ),
                ).fetchone()
                discovered += row is not None
            return True, discovered

    def record_bad_match(self, match_id: str, reason: str) -> None:
        with self._conn() as conn:
            conn.execute(
                "INSERT INTO riot_bad_matches (match_id, reason) VALUES (%s, %s)"
                " ON CONFLICT (match_id) DO UPDATE SET reason = EXCLUDED.reason, seen_at = now()",
                (match_id, reason),
            )

    def player_games(self, puuid: str, limit: int) -> list[dict]:
        """The player's latest Summoner's Rift games with their team's kills and damage."""
        with self._conn() as conn:
            conn.row_factory = dict_row
            return conn.execute(
                """
                SELECT p.win, p.kills, p.deaths, p.assists, p.cs, p.damage, p.position,
                       m.duration_s, m.remake,
                       team.kills AS team_kills, team.damage AS team_damage
                FROM riot_participants p
                JOIN riot_matches m USING (match_id)
                JOIN LATERAL (
                    SELECT sum(t.kills) AS kills, sum(t.damage) AS damage
                    FROM riot_participants t
                    WHERE t.match_id = p.match_id AND t.team_id = p.team_id
                ) team ON true
                WHERE p.puuid = %s AND m.queue_id = ANY(%s)
                ORDER BY m.game_start DESC
                LIMIT %s
                """,
                (puuid, RIFT_QUEUES, limit),
            ).fetchall()

    def rank_history(self, puuid: str) -> list[dict]:
        with self._conn() as conn:
            conn.row_factory = dict_row
            return conn.execute(
                "SELECT extract(epoch FROM observed_at)::float8 AS at, tier, division,"
                " league_points FROM riot_rank_history"
                " WHERE puuid = %s AND queue_type = 'RANKED_SOLO_5x5' ORDER BY observed_at",
                (puuid,),
            ).fetchall()

    # -- analyses and ban checks -----------------------------------------------------------------

    def save_analysis(self, puuid: str, result, min_confidence: float) -> bool:
        """Store one analysis (always, with its signals) and mark the player analysed.
        Returns whether it is a detection (confidence at or above `min_confidence`)."""
        is_detection = result.kind != "normal" and result.confidence >= min_confidence
        with self._conn() as conn:
            conn.execute(
                "INSERT INTO riot_analyses (puuid, confidence, smurf_score, boosted_score, kind,"
                " level, is_detection, min_confidence, games_considered, signals,"
                " algorithm_version) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    puuid,
                    result.confidence,
                    result.smurf_score,
                    result.boosted_score,
                    result.kind,
                    result.level,
                    is_detection,
                    min_confidence,
                    result.games_considered,
                    Jsonb(result.signals_json()),
                    result.algorithm_version,
                ),
            )
            conn.execute(
                "UPDATE riot_players SET analysed = true, analysed_at = now() WHERE puuid = %s",
                (puuid,),
            )
        return is_detection

    def mark_gone(self, puuid: str) -> None:
        """The account is gone (summoner-v4 404: banned or deleted): a real answer, recorded.
        It is not analysed (there is nothing to analyse) and the tracked player's row stays."""
        with self._conn() as conn:
            conn.execute(
                "UPDATE riot_players SET gone_at = now(), analysed = true,"
                " analysed_at = coalesce(analysed_at, now()), last_updated = now()"
                " WHERE puuid = %s",
                (puuid,),
            )

    def due_ban_checks(self, days: float, limit: int) -> list[dict]:
        """Players detected at least `days` ago, not checked in the last `days`, and not already
        found gone."""
        with self._conn() as conn:
            conn.row_factory = dict_row
            return conn.execute(
                """
                SELECT DISTINCT ON (a.puuid) a.puuid, a.id AS analysis_id, a.kind, a.confidence,
                       extract(epoch FROM a.analysed_at)::float8 AS detected_at, pl.platform
                FROM riot_analyses a JOIN riot_players pl USING (puuid)
                WHERE a.is_detection
                  AND a.analysed_at <= now() - make_interval(secs => %(secs)s)
                  AND NOT EXISTS (
                      SELECT 1 FROM riot_ban_checks b WHERE b.puuid = a.puuid
                      AND (b.checked_at > now() - make_interval(secs => %(secs)s)
                           OR b.status = 'account_missing'))
                ORDER BY a.puuid, a.analysed_at DESC
                LIMIT %(limit)s
                """,
                {"secs": days * 86400, "limit": limit},
            ).fetchall()

    def save_ban_check(
        self, puuid: str, analysis_id: int | None, status: str, evidence: dict[str, Any]
    ) -> None:
        with self._conn() as conn:
            conn.execute(
                "INSERT INTO riot_ban_checks (puuid, analysis_id, status, evidence)"
                " VALUES (%s, %s, %s, %s)",
                (puuid, analysis_id, status, Jsonb(evidence)),
            )

    # -- reports ---------------------------------------------------------------------------------

    def scalar(self, sql: str, params: tuple = ()) -> Any:
        with self._conn() as conn:
            return conn.execute(sql, params).fetchone()[0]

    def rows(self, sql: str, params: tuple = ()) -> list[dict]:
        with self._conn() as conn:
            conn.row_factory = dict_row
            return conn.execute(sql, params).fetchall()
