"""A simulated day of restarts on the fake-clock cluster: nothing lost, nothing written twice.

Two instance slots, a and b, share one store. Every interval of the lease is
twice the runbook's (120 s heartbeats, a 240 s lease renewed every 120 s, a
120 s standby poll; the fake cluster has no lock watch, so a standby polls):
the same ratios and the same rules at half the store calls, which keeps a
simulated day on the Firestore emulator well inside 40 s on a loaded 2-core
machine. The monitor is hourly, outbound and inbound probes 6-hourly, the
queue probe daily. Over 2026-03-01 and into the next day every instance is
restarted at seeded random points (kill -9 or SIGTERM, back after a seeded
downtime, under the same or a new instance id), and at the points that matter:

- 12:00:00, inside the outbound probe of the slot: the leader dies at the probe's
  write (odd seeds: before it lands, so the next leader runs the slot; even
  seeds: after, so nobody may run it again);
- 14:10-14:30 every instance is down: one missed_heartbeat episode;
- 15:00:00, inside the monitor run: the leader dies just after the monitor stored
  the missed_heartbeat incident;
- 23:59:30-23:59:58 the leader is restarted, and just after midnight whoever
  leads dies as it writes the day's rollup (odd seeds: after it landed; even
  seeds: before, so the next leader's catch-up must write it).

The target's send endpoint fails the 06:00 and 12:00 outbound probes (reruns
included), which makes one probe_fail episode. Afterwards: the day's rollup
exists and matches the stored data, one incident per episode, each probe slot
stored once, each heartbeat slot once, and every missing heartbeat slot lies
inside a fault's window.
"""

from __future__ import annotations

import heapq
import itertools
import random
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web

from exporter.clock import FakeClock
from exporter.domain.slots import probe_key
from exporter.settings import Settings
from exporter.store import DocumentStore, Order, StoreUnavailable, Transaction
from tests.jobs.cluster import Cluster, Member
from tests.resilience.conftest import read_heartbeats
from tests.support import at_most_one_leader

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]

ROOT = "wa_metrics/longrun"
DAY = date(2026, 3, 1)
START = datetime(2026, 3, 1, tzinfo=timezone.utc)
END = datetime(2026, 3, 2, 0, 40, tzinfo=timezone.utc)
INTERVAL, LEASE, RENEW, POLL = 120.0, 240.0, 120.0, 120.0
SLOTS_A_DAY = int(86400 / INTERVAL)
SETTINGS = Settings(store_url="sqlite:///unused", instance_id="unset", heartbeat_interval=INTERVAL, lease=LEASE, renew=RENEW, standby_poll=POLL)
# A kill -9 of the leader may cost the slots until its lease expires, plus a poll and a slot.
TAKEOVER_WINDOW = timedelta(seconds=LEASE + POLL + 2 * INTERVAL)
SEND_FAILS = (datetime(2026, 3, 1, 6, tzinfo=timezone.utc), datetime(2026, 3, 1, 12, 30, tzinfo=timezone.utc))
OUTAGE = (datetime(2026, 3, 1, 14, 10, tzinfo=timezone.utc), datetime(2026, 3, 1, 14, 30, tzinfo=timezone.utc))
# Hours free for the random restarts: at most one restart per clock hour keeps every
# hourly monitor window at <= 2 missed heartbeats, under the missed_heartbeat threshold (3).
RANDOM_HOURS = [1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 13, 17, 18, 19, 20, 21, 22]


def at(hh: int, mm: int = 0, ss: float = 0, day: int = 1) -> datetime:
    return datetime(2026, 3, day, hh, mm, tzinfo=timezone.utc) + timedelta(seconds=ss)


# ------------------------------------------------------------------ a store that dies mid-call


