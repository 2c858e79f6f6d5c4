"""What /metrics shows when the store goes away, and when the leader dies under a standby."""

from exporter.web.app import create_app
from tests.metrics.scraping import Exporter, parse, value


async def test_store_outage_keeps_last_known_figures_with_store_up_0(cluster, aiohttp_client):
    a = await cluster.add("a")
    await cluster.run_for(300)
    await a.runtime.incidents.detect("probe_fail", "outbound", reason="test", source="monitor")
    app = create_app(a.runtime)
    refresh = a.runtime.refresh
    assert await refresh.refresh_once()
    client = await aiohttp_client(app)
    before = parse(await (await client.get("/metrics")).text())

    a.store.down = True
    await cluster.run_for(120)  # the leader's writes fail; it steps down
    assert not await refresh.refresh_once()
    response = await client.get("/metrics")
    assert response.status == 200
    during = parse(await response.text())

    assert value(during, "longrun_store_up") == 0
    assert value(during, "longrun_store_errors_total", operation="create") >= 1
    assert value(during, "longrun_job_failures_total", job="refresh") == 1
    for name, labels in [
        ("longrun_heartbeat_last_timestamp_seconds", {}),
        ("longrun_incidents_open", {"type": "probe_fail", "severity": "P3"}),
        ("longrun_incidents_last_24h", {}),
        ("longrun_probe_success", {"type": "outbound"}),
        ("longrun_probe_last_run_timestamp_seconds", {"type": "outbound"}),
        ("longrun_lock_generation", {}),
    ]:
        assert value(during, name, **labels) == value(before, name, **labels), name
    assert value(during, "longrun_incidents_open", type="probe_fail", severity="P3") == 1
    assert value(during, "longrun_job_last_success_timestamp_seconds", job="refresh") == \
        value(before, "longrun_job_last_success_timestamp_seconds", job="refresh")

    a.store.down = False
    await cluster.run_for(60)
    assert await refresh.refresh_once()
    after = parse(await (await client.get("/metrics")).text())
    assert value(after, "longrun_store_up") == 1
    assert value(after, "longrun_heartbeat_last_timestamp_seconds") > value(before, "longrun_heartbeat_last_timestamp_seconds")


async def test_standby_shows_the_dead_leaders_last_heartbeat_ageing(cluster, clock):
    # A long lease, so the standby keeps waiting long enough for the heartbeat to go stale.
    a = await cluster.add("a", lease=900.0)
    b = await cluster.add("b", lease=900.0)
    standby = Exporter(b.runtime)
    await cluster.run_for(300)
    await standby.refresh.refresh_once()
    families = standby.scrape()
    last = a.runtime.heartbeat.state.last_written["ts"].timestamp()
    assert value(families, "longrun_heartbeat_last_timestamp_seconds") == last
    assert value(families, "longrun_leader") == 0
    assert value(families, "longrun_lock_generation") == 1
    assert value(families, "longrun_lock_lease_expiry_timestamp_seconds") == a.runtime.leadership.lease_until.timestamp()

    cluster.kill(a)
    ages = []
    for _ in range(5):
        await cluster.run_for(60)
        await standby.refresh.refresh_once()
        families = standby.scrape()
        assert value(families, "longrun_heartbeat_last_timestamp_seconds") == last  # frozen
        assert value(families, "longrun_leader") == 0
        ages.append(clock.time() - value(families, "longrun_heartbeat_last_timestamp_seconds"))
    assert ages == sorted(ages) and ages[-1] > 3 * 60  # what LongrunHeartbeatGap alerts on
    assert value(families, "longrun_heartbeat_missed", window="1h") >= 4
    assert value(families, "longrun_heartbeat_max_gap_seconds", window="1h") >= 4 * 60


async def test_standby_takes_over_and_its_metrics_follow(cluster, clock):
    a = await cluster.add("a")
    b = await cluster.add("b")
    standby = Exporter(b.runtime)
    await cluster.run_for(120)
    await standby.refresh.refresh_once()
    cluster.kill(a)
    await cluster.run_for(300)  # the lease expires, b leads and writes
    await standby.refresh.refresh_once()
    families = standby.scrape()
    assert value(families, "longrun_leader") == 1
    assert value(families, "longrun_lock_generation") == 2
    newest = b.runtime.heartbeat.state.last_written["ts"].timestamp()
    assert value(families, "longrun_heartbeat_last_timestamp_seconds") == newest
    assert clock.time() - newest < 60
