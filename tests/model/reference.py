"""A deliberately plain reference model of how longrun counts (README, "How longrun counts").

No cleverness: every figure is computed by walking every minute of a window.
Tests compare the real code with it on generated histories, so a shortcut in
the code (bookends, clipping, seeding, paging) that bends a definition shows up.

A history is a list of heartbeats ``(minute, mode)``: ``minute`` counts slots
of 60 s from ``EPOCH`` (a midnight), ``mode`` is "up" (targetUp true), "down"
(targetUp false) or "none" (no target configured: no targetUp field).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

EPOCH = datetime(2026, 3, 1, tzinfo=timezone.utc)
DAY = 1440  # minutes


def when(minute: int) -> datetime:
    return EPOCH + timedelta(minutes=minute)


@dataclass(frozen=True)
class Figures:
    expected: int
    written: int
    up: int
    down: int
    max_gap_sec: float

    @property
    def missed(self) -> int:
        return self.expected - self.written

    @property
    def coverage(self) -> float | None:
        return self.written / self.expected if self.expected else None

    @property
    def uptime(self) -> float | None:
        known = self.up + self.down
        return self.up / known if known else None


def beats(history) -> dict[int, str]:
    """One mode per slot: the first heartbeat written for a slot is the one that counts."""
    slots: dict[int, str] = {}
    for minute, mode in history:
        slots.setdefault(minute, mode)
    return slots


def figures(history, start: int, end: int, planned: frozenset[int] = frozenset()) -> Figures:
    """The window [start, end) in minutes; ``planned`` holds the minutes inside maintenance windows."""
    slots = beats(history)
    if not slots:
        return Figures(0, 0, 0, 0, 0.0)
    first = min(slots)
    expected = written = up = down = 0
    for minute in range(start, end):
        if minute < first:
            continue  # before the first heartbeat ever: nobody was watching yet
        if minute in planned:
            continue  # planned work: neither expected nor up nor down
        expected += 1
        mode = slots.get(minute)
        if mode is not None:
            written += 1
            if mode in ("up", "none"):
                up += 1
            else:
                down += 1
            continue
        previous = minute - 1
        while previous not in slots:  # walk back to the heartbeat before (there is one: minute > first)
            previous -= 1
        if slots[previous] == "none":
            down += 1  # no target: the heartbeat is the only signal, a missed one is down
    gap = max((max_gap(slots, a, b) for a, b in unplanned_runs(start, end, planned)), default=0.0)
    return Figures(expected, written, up, down, gap)


def unplanned_runs(start: int, end: int, planned: frozenset[int]) -> list[tuple[int, int]]:
    """The stretches of [start, end) between maintenance windows. Each one's max gap is taken
    as a window's (a gap ending in it measured whole, the open gap to its end): a restart
    inside a window is no gap; an outage that outlasts its window counts whole."""
    runs, run_start = [], None
    for minute in range(start, end):
        if minute in planned:
            if run_start is not None:
                runs.append((run_start, minute))
            run_start = None
        elif run_start is None:
            run_start = minute
    if run_start is not None:
        runs.append((run_start, end))
    return runs


def max_gap(slots: dict[int, str], start: int, end: int) -> float:
    """Gaps between consecutive heartbeats that end in the window, and the open one
    from the last heartbeat before ``end`` to ``end``."""
    ordered = sorted(slots)
    gaps = [b - a for a, b in zip(ordered, ordered[1:]) if start <= b < end]
    before_end = [m for m in ordered if m < end]
    if before_end:
        gaps.append(end - max(before_end))
    return 60.0 * max(gaps, default=0)


def missed_per_hour_decision(history, now_minute: int, threshold: float = 3) -> bool | None:
    """The monitor: over the last hour of complete slots (never before the first
    heartbeat), are more than ``threshold`` missing? None before any heartbeat."""
    slots = beats(history)
    known = [m for m in slots if m < now_minute + 1]
    if not known:
        return None
    end = now_minute  # the current slot is not complete
    f = figures([(m, slots[m]) for m in known], end - 60, end)
    return f.missed > threshold


def consecutive_failures(results_oldest_first) -> int:
    """FAILs since the last PASS among scheduled runs; SKIP and manual runs are passed over."""
    streak = 0
    for result, trigger in results_oldest_first:
        if trigger == "manual" or result == "SKIP":
            continue
        streak = streak + 1 if result == "FAIL" else 0
    return streak


# ---------------------------------------------------------------- response times (MTTR, MTTA)

MONITORING = {"alert", "no_leader", "store_down", "rollup_failed"}  # the monitoring stack's own types


@dataclass(frozen=True)
class Incident:
    """In minutes from EPOCH: ``known`` (createdAt), ``end`` (None: still open), ``ack`` (None: nobody)."""

    type: str
    start: int
    known: int
    end: int | None
    ack: int | None


def nearest_rank(values: list[float], p: int) -> float | None:
    """The ⌈p·n/100⌉-th smallest value (1-based), in whole numbers so no rounding can creep in."""
    if not values:
        return None
    rank = max(1, -(-p * len(values) // 100))
    return sorted(values)[rank - 1]


def response_figures(incidents, start: int, end: int) -> tuple[tuple, tuple]:
    """((MTTR p50, p90, p95), (MTTA p50, p90, p95)) over the window [start, end) in minutes.

    MTTR: the service's incidents (not the monitoring stack's) resolved in the window, end - start.
    MTTA: every incident acknowledged in the window, ack - known (a person answered either kind)."""
    repairs = [60.0 * (i.end - i.start) for i in incidents
               if i.type not in MONITORING and i.end is not None and start <= i.end < end]
    answers = [60.0 * (i.ack - i.known) for i in incidents if i.ack is not None and start <= i.ack < end]
    return (tuple(nearest_rank(repairs, p) for p in (50, 90, 95)),
            tuple(nearest_rank(answers, p) for p in (50, 90, 95)))
