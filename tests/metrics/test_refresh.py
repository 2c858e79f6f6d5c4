"""The refresh loop: small incremental reads, the leader reads no heartbeats, failures kept apart."""

import asyncio
import logging

from datetime import timedelta

from exporter.metrics.feeds import OpenIncidentsFeed, RecentIncidentsFeed, RollupFeed
from exporter.metrics.incident_view import IncidentView
from exporter.metrics.refresh import RefreshLoop, RefreshPlan
from tests.metrics.scraping import Exporter, value


async def reads_of(runtime, action) -> tuple[int, int]:
    """(billed reads, store calls) that ``action`` cost."""
    usage = runtime.store.usage
    reads, calls = usage.reads, sum(usage.calls.values())
    await action()
    return usage.reads - reads, sum(usage.calls.values()) - calls


async def test_after_the_first_load_a_tick_costs_a_read_or_two(cluster):
    a = await cluster.add("a")
    b = await cluster.add("b")
    await cluster.run_for(90)  # the probes of 00:00 are more than a minute old at the first load
    loops = {m.name: RefreshLoop(m.runtime, RefreshPlan(leader_factor=1, standby_factor=1)) for m in (a, b)}
    for loop in loops.values():
        await loop.refresh_once()
    cost = {"a": 0, "b": 0}
    for _ in range(10):  # ten minutes, one tick a minute
        await cluster.run_for(60)
        for member in (a, b):
            reads, _ = await reads_of(member.runtime, loops[member.name].refresh_due)
            cost[member.name] += reads
    # Ticks 5 and 10: open incidents, probes, the last 24 h of incidents and the acknowledgements
    # (1 each, none new; the maintenance windows every 15). Neither reads a heartbeat: the leader took
    # its own as it wrote them, the standby those the leader carries on the lease document it watches.
    assert cost == {"a": 2 * 4, "b": 2 * 4}
    # The standby knows the heartbeats carried by the last renewal: at most one renewal behind, and its
    # windows end at the slot of that renewal, so the heartbeat not carried yet is not counted missing.
    newest = a.runtime.heartbeat.state.last_written["ts"]
    assert newest - timedelta(seconds=60) <= loops["b"].heartbeats.index.newest_ts <= newest
    assert loops["b"].heartbeats.windows["1h"].missed == loops["a"].heartbeats.windows["1h"].missed == 0
    assert len(loops["a"].heartbeats.index) == 12  # 00:00-00:11
    assert len(loops["a"].heartbeats.index) - len(loops["b"].heartbeats.index) in (0, 1)


async def test_a_leader_that_skipped_a_tick_has_its_own_heartbeats_without_reading(cluster):
    a = await cluster.add("a")
    await cluster.run_for(30)
    loop = RefreshLoop(a.runtime, RefreshPlan())
    await loop.refresh_once()
    await cluster.run_for(180)  # three heartbeats since the last refresh, each taken as it was written
    assert len(loop.heartbeats.index) == 4
    assert loop.heartbeats.windows["1h"].written == 3  # whole slots: the current one is not counted yet
    reads, calls = await reads_of(a.runtime, loop.refresh_due)
    assert reads == 0
    assert len(loop.heartbeats.index) == 4


async def test_a_new_leader_reads_the_heartbeats_the_old_one_wrote_after_its_last_renewal(cluster):
    a = await cluster.add("a")
    b = await cluster.add("b")
    await cluster.run_for(30)
    loop = RefreshLoop(b.runtime, RefreshPlan())
    await loop.refresh_once()
    await cluster.run_for(125)
    written = a.runtime.heartbeat.state.written_total
    cluster.kill(a)
    await cluster.run_for(200)  # the lease expires, b takes over
    assert b.runtime.leadership.holds(cluster.clock.now())
    await loop.refresh_due()
    assert len(loop.heartbeats.index) == written + b.runtime.heartbeat.state.written_total


async def test_a_failed_tick_counts_as_a_refresh_failure_and_is_retried_at_the_next(cluster, clock, caplog):
    a = await cluster.add("a")
    b = await cluster.add("b")
    exporter = Exporter(b.runtime, RefreshPlan())
    await cluster.run_for(30)
    assert await exporter.refresh.refresh_once()
    b.store.down = True
    caplog.set_level(logging.INFO, logger="longrun.metrics")
    for _ in range(2):
        await cluster.run_for(240)  # the second tick is when probes and recent incidents fall due
        assert not await exporter.refresh.refresh_due()
    b.store.down = False
    await cluster.run_for(60)
    assert await exporter.refresh.refresh_due()
    assert exporter.refresh.next_due() > clock.now()  # every part, the slow ones too, read a tick later
    logged = [r.levelname for r in caplog.records if r.name == "longrun.metrics"]
    assert logged == ["WARNING", "INFO"]  # the outage said once, and its end once
    families = exporter.scrape()
    assert value(families, "longrun_job_runs_total", job="refresh") == 4
    assert value(families, "longrun_job_failures_total", job="refresh") == 2
    assert value(families, "longrun_job_last_success_timestamp_seconds", job="refresh") == clock.time()
    assert value(families, "longrun_heartbeat_last_timestamp_seconds") == \
        a.runtime.heartbeat.state.last_written["ts"].timestamp()


async def settled(loop: RefreshLoop, clock) -> None:
    """Wait (on the loop's event, not on time) until no part is due."""
    async with asyncio.timeout(30):
        while loop.next_due() <= clock.now():
            await loop.refreshed.wait()


