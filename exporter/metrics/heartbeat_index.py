"""Recent heartbeat slots held in memory, so coverage and gaps cost no read per scrape.

    index = HeartbeatIndex(interval=60)
    index.add_all(docs)                        # heartbeat documents, in any order, any number of times
    index.prune(before=now - timedelta(days=7))
    result = index.window(start, end)          # a domain HeartbeatResult
    result.coverage, result.missed, result.max_gap_sec
    index.newest_ts                            # ts of the newest heartbeat seen, any instance

A slot counts as written by the rules of ``exporter.domain.heartbeats``: its
``bucketId`` is an aligned slot start and its ``ts`` lies in
``[slot - interval, slot + 2 * interval)``; each slot counts once. ``window``
gives the same expected, written, missed and max gap as ``analyze_heartbeats``
over the same documents (tests/metrics/test_heartbeat_index.py holds the two
side by side), from a sorted list of slot times instead of a scan of documents.
"""

from __future__ import annotations

import bisect
import dataclasses
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from exporter.domain.heartbeats import HeartbeatResult
from exporter.domain.slots import EPOCH, parse_bucket_id, slot_start, slots_between

if TYPE_CHECKING:
    from exporter.domain.maintenance import Spans

_ALIGN_TOLERANCE_MS = 1  # bucket ids carry milliseconds at most, as in the domain rules


def _ms(when: datetime) -> int:
    return round((when - EPOCH).total_seconds() * 1000)


def _from_ms(millis: int) -> datetime:
    return EPOCH + timedelta(milliseconds=millis)


def usable_ts(doc: Any) -> datetime | None:
    """The document's ``ts`` when it is a timezone-aware datetime, else None."""
    ts = doc.get("ts") if isinstance(doc, Mapping) else None
    return ts if isinstance(ts, datetime) and ts.tzinfo is not None else None


def written_slot(doc: Any, interval: float) -> int | None:
    """The slot (epoch milliseconds) this document writes, or None when it writes none."""
    ts = usable_ts(doc)
    bucket = doc.get("bucketId") if isinstance(doc, Mapping) else None
    if ts is None or not isinstance(bucket, str):
        return None
    try:
        slot = parse_bucket_id(bucket)
    except (ValueError, OverflowError):
        return None
    if abs(_ms(slot_start(slot, interval)) - _ms(slot)) > _ALIGN_TOLERANCE_MS:
        return None
    step = timedelta(seconds=interval)
    if not slot - step <= ts < slot + 2 * step:
        return None
    return _ms(slot)


class HeartbeatIndex:
    """The written heartbeat slots of a recent period, and the newest heartbeat seen."""

    def __init__(self, interval: float) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.interval = interval
        self.newest: dict[str, Any] | None = None
        self._slots: list[int] = []  # epoch milliseconds, sorted, unique
        self._known: set[int] = set()

    @property
    def newest_ts(self) -> datetime | None:
        return self.newest["ts"] if self.newest else None

    def __len__(self) -> int:
        return len(self._slots)

    def add(self, doc: Any) -> bool:
        """Take one heartbeat document; True when it adds a slot not seen before."""
        ts = usable_ts(doc)
        if ts is not None and (self.newest is None or ts > self.newest["ts"]):
            self.newest = dict(doc)
        slot = written_slot(doc, self.interval)
        if slot is None or slot in self._known:
            return False
        self._known.add(slot)
        bisect.insort(self._slots, slot)
        return True

    def add_all(self, docs: Iterable[Any]) -> int:
        return sum(self.add(doc) for doc in docs)

    def newest_slot(self) -> datetime | None:
        return _from_ms(self._slots[-1]) if self._slots else None

    def oldest_slot(self) -> datetime | None:
        return _from_ms(self._slots[0]) if self._slots else None

    def prune(self, before: datetime) -> None:
        """Forget slots that start before ``before``; ``newest`` is kept."""
        cut = bisect.bisect_left(self._slots, _ms(before))
        for slot in self._slots[:cut]:
            self._known.discard(slot)
        del self._slots[:cut]

    def written_between(self, start: datetime, end: datetime) -> set[datetime]:
        """The written slots starting in [start, end)."""
        lo, hi = bisect.bisect_left(self._slots, _ms(start)), bisect.bisect_left(self._slots, _ms(end))
        return {_from_ms(slot) for slot in self._slots[lo:hi]}

    def window(self, start: datetime, end: datetime) -> HeartbeatResult:
        """Expected, written and max gap for [start, end), by the domain's rules: gaps
        run between consecutive heartbeats (the one before the window, when the index
        still holds it, starts the first), plus the open gap to ``end``; expected slots
        start at the window's first heartbeat when the index holds none before it.

        Slot states (up, down), restarts and the largest gaps are not kept in
        the index: those fields of the result stay at their defaults.
        """
        lo, hi = _ms(start), _ms(end)
        first = bisect.bisect_left(self._slots, lo)
        last = bisect.bisect_left(self._slots, hi)
        previous = self._slots[first - 1] if first > 0 else None
        history = start if previous is not None else (_from_ms(self._slots[first]) if last > first else None)
        max_gap = 0
        for index in range(first, last):
            slot = self._slots[index]
            if previous is not None:
                max_gap = max(max_gap, slot - previous)
            previous = slot
        if previous is not None:
            max_gap = max(max_gap, hi - previous, 0)
        return HeartbeatResult(
            start=start, end=end, interval=self.interval, history_start=history,
            expected=slots_between(history, end, self.interval) if history else 0,
            max_gap_sec=max_gap / 1000,
            written=last - first,
            first_slot=_from_ms(self._slots[first]) if last > first else None,
            last_slot=_from_ms(self._slots[last - 1]) if last > first else None,
        )

    def window_outside(self, start: datetime, end: datetime, spans: "Spans") -> HeartbeatResult:
        """``window`` with maintenance windows left out: their slots are neither expected nor written,
        and the max gap is the largest within the pieces outside them."""
        from exporter.domain.maintenance_heartbeats import outside_pieces

        whole = self.window(start, end)
        if not spans:
            return whole
        parts = [self.window(a, b) for a, b in outside_pieces(start, end, self.interval, spans)]
        return dataclasses.replace(
            whole, expected=sum(p.expected for p in parts), written=sum(p.written for p in parts),
            max_gap_sec=max((p.max_gap_sec for p in parts), default=0.0))
