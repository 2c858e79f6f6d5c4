"""The one clock every scheduled thing reads.

Production code takes a ``Clock`` and never calls ``datetime.now()`` itself, so
a test can hand it a ``FakeClock`` and live through days in milliseconds.

    >>> clock = FakeClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
    >>> clock.advance_sync(90)
    >>> clock.now().isoformat()
    '2026-01-01T00:01:30+00:00'
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from abc import ABC, abstractmethod
from datetime import datetime, timedelta, timezone


def utc(dt: datetime) -> datetime:
    """Reject naive datetimes and normalise aware ones to UTC."""
    if dt.tzinfo is None:
        raise ValueError("naive datetime: every timestamp in longrun is timezone-aware UTC")
    return dt.astimezone(timezone.utc)


class Clock(ABC):
    @abstractmethod
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""

    def time(self) -> float:
        """The current time as epoch seconds."""
        return self.now().timestamp()

    @abstractmethod
    async def sleep_until(self, when: datetime) -> None:
        """Return once ``now() >= when``."""

    async def sleep(self, seconds: float) -> None:
        await self.sleep_until(self.now() + timedelta(seconds=max(0.0, seconds)))

    async def wait_until(self, when: datetime, *events: asyncio.Event) -> None:
        """Return at ``when``, or as soon as any of ``events`` is set, whichever comes first."""
        waits = [asyncio.ensure_future(self.sleep_until(when)), *(asyncio.ensure_future(e.wait()) for e in events)]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
            await asyncio.gather(*waits, return_exceptions=True)


class RealClock(Clock):
    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    async def sleep_until(self, when: datetime) -> None:
        # Re-check after waking: the event loop may wake early, and a process
        # stopped with SIGSTOP wakes late; both must see the wall clock.
        while True:
            remaining = (when - self.now()).total_seconds()
            if remaining <= 0:
                return
            await asyncio.sleep(min(remaining, 30.0))


class FakeClock(Clock):
    """A clock that moves only when told to.

    ``await clock.advance(s)`` walks forward through every pending sleeper in
    deadline order, waking each at its exact deadline and letting the event
    loop run the woken tasks before moving on.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = utc(start) if start else datetime(2026, 1, 1, tzinfo=timezone.utc)
        self._sleepers: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        when = utc(when)
        if when < self._now:
            raise ValueError("a FakeClock never goes backwards")
        self._now = when

    def advance_sync(self, seconds: float) -> None:
        """Move time forward without waking anyone (for pure tests)."""
        self.set(self._now + timedelta(seconds=seconds))

    async def sleep_until(self, when: datetime) -> None:
        if when <= self._now:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (when, next(self._seq), future))
        await future

    def next_deadline(self) -> datetime | None:
        self._drop_cancelled()
        return self._sleepers[0][0] if self._sleepers else None

    async def advance(self, seconds: float, settle_rounds: int = 20) -> None:
        target = self._now + timedelta(seconds=seconds)
        while True:
            deadline = self.next_deadline()
            if deadline is None or deadline > target:
                break
            self._now = max(self._now, deadline)
            while self._sleepers and self._sleepers[0][0] <= self._now:
                _, _, future = heapq.heappop(self._sleepers)
                if not future.done():
                    future.set_result(None)
            await _settle(settle_rounds)
        self._now = target
        await _settle(settle_rounds)

    def _drop_cancelled(self) -> None:
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)


async def _settle(rounds: int) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0)
