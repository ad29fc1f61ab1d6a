"""The riot pipeline's resources as configured by the environment (read at run launch).

Job settings are a resource, not code: every key of the replaced backend's job configuration
(`max_tracked_players`, `max_new_matches_per_player`, `unanalyzed_players_per_run`,
`min_smurf_confidence`, `ban_check_days`) has an environment variable, and the Launchpad can
override any of them for one run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from dagster import ConfigurableResource, EnvVar

from resources.env import env_or, postgres_from_env
from resources.riot_api import SANDBOX_BASE_URL, SANDBOX_KEY, RiotApiResource


def int_env_or(name: str, default: int):
    return EnvVar.int(name) if os.environ.get(name) else default


@dataclass(frozen=True)
class RiotJobSettings:
    """The replaced backend's job settings, with its defaults (re-read on every run)."""

    max_tracked_players: int = 10
    max_new_matches_per_player: int = 20
    unanalyzed_players_per_run: int = 15
    min_smurf_confidence: float = 0.5
    ban_check_days: float = 7
    analysis_match_count: int = 10
    ban_checks_per_run: int = 10
    max_bad_match_share: float = 0.2


class RiotSettingsResource(ConfigurableResource):
    """Per-run budgets and thresholds (RIOT_* variables; see docs/riot.md)."""

    max_tracked_players: int = 10
    max_new_matches_per_player: int = 20
    unanalyzed_players_per_run: int = 15
    min_smurf_confidence: str = "0.5"  # a string so an EnvVar can set it (Dagster has no float env)
    ban_check_days: str = "7"
    analysis_match_count: int = 10
    ban_checks_per_run: int = 10
    max_bad_match_share: str = "0.2"
    # seconds each stage may spend before it stops and leaves the rest to the next run; the three
    # together stay inside the 90 s run timeout
    update_budget_seconds: int = 35
    analysis_budget_seconds: int = 30
    ban_check_budget_seconds: int = 10

    def values(self) -> RiotJobSettings:
        confidence = float(self.min_smurf_confidence)
        if not 0 <= confidence <= 1:
            raise ValueError(f"RIOT_MIN_SMURF_CONFIDENCE must be within [0, 1], got {confidence}")
        return RiotJobSettings(
            max_tracked_players=self.max_tracked_players,
            max_new_matches_per_player=min(100, self.max_new_matches_per_player),
            unanalyzed_players_per_run=self.unanalyzed_players_per_run,
            min_smurf_confidence=confidence,
            ban_check_days=float(self.ban_check_days),
            analysis_match_count=min(100, self.analysis_match_count),
            ban_checks_per_run=self.ban_checks_per_run,
            max_bad_match_share=float(self.max_bad_match_share),
        )


def riot_settings_from_env() -> RiotSettingsResource:
    return RiotSettingsResource(
        max_tracked_players=int_env_or("RIOT_MAX_TRACKED_PLAYERS", 10),
        max_new_matches_per_player=int_env_or("RIOT_MAX_NEW_MATCHES_PER_PLAYER", 20),
        unanalyzed_players_per_run=int_env_or("RIOT_UNANALYZED_PLAYERS_PER_RUN", 15),
        min_smurf_confidence=env_or("RIOT_MIN_SMURF_CONFIDENCE", "0.5"),
        ban_check_days=env_or("RIOT_BAN_CHECK_DAYS", "7"),
        analysis_match_count=int_env_or("RIOT_ANALYSIS_MATCH_COUNT", 10),
        ban_checks_per_run=int_env_or("RIOT_BAN_CHECKS_PER_RUN", 10),
        max_bad_match_share=env_or("RIOT_MAX_BAD_MATCH_SHARE", "0.2"),
    )


def riot_resources_from_env() -> dict:
    """`riot_db` (RIOT_DATABASE_URL, else POSTGRES_URL, else embedded), `riot_api`, `riot_settings`."""
    database = postgres_from_env("RIOT_DATABASE_URL")
    return {
        "riot_db": database,
        "riot_api": RiotApiResource(
            api_key=env_or("RIOT_API_KEY", SANDBOX_KEY),
            base_url_template=env_or("RIOT_API_BASE_URL", SANDBOX_BASE_URL),
            app_rate_limits=env_or("RIOT_APP_RATE_LIMITS", "20:1,100:120"),
            database=database,
        ),
        "riot_settings": riot_settings_from_env(),
    }
