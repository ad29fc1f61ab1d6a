"""Each partition its own record, for an asset that fills several partitions in one run
(`BackfillPolicy.single_run()`): a range of days is one run, and still every day gets its own
materialization, with its own metadata and its own check results, recorded when it is published.

What Dagster 1.13 does by itself: when the step ends it writes one materialization per partition
of the run, all with the step's one `MaterializeResult` metadata (dagster-io/dagster#21072). So:

- each partition's metadata goes to its own event (`context.add_asset_metadata(...,
  partition_key=...)`), which makes the records Dagster writes at the step's end right;
- in a run of several partitions, a partition is also recorded the moment it is published (a
  yielded `AssetMaterialization(partition=...)`): the UI shows the day done while the run goes on,
  and a run that fails on a later day leaves the days it published recorded. Dagster's own record
  at the step's end follows with the same metadata (1.13 cannot skip it), so such a day shows two
  materializations of the run; the last day is published just before the step ends and has one.
- per-partition checks (`AssetCheckSpec(..., partitions_def=...)`) are evaluated per partition,
  each against that partition's latest materialization, so the UI shows each day's check current.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetCheckResult,
    AssetExecutionContext,
    AssetMaterialization,
    AssetRecordsFilter,
    Failure,
    MaterializeResult,
    Output,
)

# Not exported by dagster 1.13: `AssetCheckResult` fills it the same way for a one-partition step.
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)


@dataclass(frozen=True)
class Published:
    """What publishing one partition did: its own metadata and its checks' results."""

    metadata: Mapping[str, Any]
    checks: Sequence[AssetCheckResult] = ()


class PartitionRejected(Exception):
    """A partition its blocking checks refused, so nothing was published: its check results are
    recorded, then `failure` fails the step."""

    def __init__(self, failure: Failure, checks: Sequence[AssetCheckResult]):
        super().__init__(failure.description)
        self.failure, self.checks = failure, list(checks)


def record_each_partition(
    context: AssetExecutionContext, keys: Sequence[str], publish: Callable[[str], Published]
) -> Iterator:
    """Publish the partitions `keys` one after the other (`publish(key)`) and record each as it
    is published; then the step's result and every partition's check results. When a partition
    fails, those already published keep their records and check results."""
    records = _Records(context, keys)
    for key in keys:
        try:
            published = publish(key)
        except PartitionRejected as rejected:
            yield from records.check_evaluations()
            yield from records.evaluate(key, rejected.checks, target=None)
            raise rejected.failure from rejected.__cause__
        except Exception:
            yield from records.check_evaluations()
            raise
        yield from records.published(key, published)
    yield MaterializeResult()
    yield from records.check_evaluations()
    yield from records.check_outputs()


class _Records:
    def __init__(self, context: AssetExecutionContext, keys: Sequence[str]):
        self.context = context
        # Only a run of several partitions needs a record before the step's end.
        self.early = set(keys[:-1])
        self.pending: dict[str, list[AssetCheckResult]] = {}
        self.reported: set[AssetCheckKey] = set()

    def published(self, key: str, published: Published) -> Iterator[AssetMaterialization]:
        self.context.add_asset_metadata(dict(published.metadata), partition_key=key)
        self.pending[key] = list(published.checks)
        if key in self.early:
            yield AssetMaterialization(
                asset_key=self.context.asset_key, partition=key, metadata=published.metadata
            )

    def check_evaluations(self) -> Iterator[AssetCheckEvaluation]:
        """The published partitions' check results, each against its latest materialization."""
        pending, self.pending = self.pending, {}
        if not any(pending.values()):
            return
        latest = self._latest_materializations(list(pending))
        for key, checks in pending.items():
            yield from self.evaluate(key, checks, latest.get(key))

    def evaluate(self, key: str, checks, target) -> Iterator[AssetCheckEvaluation]:
        asset_key = self.context.asset_key
        for result in checks:
            check_key = AssetCheckKey(asset_key, result.check_name)
            if check_key not in self.context.selected_asset_check_keys:
                continue
            spec = self.context.assets_def.get_spec_for_check_key(check_key)
            self.reported.add(check_key)
            yield AssetCheckEvaluation(
                asset_key=asset_key,
                check_name=result.check_name,
                passed=result.passed,
                metadata=result.metadata,
                severity=result.severity,
                description=result.description,
                blocking=spec.blocking,
                partition=key if spec.partitions_def is not None else None,
                target_materialization_data=target,
            )

    def check_outputs(self) -> Iterator[Output]:
        """The outputs of the checks reported (Dagster requires one per selected check)."""
        for check_key in sorted(self.reported, key=str):
            name = self.context.assets_def.get_output_name_for_asset_check_key(check_key)
            yield Output(None, output_name=name)

    def _latest_materializations(
        self, keys: list[str]
    ) -> dict[str, AssetCheckEvaluationTargetMaterializationData]:
        """This run's newest materialization of each partition in `keys`, one query."""
        records = self.context.instance.fetch_materializations(
            AssetRecordsFilter(asset_key=self.context.asset_key, asset_partitions=keys),
            limit=2 * len(keys),  # at most two of this run per partition, newest first
        ).records
        latest: dict[str, AssetCheckEvaluationTargetMaterializationData] = {}
        for record in records:
            if record.run_id == self.context.run_id and record.partition_key not in latest:
                latest[record.partition_key] = AssetCheckEvaluationTargetMaterializationData(
                    storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp
                )
        return latest
