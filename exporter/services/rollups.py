"""Daily rollups: computed from the raw documents, written once, caught up when missed.

    rollups = RollupService(store, paths, clock, config, identity, interval=60)
    doc, written = await rollups.run_day(date(2026, 3, 1))          # skipped when present
    doc, written = await rollups.run_day(date(2026, 3, 1), force=True)
    doc, replaced = await rollups.recompute(date(2026, 3, 1))      # an operator's: refused when it would lie
    days = await rollups.catch_up()                                   # the last 7 days missing one

Every read is paginated (``store.stream``), so a day of 86,400 heartbeats
costs memory for one page, not for the day.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Awaitable, Callable

from exporter.clock import Clock
from exporter.domain.heartbeats import HeartbeatAccumulator, HeartbeatResult
from exporter.domain.maintenance import Spans
from exporter.domain.maintenance_heartbeats import OutsideWindows
from exporter.domain.rollup import compute_rollup, days_needing_rollup
from exporter.domain.slots import day_bounds
from exporter.domain.documents import Identity
from exporter.services.config import ConfigSource
from exporter.store import DocumentStore, Filter, Order, Paths

log = logging.getLogger("longrun.rollup")

LOOKBACK_DAYS = 7
PAGE = 1000


class DayNotOver(ValueError):
    """Only complete UTC days are rolled up: a partial rollup would stand in for the real one."""


class DayPastRetention(ValueError):
    """The day's heartbeats are deleted: a rollup now would say none were written."""


@dataclass
class RollupFailure:
    day: date
    error: str
    at: datetime


