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

Definitions, for the window [start, end) and interval I (the README's "How
longrun counts" says the same for people):

- **history start**: the first heartbeat ever. ``seed`` the accumulator with
  the last heartbeat BEFORE the window; without one, history starts at the
  window's first heartbeat. Time before the history start is not watched: it
  is neither expected nor a gap.
- **expected**: slot starts in [max(start, history start), end)
  (``slots_between``); 0 when no heartbeat exists at or before the window.
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
  slot, or whose slot is outside the window; counted and ignored (a heartbeat
  just before the window still serves as the seed).
- **gap**: the time between consecutive heartbeat slots, whichever window or
  day they fall in. A window's gaps are those that END in it, measured from the
  heartbeat before (the seed for the first one), plus the open gap from its
  last heartbeat to its end. A perfect cadence has max gap I; two slots
  missing at 00:00 after a heartbeat at 23:59 make a gap of 180 s in the new
  day; an outage across midnight is counted whole in the day it ends (the day
  before shows the part it saw). ``largest_gaps`` keeps the ``top_n`` largest
  gaps that miss a slot of the window, largest first, earliest first on ties.
- **restarts**: a heartbeat whose instanceId or deploymentId differs from the
  last known one, or whose uptimeSec is below the last known one (a restart
  under a fixed instance id); counted once per heartbeat.
  **instance_changes**: a heartbeat whose instanceId differs from the last known.
- **slot states**: a heartbeat with ``targetUp`` true is ``up``, false is
  ``down``; a heartbeat without ``targetUp`` (no target configured: the process
  itself is the service) is ``up``; a bad ``targetUp`` is ``unknown``. A missed
  expected slot takes the mode of the heartbeat before it: without a target the
  heartbeat is the only signal, so the slot is ``down``; with a target it is
  ``unknown`` (nobody looked). ``uptime = up / (up + down)`` over known slots,
  None when none is known: time nobody watched is never counted as up.
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
    history_start: datetime | None = None  # where expected slots begin; None: nothing watched yet
    target_configured: bool | None = None  # did the last heartbeat seen carry targetUp (None: unknown)

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
            "historyStart": iso(self.history_start) if self.history_start else None,
            "targetConfigured": self.target_configured,
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
        self._prev: datetime | None = None  # the previous heartbeat's slot: the seed, then each accepted one
        self._prev_mode: Any = _BAD  # what a missed slot after ``_prev`` is: see _missed_state
        self._history_start: datetime | None = None  # where expected slots begin
        self._first: datetime | None = None
        self._last: datetime | None = None
        self._known: dict[str, Any] = {}  # last known instance, deployment, uptime
        self._max_gap = 0.0
        self._heap: list[tuple[float, float, Gap]] = []

    def _bump(self, name: str) -> None:
        self._counts[name] = self._counts.get(name, 0) + 1

    def seed(self, previous: Any) -> None:
        """The last heartbeat BEFORE the window: history started before it, the
        first gap is measured from it, and a restart across the window's start
        (a midnight) counts in this window. It is not counted as written.

        A document whose slot lies in the window (written a little early) is added instead.
        """
        beat = _read(previous)
        if beat is None:
            return
        if self.start <= beat.slot < self.end:
            self.add(previous)
        elif beat.slot < self.start and self._first is None and (self._prev is None or beat.slot > self._prev):
            self._count_changes(beat)
            self._prev, self._prev_mode = beat.slot, beat.target_up
            self._history_start = self.start

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
            if beat.slot < self.start and self._aligned(beat):
                self.seed(doc)
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
        if self._prev is not None:
            self._record_gap(self._gap(self._prev, beat.slot))
        else:
            self._history_start = beat.slot  # the first heartbeat ever
        self._count_changes(beat)
        self._bump("written")
        if beat.target_up is True or beat.target_up is None:
            self._bump("up_slots")
        elif beat.target_up is False:
            self._bump("down_slots")
        self._first = self._first or beat.slot
        self._prev = self._last = beat.slot
        self._prev_mode = beat.target_up

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
        """The gap from the heartbeat at ``a`` to ``b`` (the next heartbeat, or the
        window's end); its missed slots are those after ``a`` that lie in the window."""
        first_missable = max(a + self._step, self.start)
        missed = slots_between(first_missable, b, self.interval) if first_missable < b else 0
        return Gap(a, b, max(0.0, (b - a).total_seconds()), missed)

    def _missed_state(self, mode: Any) -> str | None:
        """The state of a missed slot after a heartbeat whose targetUp was ``mode``:
        down without a target (absent), unknown with one (or a bad value)."""
        return "down_slots" if mode is None else None

    def _record_gap(self, gap: Gap) -> None:
        state = self._missed_state(self._prev_mode)
        if state and gap.missed_slots:
            self._counts[state] = self._counts.get(state, 0) + gap.missed_slots
        self._max_gap = max(self._max_gap, gap.seconds)
        if gap.missed_slots and self.top_n:
            item = (gap.seconds, -gap.start.timestamp(), gap)  # ties: the earlier gap wins
            if len(self._heap) < self.top_n:
                heapq.heappush(self._heap, item)
            elif item[:2] > self._heap[0][:2]:
                heapq.heapreplace(self._heap, item)

    def result(self) -> HeartbeatResult:
        """The figures so far, closing the window with the open gap from its last
        heartbeat to ``end``. Does not change the accumulator: more documents may be added after.
        """
        counts = dict(self._counts)
        gaps, max_gap = list(self._heap), self._max_gap
        if self._prev is not None:
            tail = self._gap(self._prev, self.end)
            max_gap = max(max_gap, tail.seconds)
            state = self._missed_state(self._prev_mode)
            if state and tail.missed_slots:
                counts[state] = counts.get(state, 0) + tail.missed_slots
            if tail.missed_slots:
                gaps.append((tail.seconds, -tail.start.timestamp(), tail))
        gaps = sorted(gaps, key=lambda item: item[:2], reverse=True)[: self.top_n]
        history = self._history_start
        expected = slots_between(max(self.start, history), self.end, self.interval) if history else 0
        return HeartbeatResult(
            start=self.start, end=self.end, interval=self.interval,
            expected=expected, max_gap_sec=max_gap,
            largest_gaps=tuple(item[2] for item in gaps),
            first_slot=self._first, last_slot=self._last, history_start=history,
            target_configured=None if self._prev_mode is _BAD else self._prev_mode is not None, **counts,
        )


def analyze_heartbeats(docs: Iterable[Any], start: datetime, end: datetime,
                       interval: float, *, top_n: int = 5) -> HeartbeatResult:
    """One-shot form of ``HeartbeatAccumulator`` for documents already in hand."""
    acc = HeartbeatAccumulator(start, end, interval, top_n=top_n)
    acc.add_all(docs)
    return acc.result()
