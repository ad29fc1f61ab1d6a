"""Dagster instance plumbing, named by `dagster.yaml` and the deployment files rather than bound
as resources: the run launcher, the heavy jobs' executor, the Celery workers' app."""