class Tripwire(DocumentStore):
    """Passes every call through until an armed call comes: then the process is dead (kill -9 mid-job).

    ``arm(match, after=False)``: die before a matching write reaches the store;
    ``after=True``: the write lands, then the process dies before hearing back.
    ``match(op, path)`` sees writes only: create, set, update, delete, and the
    writes of a transaction (``tx.set``...), decided when it commits.
    """

    def __init__(self, inner: DocumentStore, clock: FakeClock) -> None:
        self.inner, self.kind, self.clock = inner, inner.kind, clock
        self.match: Callable[[str, str], bool] | None = None
        self.after = False
        self.on_trip: Callable[[], None] = lambda: None
        self.dead_at: datetime | None = None
        self.restart_after: float | None = None  # set by the test: seconds until this instance comes back

    def arm(self, match: Callable[[str, str], bool], *, after: bool, on_trip: Callable[[], None]) -> None:
        self.match, self.after, self.on_trip = match, after, on_trip

    def disarm(self) -> None:
        self.match, self.on_trip = None, lambda: None

    def die(self) -> None:
        """kill -9: nothing more reaches the store from this process."""
        if self.dead_at is None:
            self.dead_at = self.clock.now()
            self.match = None

    def _trip(self) -> None:
        on_trip = self.on_trip
        self.die()
        self.disarm()
        on_trip()

    def _alive(self) -> None:
        if self.dead_at is not None:
            raise StoreUnavailable("this process is dead")

    def _matches(self, op: str, path: str) -> bool:
        return self.match is not None and self.match(op, path)

    async def _write(self, op: str, path: str, call: Callable[[], Awaitable[Any]]) -> Any:
        self._alive()
        tripped = self._matches(op, path)
        if tripped and not self.after:
            self._trip()
            raise StoreUnavailable(f"died before {op} {path}")
        result = await call()
        if tripped:
            self._trip()
            raise StoreUnavailable(f"died after {op} {path} landed")
        return result

    async def get(self, path):
        self._alive()
        return await self.inner.get(path)

    async def create(self, path, data):
        return await self._write("create", path, lambda: self.inner.create(path, data))

    async def set(self, path, data, *, merge=False):
        return await self._write("set", path, lambda: self.inner.set(path, data, merge=merge))

    async def update(self, path, data, *, if_version=None):
        return await self._write("update", path, lambda: self.inner.update(path, data, if_version=if_version))

    async def delete(self, path, *, if_version=None):
        return await self._write("delete", path, lambda: self.inner.delete(path, if_version=if_version))

    async def query(self, collection, **kwargs):
        self._alive()
        return await self.inner.query(collection, **kwargs)

    async def count(self, collection, **kwargs):
        self._alive()
        return await self.inner.count(collection, **kwargs)

    async def batch(self, writes):
        self._alive()
        if any(self._matches(w.kind, w.path) for w in writes):
            self._trip()
            raise StoreUnavailable("died before a batch")
        return await self.inner.batch(writes)

    async def transaction(self, fn):
        self._alive()
        wire = self
        tripped: list[str] = []

        class Watched(Transaction):
            def __init__(self, tx: Transaction) -> None:
                self.tx = tx

            async def get(self, path):
                return await self.tx.get(path)

            def _note(self, op: str, path: str) -> None:
                if wire._matches(op, path):
                    if not wire.after:
                        wire._trip()
                        raise StoreUnavailable(f"died before committing {op} {path}")
                    tripped.append(path)

            def create(self, path, data):
                self._note("tx.create", path)
                self.tx.create(path, data)

            def set(self, path, data, *, merge=False):
                self._note("tx.set", path)
                self.tx.set(path, data, merge=merge)

            def update(self, path, data):
                self._note("tx.update", path)
                self.tx.update(path, data)

            def delete(self, path):
                self._note("tx.delete", path)
                self.tx.delete(path)

        async def watched(tx: Transaction):
            tripped.clear()  # a retried attempt starts over
            return await fn(Watched(tx))

        result = await self.inner.transaction(watched)
        if tripped:
            self._trip()
            raise StoreUnavailable(f"died after committing {tripped[0]}")
        return result

    async def ping(self):
        self._alive()
        return await self.inner.ping()

    async def close(self):
        await self.inner.close()


def tripwire(member: Member) -> Tripwire:
    return member.store.inner


# ------------------------------------------------------------------ the monitored service


