"""The leader's own heartbeats and probe results reach /metrics in the moment they are written, not at the next refresh."""

import math

from tests.metrics.scraping import Exporter, value


async def test_first_heartbeat_and_probes_are_scraped_without_waiting_for_a_refresh(cluster, clock):
    a = await cluster.add("a")
    exporter = Exporter(a.runtime)
    await exporter.refresh.refresh_once()  # the loop's first pass, before anything was written
    before = exporter.scrape()
    assert value(before, "longrun_heartbeat_last_timestamp_seconds") == 0
    assert math.isnan(value(before, "longrun_probe_success", type="outbound"))  # never run: no figure, not FAIL
    assert math.isnan(value(before, "longrun_heartbeat_coverage_ratio", window="1h"))  # nothing expected yet

    await cluster.run_for(1)  # the first heartbeat and the three probes, within the first second
    reads = a.runtime.store.usage.reads
    after = exporter.scrape()  # no refresh in between
    assert a.runtime.store.usage.reads == reads  # a scrape reads memory only
    heartbeat = a.runtime.heartbeat.state.last_written
    assert value(after, "longrun_heartbeat_last_timestamp_seconds") == heartbeat["ts"].timestamp()
    assert value(after, "longrun_heartbeats_written_total") == 1
    assert value(after, "longrun_probe_success", type="outbound") == 1
    assert value(after, "longrun_probe_last_run_timestamp_seconds", type="outbound") > 0
    for skipped in ("queue", "inbound"):  # not configured in this cluster
        assert value(after, "longrun_probe_skipped", type=skipped) == 1
        assert math.isnan(value(after, "longrun_probe_success", type=skipped))
    assert value(after, "longrun_probe_runs_total", type="outbound", result="PASS") == 1

    await cluster.run_for(60)  # the next slot: the first one is whole now and counts at once
    later = exporter.scrape()
    assert value(later, "longrun_heartbeat_coverage_ratio", window="1h") == 1.0
    assert value(later, "longrun_heartbeat_missed", window="1h") == 0


async def test_an_incident_the_leader_opens_or_resolves_is_counted_at_once(cluster, clock):
    a = await cluster.add("a")
    exporter = Exporter(a.runtime)
    await cluster.run_for(1)
    await exporter.refresh.refresh_once()
    doc = await a.runtime.incidents.open_manual("logged_out", reason="refused", ts_start=clock.now(), severity="P1",
                                                subject="target")
    opened = exporter.scrape()  # no refresh in between
    assert value(opened, "longrun_incidents_open", type="logged_out", severity="P1") == 1
    assert value(opened, "longrun_incidents_last_24h") == 1
    await a.runtime.incidents.change(doc["incidentId"], status="resolved")
    resolved = exporter.scrape()
    assert value(resolved, "longrun_incidents_open", type="logged_out", severity="P1") == 0
