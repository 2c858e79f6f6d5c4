"""Pacing for the Bot API limits: 1 message/s per chat, 20/min per group, 30/s overall.

``ready_at`` and ``delay_for`` are pure reads of the pacer's memory of past
sends; ``acquire`` waits through the injected Clock and records the send.
A 429's retry_after blocks the chat with ``block``.

    pacer = Pacer(clock)
    await pacer.acquire("-1001234")      # returns when a send is allowed, and counts it
    await client.send("-1001234", text)

Group chats are ids starting with ``-``; ``@channel`` usernames are paced as
groups too (channels have the same per-minute limit).

Bulk messages (group notifications, digests) leave ``urgent_reserve`` of a
group's per-minute sends to incident messages, so a P1 never waits for a
storm's minute to roll over; ``allowance`` says how many sends the next minute
holds, which is when the outbox starts merging a chat's backlog into digests.

    pacer.ready_at("-100", now, bulk=True)       # a group part: 16 a minute at most
    pacer.allowance("-100", now, bulk=True)      # sends that fit in the next minute
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from exporter.clock import Clock


@dataclass(frozen=True)
class RateLimits:
    per_chat_interval: float = 1.0
    group_per_minute: int = 20
    overall_per_second: int = 30
    urgent_reserve: int = 4  # of a group's per-minute sends, kept for incident messages


def is_group(chat_id: str) -> bool:
    return str(chat_id).startswith(("-", "@"))


class Pacer:
    def __init__(self, clock: Clock, limits: RateLimits = RateLimits()) -> None:
        self._clock = clock
        self._limits = limits
        self._last: dict[str, datetime] = {}
        self._group_sends: dict[str, deque[datetime]] = {}
        self._all_sends: deque[datetime] = deque()
        self._blocked: dict[str, datetime] = {}

    def ready_at(self, chat_id: str, now: datetime, *, bulk: bool = False) -> datetime:
        """The earliest moment a message to ``chat_id`` may be sent (``now`` if it may go now);
        ``bulk`` messages leave the urgent reserve of a group's minute unused."""
        chat_id = str(chat_id)
        candidates = [now, self._blocked.get(chat_id, now)]
        if chat_id in self._last:
            candidates.append(self._last[chat_id] + timedelta(seconds=self._limits.per_chat_interval))
        candidates.append(_window_ready(self._all_sends, self._limits.overall_per_second, timedelta(seconds=1), now))
        if is_group(chat_id):
            sends = self._group_sends.get(chat_id, deque())
            allowed = self._limits.group_per_minute - (self._limits.urgent_reserve if bulk else 0)
            candidates.append(_window_ready(sends, max(1, allowed), timedelta(minutes=1), now))
        return max(candidates)

    def allowance(self, chat_id: str, now: datetime, *, bulk: bool = False,
                  horizon: timedelta = timedelta(minutes=1)) -> int:
        """How many messages to ``chat_id`` the limits let through between ``now`` and ``now + horizon``
        (a 429's block included), if nothing else were sent. Pure: the pacer's memory is not changed."""
        trial = Pacer(self._clock, self._limits)
        trial._last = dict(self._last)
        trial._group_sends = {chat: deque(sends) for chat, sends in self._group_sends.items()}
        trial._blocked = dict(self._blocked)
        end, when, count = now + horizon, now, 0
        while (when := trial.ready_at(chat_id, when, bulk=bulk)) < end:
            trial.record(chat_id, when)
            count += 1
        return count

    def delay_for(self, chat_id: str, now: datetime) -> float:
        """Seconds to wait before a message to ``chat_id`` may be sent; 0 when it may go now."""
        return (self.ready_at(chat_id, now) - now).total_seconds()

    def blocked_until(self, chat_id: str) -> datetime | None:
        return self._blocked.get(str(chat_id))

    def block(self, chat_id: str, until: datetime) -> None:
        """Send nothing to ``chat_id`` before ``until`` (Telegram's retry_after)."""
        chat_id = str(chat_id)
        self._blocked[chat_id] = max(until, self._blocked.get(chat_id, until))

    def record(self, chat_id: str, when: datetime) -> None:
        """Count a send to ``chat_id`` at ``when``."""
        chat_id = str(chat_id)
        self._last[chat_id] = when
        _push(self._all_sends, when, timedelta(seconds=1))
        if is_group(chat_id):
            _push(self._group_sends.setdefault(chat_id, deque()), when, timedelta(minutes=1))
        if chat_id in self._blocked and self._blocked[chat_id] <= when:
            del self._blocked[chat_id]

    async def acquire(self, chat_id: str, *, bulk: bool = False) -> None:
        """Wait until a message to ``chat_id`` is allowed, then count it as sent."""
        while True:
            now = self._clock.now()
            ready = self.ready_at(chat_id, now, bulk=bulk)
            if ready <= now:
                self.record(chat_id, now)
                return
            await self._clock.sleep_until(ready)


def _window_ready(sends: deque[datetime], allowed: int, window: timedelta, now: datetime) -> datetime:
    """When one more send fits: at most ``allowed`` sends in any ``window``."""
    recent = [t for t in sends if t > now - window]
    if len(recent) < allowed:
        return now
    return recent[-allowed] + window


def _push(sends: deque[datetime], when: datetime, window: timedelta) -> None:
    sends.append(when)
    while sends and sends[0] <= when - window:
        sends.popleft()
