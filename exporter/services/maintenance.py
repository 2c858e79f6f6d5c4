"""Maintenance windows: record them, silence Alertmanager for them, announce them, and read them for counting.

    service = MaintenanceService(store, paths, clock, silences=client, matchers=matchers, telegram=delivery)
    doc = await service.start(timedelta(minutes=30), "deploy 0.3", created_by="cli:ana")
    doc = await service.add(start, end, "forgot to announce", created_by="admin")   # past or future
    doc = await service.end(doc["id"], ended_by="cli:ana")                           # NotFound, WindowError
    docs = await service.list(limit=50)                                              # newest start first
    spans = await service.spans(day_start, day_end)                                  # merged, for counting
    await service.reconcile(now)          # the leader's job: retry silences, announce starts and ends

The document ``{root}/maintenance/{id}`` is written first; Alertmanager and
Telegram come after and are safe to repeat. A silence is created before the
document is first written, so no other instance can race to create a second
one; when Alertmanager is unreachable the window is still recorded (with
``silenceIds: []``), one warning says so, and ``reconcile`` retries until the
window ends. Ending early expires the window's silences (retried the same way).

Fields besides the contract's: ``endedBy``, ``announcedStart``, ``announcedEnd``,
``silenceError`` (the last failure, for people), ``silencesExpiredAt``.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Awaitable, Callable, Mapping, Protocol, Sequence

from alerting.alertmanager.silences import Matcher, SilenceClient, SilenceError
from alerting.telegram.maintenance import render_ended, render_recorded, render_started
from exporter.clock import Clock
from exporter.domain.maintenance import MAX_SPAN, Spans, Window, WindowError, end_early, new_window, window_id
from exporter.domain.slots import next_slot
from exporter.store import DocumentStore, Filter, NotFound, Order, Paths

log = logging.getLogger("longrun.maintenance")

SILENCE_AUTHOR = "longrun"
RECENT = timedelta(hours=1)  # reconcile reads windows that ended at most this long ago


class Announcer(Protocol):
    async def send(self, dedup_key: str, texts: Sequence[str]) -> int:
        """Save one message for every chat; safe to repeat with the same key (TelegramDelivery)."""


@dataclass
class SilenceStats:
    """What this process saw of Alertmanager, for the metrics."""

    failures: int = 0                       # create or expire calls that failed
    warned: set[str] = field(default_factory=set)  # windows whose failure was logged (once each)


class MaintenanceService:
    def __init__(self, store: DocumentStore, paths: Paths, clock: Clock, *, silences: SilenceClient | None = None,
                 matchers: Sequence[Matcher] = (), telegram: Announcer | None = None,
                 token: Callable[[], str] = lambda: secrets.token_hex(3),
                 refresh_day: Callable[[date], Awaitable[bool]] | None = None) -> None:
        self.store, self.paths, self.clock = store, paths, clock
        self.silences, self.matchers, self.telegram = silences, tuple(matchers), telegram
        self.token = token
        # RollupService.refresh_day: a window recorded after the fact recomputes the rollups it changes.
        self.refresh_day = refresh_day
        self.stats = SilenceStats()
        # Windows this process recorded or changed, so its metrics show them before the next store read.
        self.recent: dict[str, Window] = {}
        # What the last reconcile read (window, document), or None before the first: when to read next.
        self.known: list[tuple[Window, dict[str, Any]]] | None = None

    # ------------------------------------------------------------------ changes

    async def start(self, duration: timedelta, reason: Any, *, created_by: str) -> dict[str, Any]:
        """A window from now for ``duration``."""
        now = self.clock.now()
        return await self.add(now, now + duration, reason, created_by=created_by)

    async def add(self, start: datetime, end: datetime, reason: Any, *, created_by: str) -> dict[str, Any]:
        """Record a window (past, running or planned); raises WindowError naming the field."""
        now = self.clock.now()
        window = new_window(window_id(start, self.token()), start, end, reason, created_by=created_by, now=now)
        silence_ids, error = await self._silence(window, now)
        doc = {**window.to_doc(), "silenceIds": silence_ids, "silenceError": error}
        try:
            await self.store.create(self.paths.maintenance(window.id), doc)
        except Exception:
            await self._expire_quietly(silence_ids)  # no orphan silence for a window that was not recorded
            raise
        self.recent[window.id] = window
        log.info("🔧 Maintenance window %s recorded: %s .. %s (%s), by %s", window.id, window.start.isoformat(),
                 window.end.isoformat(), window.reason, created_by)
        doc = await self._announce(window.id, doc, now)
        recomputed = await self._refresh_days(window)
        return {**doc, "recomputedRollups": recomputed} if recomputed else doc

    async def end(self, window_id_: str, *, ended_by: str) -> dict[str, Any]:
        """End a running window now (a planned one is cancelled); NotFound, or WindowError when over."""
        path = self.paths.maintenance(window_id_)
        current = await self.store.get(path)
        if current is None:
            raise NotFound(f"id: no maintenance window {window_id_}")
        now = self.clock.now()
        ended = end_early(Window.from_doc(current.data), now)
        await self.store.update(path, {"endedAt": ended.ended_at, "endedBy": ended_by}, if_version=current.version)
        doc = {**current.data, "endedAt": ended.ended_at, "endedBy": ended_by}
        self.recent[ended.id] = ended
        log.info("🔧 Maintenance window %s ended early by %s", window_id_, ended_by)
        doc = await self._expire_silences(doc, now)
        return await self._announce(window_id_, doc, now)

    async def _refresh_days(self, window: Window) -> list[str]:
        """Recompute the rollups of the complete days the window touches (not stored in the window)."""
        if self.refresh_day is None:
            return []
        day, last, done = window.start.date(), (window.until - timedelta(microseconds=1)).date(), []
        while day <= last:
            if await self.refresh_day(day):
                done.append(day.isoformat())
            day += timedelta(days=1)
        return done

    # ------------------------------------------------------------------ reads

    async def get(self, window_id_: str) -> dict[str, Any] | None:
        doc = await self.store.get(self.paths.maintenance(window_id_))
        return doc.data if doc else None

    async def list(self, *, limit: int = 100) -> list[dict[str, Any]]:
        """Windows, the latest start first."""
        docs = await self.store.query(self.paths.maintenance_windows, order_by=[Order("start", descending=True)], limit=limit)
        return [doc.data for doc in docs]

    async def windows(self, start: datetime, end: datetime) -> list[Window]:
        """Every window touching [start, end) (one range filter: a window lasts at most MAX_SPAN)."""
        where = [Filter("start", ">=", start - MAX_SPAN), Filter("start", "<", end)]
        found = []
        async for doc in self.store.stream(self.paths.maintenance_windows, where=where, order_by=[Order("start")]):
            window = _window(doc.data)
            if window is not None and window.until > start:
                found.append(window)
        return found

    async def spans(self, start: datetime, end: datetime) -> Spans:
        """The merged windows touching [start, end): what counting leaves out."""
        return Spans.of(await self.windows(start, end))

    async def active(self, now: datetime | None = None) -> list[Window]:
        now = now or self.clock.now()
        return sorted((w for w in await self.windows(now, now + timedelta(microseconds=1)) if w.active(now)),
                      key=lambda w: w.until, reverse=True)

    # ------------------------------------------------------------------ the leader's job

    async def reconcile(self, now: datetime) -> None:
        """Silences still missing, silences still to expire, announcements due. Safe to repeat."""
        where = [Filter("end", ">=", now - RECENT)]
        known = []
        async for doc in self.store.stream(self.paths.maintenance_windows, where=where, order_by=[Order("end")]):
            window = _window(doc.data)
            if window is None:
                continue
            data = doc.data
            if window.until > now and not data.get("silenceIds") and self.silences is not None:
                data = await self._retry_silence(window, data, now)
            if data.get("endedAt") is not None and data.get("silenceIds") and data.get("silencesExpiredAt") is None:
                data = await self._expire_silences(data, now)
            data = await self._announce(window.id, data, now)
            known.append((window, data))
        self.known = known

    def next_reconcile(self, now: datetime, every: float, idle: float) -> datetime:
        """When the leader's job should reconcile again: each ``every`` seconds while a known window
        still waits for a silence, an expiry or an announcement; at the next start or end of a known
        window; else after ``idle`` seconds (a window recorded by another process silences and
        announces itself at once; the idle read catches later starts and retries). Each
        reconcile is one billed read: every minute all day was 1,440 reads a day.
        """
        soon = next_slot(now, every)
        if self.known is None or any(self._waiting(window, data, now) for window, data in self.known):
            return soon
        due = now + timedelta(seconds=idle)
        for window, _ in self.known:
            for edge in (window.start, window.until):
                if now < edge < due:
                    due = edge
        return due

    def _waiting(self, window: Window, data: Mapping[str, Any], now: datetime) -> bool:
        if window.until > now and not data.get("silenceIds") and self.silences is not None:
            return True
        if data.get("endedAt") is not None and data.get("silenceIds") and data.get("silencesExpiredAt") is None:
            return True
        started, over = window.start <= now, window.until <= now
        return (started and not data.get("announcedStart")) or (over and not data.get("announcedEnd"))

    # ------------------------------------------------------------------ Alertmanager

    async def _silence(self, window: Window, now: datetime) -> tuple[list[str], str | None]:
        """A silence for the rest of the window: ([id], None), or ([], why not) when Alertmanager failed."""
        if self.silences is None or window.until <= now:
            return [], None
        try:
            sid = await self.silences.create(self.matchers, max(window.start, now), window.until,
                                             comment=window.reason, created_by=SILENCE_AUTHOR)
        except SilenceError as exc:
            self._warn(window.id, f"silence not created ({exc})")
            return [], str(exc)
        if window.id in self.stats.warned:
            log.info("🔧 Maintenance window %s: Alertmanager silence %s created after all", window.id, sid)
        return [sid], None

    async def _retry_silence(self, window: Window, data: dict[str, Any], now: datetime) -> dict[str, Any]:
        ids, error = await self._silence(window, now)
        if not ids:
            return data
        await self.store.update(self.paths.maintenance(window.id), {"silenceIds": ids, "silenceError": None})
        return {**data, "silenceIds": ids, "silenceError": None}

    async def _expire_silences(self, data: dict[str, Any], now: datetime) -> dict[str, Any]:
        ids = [str(s) for s in data.get("silenceIds") or ()]
        if not ids or self.silences is None:
            return data
        try:
            for sid in ids:
                await self.silences.expire(sid)
        except SilenceError as exc:
            self._warn(str(data.get("id")), f"silence not expired ({exc}); alerts stay silenced until it is")
            await self.store.update(self.paths.maintenance(str(data["id"])), {"silenceError": str(exc)})
            return {**data, "silenceError": str(exc)}
        fields = {"silencesExpiredAt": now, "silenceError": None}
        await self.store.update(self.paths.maintenance(str(data["id"])), fields)
        return {**data, **fields}

    async def _expire_quietly(self, ids: Sequence[str]) -> None:
        for sid in ids:
            try:
                await self.silences.expire(sid)  # type: ignore[union-attr]
            except SilenceError:
                log.warning("🔧 Alertmanager silence %s outlives a window that was not recorded; expire it by hand "
                            "(amtool silence expire %s)", sid, sid)

    def _warn(self, window_id_: str, what: str) -> None:
        self.stats.failures += 1
        if window_id_ not in self.stats.warned:
            self.stats.warned.add(window_id_)
            log.warning("🔧 Maintenance window %s is recorded, but Alertmanager failed: %s. longrun retries every "
                        "minute until the window ends; check LONGRUN_ALERTMANAGER_URL and that Alertmanager is up.",
                        window_id_, what)

    # ------------------------------------------------------------------ Telegram

    async def _announce(self, window_id_: str, data: dict[str, Any], now: datetime) -> dict[str, Any]:
        """The start message once the window has started, the end message once it is over; each once."""
        window = _window(data)
        if window is None:
            return data
        fields: dict[str, Any] = {}
        over, started = window.until <= now, window.start <= now
        if over and window.until == window.start:
            fields = {} if data.get("announcedEnd") else {"announcedStart": now, "announcedEnd": now}  # cancelled
        elif over and not data.get("announcedStart"):
            await self._send(f"maintenance:{window.id}:recorded", render_recorded(window))
            fields = {"announcedStart": now, "announcedEnd": now}
        else:
            if started and not data.get("announcedStart"):
                await self._send(f"maintenance:{window.id}:start", render_started(window, now))
                fields["announcedStart"] = now
            if over and not data.get("announcedEnd"):
                await self._send(f"maintenance:{window.id}:end", render_ended(window, now))
                fields["announcedEnd"] = now
        if not fields:
            return data
        await self.store.update(self.paths.maintenance(window.id), fields)
        return {**data, **fields}

    async def _send(self, key: str, text: str) -> None:
        if self.telegram is not None:
            await self.telegram.send(key, [text])


def _window(data: dict[str, Any]) -> Window | None:
    try:
        return Window.from_doc(data)
    except WindowError:
        log.warning("maintenance document %r has no valid start/end; it is ignored", data.get("id"))
        return None
