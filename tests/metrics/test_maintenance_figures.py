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


async def test_heartbeat_windows_leave_maintenance_slots_out(cluster, clock):
    a = await cluster.add("a")
    await cluster.run_for(3600)
    start = clock.now()
    await a.runtime.maintenance.add(start, start + timedelta(minutes=20), "deploy", created_by="admin")
    a.alive = False                                  # the deploy: 10 slots without a heartbeat, all inside
    await cluster.run_for(600)
    a.alive = True
    await cluster.run_for(1200)
    exporter = Exporter(a.runtime)
    await exporter.refresh.refresh_once()
    families = exporter.scrape()
    assert value(families, "longrun_heartbeat_missed", window="1h") == 0
    assert value(families, "longrun_heartbeat_coverage_ratio", window="1h") == 1
    assert value(families, "longrun_heartbeat_max_gap_seconds", window="1h") == 60
    result = exporter.refresh.heartbeats.windows["1h"]
    assert result.expected == 60 - 20


async def test_the_running_window_for_people_is_the_one_ending_last(cluster, clock):
    a = await cluster.add("a")
    exporter = Exporter(a.runtime)
    now = clock.now()
    assert exporter.refresh.maintenance.view(now) is None
    first = await a.runtime.maintenance.start(timedelta(minutes=10), "deploy", created_by="cli:ana")
    second = await a.runtime.maintenance.start(timedelta(minutes=30), "db upgrade", created_by="telegram:42")
    view = exporter.refresh.maintenance.view(now)
    assert view == {"id": second["id"], "reason": "db upgrade", "createdBy": "telegram:42", "start": now,
                    "until": now + timedelta(minutes=30), "secondsLeft": 1800}
    await a.runtime.maintenance.end(second["id"], ended_by="admin")
    assert exporter.refresh.maintenance.view(clock.now())["id"] == first["id"]


async def test_the_leaders_reconcile_hands_a_window_recorded_elsewhere_to_its_metrics(cluster, clock):
    a, b = await cluster.add("a"), await cluster.add("b")
    exporter_a = Exporter(a.runtime)
    await cluster.run_for(1)
    await exporter_a.refresh.refresh_once()
    await b.runtime.maintenance.start(timedelta(minutes=30), "deploy", created_by="cli:ana")  # on the standby
    assert value(exporter_a.scrape(), "longrun_maintenance_active") == 0
    reads = a.runtime.store.usage.reads
    await a.runtime.maintenance.reconcile(clock.now())  # the leader's maintenance job
    assert value(exporter_a.scrape(), "longrun_maintenance_active") == 1  # no refresh of the feed needed
    assert a.runtime.store.usage.reads - reads == 1