async def test_run_refreshes_each_interval_on_the_clock_and_stops_on_the_event(cluster, clock):
    a = await cluster.add("a")
    loop = RefreshLoop(a.runtime, RefreshPlan())
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    await settled(loop, clock)
    assert loop.stats.runs == 1
    for tick in range(2, 5):
        await clock.advance(60)
        await settled(loop, clock)
        assert loop.stats.runs == tick
    stop.set()
    async with asyncio.timeout(10):
        await task
    assert loop.stats.failures == 0


async def test_run_stops_when_cancelled(cluster, clock):
    a = await cluster.add("a")
    loop = RefreshLoop(a.runtime)
    task = asyncio.create_task(loop.run(asyncio.Event()))
    await settled(loop, clock)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()


async def test_a_bug_in_one_part_is_logged_once_and_spares_the_others(cluster, clock, caplog, monkeypatch):
    async def broken(self, now):
        raise KeyError("date")

    monkeypatch.setattr(RollupFeed, "refresh", broken)
    a = await cluster.add("a")
    await cluster.run_for(30)
    exporter = Exporter(a.runtime)
    caplog.set_level(logging.ERROR, logger="longrun.metrics")
    for _ in range(2):
        await cluster.run_for(60)
        assert not await exporter.refresh.refresh_once()
    assert exporter.refresh.heartbeats.loaded and exporter.refresh.probes.loaded
    assert len([r for r in caplog.records if r.name == "longrun.metrics"]) == 1
    families = exporter.scrape()
    assert value(families, "longrun_job_failures_total", job="refresh") == 2
    assert value(families, "longrun_rollup_last_day_timestamp_seconds") == 0
    assert value(families, "longrun_heartbeats_written_total") == 3


async def test_recent_incidents_read_only_what_was_stored_since_the_last_read(cluster, clock):
    """An alert storm must not make every tick read (and hold) the whole day's incidents."""
    a = await cluster.add("a")
    feed = RecentIncidentsFeed(a.runtime, IncidentView())
    incidents, start = a.runtime.incidents, clock.now()
    for i in range(40):
        await incidents.detect("probe_fail", f"storm-{i}", source="monitor")
    await cluster.run_for(6 * 60)  # past the overlap kept for clocks and transactions in flight
    await feed.refresh(clock.now())
    assert feed.view.started_within(clock.now()) == 40

    await cluster.run_for(60)
    # one new, and one stored now about an alert that started two hours ago (Alertmanager's startsAt)
    await incidents.detect("probe_fail", "new", source="monitor")
    await incidents.detect("probe_fail", "late", source="alertmanager", at=clock.now() - timedelta(hours=2))
    reads, _ = await reads_of(a.runtime, lambda: feed.refresh(clock.now()))
    assert reads == 2 and feed.view.started_within(clock.now()) == 42

    await cluster.run_for(60)
    reads, _ = await reads_of(a.runtime, lambda: feed.refresh(clock.now()))
    assert reads == 2  # the overlap reads those two again; nothing else
    # a day on (a full read, as every 6 hours): the storm and the late one have left the window
    clock.set(start + timedelta(hours=24, seconds=30))
    reads, _ = await reads_of(a.runtime, lambda: feed.refresh(clock.now()))
    assert reads == 1 and feed.view.started_within(clock.now()) == 1  # "new" started within 24 h


async def test_incident_feeds_decode_incidents_a_small_page_at_a_time(cluster, clock):
    """Incident documents are large: an alert storm must not have a refresh decode a thousand at once."""
    a = await cluster.add("a")
    for i in range(250):
        await a.runtime.incidents.detect("probe_fail", f"storm-{i}", source="monitor")
    view = IncidentView()
    reads, calls = await reads_of(a.runtime, lambda: OpenIncidentsFeed(a.runtime, view).refresh(clock.now()))
    assert (reads, calls) == (250, 3)  # pages of 100, 100 and 50
    reads, calls = await reads_of(a.runtime, lambda: RecentIncidentsFeed(a.runtime, view).refresh(clock.now()))
    assert (reads, calls) == (250, 3)
    assert sum(view.open_counts().values()) == 250 and view.started_within(clock.now()) == 250


async def test_the_leader_reads_other_writers_changes_every_30_minutes_and_a_standby_every_15(cluster):
    a = await cluster.add("a")
    b = await cluster.add("b")
    await cluster.run_for(90)
    loops = {m.name: RefreshLoop(m.runtime, RefreshPlan()) for m in (a, b)}
    for loop in loops.values():
        await loop.refresh_once()
    cost = {"a": 0, "b": 0}
    for _ in range(30):
        await cluster.run_for(60)
        for member in (a, b):
            reads, _ = await reads_of(member.runtime, loops[member.name].refresh_due)
            cost[member.name] += reads
    # Four parts (open and recent incidents, probes, acknowledgements), one read each when nothing is
    # new: the leader at minute 30, the standby at minutes 15 and 30 (maintenance windows: the leader
    # every 90 minutes, the standby every 45). No heartbeat read.
    assert cost == {"a": 4, "b": 8}
    newest = a.runtime.heartbeat.state.last_written["ts"]
    assert newest - timedelta(seconds=60) <= loops["b"].heartbeats.index.newest_ts <= newest
