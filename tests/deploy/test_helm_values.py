"""deploy/helm/values.yaml holds only keys the official Dagster chart documents and renders, and
the dagster.yaml the chart writes from it keeps the limits of deploy/dagster.yaml and
dagster_home/dagster.yaml (one set of limits everywhere).

No helm binary, no chart archive and no values.schema.json of the 1.13.27 chart can be had on
this machine (the network reaches PyPI, Debian and npm; none carries the chart). So the chart's
rules are written down here from reading its source (dagster-io/dagster, helm/dagster):
`schema/schema/charts/dagster/values.py` and `subschema/daemon.py` for the keys it takes, and
`templates/configmap-instance.yaml` with `templates/helpers/instance/_run-coordinator.tpl` for
what it writes from them. The reason this matters: the chart's schema types `runMonitoring` and
`runRetries` as free-form maps, so a key its template never writes (`maxRuntimeSeconds`,
`retryOnAssetOrOpFailure`) validates and silently does nothing.
"""

from __future__ import annotations

import yaml

from deploy.local import REPO
from tests.deploy.test_deploy_files import validate_instance

DEPLOY = REPO / "deploy"
VALUES = yaml.safe_load((DEPLOY / "helm/values.yaml").read_text())

# The chart's top-level values (DagsterHelmValues).
CHART_VALUES = {
    "dagsterWebserver", "dagster-user-deployments", "postgresql", "generatePostgresqlPasswordSecret",
    "generateCeleryConfigSecret", "rabbitmq", "redis", "flower", "ingress", "imagePullSecrets",
    "computeLogManager", "scheduler", "runLauncher", "pythonLogs", "dagsterDaemon", "busybox",
    "migrate", "telemetry", "serviceAccount", "global", "retention", "concurrency",
    "additionalInstanceConfig",
}  # fmt: skip
# What configmap-instance.yaml writes from dagsterDaemon.runMonitoring / .runRetries.
RENDERED_RUN_MONITORING = {
    "enabled": "enabled",
    "startTimeoutSeconds": "start_timeout_seconds",
    "cancelTimeoutSeconds": "cancel_timeout_seconds",
    "maxResumeRunAttempts": "max_resume_run_attempts",
    "pollIntervalSeconds": "poll_interval_seconds",
    "freeSlotsAfterRunEndSeconds": "free_slots_after_run_end_seconds",
}
RENDERED_RUN_RETRIES = {"enabled": "enabled", "maxRetries": "max_retries"}
# The sections of dagster.yaml one set of limits lives in.
LIMITS = ("concurrency", "run_monitoring", "run_retries")


