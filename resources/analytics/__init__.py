"""The analytics pipeline's resources: the span and rollup databases (`database.py`), the SQL they
run (`source_schema.py`, `rollup_migrations.py`, `rollup_queries.py`), UTC windows (`windows.py`)
and the one way to configure them (`settings.py`)."""
