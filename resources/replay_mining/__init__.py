"""replay_mining's resources: the stats server and the replay files it points to
(`stats_api.py`), and the pipeline's settings and resource wiring (`settings.py`)."""
