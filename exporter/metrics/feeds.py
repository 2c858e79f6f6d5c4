"""The store reads behind the metrics: each feed keeps one part of the picture current.

    feed = HeartbeatFeed(runtime)
    await feed.refresh(now)            # a few small reads; a StoreError leaves what it had
    feed.index.newest_ts, feed.windows["1h"].coverage

Firestore bills a read per document a query returns, and one for a query that
returns nothing, so every feed loads once and then asks only for what is new:

- heartbeats: the newest one, then 7 days of slots once; after that only
  ``ts > newest seen``. The leader, still under the lease it held at the last
  refresh and with at most one heartbeat written since, reads nothing at all:
  nobody else can have written one; it takes each heartbeat it writes at once
  (``take_own``). A standby takes the heartbeats the leader carries on the lease
  document it watches (``exporter.domain.lease_heartbeats``) and reads the
  collection only when those do not join up with what it holds, and once every
  ``SAFETY_READ``.
- probes: per type, newest first until a PASS (the failure streak); after
  that one query for every type, ``ts`` past the newest seen (re-reading only
  results written in the minute before the previous read).
- incidents: the open ones (each refresh) and those of the last 24 h.
- rollups: the newest one.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable, Mapping

from exporter.domain.heartbeats import HeartbeatResult
from exporter.domain.incidents import ACTIVE_STATUSES
from exporter.domain.maintenance import Spans
from exporter.domain.slots import slot_start
from exporter.metrics.catalog import PROBE_TYPES, WINDOWS
from exporter.metrics.heartbeat_index import HeartbeatIndex, usable_ts
from exporter.metrics.incident_view import DAY, IncidentView
from exporter.metrics.probe_history import KEEP, ProbeHistory
from exporter.settings import parse_duration
from exporter.store import Document, Filter, Order

if TYPE_CHECKING:  # the runtime builds these parts; they only read it
    from exporter.runtime import Runtime

PAGE = 1000
PROBE_PAGE = 10
# Incident documents are large (every alert episode, labels, annotations) and the metrics keep
# four fields: a page of 1000 decoded at once made each refresh under an alert storm allocate
# megabytes the allocator never gave back (RSS grew with the incidents of the last minutes).
INCIDENT_PAGE = 100
INCIDENT_FIELDS = ("incidentId", "tsStart", "type", "severity", "status", "subject", "reason", "owner", "source",
                   "tsAck", "tsEnd", "mttrSec")
REASON_KEPT = 300  # characters of an incident's reason kept for the page


def compact_incident(data: Mapping[str, Any]) -> dict[str, Any]:
    """The few fields of an incident the metrics and the status page show, the reason shortened."""
    kept = {key: data.get(key) for key in INCIDENT_FIELDS}
    if isinstance(kept["reason"], str) and len(kept["reason"]) > REASON_KEPT:
        kept["reason"] = kept["reason"][:REASON_KEPT] + "…"
    return kept
# A standby living on the heartbeats carried by the lease still reads the collection this often.
SAFETY_READ = timedelta(hours=1)
# Probe results of another instance may land a little after a newer one was read.
PROBE_OVERLAP = timedelta(seconds=60)


class HeartbeatFeed:
    """Heartbeat slots of the last 7 days in memory, and coverage, missed and max gap per window."""

    name = "heartbeats"

    def __init__(self, runtime: Runtime) -> None:
        self.store, self.collection = runtime.store, runtime.paths.heartbeats
        self.leadership, self.own = runtime.leadership, runtime.heartbeat.state
        self.interval = runtime.settings.heartbeat_interval
        self.spans = {name: timedelta(seconds=parse_duration(name, "window")) for name in WINDOWS}
        self.horizon = max(self.spans.values()) + timedelta(seconds=self.interval)
        self.index = HeartbeatIndex(self.interval)
        self.windows: dict[str, HeartbeatResult] = {}
        self.loaded = False
        self._led_under: int | None = None  # the lease generation held at the last refresh
        self._absorbed_total = 0
        # The first heartbeat ever: windows never reach back before it, so a fresh
        # deployment is not "missing" the hour before it existed.
        self.first_slot: datetime | None = None
        # The merged maintenance windows of the last 7 days: their slots are not expected (set by the refresh loop).
        self.maintenance: Callable[[], Spans] = Spans
        # Living on the lease's carried heartbeats, a standby knows every slot up to the one
        # holding the renewal it last saw; the windows end there (None: known up to now).
        self.known_until: datetime | None = None
        self._read_at: datetime | None = None
        # The newest ts taken from the store or the lease: the next read starts there. Not the
        # index's newest, which this instance's own writes move on (a new leader's first heartbeat
        # must not hide those the old leader wrote after the last read).
        self._cursor: datetime | None = None

    def bounds(self, now: datetime, window: str) -> tuple[datetime, datetime]:
        """[start, end) of a window: whole slots only, ending where the current slot starts,
        and starting no earlier than the first heartbeat ever (empty before any)."""
        end = slot_start(now if self.known_until is None else min(now, self.known_until), self.interval)
        if self.first_slot is None:
            return end, end
        return min(end, max(end - self.spans[window], self.first_slot)), end

    async def refresh(self, now: datetime) -> None:
        self.known_until = None
        if not self.loaded:
            await self._load(now)
            self._read_at = now
        elif self._own_writes_suffice(now):
            self._take_read([self.own.last_written] if self.own.last_written else [])  # nobody else wrote one
        elif self._carried_suffice(now):
            self._take_read(self.leadership.carried)
            self.known_until = self.leadership.carried_at
        else:
            await self._read_since(self._cursor or now - self.horizon)
            self._read_at = now
        self._absorb_own()
        if self.first_slot is None:
            self.first_slot = self.index.oldest_slot()
        self._led_under = self.leadership.generation if self.leadership.holds(now) else None
        self.index.prune(now - self.horizon)
        self._compute(now)

    def take_own(self, doc: Mapping[str, Any], now: datetime) -> None:
        """A heartbeat this instance just wrote: counted at once, no read."""
        if not self.loaded:
            return  # the first refresh reads it with the rest
        self._absorb_own()
        if self.first_slot is None:
            self.first_slot = self.index.oldest_slot()
        self._compute(now)

    def _compute(self, now: datetime) -> None:
        planned = self.maintenance()
        self.windows = {name: self.index.window_outside(*self.bounds(now, name), planned) for name in self.spans}

    def _carried_suffice(self, now: datetime) -> bool:
        """True when the heartbeats on the lease join up with those held (nothing can be missing
        between them), the lease is current, and the last read of the collection is recent enough."""
        carried, seen = self.leadership.carried, self.leadership.observed
        if seen is not None and seen.holder == self.leadership.instance_id:
            return False  # ours: what we carry is what we wrote
        if not carried or self.leadership.carried_at is None or seen is None or seen.lease_until <= now:
            return False
        if now - self.leadership.carried_at > timedelta(seconds=2 * self.leadership.renew):
            return False  # the leader stopped renewing: what it carried is not the whole story
        if self._read_at is None or now - self._read_at >= SAFETY_READ:
            return False
        return self._cursor is not None and carried[0]["ts"] <= self._cursor

    def _take_read(self, docs: Any) -> None:
        for doc in docs:
            self.index.add(doc)
            ts = usable_ts(doc)
            if ts is not None and (self._cursor is None or ts > self._cursor):
                self._cursor = ts

    async def _load(self, now: datetime) -> None:
        first = await self.store.query(self.collection, order_by=[Order("ts")], limit=1)
        if first:
            self.first_slot = slot_start(first[0].get("ts"), self.interval)
        newest = await self.store.query(self.collection, order_by=[Order("ts", descending=True)], limit=1)
        self._take_read(doc.data for doc in newest)
        where = [Filter("ts", ">=", now - self.horizon)]
        async for doc in self.store.stream(self.collection, where=where, order_by=[Order("ts")], page_size=PAGE):
            self._take_read([doc.data])
        self.loaded = True

    async def _read_since(self, cursor: datetime) -> None:
        where = [Filter("ts", ">", cursor)]
        async for doc in self.store.stream(self.collection, where=where, order_by=[Order("ts")], page_size=PAGE):
            self._take_read([doc.data])

    def _own_writes_suffice(self, now: datetime) -> bool:
        """True while this instance has led, under one lease generation, since the last refresh
        and wrote at most one heartbeat since: the one it holds in memory."""
        lead = self.leadership
        if self._led_under is None or not lead.holds(now) or lead.generation != self._led_under:
            return False
        return self.own.written_total - self._absorbed_total <= 1

    def _absorb_own(self) -> None:
        if self.own.last_written is not None:
            self.index.add(self.own.last_written)
        self._absorbed_total = self.own.written_total


def is_manual(doc: Mapping[str, Any]) -> bool:
    """A run someone asked for (``longrun probe run``, the admin API), not the schedule's."""
    return doc.get("trigger") == "manual"


