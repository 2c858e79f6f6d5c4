"""The refresh loop: a few small store reads on every instance, so /metrics reads memory only.

    refresh = RefreshLoop(runtime)
    await refresh.refresh_once()                     # every part, now (tests; the first pass)
    task = asyncio.create_task(refresh.run(stop))    # every settings.refresh_interval until stop
    ...
    task.cancel(); await asyncio.gather(task, return_exceptions=True)

It runs on the leader and on every standby, on the runtime's clock, so a
standby shows the leader's heartbeats, probes and incidents (and their absence
when the leader dies). Parts that change slowly are read less often
(``RefreshPlan``). A part whose read fails keeps what it had and is retried at
the next tick; a StoreError also ends the pass (the store is down: no point in
timing out once per part). ``stats`` is exported as the "refresh" job.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Awaitable, Callable

from exporter.jobs.scheduler import JobStats
from exporter.metrics.feeds import compact_incident, HeartbeatFeed, OpenIncidentsFeed, ProbeFeed, RecentIncidentsFeed, RollupFeed
from exporter.metrics.incident_view import IncidentView
from exporter.metrics.ack_feed import AckFeed
from exporter.metrics.maintenance_feed import MaintenanceFeed
from exporter.store import StoreError

if TYPE_CHECKING:  # the runtime builds these parts; they only read it
    from exporter.runtime import Runtime

log = logging.getLogger("longrun.metrics")


@dataclass(frozen=True)
class RefreshPlan:
    """How often each part is read, in refresh intervals (1 = every tick).

    Firestore bills at least one read per query, so every query run each
    minute costs 1,440 reads a day per instance. At the defaults (60 s ticks),
    once loaded, neither reads heartbeats (the leader takes its own as it
    writes them, a standby those carried on the lease it watches); the leader
    reads the other parts every 30 minutes (its own writes reach memory at
    once), a standby every 15.
    """

    heartbeats: int = 1
    # While this instance leads, its own heartbeats, probe results, incidents and rollups reach
    # memory as it writes them; the store is read for other writers' changes (a standby's webhook,
    # the CLI, chat-ops) this many times less often.
    leader_factor: int = 6
    # A standby's store-derived figures matter when the leader cannot be scraped; read every
    # part this many times less often there (its own webhook's incidents still arrive at once).
    standby_factor: int = 3
    open_incidents: int = 5
    probes: int = 5
    recent_incidents: int = 5
    rollups: int = 60
    # Windows change rarely; the leader's reconcile (every 15 minutes at most) also hands over
    # what it read, so the leader's view of current windows is never older than that.
    maintenance: int = 15
    acks: int = 5


@dataclass(frozen=True)
class _Failure:
    part: str
    error: Exception
    store_down: bool

    def __str__(self) -> str:
        return f"{self.part}: {self.error.__class__.__name__}: {self.error}"


@dataclass(frozen=True)
class _Part:
    name: str
    every: int
    refresh: Callable[[datetime], Awaitable[None]]


class RefreshLoop:
    """Keeps the store-derived part of the metrics in memory; see the module docstring.

        refresh = RefreshLoop(runtime, plan=RefreshPlan(probes=1))
        await refresh.refresh_once()
        refresh.heartbeats.windows["24h"].coverage
        refresh.probes.history.newest("outbound")
        refresh.incidents.open_counts()
        refresh.rollups.newest
    """

    def __init__(self, runtime: Runtime, plan: RefreshPlan | None = None) -> None:
        plan = plan or RefreshPlan()
        self.clock = runtime.clock
        self.leadership = runtime.leadership
        self.leader_factor, self.standby_factor = plan.leader_factor, plan.standby_factor
        self.interval = timedelta(seconds=runtime.settings.refresh_interval)
        self.heartbeats = HeartbeatFeed(runtime)
        self.probes = ProbeFeed(runtime)
        self.incidents = IncidentView()
        self.rollups = RollupFeed(runtime)
        self.maintenance = MaintenanceFeed(runtime)
        self.heartbeats.maintenance = self.maintenance.spans
        self.acks = AckFeed(runtime)
        # The leader's own writes reach /metrics and the page at once, not at the next tick.
        runtime.heartbeat.state.listeners.append(lambda doc: self.heartbeats.take_own(doc, self.clock.now()))
        runtime.probes.listeners.append(self.probes.take_own)
        runtime.incidents.listeners.append(self._take_own_incident)
        self.stats = JobStats()
        self.refreshed = asyncio.Event()  # set after every pass; for waiters such as tests
        self._parts = (
            _Part("own_probes", 1, self._absorb_own_probes),  # memory only: first, so an outage cannot hold it up
            # Before the heartbeats: their windows leave the maintenance windows out.
            _Part(self.maintenance.name, plan.maintenance, self.maintenance.refresh),
            _Part(self.heartbeats.name, plan.heartbeats, self.heartbeats.refresh),
            _Part(OpenIncidentsFeed.name, plan.open_incidents, OpenIncidentsFeed(runtime, self.incidents).refresh),
            _Part(self.probes.name, plan.probes, self.probes.refresh),
            _Part(RecentIncidentsFeed.name, plan.recent_incidents, RecentIncidentsFeed(runtime, self.incidents).refresh),
            _Part(self.rollups.name, plan.rollups, self.rollups.refresh),
            _Part(self.acks.name, plan.acks, self.acks.refresh),
        )
        self._due: dict[str, datetime] = {}
        self._failing = False
        self._broken: set[str] = set()  # parts whose last refresh raised something other than StoreError

    def _take_own_incident(self, doc: dict) -> None:
        self.incidents.take(compact_incident(doc), self.clock.now())
        self.acks.take_own(doc)  # an acknowledgement made here (API, button) is in the histogram at once

    async def refresh_once(self) -> bool:
        """Read every part now; True when every read succeeded."""
        return await self._pass(self._parts)

    async def refresh_due(self) -> bool:
        """Read the parts that are due now (none: nothing happens); True when every read succeeded."""
        now = self.clock.now()
        due = [p for p in self._parts if self._due.get(p.name, now) <= now]
        return await self._pass(due) if due else True

    def next_due(self) -> datetime:
        now = self.clock.now()
        return min((self._due.get(p.name, now) for p in self._parts), default=now)

    async def run(self, stop: asyncio.Event) -> None:
        """Refresh when due until ``stop`` is set; cancelling the task stops it too."""
        while not stop.is_set():
            try:
                await self.refresh_due()
            except Exception:  # parts are guarded; this keeps a bug in the loop itself from ending it
                log.exception("metrics refresh: pass failed; trying again at the next tick")
                self._due = {part.name: self.clock.now() + self.interval for part in self._parts}
            await self.clock.wait_until(self.next_due(), stop)

    # ------------------------------------------------------------------ one pass

    async def _absorb_own_probes(self, now: datetime) -> None:
        self.probes.absorb()

    async def _pass(self, parts: list[_Part] | tuple[_Part, ...]) -> bool:
        now = self.clock.now()
        started = time.perf_counter()
        self.stats.runs += 1
        errors = []
        for part in parts:
            error = await self._refresh_part(part, now)
            if error is not None:
                errors.append(error)
                if error.store_down:
                    break  # the others would only time out one by one; they stay due
        self.stats.last_duration = time.perf_counter() - started
        self._record(now, "; ".join(map(str, errors)) or None)
        self.refreshed.set()
        self.refreshed.clear()
        return not errors

    async def _refresh_part(self, part: _Part, now: datetime) -> "_Failure | None":
        """Refresh one part; what went wrong, if anything (the part keeps what it had)."""
        try:
            await part.refresh(now)
        except asyncio.CancelledError:
            raise
        except StoreError as exc:
            self._due[part.name] = now + self.interval
            return _Failure(part.name, exc, store_down=True)
        except Exception as exc:  # a bug in one part must not stop the loop or the other parts
            self._due[part.name] = now + self.interval
            if part.name not in self._broken:
                log.exception("metrics refresh: reading %s failed (logged once until it works again)", part.name)
            self._broken.add(part.name)
            return _Failure(part.name, exc, store_down=False)
        self._due[part.name] = now + self.interval * self._every(part, now)
        self._broken.discard(part.name)
        return None

    def _every(self, part: _Part, now: datetime) -> int:
        if part.every == 1:
            return 1
        return part.every * (self.leader_factor if self.leadership.holds(now) else self.standby_factor)

    def _record(self, now: datetime, error: str | None) -> None:
        if error is None:
            self.stats.last_success = now
            if self._failing:
                log.info("metrics refresh: store readable again; figures are current")
            self._failing = False
            return
        self.stats.failures += 1
        self.stats.last_error = error
        if not self._failing:
            log.warning("metrics refresh failed (%s); /metrics keeps the last known figures until it succeeds", error)
        self._failing = True
