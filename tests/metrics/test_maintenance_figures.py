"""longrun_maintenance_*: the instance that recorded a window shows it at once, another after its refresh."""

from datetime import timedelta

from tests.metrics.scraping import Exporter, value


async def test_active_and_seconds_follow_a_window_on_every_instance(cluster, clock):
    a, b = await cluster.add("a"), await cluster.add("b")
    exporter_a, exporter_b = Exporter(a.runtime), Exporter(b.runtime)
    await exporter_b.refresh.refresh_once()
    assert value(exporter_a.scrape(), "longrun_maintenance_active") == 0
    assert value(exporter_a.scrape(), "longrun_maintenance_seconds_total") == 0

    doc = await a.runtime.maintenance.start(timedelta(minutes=10), "deploy", created_by="cli:ana")
    assert value(exporter_a.scrape(), "longrun_maintenance_active") == 1          # its own window, at once
    assert value(exporter_b.scrape(), "longrun_maintenance_active") == 0          # not read yet
    await clock.advance(240)
    await exporter_b.refresh.refresh_once()
    for exporter in (exporter_a, exporter_b):
        families = exporter.scrape()
        assert value(families, "longrun_maintenance_active") == 1
        assert value(families, "longrun_maintenance_seconds_total") == 240

    await a.runtime.maintenance.end(doc["id"], ended_by="admin")
    await clock.advance(600)
    await exporter_b.refresh.refresh_once()
    for exporter in (exporter_a, exporter_b):
        families = exporter.scrape()
        assert value(families, "longrun_maintenance_active") == 0
        assert value(families, "longrun_maintenance_seconds_total") == 240       # a counter: stops, never drops
    assert value(exporter_a.scrape(), "longrun_maintenance_silence_failures_total") == 0
