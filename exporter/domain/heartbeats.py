"""Heartbeat analysis of a window: coverage, gaps, restarts and honest uptime.

Feed heartbeat documents in slot order (``bucketId``, the document id, ascending;
``ts`` order is the same for heartbeats written within their slot) to a
``HeartbeatAccumulator``; it keeps O(1) state plus the ``top_n`` largest gaps,
so a long scan never holds the documents.

    acc = HeartbeatAccumulator(day_start, day_end, interval=60)
    for page in pages:
        acc.add_all(page)
    result = acc.result()
    result.coverage, result.max_gap_sec, result.uptime

Definitions, for the window [start, end) and interval I:

- **expected**: slot starts in [start, end) (``slots_between``).
- **written**: distinct aligned slots in the window with a usable heartbeat.
  ``missed = expected - written``; ``coverage = written / expected`` (None when
  nothing is expected).
- **duplicates**: a second document for a slot already seen.
- **misaligned**: ``bucketId`` not on an I boundary, or ``ts`` more than I
  outside its slot (before ``slot - I`` or at/after ``slot + 2I``). Not written.
- **malformed**: not a mapping, ``bucketId``/``ts`` missing or of the wrong type
  (naive datetimes included): such documents are otherwise ignored. A usable
  document whose ``targetUp``, ``instanceId``, ``deploymentId`` or ``uptimeSec``
  has the wrong type is counted malformed too but still written; the bad field
  is ignored (a bad ``targetUp`` makes the slot's state unknown).
- **out_of_order** / **outside_window**: documents fed before an already-seen
  slot, or whose slot is outside the window; counted and ignored.
- **gap**: time between consecutive heartbeat slot starts, with the window's
  start and end as bookends: ``[start, s1, ..., sn, end]``. A perfect 1-minute
  cadence over an aligned window has max gap 60 s; 45 missing minutes in the
  middle make a gap of 46 × 60 s; an empty window's gap is its whole length.
  A leading outage of k slots gives k × I (the bookend is not a heartbeat).
  Gaps never cross the window: an outage over midnight is one day's trailing
  gap plus the next day's leading gap.
  ``largest_gaps`` keeps the ``top_n`` largest gaps that hold at least one
  missed slot, largest first, earliest first on ties.
- **restarts**: a heartbeat whose instanceId or deploymentId differs from the
  last known one, or whose uptimeSec is below the last known one (a restart
  under a fixed instance id); counted once per heartbeat.
  **instance_changes**: a heartbeat whose instanceId differs from the last known.
- **slot states**: ``up`` = heartbeat with ``targetUp`` true, or absent/None
  (no target configured: the process itself is up); ``down`` = heartbeat with
  ``targetUp`` false; ``unknown`` = everything else (no heartbeat, or a bad
  ``targetUp``). ``uptime = up / (up + down)`` over known slots, None when none
  is known: time nobody watched is never counted as up.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable, Mapping

from exporter.domain.slots import iso, parse_bucket_id, slot_start, slots_between
from exporter.domain.stats import is_number

_ALIGN_TOLERANCE = timedelta(milliseconds=1)  # bucket ids carry milliseconds at most
_BAD = object()  # a field present with the wrong type


@dataclass(frozen=True)
class Gap:
    start: datetime
    end: datetime
    seconds: float
    missed_slots: int

    def to_dict(self) -> dict[str, Any]:
        return {"from": iso(self.start), "to": iso(self.end),
                "seconds": self.seconds, "missedSlots": self.missed_slots}


@dataclass(frozen=True)
class HeartbeatResult:
    start: datetime
    end: datetime
    interval: float
    expected: int
    max_gap_sec: float
    written: int = 0
    up_slots: int = 0
    down_slots: int = 0
    largest_gaps: tuple[Gap, ...] = ()
    duplicates: int = 0
    misaligned: int = 0
    malformed: int = 0
    out_of_order: int = 0
    outside_window: int = 0
    instance_changes: int = 0
    restarts: int = 0
    first_slot: datetime | None = None
    last_slot: datetime | None = None

    @property
    def missed(self) -> int:
        return self.expected - self.written

    @property
    def unknown_slots(self) -> int:
        return self.expected - self.up_slots - self.down_slots

    @property
    def coverage(self) -> float | None:
        return self.written / self.expected if self.expected else None

    @property
    def uptime(self) -> float | None:
        known = self.up_slots + self.down_slots
        return self.up_slots / known if known else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": iso(self.start), "end": iso(self.end), "intervalSec": self.interval,
            "expected": self.expected, "written": self.written, "missed": self.missed,
            "coverage": self.coverage, "maxGapSec": self.max_gap_sec,
            "largestGaps": [g.to_dict() for g in self.largest_gaps],
            "upSlots": self.up_slots, "downSlots": self.down_slots,
            "unknownSlots": self.unknown_slots, "uptime": self.uptime,
            "duplicates": self.duplicates, "misaligned": self.misaligned,
            "malformed": self.malformed, "outOfOrder": self.out_of_order,
            "outsideWindow": self.outside_window,
            "instanceChanges": self.instance_changes, "restarts": self.restarts,
            "firstSlot": iso(self.first_slot) if self.first_slot else None,
            "lastSlot": iso(self.last_slot) if self.last_slot else None,
        }


@dataclass
class _Beat:
    slot: datetime
    ts: datetime
    target_up: Any  # True, False, None (absent) or _BAD
    instance: Any
    deployment: Any
    uptime: Any

    @property
    def has_bad_field(self) -> bool:
        return _BAD in (self.target_up, self.instance, self.deployment, self.uptime)


def _field(doc: Mapping, name: str, ok) -> Any:
    value = doc.get(name)
    return value if value is None or ok(value) else _BAD


def _read(doc: Any) -> _Beat | None:
    """The fields the analysis needs, or None when the slot cannot be known."""
    if not isinstance(doc, Mapping):
        return None
    bucket, ts = doc.get("bucketId"), doc.get("ts")
    if not isinstance(bucket, str) or not isinstance(ts, datetime) or ts.tzinfo is None:
        return None
    try:
        slot = parse_bucket_id(bucket)
    except (ValueError, OverflowError):
        return None
    return _Beat(
        slot=slot, ts=ts,
        target_up=_field(doc, "targetUp", lambda v: isinstance(v, bool)),
        instance=_field(doc, "instanceId", lambda v: isinstance(v, str)),
        deployment=_field(doc, "deploymentId", lambda v: isinstance(v, str)),
        uptime=_field(doc, "uptimeSec", is_number),
    )


class HeartbeatAccumulator:
    """Streaming analysis of heartbeats in [start, end); see the module docstring."""

    def __init__(self, start: datetime, end: datetime, interval: float, *, top_n: int = 5) -> None:
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("window bounds must be timezone-aware")
        if end < start or interval <= 0 or top_n < 0:
            raise ValueError("need start <= end, a positive interval and top_n >= 0")
        self.start, self.end, self.interval, self.top_n = start, end, interval, top_n
        self._step = timedelta(seconds=interval)
        self._counts: dict[str, int] = {}  # named as HeartbeatResult's fields
        self._prev = start  # the previous gap point: window start, then each heartbeat
        self._first: datetime | None = None
        self._last: datetime | None = None
        self._known: dict[str, Any] = {}  # last known instance, deployment, uptime
        self._max_gap = 0.0
        self._heap: list[tuple[float, float, Gap]] = []

    def _bump(self, name: str) -> None:
        self._counts[name] = self._counts.get(name, 0) + 1

    def seed(self, previous: Any) -> None:
        """Remember the last heartbeat BEFORE the window, so a restart across
        the window's start (a midnight) counts in this window. Counts nothing else."""
        beat = _read(previous)
        if beat is not None:
            self._count_changes(beat)

    def add_all(self, docs: Iterable[Any]) -> None:
        for doc in docs:
            self.add(doc)

    def add(self, doc: Any) -> None:
        beat = _read(doc)
        if beat is None:
            self._bump("malformed")
            return
        if beat.has_bad_field:
            self._bump("malformed")
        if not self.start <= beat.slot < self.end:
            self._bump("outside_window")
        elif not self._aligned(beat):
            self._bump("misaligned")
        elif self._last is not None and beat.slot < self._last:
            self._bump("out_of_order")
        elif self._last is not None and beat.slot == self._last:
            self._bump("duplicates")
        else:
            self._accept(beat)

    def _aligned(self, beat: _Beat) -> bool:
        if abs(slot_start(beat.slot, self.interval) - beat.slot) > _ALIGN_TOLERANCE:
            return False
        return beat.slot - self._step <= beat.ts < beat.slot + 2 * self._step

    def _accept(self, beat: _Beat) -> None:
        self._record_gap(self._gap(self._prev, beat.slot))
        self._count_changes(beat)
        self._bump("written")
        if beat.target_up is True or beat.target_up is None:
            self._bump("up_slots")
        elif beat.target_up is False:
            self._bump("down_slots")
        self._first = self._first or beat.slot
        self._prev = self._last = beat.slot

    def _count_changes(self, beat: _Beat) -> None:
        """Compare with the last KNOWN instanceId, deploymentId and uptimeSec,
        so a document lacking one neither counts as nor hides a change."""
        before = dict(self._known)
        for name in ("instance", "deployment"):
            if isinstance(getattr(beat, name), str):
                self._known[name] = getattr(beat, name)
        if is_number(beat.uptime):
            self._known["uptime"] = beat.uptime
        moved = {name for name in ("instance", "deployment")
                 if before.get(name) not in (None, self._known.get(name))}
        if "instance" in moved:
            self._bump("instance_changes")
        if moved or ("uptime" in before and self._known["uptime"] < before["uptime"]):
            self._bump("restarts")

    def _gap(self, a: datetime, b: datetime) -> Gap:
        """The gap from ``a`` (window start or, once one is seen, a heartbeat) to ``b``."""
        first_missable = a + self._step if self._last is not None else a
        missed = slots_between(first_missable, b, self.interval) if first_missable < b else 0
        return Gap(a, b, max(0.0, (b - a).total_seconds()), missed)

    def _record_gap(self, gap: Gap) -> None:
        self._max_gap = max(self._max_gap, gap.seconds)
        if gap.missed_slots and self.top_n:
            item = (gap.seconds, -gap.start.timestamp(), gap)  # ties: the earlier gap wins
            if len(self._heap) < self.top_n:
                heapq.heappush(self._heap, item)
            elif item[:2] > self._heap[0][:2]:
                heapq.heapreplace(self._heap, item)

    def result(self) -> HeartbeatResult:
        """The figures so far, closing the window with the trailing gap to ``end``.

        Does not change the accumulator: more documents may be added after.
        """
        tail = self._gap(self._prev, self.end)
        items = self._heap + ([(tail.seconds, -tail.start.timestamp(), tail)] if tail.missed_slots else [])
        gaps = sorted(items, key=lambda item: item[:2], reverse=True)[: self.top_n]
        return HeartbeatResult(
            start=self.start, end=self.end, interval=self.interval,
            expected=slots_between(self.start, self.end, self.interval),
            max_gap_sec=max(self._max_gap, tail.seconds),
            largest_gaps=tuple(item[2] for item in gaps),
            first_slot=self._first, last_slot=self._last, **self._counts,
        )


def analyze_heartbeats(docs: Iterable[Any], start: datetime, end: datetime,
                       interval: float, *, top_n: int = 5) -> HeartbeatResult:
    """One-shot form of ``HeartbeatAccumulator`` for documents already in hand."""
    acc = HeartbeatAccumulator(start, end, interval, top_n=top_n)
    acc.add_all(docs)
    return acc.result()
