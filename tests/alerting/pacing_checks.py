"""The Bot API limits, checked on recorded send times (datetimes)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Iterable


def assert_within_telegram_limits(sends: Iterable[tuple[str, datetime]]) -> None:
    sends = sorted(sends, key=lambda s: s[1])
    per_chat: dict[str, list[datetime]] = defaultdict(list)
    for chat, when in sends:
        per_chat[chat].append(when)
    for chat, times in per_chat.items():
        for a, b in zip(times, times[1:]):
            assert b - a >= timedelta(seconds=1), f"chat {chat}: two messages {b - a} apart at {b}"
        if chat.startswith("-"):
            _at_most(times, 20, timedelta(minutes=1), f"group {chat}")
    _at_most([when for _, when in sends], 30, timedelta(seconds=1), "overall")


def _at_most(times: list[datetime], allowed: int, window: timedelta, what: str) -> None:
    for i in range(len(times) - allowed):
        assert times[i + allowed] - times[i] >= window, f"{what}: {allowed + 1} messages within {window}"
