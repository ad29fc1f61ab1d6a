"""Prometheus metrics of the rps pipeline: a textfile a node-exporter/Alloy collector reads
(`RPS_METRICS_TEXTFILE`, default `data/metrics/rps.prom`), optionally pushed to a Pushgateway
(`RPS_PUSHGATEWAY_URL`). Totals are recomputed from the games store each time, so they survive
restarts (the old app's counters reset with every restart).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from dagster import ConfigurableResource
from prometheus_client import CollectorRegistry, Counter, Gauge, push_to_gateway, write_to_textfile

log = logging.getLogger(__name__)


@dataclass
class RpsMetrics:
    promotion_events: dict[tuple[str, str], int] = field(default_factory=dict)  # (model, decision)
    decision_state: dict[tuple[str, str], int] = field(default_factory=dict)
    z_statistic: dict[str, float] = field(default_factory=dict)
    p_value: dict[str, float] = field(default_factory=dict)
    alias_rank: dict[tuple[str, str], int] = field(default_factory=dict)  # (model, alias)
    alias_reorders: dict[str, int] = field(default_factory=dict)
    games_since_swap: dict[tuple[str, str], int] = field(default_factory=dict)
    cycles_since_swap: dict[str, int] = field(default_factory=dict)
    fallbacks: dict[tuple[str, str], int] = field(default_factory=dict)  # (model, reason)


# (metric class, name, help, labels, the RpsMetrics field holding its values)
METRICS = [
    (Counter, "rps_model_promotion_events", "Promotion decisions", ["model", "decision"], "promotion_events"),
    (Gauge, "rps_model_promotion_decision_state", "1 for the latest decision", ["model", "decision"], "decision_state"),
    (Gauge, "rps_model_promotion_z_statistic", "B vs Production z (display only)", ["model"], "z_statistic"),
    (Gauge, "rps_model_promotion_p_value", "B vs Production p value (display only)", ["model"], "p_value"),
    (Gauge, "rps_model_alias_rank", "Accuracy rank of the model each alias holds (1 best)", ["model", "alias"], "alias_rank"),
    (Counter, "rps_model_alias_reorders", "Challenger re-rankings", ["model"], "alias_reorders"),
    (Gauge, "rps_model_games_since_production_swap", "Games since the last swap", ["model", "alias"], "games_since_swap"),
    (Gauge, "rps_model_promotion_cycles_since_swap", "Promotion cycles since the last swap", ["model"], "cycles_since_swap"),
    (Counter, "rps_model_fallback", "Games served by the frequency baseline", ["model", "reason"], "fallbacks"),
]  # fmt: skip


def build_registry(metrics: RpsMetrics) -> CollectorRegistry:
    registry = CollectorRegistry()
    for kind, name, help_text, labels, attribute in METRICS:
        metric = kind(name, help_text, labels, registry=registry)
        for key, value in getattr(metrics, attribute).items():
            child = metric.labels(*key) if isinstance(key, tuple) else metric.labels(key)
            if kind is Counter:
                child.inc(value)
            else:
                child.set(value)
    return registry


class RpsMetricsResource(ConfigurableResource):
    textfile_path: str = "data/metrics/rps.prom"
    pushgateway_url: str | None = None

    def publish(self, metrics: RpsMetrics) -> str:
        """Write the textfile atomically (and push when a gateway is set); returns the path."""
        registry = build_registry(metrics)
        path = Path(self.textfile_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_to_textfile(str(path), registry)
        if self.pushgateway_url:
            try:
                push_to_gateway(self.pushgateway_url, job="rps", registry=registry, timeout=10)
            except OSError as exc:  # the textfile is written; a push failure must not undo a run
                log.warning("could not push rps metrics to the Pushgateway: %s", exc)
        return str(path)