class RollupService:
    def __init__(
        self, store: DocumentStore, paths: Paths, clock: Clock, config: ConfigSource, identity: Identity, interval: float,
        known_day: Callable[[date], HeartbeatResult | None] = lambda day: None,
        maintenance: Callable[[datetime, datetime], Awaitable[Spans]] | None = None,
    ) -> None:
        self.store, self.paths, self.clock = store, paths, clock
        self.config, self.identity, self.interval = config, identity, interval
        # The leader's own record of a day it led throughout (exporter.jobs.ledger), when it has one.
        self.known_day = known_day
        # The merged maintenance windows touching a span (MaintenanceService.spans): left out of the counts.
        self.maintenance = maintenance
        self.last_failure: RollupFailure | None = None
        self.last_written: dict[str, Any] | None = None

    async def compute(self, day: date, *, from_store: bool = False) -> dict[str, Any]:
        """The rollup of ``day``; ``from_store`` reads every heartbeat even when the leader's record would do."""
        start, end = day_bounds(day)
        window = [Filter("ts", ">=", start), Filter("ts", "<", end)]
        spans = await self.maintenance(start, end) if self.maintenance is not None else Spans()
        # The leader's own record knows nothing of maintenance: a day with a window is read from the store.
        known = None if from_store or spans else self.known_day(day)
        heartbeats = known or await self._read_heartbeats(start, end, spans)
        probes = [d.data async for d in self.store.stream(self.paths.probes, where=window, order_by=[Order("ts")], page_size=PAGE)]
        incidents = await self._incidents_touching(start, end)
        doc = compute_rollup(
            day, heartbeats, probes, incidents,
            interval=self.interval,
            insufficient_threshold=self.config.current["insufficientDataThreshold"],
            commit=self.identity.commit, service_version=self.identity.service_version,
            created_at=self.clock.now(),
        )
        doc["heartbeatSource"] = "leader-record" if known else "store"
        doc["maintenanceSec"] = spans.seconds_in_day(day)
        return doc

    async def _read_heartbeats(self, start: datetime, end: datetime, spans: Spans = Spans()) -> HeartbeatResult:
        heartbeats = OutsideWindows(start, end, self.interval, spans) if spans else HeartbeatAccumulator(start, end, self.interval)
        before = await self.store.query(
            self.paths.heartbeats, where=[Filter("ts", "<", start)], order_by=[Order("ts", descending=True)], limit=1
        )
        if before:
            heartbeats.seed(before[0].data)  # a restart across midnight counts in this day
        async for doc in self.store.stream(self.paths.heartbeats, where=[Filter("ts", ">=", start), Filter("ts", "<", end)],
                                           order_by=[Order("ts")], page_size=PAGE):
            heartbeats.add(doc.data)
        return heartbeats.result()

    async def _incidents_touching(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Incidents that started, were acknowledged or were resolved in [start, end), each once."""
        found: dict[str, dict[str, Any]] = {}
        for field in ("tsStart", "tsEnd", "tsAck"):
            where = [Filter(field, ">=", start), Filter(field, "<", end)]
            async for doc in self.store.stream(self.paths.incidents, where=where, order_by=[Order(field)], page_size=PAGE):
                found[doc.id] = doc.data
        return list(found.values())

    async def run_day(self, day: date, *, force: bool = False) -> tuple[dict[str, Any], bool]:
        """Write the rollup of ``day`` unless it exists; ``force`` recomputes and overwrites it."""
        path = self.paths.rollup(day.isoformat())
        await self.config.load()
        if not force:
            existing = await self.store.get(path)
            if existing is not None:
                log.info("📅 Daily rollup for %s already exists, skipping", day.isoformat())
                return existing.data, False
        log.info("📅 Running daily rollup for %s%s", day.isoformat(), " (forced: overwriting)" if force else "")
        try:
            doc = await self.compute(day, from_store=force)
            if force:
                doc["recomputedAt"] = self.clock.now()
                await self.store.set(path, doc)
            else:
                await self.store.create(path, doc)
        except Exception as exc:
            self.last_failure = RollupFailure(day, f"{exc.__class__.__name__}: {exc}", self.clock.now())
            raise
        self.last_failure = None
        self.last_written = doc
        log.info(
            "📅 Rollup %s: written %s/%s heartbeats, uptime %s, max gap %ss%s",
            doc["date"], doc["writtenHb"], doc["expectedHb"],
            "n/a" if doc["uptimePct"] is None else f"{doc['uptimePct']:.3f}%",
            doc["maxGapSec"], ", insufficient data" if doc["insufficientData"] else "",
        )
        return doc, True

    # ------------------------------------------------------------------ an operator's recompute

    def check_over(self, day: date) -> None:
        """Raise DayNotOver unless ``day`` has ended (UTC)."""
        today = self.clock.now().date()
        if day >= today:
            raise DayNotOver(f"{day} is not complete yet (not over yet in UTC; today is {today}); "
                             f"the last complete day is {today - timedelta(days=1)}")

    async def check_retention(self, day: date) -> None:
        """Raise DayPastRetention when retention has deleted the day's heartbeats."""
        keep_days = (await self.config.load()).get("retention", {}).get("heartbeatsDays")
        if keep_days and day_bounds(day)[0] < self.clock.now() - timedelta(days=keep_days):
            raise DayPastRetention(f"heartbeats older than {keep_days:g} days are deleted by retention; "
                                   f"a rollup of {day} now would say none were written")

    async def recompute(self, day: date) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """Check the day, recompute it from the raw documents and overwrite; (new rollup, the one replaced)."""
        self.check_over(day)
        await self.check_retention(day)
        before = await self.store.get(self.paths.rollup(day.isoformat()))
        doc, _ = await self.run_day(day, force=True)
        return doc, before.data if before is not None else None

    async def catch_up(self, lookback: int = LOOKBACK_DAYS) -> list[date]:
        """Roll up every complete day of the last ``lookback`` that has data and no rollup."""
        today = self.clock.now().date()
        days = [today - timedelta(days=back) for back in range(lookback, 0, -1)]
        existing, with_data = set(), set()
        for day in days:
            if await self.store.get(self.paths.rollup(day.isoformat())) is not None:
                existing.add(day)
                if day == days[-1]:
                    log.info("📅 Daily rollup for %s already exists, skipping", day.isoformat())
            elif await self._has_data(day):
                with_data.add(day)
        todo = days_needing_rollup(today, existing, with_data, lookback)
        for day in todo:
            await self.run_day(day)
        return todo

    async def refresh_day(self, day: date) -> bool:
        """Recompute a complete day whose rollup exists and whose heartbeats are still stored
        (a maintenance window recorded after the fact changes it); False when left alone."""
        if day >= self.clock.now().date() or await self.store.get(self.paths.rollup(day.isoformat())) is None:
            return False
        if not await self._has_data(day):
            return False  # retention deleted its heartbeats: recomputing would empty it
        await self.run_day(day, force=True)
        return True

    async def _has_data(self, day: date) -> bool:
        start, end = day_bounds(day)
        for collection in (self.paths.heartbeats, self.paths.probes):
            if await self.store.query(collection, where=[Filter("ts", ">=", start), Filter("ts", "<", end)], limit=1):
                return True
        return False

    async def list(self, start: date | None = None, end: date | None = None, limit: int = 400) -> list[dict[str, Any]]:
        where = []
        if start:
            where.append(Filter("date", ">=", start.isoformat()))
        if end:
            where.append(Filter("date", "<=", end.isoformat()))
        docs = await self.store.query(self.paths.rollups, where=where, order_by=[Order("date", descending=True)], limit=limit)
        return [d.data for d in docs]