class Target:
    """Status JSON that is always fine, and a send endpoint that fails inside SEND_FAILS (fake time)."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.sends: list[tuple[datetime, int]] = []

    async def status(self, request: web.Request) -> web.Response:
        return web.json_response({"connectedCount": 3, "reconnectingCount": 0, "needsQrCount": 0, "queueDepth": 4, "reconnectsTotal": 0})

    async def send(self, request: web.Request) -> web.Response:
        now = self.clock.now()
        status = 500 if SEND_FAILS[0] <= now < SEND_FAILS[1] else 202
        self.sends.append((now, status))
        return web.Response(status=status)


# ------------------------------------------------------------------ the day's plan


@dataclass(order=True)
class Event:
    when: datetime
    seq: int
    action: str = field(compare=False)  # restart | start | outage | arm | disarm
    args: dict[str, Any] = field(compare=False, default_factory=dict)


@dataclass
class Fault:
    start: datetime
    end: datetime
    what: str


def plan(seed: int) -> list[tuple[datetime, str, dict[str, Any]]]:
    rng = random.Random(seed)
    hours = rng.sample(RANDOM_HOURS, 6)
    events: list[tuple[datetime, str, dict[str, Any]]] = []
    for slot, hour in zip(itertools.cycle("ab"), hours):
        when = at(hour, rng.randint(5, 49), rng.uniform(0, 59))
        events.append((when, "restart", dict(slot=slot, mode=rng.choice(["kill", "term"]), down=rng.uniform(10, 600), same_id=rng.random() < 0.5)))
    events += [
        (at(11, 59, 59.9), "arm", dict(what="killed at the 12:00 outbound probe write", after=seed % 2 == 0,
                                        match=lambda op, path: op == "create" and path.endswith("/probes/" + probe_key("outbound", at(12))),
                                        down=rng.uniform(10, 300))),
        (at(12, 0, 30), "disarm", {}),
        (OUTAGE[0], "outage", dict(until=OUTAGE[1])),
        (at(14, 59, 59.9), "arm", dict(what="killed in the 15:00 monitor run, after it stored the incident", after=True,
                                        match=lambda op, path: op.startswith("tx.") and "/incidents/" in path,
                                        down=rng.uniform(10, 300))),
        (at(15, 0, 30), "disarm", {}),
        (at(23, 59, rng.uniform(30, 58)), "restart", dict(slot="leader", mode=rng.choice(["kill", "term"]), down=rng.uniform(20, 90), same_id=rng.random() < 0.5)),
        (at(23, 59, 59.999), "arm", dict(what="killed writing the day's rollup, just after midnight", after=seed % 2 == 1,
                                      match=lambda op, path: "/rollups/" in path, down=rng.uniform(10, 120))),
        (at(0, 10, day=2), "disarm", {}),
    ]
    return events


class Day:
    """Drives the cluster through the plan and remembers every fault and its window."""

    def __init__(self, cluster: Cluster, options: dict[str, Any], seed: int) -> None:
        self.cluster, self.options = cluster, options
        self.rng = random.Random(seed * 7919)
        self.slots: dict[str, Member | None] = {"a": None, "b": None}
        self.generation = {"a": 0, "b": 0}
        self.faults: list[Fault] = []
        self.trips: list[str] = []
        self.restarts = {"kill": 0, "term": 0}
        self.armed: dict[str, Any] | None = None
        self.events: list[Event] = []
        self._seq = itertools.count()
        self._handled: set[int] = set()

    def schedule(self, when: datetime, action: str, **args: Any) -> None:
        heapq.heappush(self.events, Event(when, next(self._seq), action, args))

    def leader(self) -> Member | None:
        now = self.cluster.clock.now()
        holders = [m for m in self.slots.values() if m and m.alive and m.runtime.leadership.holds(now)]
        return holders[0] if holders else None

    async def run(self, events: list[tuple[datetime, str, dict[str, Any]]]) -> None:
        for when, action, args in events:
            self.schedule(when, action, **args)
        await self._start("a")
        await self._start("b")
        while self.events and self.events[0].when < END:
            event = heapq.heappop(self.events)
            await self.cluster.run_until(max(event.when, self.cluster.clock.now()))
            self._restart_the_tripped()
            await getattr(self, f"_{event.action}")(**event.args)
        await self.cluster.run_until(END)

    # ------------------------------------------------------------------ actions

    async def _start(self, slot: str, same_id: bool = False) -> None:
        current = self.slots[slot]
        if current is not None and current.alive:
            return
        if not same_id or current is None:
            self.generation[slot] += 1
        member = await self.cluster.add(f"{slot}{self.generation[slot]}", **self.options)
        self.slots[slot] = member
        if self.armed:
            self._arm_member(member)

    async def _restart(self, slot: str, mode: str, down: float, same_id: bool) -> None:
        member = self.leader() if slot == "leader" else self.slots[slot]
        if member is None or not member.alive:
            return
        slot = next(name for name, m in self.slots.items() if m is member)
        now = self.cluster.clock.now()
        self._handled.add(id(member))
        if mode == "kill":
            self.cluster.kill(member)
            tripwire(member).die()
        else:
            await self.cluster.stop(member)
        self.restarts[mode] += 1
        self.faults.append(Fault(now, now + TAKEOVER_WINDOW, f"{mode} {member.name}"))
        self.schedule(now + timedelta(seconds=down), "start", slot=slot, same_id=same_id)

    async def _outage(self, until: datetime) -> None:
        now = self.cluster.clock.now()
        for slot, member in self.slots.items():
            if member is not None and member.alive:
                self._handled.add(id(member))
                self.cluster.kill(member)
                tripwire(member).die()
            self.schedule(until + timedelta(seconds=self.rng.uniform(0, 30)), "start", slot=slot)
        self.faults.append(Fault(now, until + TAKEOVER_WINDOW, "every instance down"))

    async def _arm(self, **spec: Any) -> None:
        """Whoever reaches the matching write first (the leader, in its job) dies there; one death per arm."""
        self.armed = spec
        for member in self.slots.values():
            if member is not None and member.alive:
                self._arm_member(member)

    async def _disarm(self) -> None:
        self.armed = None
        for member in self.slots.values():
            if member is not None:
                tripwire(member).disarm()

    def _arm_member(self, member: Member) -> None:
        spec = self.armed
        wire = tripwire(member)
        wire.restart_after = spec["down"]
        wire.arm(spec["match"], after=spec["after"], on_trip=lambda: self._tripped(member, spec))

    def _tripped(self, member: Member, spec: dict[str, Any]) -> None:
        self.cluster.kill(member)
        self.armed = None
        for other in self.slots.values():
            if other is not None:
                tripwire(other).disarm()
        now = self.cluster.clock.now()
        landed = "the write landed" if spec["after"] else "before the write"
        self.trips.append(f"{now:%H:%M:%S} {member.name} {spec['what']} ({landed})")
        self.faults.append(Fault(now, now + TAKEOVER_WINDOW, f"{spec['what']}: {member.name}"))

    def _restart_the_tripped(self) -> None:
        for slot, member in self.slots.items():
            wire = tripwire(member) if member else None
            if wire and wire.dead_at is not None and id(member) not in self._handled:
                self._handled.add(id(member))
                self.schedule(max(wire.dead_at + timedelta(seconds=wire.restart_after), self.cluster.clock.now()), "start", slot=slot)


# ------------------------------------------------------------------ the test


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_a_day_of_restarts_loses_nothing_and_writes_nothing_twice(seed, store, store_factory, aiohttp_server, figures):
    began = time.monotonic()
    clock = FakeClock(START)
    target = Target(clock)
    app = web.Application()
    app.router.add_get("/status", target.status)
    app.router.add_post("/send", target.send)
    server = await aiohttp_server(app)
    cluster = Cluster(clock, SETTINGS, lambda: Tripwire(store_factory(), clock))
    cluster.checks.append(at_most_one_leader)
    cluster.jitter = random.Random(seed).random  # wake-ups up to 1 s late, as on a loaded machine

    async with aiohttp.ClientSession() as session:
        options = dict(session=session, target_url=str(server.make_url("/status")), target_send_url=str(server.make_url("/send")))
        day = Day(cluster, options, seed)
        await day.run(plan(seed))

    # Heartbeats: each slot once, in its own slot, generations never going back; every gap explained.
    log = await read_heartbeats(store, ROOT)
    log.assert_one_writer_per_slot(INTERVAL)
    missing = log.missing_slots(START, END, INTERVAL)
    windows = [f for f in day.faults if f.end > f.start]
    unexplained = [s for s in missing if not any(f.start - timedelta(seconds=INTERVAL) <= s <= f.end for f in windows)]
    assert not unexplained, f"slots missing outside every fault window: {unexplained[:10]}"
    in_outage = [s for s in missing if OUTAGE[0] <= s < OUTAGE[1]]
    assert len(in_outage) >= (OUTAGE[1] - OUTAGE[0]).total_seconds() / INTERVAL - 1

    # Probes: every scheduled slot of every type stored exactly once; the send failed twice.
    probes = {d.id: d.data for d in await store.query(f"{ROOT}/probes", order_by=[Order("ts")])}
    six_hourly = [at(h) for h in (0, 6, 12, 18)] + [at(0, day=2)]
    expected = {probe_key(t, s) for t in ("outbound", "inbound") for s in six_hourly} | {probe_key("queue", at(0)), probe_key("queue", at(0, day=2))}
    assert set(probes) == expected
    assert all(p["trigger"] == "schedule" and probe_key(p["type"], p["slotStart"]) == key for key, p in probes.items())
    outbound = [probes[probe_key("outbound", s)]["result"] for s in six_hourly]
    assert outbound == ["PASS", "FAIL", "FAIL", "PASS", "PASS"]

    # Incidents: one per episode, both resolved.
    incidents = [d.data for d in await store.query(f"{ROOT}/incidents", order_by=[Order("tsStart")])]
    assert [(i["type"], i["status"]) for i in incidents] == [("probe_fail", "resolved"), ("missed_heartbeat", "resolved")], incidents
    probe_fail, missed = incidents
    assert probe_fail["tsStart"] == probes[probe_key("outbound", at(6))]["ts"]
    assert OUTAGE[0] <= missed["tsStart"] <= OUTAGE[0] + timedelta(minutes=2)
    assert OUTAGE[1] <= missed["tsEnd"] <= OUTAGE[1] + timedelta(minutes=2)

    # The day's rollup: there, once, and agreeing with the stored documents.
    rollups = {d.id: d.data for d in await store.query(f"{ROOT}/rollups")}
    assert set(rollups) == {DAY.isoformat()}
    rollup = rollups[DAY.isoformat()]
    day_beats = [b for b in log.beats if b.slot.date() == DAY]
    assert (rollup["writtenHb"], rollup["missedHb"], rollup["duplicateHb"]) == (len(day_beats), SLOTS_A_DAY - len(day_beats), 0)
    assert rollup["probeCounts"]["outbound"] == {"PASS": 2, "FAIL": 2, "SKIP": 0}
    assert rollup["incidentsCount"] == 2 and rollup["incidentsResolved"] == 2

    assert len(day.trips) == 3, f"every planned mid-job death happened: {day.trips}"
    labels = dict(seed=seed, backend=store.kind)
    figures.record("restarts", f"{day.restarts['kill']} kill -9, {day.restarts['term']} SIGTERM, {len(day.trips)} killed mid-job", **labels)
    figures.record("killed_mid_job", "; ".join(day.trips), **labels)
    figures.record("instances_started", len(cluster.members), **labels)
    figures.record("heartbeats_written", len(log.beats), **labels)
    figures.record("slots_missed_outside_outage", len(missing) - len(in_outage), "slots", **labels)
    figures.record("slots_missed_in_outage", len(in_outage), "slots", **labels)
    figures.record("final_generation", log.beats[-1].generation, **labels)
    figures.record("probe_documents", f"{len(probes)} for {len(expected)} slots", **labels)
    figures.record("outbound_sends_refused", sum(status == 500 for _, status in target.sends), **labels)
    figures.record("incidents", f"{len(incidents)} for 2 episodes", **labels)
    figures.record("wall_time_s", time.monotonic() - began, "s", **labels)


async def test_an_outage_is_recorded_even_when_the_leader_dies_in_the_monitor_run_that_would_record_it(store, store_factory):
    clock = FakeClock(at(13))  # on the hour: the first monitor window holds no time from before the start
    cluster = Cluster(clock, SETTINGS, lambda: Tripwire(store_factory(), clock))
    cluster.checks.append(at_most_one_leader)
    first = [await cluster.add("a1"), await cluster.add("b1")]
    await cluster.run_until(OUTAGE[0])
    for member in first:
        cluster.kill(member)
    await cluster.run_until(OUTAGE[1])
    second = [await cluster.add("a2"), await cluster.add("b2")]
    await cluster.run_until(at(14, 59, 59.9))
    died: list[str] = []
    for member in second:
        tripwire(member).arm(lambda op, path: op.startswith("tx.") and "/incidents/" in path, after=False,
                             on_trip=lambda member=member: (cluster.kill(member), died.append(member.name)))
    await cluster.run_until(at(15, 0, 30))
    assert len(died) == 1, "the leader died in its 15:00 monitor run, before it stored the incident"
    for member in second:
        tripwire(member).disarm()
    await cluster.run_until(at(17, 10))

    incidents = [d.data for d in await store.query(f"{ROOT}/incidents")]
    assert [i["type"] for i in incidents] == ["missed_heartbeat"], "the 14:10-14:30 outage must become one incident"
