"""Maintenance windows: planned work that counts as neither up nor down, and pages nobody.

A window is a span [start, end) of planned work with a reason. Ending it early
sets ``endedAt``; the window then really ends there (``Window.until``).
Overlapping windows are allowed; for counting they merge (``Spans``).

    window = new_window("mw-20260301T0800-1a2b", start, end, "deploy 0.3", created_by="cli:ana", now=now)
    spans = Spans.of([window, other])
    spans.seconds_in_day(date(2026, 3, 1))        # maintenanceSec of that day's rollup
    spans.slot_inside(slot, 60)                   # True: not an expected heartbeat slot
    spans.holding(problem_start)                  # the merged span holding an instant, if any

The counting rule (README, "How longrun counts"): a slot belongs to a window
when its start lies in the window, so the heartbeat due at that moment was due
during planned work; such a slot is neither expected nor up nor down.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, Mapping, Sequence

from exporter.domain.slots import iso, slot_start

MAX_SPAN = timedelta(days=7)
MAX_REASON = 500
# Fields of the stored document {root}/maintenance/{id}, in the contract's order.
FIELDS = ("id", "start", "end", "reason", "createdBy", "createdAt", "endedAt", "silenceIds")


class WindowError(ValueError):
    """A window that can never be valid; ``field`` names the input (``from``, ``until``, ``reason``...)."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class Window:
    id: str
    start: datetime
    end: datetime
    reason: str
    created_by: str
    created_at: datetime
    ended_at: datetime | None = None
    silence_ids: tuple[str, ...] = ()

    @property
    def until(self) -> datetime:
        """When the window really ends: ``endedAt`` when it was ended early, else ``end``."""
        return min(self.end, self.ended_at) if self.ended_at is not None else self.end

    def active(self, now: datetime) -> bool:
        return self.start <= now < self.until

    def state(self, now: datetime) -> str:
        """``planned``, ``active`` or ``over``."""
        return "planned" if now < self.start else "active" if now < self.until else "over"

    def to_doc(self) -> dict[str, Any]:
        return {"id": self.id, "start": self.start, "end": self.end, "reason": self.reason,
                "createdBy": self.created_by, "createdAt": self.created_at, "endedAt": self.ended_at,
                "silenceIds": list(self.silence_ids)}

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> "Window":
        """A stored document; raises WindowError when it cannot be a window."""
        start, end = _aware(doc.get("start")), _aware(doc.get("end"))
        if start is None or end is None or end <= start:
            raise WindowError("start", f"maintenance document {doc.get('id')!r} has no valid start/end")
        return cls(
            id=str(doc.get("id")), start=start, end=end, reason=str(doc.get("reason") or ""),
            created_by=str(doc.get("createdBy") or ""), created_at=_aware(doc.get("createdAt")) or start,
            ended_at=_aware(doc.get("endedAt")), silence_ids=tuple(str(s) for s in doc.get("silenceIds") or ()),
        )


def _aware(value: Any) -> datetime | None:
    return value.astimezone(timezone.utc) if isinstance(value, datetime) and value.tzinfo is not None else None


def check_reason(reason: Any) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise WindowError("reason", "required: say what the planned work is")
    text = " ".join(reason.split())
    if len(text) > MAX_REASON or "\x00" in text:
        raise WindowError("reason", f"at most {MAX_REASON} characters")
    return text


def check_span(start: datetime, end: datetime, *, start_field: str = "from", end_field: str = "until") -> None:
    """End after start, at most MAX_SPAN long; names the field at fault."""
    if end <= start:
        raise WindowError(end_field, "must be after the start")
    if end - start > MAX_SPAN:
        raise WindowError(end_field, f"a window may last at most {MAX_SPAN.days} days; split longer work")


def check_duration(seconds: Any, field_name: str = "durationSec") -> timedelta:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0:
        raise WindowError(field_name, "expected a number of seconds greater than 0")
    if seconds > MAX_SPAN.total_seconds():
        raise WindowError(field_name, f"a window may last at most {MAX_SPAN.days} days ({int(MAX_SPAN.total_seconds())} s)")
    return timedelta(seconds=seconds)


def window_id(start: datetime, token: str) -> str:
    """``mw-20260301T0800-<token>``: sortable by start, unique by token (path-safe)."""
    return f"mw-{start.astimezone(timezone.utc):%Y%m%dT%H%M}-{token}"


