"""The work of each riot stage, on a store and an API client it is handed (no Dagster here).

Every stage stops cleanly when the shared rate limit would keep it past its time budget
(`RateBudgetExhausted`): what was fetched is already stored, the report says the run was rate
limited, and the next run continues from where the data stands. A rejected key is not caught:
it stops the run at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from assets.riot.detection import GameStats, PlayerProfile, RankPoint, detect
from assets.riot.matches import MalformedMatch, parse_match
from resources.riot.rate_limit import RateBudgetExhausted
from resources.riot.riot_id import format_riot_id, split_riot_id
from resources.riot.routing import region_of
from resources.riot.settings import RiotJobSettings


class UnknownPlayer(ValueError):
    """No such Riot account; the message says how to spell a Riot ID."""


@dataclass
class StageReport:
    players: int = 0
    matches_created: int = 0
    players_discovered: int = 0
    rank_changes: int = 0
    matches_seen: int = 0
    analyses: int = 0
    detections: int = 0
    ban_checks: int = 0
    gone_accounts: list[str] = field(default_factory=list)  # summoner-v4 404: recorded
    missing_matches: list[str] = field(default_factory=list)  # listed but 404 when fetched
    rate_limited: str | None = None
    details: list[dict] = field(default_factory=list)


def store_match(store, client, region: str, match_id: str, skips, report: StageReport) -> int:
    """Fetch and store one match; returns its start (epoch ms) or 0 when it was skipped.
    A listed match the API answers 404 for is reported, not counted as malformed: the real
    API does that for matches it has not finished indexing or has purged."""
    raw = client.match(region, match_id)
    if raw is None:
        report.missing_matches.append(match_id)
        return 0
    report.matches_seen += 1
    try:
        match = parse_match(raw, match_id)
    except MalformedMatch as exc:
        skips.skip(match_id, f"malformed: {exc}")
        store.record_bad_match(match_id, str(exc))
        return 0
    created, discovered = store.save_match(match, raw)
    report.matches_created += created
    report.players_discovered += discovered
    return match.start_ms


def update_tracked_players(store, client, settings: RiotJobSettings, skips) -> StageReport:
    """Rank and new matches for up to `max_tracked_players` tracked players (least recently
    updated first); participants of new matches become players to analyse."""
    report = StageReport()
    try:
        for player in store.tracked_players(settings.max_tracked_players):
            puuid, platform = player["puuid"], player["platform"]
            region = region_of(platform)
            summoner = client.summoner_by_puuid(platform, puuid)
            if summoner is None:
                record_gone(store, player, report)
                continue
            entries = client.league_entries(platform, puuid)
            report.rank_changes += store.update_rank(puuid, summoner.get("summonerLevel"), entries)
            since_ms = player["matches_fetched_until"]
            ids = client.match_ids(
                region,
                puuid,
                count=100 if since_ms else settings.max_new_matches_per_player,
                start_time=since_ms // 1000 if since_ms else None,
            )
            known = store.known_match_ids(ids)
            # oldest first, so a run cut short leaves no gap behind the newest match fetched
            new_ids = [m for m in reversed(ids) if m not in known]
            batch = new_ids[: settings.max_new_matches_per_player]
            newest = since_ms
            for match_id in batch:
                newest = max(
                    newest or 0, store_match(store, client, region, match_id, skips, report)
                )
                store.mark_matches_fetched(puuid, newest, exhausted=False)
            store.mark_matches_fetched(puuid, newest, exhausted=len(batch) == len(new_ids))
            report.players += 1
            report.details.append(
                {
                    "player": format_riot_id(player["game_name"], player["tag_line"]),
                    "platform": platform,
                    "new_matches": len(batch),
                    "waiting": len(new_ids) - len(batch),
                }
            )
    except RateBudgetExhausted as exc:
        report.rate_limited = str(exc)
    return report


def record_gone(store, player: dict, report: StageReport) -> None:
    """summoner-v4 404 for a stored player: the account is banned or deleted. That is the
    evidence a ban check looks for, so it is recorded (`gone_at`), never skipped as bad input."""
    store.mark_gone(player["puuid"])
    report.gone_accounts.append(format_riot_id(player["game_name"], player["tag_line"]))


def build_profile(player: dict, games: list[dict], history: list[dict]) -> PlayerProfile:
    return PlayerProfile(
        summoner_level=player.get("summoner_level") or 0,
        tier=player.get("tier"),
        division=player.get("division"),
        lp=player.get("league_points") or 0,
        ranked_wins=player.get("ranked_wins") or 0,
        ranked_losses=player.get("ranked_losses") or 0,
        games=[
            GameStats(
                win=g["win"],
                kills=g["kills"],
                deaths=g["deaths"],
                assists=g["assists"],
                cs=g["cs"],
                duration_s=g["duration_s"],
                damage=g["damage"],
                team_damage=int(g["team_damage"] or 0),
                team_kills=int(g["team_kills"] or 0),
                position=g["position"],
                remake=g["remake"],
            )
            for g in games
        ],
        rank_history=[
            RankPoint(h["at"], h["tier"], h["division"], h["league_points"]) for h in history
        ],
    )


def analyse_players(store, client, settings: RiotJobSettings, skips) -> StageReport:
    """Analyse up to `unanalyzed_players_per_run` discovered players: rank, level, recent ranked
    matches (fetched only when not stored yet), then the detector; every analysis is stored with
    its signals, those at or above `min_smurf_confidence` as detections."""
    report = StageReport()
    try:
        for player in store.players_to_analyse(settings.unanalyzed_players_per_run):
            puuid, platform = player["puuid"], player["platform"]
            region = region_of(platform)
            summoner = client.summoner_by_puuid(platform, puuid)
            if summoner is None:
                record_gone(store, player, report)
                continue
            entries = client.league_entries(platform, puuid)
            report.rank_changes += store.update_rank(puuid, summoner.get("summonerLevel"), entries)
            ids = client.match_ids(region, puuid, count=settings.analysis_match_count, queue=420)
            known = store.known_match_ids(ids)
            for match_id in ids:
                if match_id not in known:
                    store_match(store, client, region, match_id, skips, report)
            fresh = store.find_player(puuid)
            profile = build_profile(
                fresh,
                store.player_games(puuid, settings.analysis_match_count),
                store.rank_history(puuid),
            )
            result = detect(profile)
            detected = store.save_analysis(puuid, result, settings.min_smurf_confidence)
            report.analyses += 1
            report.detections += detected
            report.details.append(
                {
                    "player": format_riot_id(fresh["game_name"], fresh["tag_line"]),
                    "tier": fresh.get("tier") or "unranked",
                    "kind": result.kind,
                    "confidence": result.confidence,
                    "games": result.games_considered,
                    "detection": detected,
                }
            )
    except RateBudgetExhausted as exc:
        report.rate_limited = str(exc)
    return report


def check_bans(store, client, settings: RiotJobSettings) -> StageReport:
    """Re-check accounts detected at least `ban_check_days` ago. The API has no ban endpoint, so
    the evidence is stored rather than a guess: whether account-v1 and summoner-v4 still know the
    PUUID and whether it played since the detection. `account_missing` (both 404) is what a
    permanent ban or a deletion looks like; `no_games_since_detection` may be a temporary ban."""
    report = StageReport()
    try:
        for due in store.due_ban_checks(settings.ban_check_days, settings.ban_checks_per_run):
            puuid, platform = due["puuid"], due["platform"]
            account = client.account_by_puuid(puuid, platform)
            summoner = client.summoner_by_puuid(platform, puuid)
            played = []
            if account is not None:
                played = client.match_ids(
                    region_of(platform), puuid, count=1, start_time=int(due["detected_at"])
                )
            if account is None and summoner is None:
                status = "account_missing"
            elif played:
                status = "active"
            else:
                status = "no_games_since_detection"
            evidence = {
                "account_found": account is not None,
                "summoner_found": summoner is not None,
                "matches_since_detection": len(played),
                "checked_at": time.time(),
            }
            store.save_ban_check(puuid, due["analysis_id"], status, evidence)
            if summoner is None:
                store.mark_gone(puuid)
            report.ban_checks += 1
            report.details.append({"puuid": puuid[:12], "kind": due["kind"], "status": status})
    except RateBudgetExhausted as exc:
        report.rate_limited = str(exc)
    return report


def track_player(store, client, ref: str, platform: str = "na1") -> dict:
    """Track a player by Riot ID (`gameName#tagLine`) or PUUID; returns the stored player."""
    ref = ref.strip()
    region_of(platform)  # a clear error for an unknown platform before any request
    riot_id = split_riot_id(ref)
    if riot_id:
        account = client.account_by_riot_id(*riot_id, platform)
    else:
        account = client.account_by_puuid(ref, platform)
    if account is None:
        raise UnknownPlayer(
            f"No Riot account {ref!r}. Give a Riot ID as gameName#tagLine (for example "
            "'Hide on bush#KR1', tag without '#') or a 78-character PUUID, and check the spelling."
        )
    store.track(account["puuid"], account.get("gameName"), account.get("tagLine"), platform)
    return store.find_player(account["puuid"])


def untrack_player(store, ref: str) -> dict:
    """Stop tracking a stored player (by Riot ID or PUUID); no API call needed."""
    player = store.find_player(ref.strip())
    if player is None:
        raise UnknownPlayer(f"No stored player {ref!r}; `list` shows the tracked ones.")
    store.untrack(player["puuid"])
    return player
