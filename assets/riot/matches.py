"""match-v5 JSON -> the rows we store. Plain functions, no I/O.

A match answer that lacks what we need (no `info.participants`, a participant without a PUUID,
team or K/D/A) raises `MalformedMatch` with a reason: the caller skips it and records why.
"""

from __future__ import annotations

from dataclasses import dataclass

REMAKE_SECONDS = 300  # games shorter than this are remakes and do not count toward win rates
# individualPosition's word for "no position" (ARAM, Arena): stored as no position, ''
NO_POSITION = "Invalid"


class MalformedMatch(ValueError):
    """A match answer we cannot store; the message is the reason."""


@dataclass(frozen=True)
class ParticipantRow:
    puuid: str
    game_name: str
    tag_line: str
    summoner_level: int
    team_id: int
    champion_id: int
    champion_name: str
    position: str
    kills: int
    deaths: int
    assists: int
    cs: int
    gold: int
    damage: int
    vision: int
    win: bool


@dataclass(frozen=True)
class ParsedMatch:
    match_id: str
    platform: str
    queue_id: int
    start_ms: int
    duration_s: int
    remake: bool
    game_mode: str  # CLASSIC, ARAM, CHERRY (Arena), ...
    participants: tuple[ParticipantRow, ...]


def _int(p: dict, name: str, required: bool = False) -> int:
    value = p.get(name)
    if value is None:
        if required:
            raise MalformedMatch(f"participant field {name} missing")
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise MalformedMatch(f"participant field {name} is not a non-negative number: {value!r}")
    return int(value)


def _position(p: dict) -> str:
    """teamPosition (TOP .. UTILITY, "" where the mode has none), else individualPosition,
    which says "Invalid" in ARAM and Arena: those have no position."""
    position = str(p.get("teamPosition") or p.get("individualPosition") or "")
    return "" if position == NO_POSITION else position


def parse_participant(p: dict) -> ParticipantRow:
    if not isinstance(p, dict):
        raise MalformedMatch("participant is not an object")
    puuid = p.get("puuid")
    if not isinstance(puuid, str) or not puuid:
        raise MalformedMatch("participant without puuid")
    team = p.get("teamId")
    if team not in (100, 200):
        raise MalformedMatch(f"participant teamId {team!r} is not 100 or 200")
    if not isinstance(p.get("win"), bool):
        raise MalformedMatch("participant field win missing")
    return ParticipantRow(
        puuid=puuid,
        # bodies from before the Riot ID change (2023) carry only the old summonerName
        game_name=str(p.get("riotIdGameName") or p.get("summonerName") or ""),
        tag_line=str(p.get("riotIdTagline") or ""),
        summoner_level=_int(p, "summonerLevel"),
        team_id=team,
        champion_id=_int(p, "championId"),
        champion_name=str(p.get("championName") or ""),
        position=_position(p),
        kills=_int(p, "kills", required=True),
        deaths=_int(p, "deaths", required=True),
        assists=_int(p, "assists", required=True),
        # CS counts lane minions and jungle monsters alike
        cs=_int(p, "totalMinionsKilled") + _int(p, "neutralMinionsKilled"),
        gold=_int(p, "goldEarned"),
        damage=_int(p, "totalDamageDealtToChampions"),
        vision=_int(p, "visionScore"),
        win=p["win"],
    )


def parse_match(raw: object, expected_id: str | None = None) -> ParsedMatch:
    if not isinstance(raw, dict):
        raise MalformedMatch("answer is not a JSON object")
    metadata, info = raw.get("metadata"), raw.get("info")
    if not isinstance(metadata, dict) or not isinstance(info, dict):
        raise MalformedMatch("metadata or info missing")
    match_id = metadata.get("matchId")
    if not isinstance(match_id, str) or (expected_id and match_id != expected_id):
        raise MalformedMatch(f"metadata.matchId {match_id!r} does not match {expected_id!r}")
    participants = info.get("participants")
    if not isinstance(participants, list) or not participants:
        raise MalformedMatch("info.participants missing or empty")
    rows = tuple(parse_participant(p) for p in participants)
    if len({r.puuid for r in rows}) != len(rows):
        raise MalformedMatch("a participant appears twice")
    duration = info.get("gameDuration")
    if not isinstance(duration, int | float) or duration <= 0:
        raise MalformedMatch(f"info.gameDuration {duration!r} is not a positive number")
    # gameDuration is seconds since patch 11.20 (when gameEndTimestamp exists), ms before
    duration_s = int(duration if "gameEndTimestamp" in info else duration / 1000)
    start_ms = info.get("gameStartTimestamp") or info.get("gameCreation")
    if not isinstance(start_ms, int):
        raise MalformedMatch("info.gameStartTimestamp missing")
    remake = duration_s < REMAKE_SECONDS or any(
        p.get("gameEndedInEarlySurrender") is True for p in participants
    )
    return ParsedMatch(
        match_id=match_id,
        platform=str(info.get("platformId") or match_id.split("_")[0]).lower(),
        queue_id=int(info.get("queueId") or 0),
        start_ms=start_ms,
        duration_s=duration_s,
        remake=remake,
        game_mode=str(info.get("gameMode") or ""),
        participants=rows,
    )
