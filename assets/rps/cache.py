"""The model cache: exactly one directory per served model (3 families x 4 aliases = 12), named by
its MLflow run id, each with `.alias_<alias>` marker files naming who serves it. Everything else
under the cache prefix is removed.

A directory counts as present once its `MLmodel` file is there; the sync uploads `MLmodel` last,
so an interrupted upload is finished by the next sync instead of being trusted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

COMPLETE_FILE = "MLmodel"
MARKER_PREFIX = ".alias_"


@dataclass(frozen=True)
class CacheEntry:
    family: str
    alias: str
    registered_name: str
    version: str
    run_id: str

    def marker_key(self) -> str:
        return f"{self.run_id}/{MARKER_PREFIX}{self.alias}"

    def marker_body(self) -> bytes:
        return json.dumps(
            {
                "family": self.family,
                "alias": self.alias,
                "registered_model": self.registered_name,
                "version": self.version,
                "run_id": self.run_id,
            },
            sort_keys=True,
        ).encode()


@dataclass
class CachePlan:
    upload_runs: list[CacheEntry] = field(default_factory=list)  # one entry per run to upload
    markers: dict[str, bytes] = field(default_factory=dict)  # key -> body, written every sync
    delete: list[str] = field(default_factory=list)


def plan_sync(desired: Iterable[CacheEntry], existing_keys: Iterable[str]) -> CachePlan:
    """What to upload, (re)write and delete so the cache holds exactly `desired`.

    Keys are relative to the cache prefix.
    """
    desired = list(desired)
    existing = set(existing_keys)
    runs = {e.run_id: e for e in desired}
    plan = CachePlan()
    for run_id, entry in sorted(runs.items()):
        if f"{run_id}/{COMPLETE_FILE}" not in existing:
            plan.upload_runs.append(entry)
    plan.markers = {e.marker_key(): e.marker_body() for e in desired}
    for key in sorted(existing):
        run_id, _, name = key.partition("/")
        if run_id not in runs or not name:
            plan.delete.append(key)  # an old model, a stray file at the top
        elif name.startswith(MARKER_PREFIX) and key not in plan.markers:
            plan.delete.append(key)  # a marker for an alias this model no longer serves
    return plan


def invariant_problems(existing_keys: Iterable[str], desired: Iterable[CacheEntry]) -> list[str]:
    """Differences between the cache's contents and exactly the desired directories and markers."""
    desired = list(desired)
    keys = set(existing_keys)
    problems = []
    runs = {k.partition("/")[0] for k in keys}
    wanted_runs = {e.run_id for e in desired}
    if runs != wanted_runs:
        extra, missing = sorted(runs - wanted_runs), sorted(wanted_runs - runs)
        problems.append(f"directories differ: extra {extra}, missing {missing}")
    for run_id in sorted(wanted_runs & runs):
        if f"{run_id}/{COMPLETE_FILE}" not in keys:
            problems.append(f"{run_id}: incomplete (no {COMPLETE_FILE})")
    markers = {k for k in keys if k.partition("/")[2].startswith(MARKER_PREFIX)}
    wanted_markers = {e.marker_key() for e in desired}
    if markers != wanted_markers:
        problems.append(
            f"markers differ: extra {sorted(markers - wanted_markers)}, "
            f"missing {sorted(wanted_markers - markers)}"
        )
    return problems