def render_instance(values: dict) -> tuple[dict, list[str]]:
    """The dagster.yaml the chart writes, for the parts these values use, and the top-level keys
    it would write twice (additionalInstanceConfig repeating a section the chart writes itself:
    the second silently wins when the YAML is read)."""
    daemon, pg = values["dagsterDaemon"], values["postgresql"]
    postgres = {
        "postgres_db": {
            "username": pg["postgresqlUsername"],
            "password": {"env": "DAGSTER_PG_PASSWORD"},
            "hostname": pg["postgresqlHost"],
            "db_name": pg["postgresqlDatabase"],
            "port": pg["service"]["port"],
            "params": pg.get("postgresqlParams", {}),
            "scheme": pg.get("postgresqlScheme", "postgresql"),
        }
    }
    k8s = values["runLauncher"]["config"]["k8sRunLauncher"]
    instance: dict = {
        "scheduler": {"module": "dagster.core.scheduler", "class": "DagsterDaemonScheduler"},
        **{
            f"{kind}_storage": {
                "module": f"dagster_postgres.{module}",
                "class": cls,
                "config": postgres,
            }
            for kind, module, cls in (
                ("schedule", "schedule_storage", "PostgresScheduleStorage"),
                ("run", "run_storage", "PostgresRunStorage"),
                ("event_log", "event_log", "PostgresEventLogStorage"),
            )
        },
        "run_launcher": {
            "module": "dagster_k8s",
            "class": values["runLauncher"]["type"],
            "config": {
                "image_pull_policy": k8s["imagePullPolicy"],
                "env_secrets": [s["name"] for s in k8s["envSecrets"]],
                "run_k8s_config": {"container_config": k8s["runK8sConfig"]["containerConfig"]},
                # what the chart adds itself
                "instance_config_map": "asset-graph-dagster-instance",
                "postgres_password_secret": values["global"]["postgresqlSecretName"],
                "dagster_home": "/opt/dagster/dagster_home",
                "load_incluster_config": True,
                "service_account_name": "asset-graph-dagster",
                "job_namespace": "default",
            },
        },
        "compute_logs": {
            "module": "dagster_aws.s3.compute_log_manager",
            "class": values["computeLogManager"]["type"],
            "config": {
                _snake(k): v
                for k, v in values["computeLogManager"]["config"]["s3ComputeLogManager"].items()
            },
        },
        "telemetry": values["telemetry"],
    }
    coordinator = daemon["runCoordinator"]
    if coordinator["enabled"]:
        assert coordinator["type"] == "CustomRunCoordinator", "only the custom form is modelled"
        custom = coordinator["config"]["customRunCoordinator"]
        instance["run_coordinator"] = {k: custom[k] for k in ("module", "class", "config")}
    if daemon["runMonitoring"]["enabled"]:
        instance["run_monitoring"] = {
            RENDERED_RUN_MONITORING[k]: v for k, v in daemon["runMonitoring"].items()
        }
    if daemon["runRetries"]["enabled"]:
        instance["run_retries"] = {
            RENDERED_RUN_RETRIES[k]: v for k, v in daemon["runRetries"].items()
        }
    assert not values["concurrency"]["enabled"], "the chart's concurrency rendering is not modelled"
    extra = values.get("additionalInstanceConfig") or {}
    twice = sorted(set(extra) & set(instance))
    return {**instance, **extra}, twice


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def test_the_values_use_only_keys_the_chart_documents_and_renders():
    assert set(VALUES) <= CHART_VALUES, set(VALUES) - CHART_VALUES
    daemon = VALUES["dagsterDaemon"]
    unrendered = set(daemon["runMonitoring"]) - set(RENDERED_RUN_MONITORING)
    assert not unrendered, f"dagsterDaemon.runMonitoring keys the chart never writes: {unrendered}"
    unrendered = set(daemon["runRetries"]) - set(RENDERED_RUN_RETRIES)
    assert not unrendered, f"dagsterDaemon.runRetries keys the chart never writes: {unrendered}"


def test_the_model_catches_a_key_the_chart_drops():
    """The check above can fail: today's values before this change had exactly these keys."""
    old = {"enabled": True, "maxRuntimeSeconds": 86400}
    assert set(old) - set(RENDERED_RUN_MONITORING) == {"maxRuntimeSeconds"}
    doubled = {
        **VALUES,
        "dagsterDaemon": {**VALUES["dagsterDaemon"], "runRetries": {"enabled": True}},
    }
    assert render_instance(doubled)[1] == ["run_retries"]


def test_the_instance_the_chart_writes_validates(tmp_path):
    instance, twice = render_instance(VALUES)
    assert twice == [], f"written twice: {twice}"
    storage = instance.pop("run_storage")["config"]
    for kind in ("schedule_storage", "event_log_storage"):
        assert instance.pop(kind)["config"] == storage
    validate_instance({**instance, "storage": {"postgres": storage}}, tmp_path)
    assert storage["postgres_db"]["scheme"] == "postgresql+psycopg2"


def test_one_set_of_limits_in_every_instance():
    helm, _ = render_instance(VALUES)
    production = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    local = yaml.safe_load((REPO / "dagster_home/dagster.yaml").read_text())
    for section in LIMITS:
        assert local[section] == production[section], section
    assert helm["concurrency"] == production["concurrency"]
    assert helm["run_retries"] == production["run_retries"]
    # a run pod may wait for its image and a node: the one difference, and only that
    monitoring = {**helm["run_monitoring"], "start_timeout_seconds": None}
    assert monitoring == {**production["run_monitoring"], "start_timeout_seconds": None}
    assert helm["run_coordinator"] == production["run_coordinator"]
    # compose runs the image, whose instance is deploy/dagster.yaml as it is
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert 'cp deploy/dagster.yaml "$DAGSTER_HOME/dagster.yaml"' in dockerfile
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert "DAGSTER_HOME" not in compose["x-dagster"]["environment"]
