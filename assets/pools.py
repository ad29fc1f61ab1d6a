"""Pools a step holds while it runs, claimed in the instance's concurrency tables.

Two uses: one writer per partition (replay_mining holds `replay_mining/<day>` for each day a stage
writes) and one shared API quota (riot's stages hold `riot_api`). Dagster's own `pool=` on an
asset cannot serve either: it is keyed by a name fixed on the asset, so it would serialise every
day of a pipeline (and a run-tag limit on `dagster/partition` holds only for queued runs, not for a
range), and in 1.13 its wait computes its sleep as `min(0, ...)` and keeps a core busy. Claims
made here are the same for `dagster asset materialize` runs, queued runs and backfills, shared by
every machine of a deployment (they live in the instance's storage), shown on the UI's
Concurrency page, and freed when a run ends however it ends (`run_monitoring:
free_slots_after_run_end_seconds` in dagster.yaml frees a killed run's slots).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import time
from collections.abc import Callable, Iterator, Sequence

from dagster import AssetExecutionContext

# A waiting step asks again every POLL_SECONDS and sleeps in between; a SIGTERM or Ctrl-C during
# the sleep ends the wait (and frees its place in the queue).
POLL_SECONDS = 1.0
HOLDING, RELEASING = "Holding", "Releasing"  # log lines that bracket the held work


def partition_pools(pipeline: str, partition_keys: list[str]) -> list[str]:
    """The pools a step writing these partitions holds, in one order for every run (no deadlock:
    a run waiting for a day holds no later day)."""
    return [f"{pipeline}/{key}" for key in sorted(set(partition_keys))]


@contextlib.contextmanager
def pools_held(context: AssetExecutionContext, pools: Sequence[str], held: str) -> Iterator[None]:
    """Hold `pools` (claimed in this order) for the duration of the block; wait, sleeping, while
    other runs hold their slots. A pool with no slots set gets one. `held` names them in the log."""
    storage = context.instance.event_log_storage
    if not storage.supports_global_concurrency_limits:  # in-memory test instances
        yield
        return
    run_id, step_key = context.run_id, context.op_execution_context.op_def.name
    try:
        for pool in pools:
            if storage.get_concurrency_info(pool).slot_count == 0:
                storage.set_concurrency_slots(pool, 1)  # a new pool: one holder
            waited_since = None
            while not storage.claim_concurrency_slot(pool, run_id, step_key).is_claimed:
                if waited_since is None:
                    waited_since = time.monotonic()
                    holders = ", ".join(sorted(storage.get_concurrency_info(pool).active_run_ids))
                    context.log.info(f"Waiting for {pool}: run {holders or '?'} holds it")
                time.sleep(POLL_SECONDS)
            if waited_since is not None:
                context.log.info(f"Got {pool} after {time.monotonic() - waited_since:.1f} s")
        context.log.info(f"{HOLDING} {held}")
        yield
    finally:
        context.log.info(f"{RELEASING} {held}")  # before the release: the next holder logs after
        # frees this step's held slots and its place in any queue, also on failure or SIGTERM
        storage.free_concurrency_slot_for_step(run_id, step_key)


@contextlib.contextmanager
def partitions_held(context: AssetExecutionContext, pipeline: str) -> Iterator[None]:
    """Hold the run's partitions for the duration of the block; wait while another run holds one."""
    pools = partition_pools(pipeline, list(context.partition_keys))
    held = pools[0] if len(pools) == 1 else f"{len(pools)} days of {pipeline}"
    with pools_held(context, pools, held):
        yield


def _around(hold: Callable[[AssetExecutionContext], contextlib.AbstractContextManager]):
    def decorate(compute: Callable) -> Callable:
        if inspect.isgeneratorfunction(compute):
            # An asset that yields as it goes (one record per day) holds the pools while Dagster
            # iterates it, not only while the generator is created.
            @functools.wraps(compute)
            def held_while_iterated(context: AssetExecutionContext, *args, **kwargs):
                with hold(context):
                    yield from compute(context, *args, **kwargs)

            return held_while_iterated

        @functools.wraps(compute)
        def held(context: AssetExecutionContext, *args, **kwargs):
            with hold(context):
                return compute(context, *args, **kwargs)

        return held

    return decorate


def one_writer_per_partition(pipeline: str) -> Callable:
    """Decorate an asset's function (below `@asset`) so its body runs inside `partitions_held`."""
    return _around(lambda context: partitions_held(context, pipeline))


def holding_pool(pool: str) -> Callable:
    """Decorate an asset's function (below `@asset`) so its body runs holding `pool`."""
    return _around(lambda context: pools_held(context, [pool], pool))
