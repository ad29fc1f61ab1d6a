"""The analytics assets: the observed span source (`execution_spans`), the hourly and daily
rollups (`hourly_analytics`, `daily_analytics`, `model_usage_stats`, made by `rollup.py`) and the
activity summary view (`recent_activity_summary`); one asset per module, named after it.

Thin wiring: the SQL lives in `resources.analytics` (`source_schema`, `rollup_migrations`,
`rollup_queries`), the I/O in `resources.analytics.database`.
"""