class ProbeFeed:
    """The newest result and failure streak per probe type, and this instance's own runs."""

    name = "probes"

    def __init__(self, runtime: Runtime) -> None:
        self.store, self.collection = runtime.store, runtime.paths.probes
        self.runner = runtime.probes
        self.me, self.since = runtime.identity.instance_id, runtime.started_at
        self.history = ProbeHistory()  # scheduled runs only: manual ones never replace the schedule's state
        self.manual: dict[str, Mapping[str, Any]] = {}  # the newest manual run per type, shown apart
        self.day: dict[str, dict[str, Mapping[str, Any]]] = {}  # type -> probeKey -> scheduled run of the last 24 h
        self.own_runs: Counter[tuple[str, str]] = Counter()
        self.loaded = False
        self._newest: datetime | None = None  # newest ts read from the store
        self._cursor: datetime | None = None  # the next read asks for ts after this
        self._counted: dict[str, datetime] = {}  # probeKey -> ts of own runs counted

    def absorb(self) -> None:
        """This instance's latest results, straight from memory: no read."""
        for doc in list(self.runner.last.values()):
            self._take(doc)

    def take_own(self, doc: Mapping[str, Any]) -> None:
        """A result this instance just wrote: shown at once, no read."""
        self._take(doc)

    def newest(self, probe_type: str) -> Mapping[str, Any] | None:
        """The newest result of the schedule or of a manual run, whichever is newer."""
        docs = [d for d in (self.history.newest(probe_type), self.manual.get(probe_type)) if d is not None]
        return max(docs, key=lambda d: d["ts"], default=None)

    async def refresh(self, now: datetime) -> None:
        if not self.loaded:
            for probe_type in PROBE_TYPES:
                await self._load_type(probe_type)
            await self._read_since(now - DAY)  # the last 24 h of runs, for the page's bars (once)
            self.loaded = True
        else:
            await self._read_since(self._cursor)
        # Next time, read again what was written within PROBE_OVERLAP of now: a result of
        # another instance may still land with an earlier ts than one already read.
        self._cursor = min(self._newest or now, now - PROBE_OVERLAP)
        self._forget_counted()

    async def _load_type(self, probe_type: str) -> None:
        """Newest first until the PASS that ends the failure streak."""
        where, order = [Filter("type", "==", probe_type)], [Order("ts", descending=True)]
        after: Document | None = None
        for _ in range(0, KEEP, PROBE_PAGE):
            page = await self.store.query(self.collection, where=where, order_by=order, limit=PROBE_PAGE, start_after=after)
            for doc in page:
                self._take_stored(doc.data)
                if doc.get("result") == "PASS" and not is_manual(doc.data):
                    return
            if len(page) < PROBE_PAGE:
                return
            after = page[-1]

    async def _read_since(self, cursor: datetime) -> None:
        where = [Filter("ts", ">", cursor)]
        async for doc in self.store.stream(self.collection, where=where, order_by=[Order("ts")], page_size=PAGE):
            self._take_stored(doc.data)

    def _take_stored(self, doc: Mapping[str, Any]) -> None:
        ts = usable_ts(doc)
        if ts is not None and (self._newest is None or ts > self._newest):
            self._newest = ts
        self._take(doc)

    def _take(self, doc: Mapping[str, Any]) -> None:
        key, ts = doc.get("probeKey"), usable_ts(doc)
        if is_manual(doc):
            held = self.manual.get(str(doc.get("type")))
            if ts is not None and (held is None or ts > held["ts"]):
                self.manual[str(doc.get("type"))] = doc
            return  # not in the streak, not in probe_runs: a manual run is not the schedule's state
        self.history.add(doc)
        if ts is not None and isinstance(key, str):
            runs = self.day.setdefault(str(doc.get("type")), {})
            runs[key] = {k: doc.get(k) for k in ("probeKey", "ts", "result", "error", "latencyMs", "slotStart")}
            cutoff = max(ts, self._newest or ts) - DAY
            for old in [k for k, d in runs.items() if d["ts"] < cutoff]:
                del runs[old]
        if doc.get("instanceId") != self.me or ts is None or ts < self.since or key in self._counted:
            return
        self._counted[key] = ts
        self.own_runs[(str(doc.get("type")), str(doc.get("result")))] += 1

    def _forget_counted(self) -> None:
        """Keep the keys that can still come back: within the overlap, or held in memory."""
        floors = [self._cursor] if self._cursor else []
        floors += [ts for doc in self.runner.last.values() if (ts := usable_ts(doc)) is not None]
        if floors:
            floor = min(floors)
            self._counted = {key: ts for key, ts in self._counted.items() if ts >= floor}


