"""The Riot API as a Dagster resource: configuration (key, base URL, limits) -> a `RiotClient`.

The client itself (`resources/riot/client.py`) has no Dagster import, so worker processes and the
benchmark start fast.
"""

from __future__ import annotations

from collections.abc import Callable

from dagster import ConfigurableResource

from resources.postgres import PostgresResource
from resources.riot.client import (
    SANDBOX_BASE_URL,
    SANDBOX_KEY,
    RateBudgetExhausted,
    RiotApiError,
    RiotClient,
    RiotKeyRejected,
)
from resources.riot.rate_limit import DEV_APP_LIMITS, PostgresRateLimiter

__all__ = [
    "SANDBOX_BASE_URL",
    "SANDBOX_KEY",
    "RateBudgetExhausted",
    "RiotApiError",
    "RiotApiResource",
    "RiotClient",
    "RiotKeyRejected",
]


class RiotApiResource(ConfigurableResource):
    """The Riot API. `RIOT_API_KEY` (sent as `X-Riot-Token`), `RIOT_API_BASE_URL` with a `{host}`
    placeholder (default: the bundled sandbox on 127.0.0.1:8702; production
    `https://{host}.api.riotgames.com`). The shared rate limit lives in `database`."""

    api_key: str = SANDBOX_KEY
    base_url_template: str = SANDBOX_BASE_URL
    database: PostgresResource
    app_rate_limits: str = DEV_APP_LIMITS  # used until the API announces its own
    limit_margin_seconds: float = 0.5
    timeout_seconds: float = 10.0
    max_attempts: int = 4

    def client(
        self, deadline: float | None = None, say: Callable[[str], None] | None = None
    ) -> RiotClient:
        """A client; `say` (a step's `context.log.info`) hears of long rate-limit waits."""
        limiter = PostgresRateLimiter(
            self.database.resolved_url(),
            self.api_key,
            margin=self.limit_margin_seconds,
            app_defaults=self.app_rate_limits,
            variable=self.database.variable,
            say=say,
        )
        return RiotClient(
            self.api_key,
            limiter,
            base_url_template=self.base_url_template,
            timeout=self.timeout_seconds,
            max_attempts=self.max_attempts,
            deadline=deadline,
        )
