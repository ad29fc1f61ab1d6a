"""Small pieces every pipeline's assets share: the skipped-input ledger and its threshold, and
the deployment's backfill policy."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field

from dagster import BackfillPolicy, Failure, MetadataValue

BACKFILL_VARIABLE = "BACKFILL_MAX_PARTITIONS_PER_RUN"


def deployment_backfill_policy() -> BackfillPolicy:
    """A range of days as one run (laptop: one process start, not 365), or, with
    BACKFILL_MAX_PARTITIONS_PER_RUN=N, runs of at most N days that the run queue spreads over
    run workers. Read when the code location loads: a backfill is planned from the definitions."""
    value = os.environ.get(BACKFILL_VARIABLE, "").strip()
    if not value:
        return BackfillPolicy.single_run()
    if not value.isdigit() or int(value) < 1:
        raise ValueError(
            f"{BACKFILL_VARIABLE}={value!r} is not a whole number of partitions >= 1: set it to "
            "the most days one backfill run may cover (e.g. 7), or unset it for one run per range."
        )
    return BackfillPolicy.multi_run(max_partitions_per_run=int(value))


@dataclass
class SkipLedger:
    """Bad input is named, not fatal: each skipped item is recorded with its reason.

    `enforce(total)` fails the run only when the skipped share exceeds `max_share`; `remedy`
    is the failure message's next step (a pipeline without partitions names its variable).
    """

    what: str = "items"
    max_share: float = 0.05
    remedy: str = (
        "Fix the source or raise the threshold in the run config, then re-run the partition."
    )
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def skip(self, item: str, reason: str) -> None:
        self.skipped.append((item, reason))

    def __len__(self) -> int:
        return len(self.skipped)

    def reasons(self) -> Counter:
        return Counter(reason.split(":")[0] for _, reason in self.skipped)

    def enforce(self, total: int) -> None:
        if total and len(self.skipped) / total > self.max_share:
            raise Failure(
                description=(
                    f"{len(self.skipped)} of {total} {self.what} failed, more than the allowed "
                    f"{self.max_share:.0%}. First reasons: "
                    + "; ".join(f"{item}: {reason}" for item, reason in self.skipped[:5])
                    + ". "
                    + self.remedy
                ),
                metadata=self.as_metadata(),
            )

    def as_metadata(self, limit: int = 50) -> dict:
        rows = "\n".join(f"| {item} | {reason} |" for item, reason in self.skipped[:limit])
        table = f"| {self.what[:-1] if self.what.endswith('s') else self.what} | reason |\n|---|---|\n{rows}"
        return {
            f"skipped_{self.what}": len(self.skipped),
            f"skipped_{self.what}_reasons": MetadataValue.md(table if self.skipped else "none"),
        }