class OpenIncidentsFeed:
    """Every open or acknowledged incident (usually none: one billed read)."""

    name = "open_incidents"

    def __init__(self, runtime: Runtime, view: IncidentView) -> None:
        self.store, self.collection, self.view = runtime.store, runtime.paths.incidents, view

    async def refresh(self, now: datetime) -> None:
        where = [Filter("status", "in", list(ACTIVE_STATUSES))]
        docs = [compact_incident(doc.data)
                async for doc in self.store.stream(self.collection, where=where, page_size=INCIDENT_PAGE)]
        self.view.set_open(docs, now)


class RecentIncidentsFeed:
    """Every incident that started in the last 24 hours: all of them once, then those stored since.

    A full read each time billed one read per incident of the day, every few
    minutes, on every instance, and held whole documents (alerts, labels) in
    memory: an alert storm of thousands of incidents a day made both grow.
    After the first load only incidents stored since the last read are read
    (``createdAt``; tsStart can be an alert's past startsAt), with an overlap
    for instances' clocks and transactions in flight, and only what the
    metrics use is kept. A full read every ``FULL_EVERY`` catches anything
    written without ``createdAt`` (an older version in a rolling deploy).
    """

    name = "recent_incidents"
    OVERLAP = timedelta(minutes=5)
    FULL_EVERY = timedelta(hours=6)

    def __init__(self, runtime: Runtime, view: IncidentView) -> None:
        self.store, self.collection, self.view = runtime.store, runtime.paths.incidents, view
        self._known: dict[str, dict[str, Any]] = {}
        self._read_at: datetime | None = None
        self._full_at: datetime | None = None

    async def refresh(self, now: datetime) -> None:
        full = self._full_at is None or now - self._full_at >= self.FULL_EVERY
        if full:
            where, order = [Filter("tsStart", ">=", now - DAY)], Order("tsStart")
        else:
            where, order = [Filter("createdAt", ">=", self._read_at - self.OVERLAP)], Order("createdAt")
        known = {} if full else self._known
        async for doc in self.store.stream(self.collection, where=where, order_by=[order], page_size=INCIDENT_PAGE):
            compact = compact_incident(doc.data)
            if isinstance(compact["incidentId"], str):
                known[compact["incidentId"]] = compact
        cutoff = now - DAY
        self._known = {i: d for i, d in known.items() if isinstance(d["tsStart"], datetime) and d["tsStart"] >= cutoff}
        self._read_at = now
        if full:
            self._full_at = now
        self.view.set_recent(self._known.values(), now)


