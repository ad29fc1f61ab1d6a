"""The asset `rps/model_cache`: the served models in the lake, one directory per (family, alias)
model with its alias markers, synced to what the registry names now (plan in `cache.py`)."""

import tempfile
from pathlib import Path

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.catalog import lake_metadata, uri_metadata
from assets.common import metadata_table
from assets.rps import cache as cache_logic
from assets.rps.modeling import ALIASES, FAMILIES
from assets.rps.spec import MODEL_CACHE_PREFIX, SPEC, TRAINING_FRESHNESS
from resources.lake import LakeResource
from resources.rps.model_registry import MlflowRegistryResource


@asset(
    **SPEC.asset_args(
        kinds={"s3", "mlflow"},
        code_version="1",
        freshness_policy=TRAINING_FRESHNESS,
        metadata=lake_metadata(None, f"{MODEL_CACHE_PREFIX}/<mlflow run id>/"),
        check_specs=[
            AssetCheckSpec(
                "twelve_models",
                asset=SPEC.key("model_cache"),
                description="Exactly one complete directory per served (family, alias) model, "
                "12 in all, each with its alias marker, and nothing else under the prefix.",
            )
        ],
    ),
    deps=[SPEC.key("model_promotion")],
)
def model_cache(
    context: AssetExecutionContext,
    mlflow_registry: MlflowRegistryResource,
    lake: LakeResource,
) -> MaterializeResult:
    """The served models in the lake under rps/model_cache/: exactly one directory per
    (family, alias) model, named by its MLflow run id, with `.alias_<alias>` markers; anything
    else under the prefix is removed (the old `sync_promoted_models_to_minio.py --clean`)."""
    registry = mlflow_registry.registry()
    registry.check()
    desired = []
    for family in FAMILIES:
        for alias, m in sorted(registry.aliases(family, ALIASES).items()):
            desired.append(
                cache_logic.CacheEntry(
                    family, alias, registry.registered_name(family), m.version, m.run_id
                )
            )
    store = lake.lake
    prefix = MODEL_CACHE_PREFIX + "/"
    existing = [info.key[len(prefix) :] for info in store.list(prefix)]
    plan = cache_logic.plan_sync(desired, existing)
    uploaded_bytes = 0
    for entry in plan.upload_runs:
        with tempfile.TemporaryDirectory(prefix="rps-cache-") as tmp:
            local = registry.download_model(entry.family, entry.version, Path(tmp))
            files = sorted(p for p in local.rglob("*") if p.is_file())
            # MLmodel last: its presence is what marks a directory complete
            files.sort(key=lambda p: p.name == cache_logic.COMPLETE_FILE)
            for file in files:
                key = f"{prefix}{entry.run_id}/{file.relative_to(local).as_posix()}"
                store.upload_file(file, key)
                uploaded_bytes += file.stat().st_size
    for key, body in plan.markers.items():
        store.write_bytes(prefix + key, body)
    for key in plan.delete:
        store.delete(prefix + key)
    final = [info.key[len(prefix) :] for info in store.list(prefix)]
    problems = cache_logic.invariant_problems(final, desired)
    expected = len(FAMILIES) * len(ALIASES)
    if len(desired) != expected:
        problems.append(f"the registry names {len(desired)} served models, expected {expected}")
    return MaterializeResult(
        metadata={
            "prefix": MetadataValue.path(store.uri(MODEL_CACHE_PREFIX)),
            **uri_metadata(store.uri(MODEL_CACHE_PREFIX)),
            "model_directories": len({k.partition("/")[0] for k in final}),
            "uploaded_models": len(plan.upload_runs),
            "uploaded_bytes": uploaded_bytes,
            "deleted_objects": len(plan.delete),
            "markers": metadata_table(
                [
                    {"family": e.family, "alias": e.alias, "version": e.version, "run": e.run_id}
                    for e in desired
                ]
            ),
        },
        check_results=[
            AssetCheckResult(
                check_name="twelve_models",
                passed=not problems,
                description="; ".join(problems) or f"exactly {expected} models and their markers",
            )
        ],
    )
