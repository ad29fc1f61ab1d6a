"""The rps pipeline's resources: the games store, the MLflow model registry, the Prometheus
metrics and its training settings."""
