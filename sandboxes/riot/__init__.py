"""A sandbox of the Riot Games API for the demo, the tests and the benchmark, served over real
HTTP: the data world (`world.py`), the rate windows and injected faults (`limits.py`), and the
WSGI app that routes, answers and applies them (`app.py`; standalone:
`python -m sandboxes.riot.app --port 8702`)."""
