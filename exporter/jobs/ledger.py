"""The leader's own record of the day's heartbeats: a rollup that need not read them back.

Reading a day back costs 1,440 reads on Firestore. When this instance led for
the whole day, every heartbeat of that day is one it wrote (the lease is
exclusive), so its own record is the store's content, provided every write's
outcome is known. Any doubt spoils the record and the rollup reads the store.

    ledger.record(doc)            # after a create that succeeded
    ledger.spoil("timeout", slot) # a write whose outcome is unknown, for that slot's day
    ledger.result_for(day, leading_since)   # a HeartbeatResult, or None: read the store
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from exporter.domain.heartbeats import HeartbeatAccumulator, HeartbeatResult
from exporter.domain.slots import day_bounds

log = logging.getLogger("longrun.heartbeat")


class DayLedger:
    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._day: date | None = None
        self._acc: HeartbeatAccumulator | None = None
        self._spoiled: str | None = None
        self._last: dict[str, Any] | None = None
        self._finished: tuple[date, HeartbeatResult | None] | None = None

    def record(self, doc: dict[str, Any]) -> None:
        day = doc["slotStart"].date()
        if day != self._day:
            self._roll_over(day)
        self._acc.add(doc)
        self._last = doc

    def spoil(self, why: str, slot: datetime) -> None:
        """Doubt about ``slot``'s write spoils the record of that slot's day, even
        when it is the day's first write (the record rolls over to the new day first)."""
        day = slot.date()
        if day != self._day:
            self._roll_over(day)
        if self._spoiled is None:
            self._spoiled = why

    def _roll_over(self, day: date) -> None:
        if self._day is not None:
            self._finished = (self._day, None if self._spoiled else self._acc.result())
        self._day = day
        self._acc = HeartbeatAccumulator(*day_bounds(day), self.interval)
        # Without this instance's own heartbeat before the day, the record cannot tell
        # where the day's history starts or its first gap: the store must be read.
        self._spoiled = None if self._last is not None else "no heartbeat of this instance before the day"
        if self._last is not None:
            self._acc.seed(self._last)

    def result_for(self, day: date, leading_since: datetime | None) -> HeartbeatResult | None:
        """The analysis of ``day`` (a day that has ended) from memory, or None when the store must be read.

        At midnight the rollup may ask before the new day's first heartbeat
        rolled the record over, so the current record answers too.
        """
        start, _ = day_bounds(day)
        if leading_since is None or leading_since > start:
            return None
        if self._day == day:
            return None if self._spoiled else self._acc.result()
        if self._finished is not None and self._finished[0] == day:
            return self._finished[1]
        return None
