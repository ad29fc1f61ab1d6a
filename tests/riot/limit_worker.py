"""A process that calls the sandbox as fast as its limiter lets it (spawned by the limit tests)."""

import random
import time

from resources.riot.client import RateBudgetExhausted, RiotClient
from resources.riot.rate_limit import InMemoryRateLimiter, PostgresRateLimiter


def hammer(pg_url, base_url, key, puuids, go, seconds, margin, results) -> None:
    """`pg_url` None: an in-memory limiter of this process alone (the baseline)."""
    limiter = (
        PostgresRateLimiter(pg_url, key, margin=margin)
        if pg_url
        else InMemoryRateLimiter("5:1,15:4", margin)
    )
    results.put("ready")
    go.wait(timeout=60)  # both processes start together, whatever their import time
    client = RiotClient(key, limiter, base_url, deadline=time.time() + seconds, max_throttled=1000)
    rng = random.Random()
    try:
        while True:
            client.match_ids("americas", rng.choice(puuids), count=5)
    except RateBudgetExhausted:
        pass
    finally:
        client.close()
    results.put({"requests": client.requests_made, "throttled": client.throttled})