class RollupFeed:
    """The daily rollups of the last ``DAYS`` days (the status page's history), the newest apart.

    The first refresh reads them all (``DAYS`` + 1 reads, once); later ones only the newest two
    (a day is rolled up once, and re-written when forced).
    """

    name = "rollups"
    DAYS = 90

    def __init__(self, runtime: Runtime) -> None:
        self.store, self.collection = runtime.store, runtime.paths.rollups
        self.own = runtime.rollups
        self.newest: dict[str, Any] | None = None
        self.days: dict[str, dict[str, Any]] = {}  # "YYYY-MM-DD" -> rollup
        self.loaded = False

    async def refresh(self, now: datetime) -> None:
        limit = 2 if self.loaded else self.DAYS + 1
        docs = await self.store.query(self.collection, order_by=[Order("date", descending=True)], limit=limit)
        for doc in docs:
            self._take(doc.data)
        self.loaded = True
        first = (now - timedelta(days=self.DAYS + 1)).date().isoformat()
        self.days = {day: doc for day, doc in self.days.items() if day >= first}

    def held(self) -> list[dict[str, Any]]:
        """The rollups held, this instance's newest own one included, oldest first."""
        own = getattr(self.own, "last_written", None)
        if isinstance(own, Mapping):
            self._take(own)
        return [self.days[day] for day in sorted(self.days)]

    def _take(self, doc: Mapping[str, Any]) -> None:
        day = doc.get("date")
        if not isinstance(day, str):
            return
        self.days[day] = dict(doc)
        if self.newest is None or day >= str(self.newest.get("date")):
            self.newest = self.days[day]
