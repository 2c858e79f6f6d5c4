"""Helpers to scrape a registry or an app and read values back through the client library's parser.

    families = scrape(registry)                      # {name: Metric}, parsed from the text format
    value(families, "longrun_probe_success", type="outbound")
"""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry
from prometheus_client.samples import Sample

from exporter.metrics.collector import build_registry
from exporter.metrics.sources import MetricSources
from exporter.metrics.refresh import RefreshLoop, RefreshPlan
from exporter.runtime import Runtime

EVERY_TICK = RefreshPlan(heartbeats=1, open_incidents=1, probes=1, recent_incidents=1, rollups=1)


def parse(text: str) -> dict:
    return {family.name: family for family in text_string_to_metric_families(text)}


def scrape(registry: CollectorRegistry) -> dict:
    return parse(generate_latest(registry).decode())


def samples(families: dict, sample_name: str) -> list[Sample]:
    return [s for family in families.values() for s in family.samples if s.name == sample_name]


def value(families: dict, sample_name: str, **labels: str) -> float:
    found = [s.value for s in samples(families, sample_name) if s.labels == labels]
    assert len(found) == 1, f"{sample_name}{labels}: {len(found)} samples in {samples(families, sample_name)}"
    return found[0]


class Exporter:
    """A runtime's refresh loop and registry, as /metrics serves them, without HTTP."""

    def __init__(self, runtime: Runtime, plan: RefreshPlan = EVERY_TICK) -> None:
        self.runtime = runtime
        self.refresh = RefreshLoop(runtime, plan)
        self.registry = build_registry(MetricSources.of(runtime), self.refresh)

    def scrape(self) -> dict:
        return scrape(self.registry)
