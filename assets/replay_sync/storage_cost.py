"""What the replay bucket costs per month at the runbook's list prices (decimal GB, as billed)."""

from __future__ import annotations

from dataclasses import dataclass

GB = 1_000_000_000


@dataclass(frozen=True)
class Pricing:
    provider: str
    storage_per_gb_month: float
    egress_per_gb: float


# The runbook's storage comparison table.
PRICES = (
    Pricing("Backblaze B2", 0.005, 0.01),
    Pricing("Cloudflare R2", 0.015, 0.0),
    Pricing("AWS S3", 0.023, 0.09),
)


def monthly_costs(total_bytes: int, pulls_per_month: float = 30.0) -> list[dict]:
    """Storage plus egress when every training machine pulls the whole set `pulls_per_month`
    times (the runbook's pods pull on start-up; 30 = one full pull a day)."""
    gigabytes = total_bytes / GB
    rows = []
    for price in PRICES:
        storage = gigabytes * price.storage_per_gb_month
        egress = gigabytes * price.egress_per_gb * pulls_per_month
        rows.append(
            {
                "provider": price.provider,
                "storage_usd": round(storage, 4),
                "egress_usd": round(egress, 4),
                "total_usd": round(storage + egress, 4),
            }
        )
    return rows


def usage_table(usage: dict[str, tuple[int, int]]) -> list[dict]:
    """Rows of folder, objects, bytes, GB, sorted by folder, with a total row last."""
    rows = [
        {"folder": name, "objects": objects, "bytes": size, "gb": round(size / GB, 6)}
        for name, (objects, size) in sorted(usage.items())
    ]
    total_objects = sum(r["objects"] for r in rows)
    total_bytes = sum(r["bytes"] for r in rows)
    rows.append(
        {
            "folder": "total",
            "objects": total_objects,
            "bytes": total_bytes,
            "gb": round(total_bytes / GB, 6),
        }
    )
    return rows
