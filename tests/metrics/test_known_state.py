"""A scrape after a refresh shows exactly the store state a leader built: names, labels, values."""

import math
from datetime import date, timedelta

from exporter.domain.heartbeats import analyze_heartbeats
from exporter.metrics.catalog import INCIDENT_TYPES, SEVERITIES, WINDOWS
from tests.jobs.cluster import heartbeats
from tests.metrics.scraping import Exporter, value

ROOT = "wa_metrics/longrun"


async def build_state(cluster, clock):
    """A leader's 6 minutes: heartbeats 00:00-00:05, two failed outbound probes, three incidents."""
    a = await cluster.add("a")
    exporter = Exporter(a.runtime)
    await cluster.run_for(30)  # first heartbeat, the three probes (PASS, SKIP, SKIP)
    await exporter.refresh.refresh_once()  # what exists now is the baseline of the incident counter
    await cluster.run_for(300)
    runtime = a.runtime
    a.store.fail_writes_under = f"{ROOT}/state"  # the outbound probe's store round trip fails
    failures = []
    for _ in range(2):
        clock.advance_sync(1)
        failures.append(await runtime.probes.run("outbound", slot=clock.now()))  # scheduled runs
    a.store.fail_writes_under = None
    await runtime.incidents.detect("probe_fail", "outbound", reason="2 in a row", source="monitor")
    logged_out, _ = await runtime.incidents.detect("logged_out", "acct-1", reason="qr", source="alertmanager")
    await runtime.incidents.change(logged_out["incidentId"], status="acknowledged", owner="ops")
    now = clock.now()
    await runtime.incidents.open_manual("missed_heartbeat", reason="maintenance",
                                        ts_start=now - timedelta(hours=2), ts_end=now - timedelta(hours=1))
    await exporter.refresh.refresh_once()
    return a, exporter, failures


async def test_heartbeat_figures_match_the_store(cluster, clock, store):
    a, exporter, _ = await build_state(cluster, clock)
    families = exporter.scrape()
    docs = [d.data for d in await heartbeats(store, ROOT)]
    assert len(docs) == 6
    assert value(families, "longrun_heartbeat_last_timestamp_seconds") == docs[-1]["ts"].timestamp()
    assert value(families, "longrun_heartbeats_written_total") == 6
    assert value(families, "longrun_heartbeat_interval_seconds") == 60
    for window in WINDOWS:
        start, end = exporter.refresh.heartbeats.bounds(clock.now(), window)
        expected = analyze_heartbeats(docs, start, end, 60)
        assert value(families, "longrun_heartbeat_coverage_ratio", window=window) == expected.coverage
        assert value(families, "longrun_heartbeat_missed", window=window) == expected.missed
        assert value(families, "longrun_heartbeat_max_gap_seconds", window=window) == expected.max_gap_sec
    # By hand: the deployment began at 00:00, so no window reaches back before its first
    # heartbeat; the last hour is the whole slots 00:00-00:04, all five written.
    assert value(families, "longrun_heartbeat_missed", window="1h") == 0
    assert value(families, "longrun_heartbeat_coverage_ratio", window="1h") == 1.0
    assert value(families, "longrun_heartbeat_max_gap_seconds", window="1h") == 60


async def test_probe_figures_show_the_newest_result_streak_and_runs(cluster, clock):
    a, exporter, failures = await build_state(cluster, clock)
    families = exporter.scrape()
    assert value(families, "longrun_probe_success", type="outbound") == 0
    assert value(families, "longrun_probe_consecutive_failures", type="outbound") == 2
    assert value(families, "longrun_probe_last_run_timestamp_seconds", type="outbound") == failures[-1]["ts"].timestamp()
    assert value(families, "longrun_probe_skipped", type="queue") == 1
    assert math.isnan(value(families, "longrun_probe_success", type="queue"))  # SKIP: not configured, not FAIL
    assert value(families, "longrun_probe_skipped", type="outbound") == 0
    assert value(families, "longrun_probe_latency_seconds", type="inbound") == 0
    runs = {("outbound", "PASS"): 1, ("outbound", "FAIL"): 2, ("queue", "SKIP"): 1, ("inbound", "SKIP"): 1}
    for probe_type in ("outbound", "queue", "inbound"):
        for result in ("PASS", "FAIL", "SKIP"):
            got = value(families, "longrun_probe_runs_total", type=probe_type, result=result)
            assert got == runs.get((probe_type, result), 0), (probe_type, result)


