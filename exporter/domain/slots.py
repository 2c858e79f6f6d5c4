"""Time slots: every scheduled write lands in exactly one aligned slot.

A slot of ``interval`` seconds starts at a multiple of the interval since the
epoch (so 60 s slots start on the minute, 6 h slots at 00/06/12/18 UTC).

    >>> t = datetime(2026, 1, 1, 8, 0, 42, tzinfo=timezone.utc)
    >>> bucket_id(slot_start(t, 60))
    '2026-01-01T08-00-00'
    >>> probe_key("outbound", slot_start(t, 6 * 3600))
    'OUT_2026010106'
"""

from __future__ import annotations

import math
from functools import lru_cache
from datetime import date, datetime, timedelta, timezone

from exporter.domain.vocabulary import PROBE_PREFIX

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
BUCKET_FORMAT = "%Y-%m-%dT%H-%M-%S"


def slot_start(when: datetime, interval: float) -> datetime:
    """Start of the slot holding ``when``."""
    offset = (when - EPOCH).total_seconds()
    start = math.floor(offset / interval + 1e-9) * interval
    return EPOCH + timedelta(seconds=start)


def next_slot(when: datetime, interval: float) -> datetime:
    """Start of the first slot strictly after the one holding ``when``."""
    return slot_start(when, interval) + timedelta(seconds=interval)


def slots_between(start: datetime, end: datetime, interval: float) -> int:
    """How many slot starts fall in [start, end)."""
    first = slot_start(start, interval)
    if first < start:
        first += timedelta(seconds=interval)
    if first >= end:
        return 0
    return int(math.floor((end - first).total_seconds() / interval - 1e-9)) + 1


def bucket_id(slot: datetime) -> str:
    """Heartbeat document id: the slot start in UTC with ``:`` written as ``-``.

    Sub-second slots (test intervals under a second) carry milliseconds.
    """
    slot = slot.astimezone(timezone.utc)
    text = slot.strftime(BUCKET_FORMAT)
    if slot.microsecond:
        text += f".{slot.microsecond // 1000:03d}"
    return text


def parse_bucket_id(text: str) -> datetime:
    base, _, millis = text.partition(".")
    slot = datetime.strptime(base, BUCKET_FORMAT).replace(tzinfo=timezone.utc)
    if millis:
        slot += timedelta(milliseconds=int(millis))
    return slot


def probe_key(probe_type: str, slot: datetime) -> str:
    """``OUT_yyyyMMddHH``, ``IN_yyyyMMddHH``, ``QUEUE_yyyyMMdd``.

    Slots finer than the key's precision (second-scale test intervals) append
    minutes and seconds so that every slot still has its own key.
    """
    prefix = PROBE_PREFIX[probe_type]
    slot = slot.astimezone(timezone.utc)
    if probe_type == "queue":
        key = f"{prefix}_{slot:%Y%m%d}"
        fine = slot.hour or slot.minute or slot.second
    else:
        key = f"{prefix}_{slot:%Y%m%d%H}"
        fine = slot.minute or slot.second
    if fine:
        key += f"{slot:%H%M%S}" if probe_type == "queue" else f"{slot:%M%S}"
    return key


@lru_cache(maxsize=1024)  # a storm's incidents share a few instants, each written twice per incident
def iso(when: datetime) -> str:
    """``tsIso``: ISO-8601 UTC with milliseconds and ``Z``."""
    return when.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def day_id(day: date) -> str:
    return day.isoformat()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    return start, start + timedelta(days=1)