def new_window(window_id_: str, start: datetime, end: datetime, reason: Any, *, created_by: str,
               now: datetime) -> Window:
    """A validated new window (raises WindowError naming the field)."""
    text = check_reason(reason)
    check_span(start, end)
    return Window(window_id_, start, end, text, created_by, now)


def end_early(window: Window, now: datetime) -> Window:
    """The window ended at ``now``; a window already over or not started cannot be ended."""
    if now >= window.until:
        raise WindowError("id", f"window {window.id} is over already (it ended at {iso(window.until)})")
    if now < window.start:
        # A planned window is cancelled: it never counts.
        return replace(window, ended_at=window.start)
    return replace(window, ended_at=now)


# ------------------------------------------------------------------ merged spans, for counting


@dataclass(frozen=True)
class Spans:
    """Disjoint, sorted [start, end) spans: the union of windows (overlaps merged)."""

    spans: tuple[tuple[datetime, datetime], ...] = field(default=())

    @classmethod
    def of(cls, windows: Iterable[Window | tuple[datetime, datetime]]) -> "Spans":
        pairs = sorted((w.start, w.until) if isinstance(w, Window) else (w[0], w[1]) for w in windows)
        merged: list[tuple[datetime, datetime]] = []
        for start, end in pairs:
            if end <= start:
                continue
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        return cls(tuple(merged))

    def __bool__(self) -> bool:
        return bool(self.spans)

    def holding(self, when: datetime) -> tuple[datetime, datetime] | None:
        """The merged span with start <= when < end, if any."""
        for start, end in self.spans:
            if start <= when < end:
                return start, end
            if start > when:
                return None
        return None

    def covers(self, when: datetime) -> bool:
        return self.holding(when) is not None

    def slot_inside(self, slot: datetime, interval: float) -> bool:
        """The slot holding ``slot`` is a maintenance slot: its start lies in a window."""
        return self.covers(slot_start(slot, interval))

    def seconds_within(self, start: datetime, end: datetime) -> float:
        """Seconds of [start, end) inside any window."""
        total = 0.0
        for a, b in self.spans:
            lo, hi = max(a, start), min(b, end)
            if hi > lo:
                total += (hi - lo).total_seconds()
        return total

    def seconds_in_day(self, day: date) -> float:
        start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
        return self.seconds_within(start, start + timedelta(days=1))

    def slots_within(self, start: datetime, end: datetime, interval: float) -> int:
        """How many slot starts in [start, end) lie in a window."""
        step = timedelta(seconds=interval)
        count = 0
        for a, b in self.spans:
            lo, hi = max(a, start), min(b, end)
            if hi <= lo:
                continue
            first = slot_start(lo, interval)
            if first < lo:
                first += step
            if first < hi:
                count += int((hi - first - timedelta(microseconds=1)) / step) + 1
        return count


# ------------------------------------------------------------------ incidents


@dataclass(frozen=True)
class Gate:
    """What the monitor does with a problem seen in [since, until): ``open`` it (at ``at``) or ``hold``."""

    open: bool
    at: datetime | None
    why: str = ""


def gate_problem(since: datetime, until: datetime | None, now: datetime, spans: Spans) -> Gate:
    """Planned work pages nobody.

    - A problem that starts outside every window opens as usual, at ``since``.
    - A problem that lies entirely inside a window (it ended, or the window
      still runs) opens nothing.
    - A problem that outlasts its window opens at the window's end.

    (An incident that was already open when a window started is not gated:
    the caller passes only problems with no open incident.)
    """
    span = spans.holding(since)
    if span is None:
        return Gate(True, since)
    window_end = span[1]
    # After the window: the problem may have started in a later, adjoining window (merged already).
    if until is not None and until <= window_end:
        return Gate(False, None, f"inside the maintenance window until {window_end.isoformat()}")
    if now <= window_end:
        return Gate(False, None, f"inside the maintenance window until {window_end.isoformat()}")
    return Gate(True, window_end, "outlasted the maintenance window")


def active_windows(windows: Sequence[Window], now: datetime) -> list[Window]:
    """The windows running at ``now``, the one ending last first."""
    return sorted((w for w in windows if w.active(now)), key=lambda w: w.until, reverse=True)
