"""Heartbeat analysis that leaves maintenance windows out: the slots of planned work are neither expected nor up nor down.

A drop-in for ``HeartbeatAccumulator`` (same ``seed``/``add``/``add_all``/``result``):

    acc = OutsideWindows(day_start, day_end, 60, spans)      # spans: Spans of the day's windows
    async for doc in heartbeats: acc.add(doc.data)
    result = acc.result()            # a HeartbeatResult: expected, written, missed, coverage, uptime
    acc.maintenance_slots            # slots of [start, end) whose start lies in a window

How: [start, end) is cut into the pieces outside every window, and every
document goes to one ``HeartbeatAccumulator`` per piece as well as to one for
the whole window. A piece's accumulator counts only its own slots and takes
the heartbeat before it as its seed, so:

- expected, written, up, down and missed add up over the pieces (a slot in a
  window belongs to no piece);
- the max gap and the largest gaps are those of the pieces: a restart inside a
  window is no gap; a problem that outlasts its window is measured whole, from
  the heartbeat before it, and misses the slots after the window;
- what describes the documents themselves (duplicates, misaligned, malformed,
  restarts, instance changes, first and last slot) comes from the whole window.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any, Iterable

from exporter.domain.heartbeats import HeartbeatAccumulator, HeartbeatResult
from exporter.domain.maintenance import Spans
from exporter.domain.slots import slot_start

ADDED = ("expected", "written", "up_slots", "down_slots")


def outside_pieces(start: datetime, end: datetime, interval: float, spans: Spans) -> list[tuple[datetime, datetime]]:
    """[start, end) minus the windows, cut at slot starts: a slot whose start lies in a window is left out."""
    pieces, cursor = [], start
    for a, b in spans.spans:
        # The first slot start at or after a / b: slots starting in [a, b) are maintenance slots.
        lo, hi = _slot_at_or_after(a, interval), _slot_at_or_after(b, interval)
        if hi <= start or lo >= end:
            continue
        if lo > cursor:
            pieces.append((cursor, min(lo, end)))
        cursor = max(cursor, hi)
    if cursor < end:
        pieces.append((cursor, end))
    return pieces


def _slot_at_or_after(when: datetime, interval: float) -> datetime:
    first = slot_start(when, interval)
    return first if first == when else first + timedelta(seconds=interval)


class OutsideWindows:
    """``HeartbeatAccumulator`` for [start, end) with the maintenance ``spans`` left out (module docstring)."""

    def __init__(self, start: datetime, end: datetime, interval: float, spans: Spans, *, top_n: int = 5) -> None:
        self.whole = HeartbeatAccumulator(start, end, interval, top_n=top_n)
        self.pieces = [HeartbeatAccumulator(a, b, interval, top_n=top_n)
                       for a, b in outside_pieces(start, end, interval, spans)]
        self.maintenance_slots = spans.slots_within(start, end, interval)
        self.top_n = top_n

    def seed(self, previous: Any) -> None:
        for acc in (self.whole, *self.pieces):
            acc.seed(previous)

    def add(self, doc: Any) -> None:
        for acc in (self.whole, *self.pieces):
            acc.add(doc)

    def add_all(self, docs: Iterable[Any]) -> None:
        for doc in docs:
            self.add(doc)

    def result(self) -> HeartbeatResult:
        whole = self.whole.result()
        parts = [acc.result() for acc in self.pieces]
        sums = {name: sum(getattr(part, name) for part in parts) for name in ADDED}
        gaps = sorted((gap for part in parts for gap in part.largest_gaps),
                      key=lambda gap: (gap.seconds, -gap.start.timestamp()), reverse=True)[: self.top_n]
        max_gap = max((part.max_gap_sec for part in parts), default=0.0)
        return dataclasses.replace(whole, **sums, max_gap_sec=max_gap, largest_gaps=tuple(gaps))


def analyze_outside_windows(docs: Iterable[Any], start: datetime, end: datetime, interval: float, spans: Spans,
                            *, top_n: int = 5) -> tuple[HeartbeatResult, int]:
    """One-shot form: (the result, maintenance slots)."""
    acc = OutsideWindows(start, end, interval, spans, top_n=top_n)
    acc.add_all(docs)
    return acc.result(), acc.maintenance_slots