async def test_incident_figures_show_open_recent_and_new_incidents(cluster, clock):
    a, exporter, _ = await build_state(cluster, clock)
    families = exporter.scrape()
    open_now = {("probe_fail", "P3"): 1, ("logged_out", "P1"): 1}
    opened = {**open_now, ("missed_heartbeat", "P2"): 1}
    for kind in INCIDENT_TYPES:
        for severity in SEVERITIES:
            labels = {"type": kind, "severity": severity}
            assert value(families, "longrun_incidents_open", **labels) == open_now.get((kind, severity), 0)
            assert value(families, "longrun_incidents_total", **labels) == opened.get((kind, severity), 0)
    assert value(families, "longrun_incidents_last_24h") == 3
    for source in ("monitor", "alertmanager", "manual"):
        assert value(families, "longrun_incidents_opened_total", source=source) == 1
    assert value(families, "longrun_incidents_resolved_total", source="manual") == 0


async def test_leader_lock_job_and_store_figures(cluster, clock):
    a, exporter, _ = await build_state(cluster, clock)
    families = exporter.scrape()
    lead = a.runtime.leadership
    assert value(families, "longrun_leader") == 1
    assert value(families, "longrun_lock_generation") == 1
    assert value(families, "longrun_lock_lease_expiry_timestamp_seconds") == lead.lease_until.timestamp()
    assert value(families, "longrun_store_up") == 1
    heartbeat = a.runtime.scheduler.stats["heartbeat"]
    assert value(families, "longrun_job_runs_total", job="heartbeat") == 6
    assert value(families, "longrun_job_failures_total", job="heartbeat") == 0
    assert value(families, "longrun_job_last_success_timestamp_seconds", job="heartbeat") == heartbeat.last_success.timestamp()
    retention = a.runtime.scheduler.stats["retention"]
    assert retention.last_success is None  # first due at 00:30: never run, so never succeeded
    assert value(families, "longrun_job_last_success_timestamp_seconds", job="retention") == 0
    monitor = a.runtime.scheduler.stats["monitor"]  # runs at start: the hour a predecessor left unchecked
    assert value(families, "longrun_job_last_success_timestamp_seconds", job="monitor") == monitor.last_success.timestamp()
    assert value(families, "longrun_job_runs_total", job="refresh") == 2
    assert value(families, "longrun_job_last_success_timestamp_seconds", job="refresh") == clock.now().timestamp()
    assert value(families, "longrun_expected_accounts") == 3
    assert value(families, "longrun_rollup_last_day_timestamp_seconds") == 0


async def test_newest_rollup_reaches_an_instance_that_did_not_write_it(cluster, clock):
    clock.advance_sync(23 * 3600 + 30 * 60)  # 23:30, so the leader rolls the day up at midnight
    a = await cluster.add("a")
    b = await cluster.add("b")
    await cluster.run_for(45 * 60)
    assert a.runtime.rollups.last_written["date"] == "2026-03-01"
    standby = Exporter(b.runtime)
    await standby.refresh.refresh_once()
    families = standby.scrape()
    midnight = clock.now().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    assert midnight.date() == date(2026, 3, 1)
    assert value(families, "longrun_rollup_last_day_timestamp_seconds") == midnight.timestamp()
    assert value(families, "longrun_rollup_uptime_ratio") == a.runtime.rollups.last_written["uptimeRatio"]
    assert value(families, "longrun_leader") == 0


async def test_a_manual_run_is_shown_apart_and_never_replaces_the_scheduled_state(cluster, clock):
    a, exporter, _ = await build_state(cluster, clock)
    a.store.fail_writes_under = None
    clock.advance_sync(1)
    scheduled_pass = await a.runtime.probes.run("outbound", slot=clock.now())
    clock.advance_sync(1)
    a.store.fail_writes_under = f"{ROOT}/state"
    manual_fail = await a.runtime.probes.run("outbound")  # `longrun probe run outbound` / the admin API
    a.store.fail_writes_under = None
    families = exporter.scrape()  # no refresh: the leader's own results count at once
    assert manual_fail["trigger"] == "manual" and manual_fail["result"] == "FAIL"
    assert value(families, "longrun_probe_success", type="outbound") == 1
    assert value(families, "longrun_probe_consecutive_failures", type="outbound") == 0
    assert value(families, "longrun_probe_last_run_timestamp_seconds", type="outbound") == scheduled_pass["ts"].timestamp()
    assert exporter.refresh.probes.manual["outbound"]["probeKey"] == manual_fail["probeKey"]
    await exporter.refresh.refresh_once()  # read back from the store: still apart
    families = exporter.scrape()
    assert value(families, "longrun_probe_success", type="outbound") == 1
    assert value(families, "longrun_probe_runs_total", type="outbound", result="FAIL") == 2  # the scheduled two only
