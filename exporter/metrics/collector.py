"""The collector behind /metrics: every catalog metric, built from the catalog, read from memory.

    refresh = RefreshLoop(runtime)
    registry = build_registry(MetricSources.of(runtime), refresh)   # one registry per runtime; nothing global
    generate_latest(registry)

A scrape never touches the store: the values come from the service's
``MetricSources`` (a narrow view, not the Runtime), on the refresh loop's clock, and
the refresh loop (``readings.READERS``). A family whose reading raises is left
out of that scrape, logged the first time, and counted in ``collector.errors``;
every other family is served.
"""

from __future__ import annotations

import logging
from collections import Counter
from itertools import product
from typing import Iterable, Mapping, Sequence

from prometheus_client import PlatformCollector, ProcessCollector
from prometheus_client.core import (
    CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, InfoMetricFamily, Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.utils import floatToGoString

from exporter.metrics import catalog
from exporter.metrics.catalog import CATALOG, MetricSpec
from exporter.metrics.readings import READERS, Reader, Reading, Scene
from exporter.metrics.refresh import RefreshLoop
from exporter.metrics.sources import MetricSources


log = logging.getLogger("longrun.metrics")

# The DocumentStore operations InstrumentedStore counts (not in the catalog: they name code, not domain).
STORE_OPERATIONS = ("get", "create", "set", "update", "delete", "query", "count", "batch", "transaction", "ping")

# Label values every series starts from, by label names. Each label tuple is
# used by one kind of metric in the catalog: ("type",) alone only by probes,
# ("type", "severity") only by incidents.
_INITIAL: dict[tuple[str, ...], tuple[tuple[str, ...], ...]] = {
    ("window",): tuple(product(catalog.WINDOWS)),
    ("type",): tuple(product(catalog.PROBE_TYPES)),
    ("type", "result"): tuple(product(catalog.PROBE_TYPES, catalog.PROBE_RESULTS)),
    ("type", "severity"): tuple(product(catalog.INCIDENT_TYPES, catalog.SEVERITIES)),
    ("source",): tuple(product(catalog.INCIDENT_SOURCES)),
    ("severity",): tuple(product(catalog.SEVERITIES)),
    ("outcome",): tuple(product(catalog.CHATOPS_OUTCOMES)),
    ("kind",): tuple(product(catalog.CHATOPS_POLL_ERRORS)),
    ("job",): tuple(product(catalog.JOBS)),
    ("name",): tuple(product(catalog.THRESHOLD_NAMES)),
    ("status",): tuple(product(catalog.ALERT_STATUSES)),
    ("code",): tuple(product(catalog.WEBHOOK_ERROR_CODES)),
    ("result",): tuple(product(catalog.TELEGRAM_RESULTS)),
    ("operation",): tuple(product(STORE_OPERATIONS)),
    ("reason",): tuple(product(catalog.HTTP_CLOSE_REASONS)),
    ("cause",): tuple(product(catalog.HTTP_REFUSAL_CAUSES)),
}


def initial_label_values(spec: MetricSpec) -> tuple[tuple[str, ...], ...]:
    """The label values exported as 0 before anything is known (none for info metrics)."""
    return () if spec.kind == "info" else _INITIAL.get(spec.labels, ())


def empty_family(spec: MetricSpec) -> Metric:
    if spec.kind == "counter":
        return CounterMetricFamily(spec.full_name, spec.help, labels=spec.labels)
    if spec.kind == "info":
        return InfoMetricFamily(spec.full_name, spec.help, labels=())
    if spec.kind == "histogram":
        return HistogramMetricFamily(spec.full_name, spec.help, labels=spec.labels)
    return GaugeMetricFamily(spec.full_name, spec.help, labels=spec.labels)


def family(spec: MetricSpec, reading: Reading) -> Metric:
    """The family of ``spec`` holding ``reading``, labelled series initialised to 0."""
    metric = empty_family(spec)
    if spec.kind == "histogram":
        for values, hist in (reading or {}).items():  # a Mapping of label values -> ack_feed.Histogram
            buckets = [(floatToGoString(bound), count) for bound, count in hist.buckets]  # "60.0", "+Inf"
            metric.add_metric([str(v) for v in values], buckets, hist.total)
    elif spec.kind == "info":
        for values in (reading or {}):
            metric.add_metric([], dict(zip(spec.labels, values, strict=True)))
    elif not spec.labels:
        if reading is not None:
            metric.add_metric([], float(reading))
    else:
        for values, value in _labelled(spec, reading).items():
            metric.add_metric(values, value)
    return metric


def _labelled(spec: MetricSpec, reading: Reading) -> dict[tuple[str, ...], float]:
    if reading is not None and not isinstance(reading, Mapping):
        raise TypeError(f"{spec.full_name} has labels {spec.labels} but its reader returned {reading!r}")
    series = dict.fromkeys(initial_label_values(spec), 0.0)
    for values, value in (reading or {}).items():
        if len(values) != len(spec.labels):
            raise ValueError(f"{spec.full_name}: label values {values!r} do not match labels {spec.labels}")
        series[tuple(str(v) for v in values)] = float(value)
    return series


class LongrunCollector(Collector):
    """Every metric of ``catalog.CATALOG``, read at scrape time from memory only.

        registry = CollectorRegistry()
        registry.register(LongrunCollector(MetricSources.of(runtime), refresh))
        text = generate_latest(registry)
        collector.errors          # Counter {full metric name: scrapes that left it out}
    """

    def __init__(
        self,
        sources: MetricSources,
        refresh: RefreshLoop,
        *,
        specs: Sequence[MetricSpec] = CATALOG,
        readers: Mapping[str, Reader] = READERS,
    ) -> None:
        missing = [spec.name for spec in specs if spec.name not in readers]
        if missing:
            raise ValueError(f"no reader for catalog metrics {missing}")
        self.sources, self.refresh = sources, refresh
        self.specs, self.readers = tuple(specs), readers
        self.errors: Counter[str] = Counter()

    def describe(self) -> Iterable[Metric]:
        return [empty_family(spec) for spec in self.specs]

    def collect(self) -> Iterable[Metric]:
        try:
            scene = Scene(self.sources, self.refresh, self.refresh.clock.now(), self.errors)
        except Exception:  # nothing to read from: serve the other collectors
            log.exception("metrics: cannot read the clock; longrun metrics left out of this scrape")
            return
        for spec in self.specs:
            metric = self._read(spec, scene)
            if metric is not None:
                yield metric

    def _read(self, spec: MetricSpec, scene: Scene) -> Metric | None:
        try:
            return family(spec, self.readers[spec.name](scene))
        except Exception:
            self.errors[spec.full_name] += 1
            if self.errors[spec.full_name] == 1:
                log.exception("metrics: %s left out of the scrape (logged once; counted in collector.errors)", spec.full_name)
            return None


def build_registry(sources: MetricSources, refresh: RefreshLoop) -> CollectorRegistry:
    """A fresh registry: the longrun collector plus the client library's process and platform collectors."""
    registry = CollectorRegistry()
    registry.register(LongrunCollector(sources, refresh))
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    return registry
