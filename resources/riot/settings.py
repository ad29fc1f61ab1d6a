"""The riot pipeline's settings and resources: `build_resources(...)` from explicit values (what
the tests call) and `resources_from_env()` over it (what the code location calls; read at run
launch).

Job settings are a resource, not code: every key of the replaced backend's job configuration
(`max_tracked_players`, `max_new_matches_per_player`, `unanalyzed_players_per_run`,
`min_smurf_confidence`, `ban_check_days`) has an environment variable, and the Launchpad can
override any of them for one run. Each setting is declared once, on `RiotSettingsResource`: the
variables (`RIOT_<NAME>`) and the plain values a run hands its flows (`RiotJobSettings`) are
derived from its fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import make_dataclass
from typing import Any

from dagster import ConfigurableResource

from resources.env import env_int_or, env_or, postgres_from_env
from resources.postgres import PostgresResource
from resources.riot.api import SANDBOX_BASE_URL, SANDBOX_KEY, RiotApiResource
from resources.riot.rate_limit import DEV_APP_LIMITS

# match-v5 lists at most this many match ids per request: a per-run count above it is cut to it
MATCH_PAGE = 100


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
        """This run's settings as plain values (what `assets/riot/flows.py` is handed): the
        numbers kept as text read as numbers, match counts cut to one page, the confidence
        checked."""
        confidence = float(self.min_smurf_confidence)
        if not 0 <= confidence <= 1:
            raise ValueError(f"RIOT_MIN_SMURF_CONFIDENCE must be within [0, 1], got {confidence}")
        plain = {name: getattr(self, name) for name in type(self).model_fields}
        plain |= {
            "min_smurf_confidence": confidence,
            "ban_check_days": float(self.ban_check_days),
            "max_bad_match_share": float(self.max_bad_match_share),
            "max_new_matches_per_player": min(MATCH_PAGE, self.max_new_matches_per_player),
            "analysis_match_count": min(MATCH_PAGE, self.analysis_match_count),
        }
        return RiotJobSettings(**plain)


# The settings a run reads as numbers though the resource keeps them as text.
NUMBERS_AS_TEXT = ("min_smurf_confidence", "ban_check_days", "max_bad_match_share")

RiotJobSettings = make_dataclass(
    "RiotJobSettings",
    [
        (name, float if name in NUMBERS_AS_TEXT else field.annotation)
        for name, field in RiotSettingsResource.model_fields.items()
    ],
    frozen=True,
    namespace={
        "__doc__": "One run's settings as plain, frozen values, one per field of "
        "`RiotSettingsResource` (its `values()` builds them; re-read on every run).",
        "__module__": __name__,
    },
)


def build_resources(
    *,
    database: PostgresResource,
    api_key: str = SANDBOX_KEY,
    base_url_template: str = SANDBOX_BASE_URL,
    app_rate_limits: str = DEV_APP_LIMITS,
    settings: Mapping[str, Any] | None = None,
) -> dict[str, object]:
    """The riot code location's resources: `riot_db` (the riot tables and the shared rate limit),
    `riot_api` (the Riot API with `api_key` at `base_url_template`, a `{host}` placeholder;
    `app_rate_limits` until the API announces its own) and `riot_settings` (`settings` by field
    name; unnamed ones keep their defaults)."""
    return {
        "riot_db": database,
        "riot_api": RiotApiResource(
            api_key=api_key,
            base_url_template=base_url_template,
            app_rate_limits=app_rate_limits,
            database=database,
        ),
        "riot_settings": RiotSettingsResource(**(settings or {})),
    }


def resources_from_env() -> dict[str, object]:
    """`build_resources` from the environment: `riot_db` at RIOT_DATABASE_URL, else POSTGRES_URL,
    else the embedded server; RIOT_API_KEY, RIOT_API_BASE_URL, RIOT_APP_RATE_LIMITS; and every
    setting but the stage budgets (Launchpad config) from `RIOT_<NAME>`, e.g.
    RIOT_MAX_TRACKED_PLAYERS. Unset variables leave the embedded defaults (the sandbox)."""
    return build_resources(
        database=postgres_from_env("RIOT_DATABASE_URL"),
        api_key=env_or("RIOT_API_KEY", SANDBOX_KEY),
        base_url_template=env_or("RIOT_API_BASE_URL", SANDBOX_BASE_URL),
        app_rate_limits=env_or("RIOT_APP_RATE_LIMITS", DEV_APP_LIMITS),
        settings={
            name: (env_int_or if field.annotation is int else env_or)(
                f"RIOT_{name.upper()}", field.default
            )
            for name, field in RiotSettingsResource.model_fields.items()
            if not name.endswith("_budget_seconds")
        },
    )
