"""The riot pipeline's resources: the Riot API client and its resource, the rate limit shared in
PostgreSQL, routing values, the riot tables, and the settings (`settings.py`: `build_resources`
and `resources_from_env`).

No import here: the client and the limiter have no Dagster import, so worker processes and the
benchmark that use them start fast."""
