"""The rps pipeline's resources: the games store, the MLflow model registry, the Prometheus
metrics, and its settings (`settings.py`: `build_resources(...)`, `resources_from_env()`)."""
