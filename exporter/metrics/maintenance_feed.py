"""The maintenance windows behind ``longrun_maintenance_*``: read by the refresh loop, judged at scrape time.

    feed = MaintenanceFeed(runtime)
    await feed.refresh(now)         # windows that ended in the last 8 days or since start: one small query
    feed.active(now)                # 1.0 while a window runs, else 0.0
    feed.view(now)                  # the running window for the status page and badges, or None
    feed.seconds(now)               # seconds inside windows since this process started (a counter)
    feed.spans()                    # the windows of the last 8 days, merged: the heartbeat windows leave them out

Windows this instance itself just recorded or ended (``MaintenanceService.recent``)
count at once, without waiting for the next read.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from exporter.domain.maintenance import Spans, Window, WindowError
from exporter.store import Filter, Order

if TYPE_CHECKING:  # the runtime builds these parts; they only read it
    from exporter.runtime import Runtime

LIMIT = 1000
HORIZON = timedelta(days=8)  # the 7-day heartbeat window and a window that reached into it


class MaintenanceFeed:
    name = "maintenance"

    def __init__(self, runtime: Runtime) -> None:
        self.store, self.collection = runtime.store, runtime.paths.maintenance_windows
        self.service = runtime.maintenance
        self.since = runtime.started_at
        self.read: dict[str, Window] = {}

    def spans(self) -> Spans:
        return Spans.of(self.windows())

    async def refresh(self, now: datetime) -> None:
        since = min(self.since, now - HORIZON)
        docs = await self.store.query(self.collection, where=[Filter("end", ">=", since)],
                                      order_by=[Order("end")], limit=LIMIT)
        read = {}
        for doc in docs:
            try:
                read[doc.id] = Window.from_doc(doc.data)
            except WindowError:
                continue
        self.read = read

    def windows(self) -> list[Window]:
        """What the last read found, then what the leader's reconcile read since, then this process's own changes."""
        recent = self.service.recent if self.service is not None else {}
        reconciled = {w.id: w for w, _ in (self.service.known or [])} if self.service is not None else {}
        return list({**self.read, **reconciled, **recent}.values())

    def current(self, now: datetime) -> Window | None:
        """The running window that ends last (what the status page and badges show), None when none runs."""
        running = sorted((w for w in self.windows() if w.active(now)), key=lambda w: w.until, reverse=True)
        return running[0] if running else None

    def view(self, now: datetime) -> dict | None:
        """The running window for people: id, reason, who started it, since when and until when."""
        window = self.current(now)
        if window is None:
            return None
        return {"id": window.id, "reason": window.reason, "createdBy": window.created_by,
                "start": window.start, "until": window.until,
                "secondsLeft": round((window.until - now).total_seconds())}

    def active(self, now: datetime) -> float:
        return float(any(window.active(now) for window in self.windows()))

    def seconds(self, now: datetime) -> float:
        return self.spans().seconds_within(self.since, now)
