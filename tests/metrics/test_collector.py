"""The collector: exactly the catalog, labelled series from 0, a registry per app, no failing scrape."""

import logging
import math

from prometheus_client import REGISTRY, generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.registry import CollectorRegistry

from exporter import __version__
from exporter.metrics.catalog import CATALOG, exposed_names
from exporter.metrics.collector import LongrunCollector, initial_label_values
from exporter.metrics.readings import READERS
from exporter.metrics.sources import MetricSources
from tests.metrics.scraping import Exporter, samples, scrape, value

# Values that are not 0 on a runtime that has only started (config thresholds, identity, settings).
KNOWN_AT_START = {"alert_threshold", "heartbeat_interval_seconds", "expected_accounts", "build", "store_up"}
# Figures that do not exist before anything was expected or run: NaN, never a 0 that reads as "all bad".
NAN_AT_START = {"heartbeat_coverage_ratio", "heartbeat_max_gap_seconds", "probe_success", "probe_skipped"}


async def test_every_catalog_metric_is_exposed_with_its_type_and_labels_from_zero(cluster):
    member = await cluster.add("a")
    families = Exporter(member.runtime).scrape()
    for spec in CATALOG:
        name = spec.sample_names[0] if spec.kind != "histogram" else spec.full_name + "_count"
        family = families[spec.full_name if spec.kind == "histogram" else name.removesuffix("_total")]
        assert family.type == ("gauge" if spec.kind == "info" else spec.kind), spec.name
        assert family.documentation == spec.help
        for label_values in initial_label_values(spec):
            labels = dict(zip(spec.labels, label_values))
            got = value(families, name, **labels)
            if spec.name in NAN_AT_START:
                assert math.isnan(got), (name, labels, got)
            else:
                assert spec.name in KNOWN_AT_START or got == 0, (name, labels, got)
    exposed = {s.name for f in families.values() for s in f.samples if s.name.startswith("longrun_")}
    unset = {"longrun_rollup_uptime_ratio", "longrun_target_up", "longrun_connected_accounts",
             "longrun_reconnecting_accounts", "longrun_needs_qr_accounts", "longrun_queue_depth",
             "longrun_target_reconnects_total"}  # unknown until a rollup / a target answer exists
    assert exposed == exposed_names() - unset


async def test_labelled_families_cover_every_catalog_label_value(cluster):
    member = await cluster.add("a")
    families = Exporter(member.runtime).scrape()
    assert len(samples(families, "longrun_incidents_open")) == 9 * 3
    assert len(samples(families, "longrun_probe_runs_total")) == 3 * 3
    assert {s.labels["job"] for s in samples(families, "longrun_job_runs_total")} >= {
        "lease", "heartbeat", "outbound_probe", "queue_probe", "inbound_probe", "monitor", "rollup", "retention", "refresh"}
    assert {s.labels["name"] for s in samples(families, "longrun_alert_threshold")} == {
        "missedHbPerHour", "consecutiveProbeFails", "queueDepthThreshold", "reconnectLoop",
        "maxIncidentsPerDay", "insufficientDataThreshold", "coverageAlertRatio"}
    assert value(families, "longrun_alert_threshold", name="missedHbPerHour") == 3
    assert value(families, "longrun_build_info", version=__version__, commit="unknown", instance_id="a") == 1


async def test_each_app_has_its_own_registry_and_the_global_one_is_untouched(cluster):
    member = await cluster.add("a")
    first, second = Exporter(member.runtime), Exporter(member.runtime)
    assert first.registry is not second.registry
    assert b"longrun_" not in generate_latest(REGISTRY)
    families = first.scrape()
    assert "process_cpu_seconds" in families and "python_info" in families


async def test_openmetrics_output_parses_with_info_and_counter_types(cluster):
    member = await cluster.add("a")
    text = generate_openmetrics(Exporter(member.runtime).registry).decode()
    families = {f.name: f for f in parse_openmetrics(text)}
    assert families["longrun_build"].type == "info"
    assert families["longrun_heartbeats_written"].type == "counter"
    assert families["longrun_heartbeat_coverage_ratio"].type == "gauge"


async def test_a_failing_family_is_left_out_logged_once_and_counted(cluster, caplog):
    member = await cluster.add("a")
    exporter = Exporter(member.runtime)

    def broken(scene):
        raise RuntimeError("bug in a reader")

    collector = LongrunCollector(MetricSources.of(member.runtime), exporter.refresh, readers={**READERS, "probe_success": broken})
    registry = CollectorRegistry()
    registry.register(collector)
    caplog.set_level(logging.ERROR, logger="longrun.metrics")
    for _ in range(3):
        families = scrape(registry)
    assert "longrun_probe_success" not in families
    assert value(families, "longrun_leader") == 0 and "longrun_probe_skipped" in families
    assert collector.errors == {"longrun_probe_success": 3}
    assert len([r for r in caplog.records if "longrun_probe_success" in r.getMessage()]) == 1


async def test_a_reader_returning_the_wrong_shape_is_left_out_too(cluster):
    member = await cluster.add("a")
    exporter = Exporter(member.runtime)
    readers = {**READERS, "incidents_open": lambda scene: 5.0, "leader": lambda scene: "yes"}
    registry = CollectorRegistry()
    registry.register(collector := LongrunCollector(MetricSources.of(member.runtime), exporter.refresh, readers=readers))
    families = scrape(registry)
    assert "longrun_incidents_open" not in families and "longrun_leader" not in families
    assert set(collector.errors) == {"longrun_incidents_open", "longrun_leader"}
