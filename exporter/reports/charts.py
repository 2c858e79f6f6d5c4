"""Inline SVG charts for the HTML report: plain SVG elements, no script, every text escaped.

    uptime_chart(rows, target_pct=99.5)    # one <rect class="bar ..."> per day
    gap_chart(rows, limit_sec=120)         # one <circle class="point ..."> per day with data
    incident_timeline(incidents, start, end)  # one <rect class="incident ..."> per incident

Each returns one ``<svg class="chart" id="...">`` string; each mark carries a
``<title>`` so hovering names the day and the value, offline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from html import escape
from typing import Any, Callable, Iterable, Mapping, Sequence

from exporter.domain.slots import iso
from exporter.domain.vocabulary import SEVERITIES
from exporter.reports import formatting as fmt
from exporter.reports.model import MISSING, DayRow

WIDTH, HEIGHT = 1100, 240
SEVERITY_ORDER = SEVERITIES


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _n(value: float) -> str:
    return f"{value:.1f}"


@dataclass(frozen=True)
class Frame:
    """The plotting area inside the margins of a chart."""

    width: int = WIDTH
    height: int = HEIGHT
    left: int = 64
    right: int = 16
    top: int = 14
    bottom: int = 40

    @property
    def inner_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def base(self) -> float:
        return self.height - self.bottom

    @property
    def inner_height(self) -> float:
        return self.base - self.top

    def svg(self, chart_id: str, title: str, body: Iterable[str]) -> str:
        head = (f'<svg class="chart" id="{_e(chart_id)}" role="img" '
                f'viewBox="0 0 {self.width} {self.height}" width="{self.width}" height="{self.height}">'
                f"<title>{_e(title)}</title>")
        return head + "".join(body) + "</svg>"

    def slot(self, count: int) -> float:
        """Width of one of ``count`` equal columns (one per day)."""
        return self.inner_width / max(1, count)

    def column_x(self, index: int, count: int) -> float:
        """Centre of column ``index`` of ``count``."""
        return self.left + (index + 0.5) * self.slot(count)

    def hline(self, y: float, css: str) -> str:
        return f'<path class="{css}" d="M{self.left} {_n(y)} H{self.width - self.right}"/>'

    def label(self, x: float, y: float, text: str, anchor: str = "end", css: str = "axis") -> str:
        return f'<text class="{css}" x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}">{_e(text)}</text>'


def _day_ticks(frame: Frame, days: Sequence[date]) -> list[str]:
    step = max(1, math.ceil(len(days) / 12))
    return [frame.label(frame.column_x(i, len(days)), frame.base + 16, day.strftime("%m-%d"), "middle")
            for i, day in enumerate(days) if i % step == 0 or i == len(days) - 1]


# ---------------------------------------------------------------- daily uptime


def uptime_chart(rows: Sequence[DayRow], target_pct: float) -> str:
    """Bars of each day's uptime; red below ``target_pct``, grey hatched when unknown."""
    frame = Frame()
    known = [row.uptime_pct for row in rows if row.uptime_pct is not None]
    low = 90.0 if known and min(known) >= 90 else 0.0

    def y_of(pct: float) -> float:
        return frame.base - (max(pct, low) - low) / (100 - low) * frame.inner_height

    slot = frame.slot(len(rows))
    body = []
    for tick in (low, low + (100 - low) / 2, 100.0):
        body += [frame.hline(y_of(tick), "grid"), frame.label(frame.left - 6, y_of(tick) + 4, f"{tick:g}%")]
    body += [_bar(frame, row, frame.left + i * slot, slot, y_of, target_pct) for i, row in enumerate(rows)]
    body.append(frame.hline(y_of(target_pct), "target"))
    body.append(frame.label(frame.left + 4, y_of(target_pct) - 4, f"target {target_pct:g}%", "start", "target-label"))
    body += _day_ticks(frame, [row.day for row in rows])
    return frame.svg("uptime-chart", "Daily uptime (share of known minutes up)", body)


def _bar(frame: Frame, row: DayRow, x: float, slot: float, y_of, target: float) -> str:
    width = max(1.0, slot * 0.8)
    x += (slot - width) / 2
    pct = row.uptime_pct
    if pct is None:
        why = "no data" if row.source == MISSING else "no known minute"
        return (f'<rect class="bar unknown" x="{_n(x)}" y="{_n(frame.top)}" width="{_n(width)}" '
                f'height="{_n(frame.inner_height)}"><title>{_e(row.day.isoformat())}: {_e(why)}</title></rect>')
    y = y_of(pct)
    css = "bar ok" if pct >= target else "bar bad"
    tip = f"{row.day.isoformat()}: uptime {fmt.pct(pct)}, coverage {fmt.ratio(row.coverage)} ({row.source})"
    return (f'<rect class="{css}" x="{_n(x)}" y="{_n(y)}" width="{_n(width)}" height="{_n(max(1.0, frame.base - y))}">'
            f"<title>{_e(tip)}</title></rect>")


# ---------------------------------------------------------------- heartbeat gaps


def _gap_scale(frame: Frame, rows: Sequence[DayRow], limit: float) -> tuple[float, float, Callable[[float], float]]:
    """(lowest, highest, y of seconds) on a log scale from half the limit to the largest gap."""
    gaps = [row.max_gap_sec for row in rows if row.max_gap_sec]
    low = min([limit / 2, *gaps]) if gaps else limit / 2
    high = max([limit * 2, *gaps])
    span = math.log10(high) - math.log10(low)

    def y_of(sec: float) -> float:
        return frame.base - (math.log10(max(sec, low)) - math.log10(low)) / span * frame.inner_height

    return low, high, y_of


def gap_chart(rows: Sequence[DayRow], limit_sec: float) -> str:
    """The largest heartbeat gap of each day on a log scale, with the ``limit_sec`` line."""
    frame = Frame()
    low, high, y_of = _gap_scale(frame, rows, limit_sec)

    def x_of(index: int) -> float:
        return frame.column_x(index, len(rows))

    body = []
    for tick in (60, 120, 300, 900, 3600, 4 * 3600, 86400):
        if low <= tick <= high:
            body += [frame.hline(y_of(tick), "grid"), frame.label(frame.left - 6, y_of(tick) + 4, fmt.duration(tick))]
    body.append(frame.hline(y_of(limit_sec), "limit"))
    body.append(frame.label(frame.left + 4, y_of(limit_sec) - 4, f"limit {fmt.duration(limit_sec)}", "start", "target-label"))
    body.append(f'<path class="line" d="{_gap_path(rows, x_of, y_of)}"/>')
    for i, row in enumerate(rows):
        body.append(_gap_mark(frame, row, x_of(i), y_of, limit_sec))
    body += _day_ticks(frame, [row.day for row in rows])
    return frame.svg("gap-chart", "Largest heartbeat gap per day", body)


def _gap_path(rows: Sequence[DayRow], x_of, y_of) -> str:
    """One polyline per run of consecutive days with data (a missing day breaks it)."""
    parts, pen_down = [], False
    for i, row in enumerate(rows):
        if row.max_gap_sec is None:
            pen_down = False
            continue
        parts.append(f"{'L' if pen_down else 'M'}{_n(x_of(i))} {_n(y_of(row.max_gap_sec))}")
        pen_down = True
    return " ".join(parts) or "M0 0"


def _gap_mark(frame: Frame, row: DayRow, x: float, y_of, limit: float) -> str:
    day = row.day.isoformat()
    if row.max_gap_sec is None:
        return (f'<rect class="missing-day" x="{_n(x - 2)}" y="{_n(frame.base - 6)}" width="4" height="6">'
                f"<title>{_e(day)}: no data</title></rect>")
    css = "point ok" if row.max_gap_sec <= limit else "point bad"
    tip = f"{day}: max gap {fmt.seconds(row.max_gap_sec)}"
    return f'<circle class="{css}" cx="{_n(x)}" cy="{_n(y_of(row.max_gap_sec))}" r="3.5"><title>{_e(tip)}</title></circle>'


# ---------------------------------------------------------------- incidents


def incident_timeline(incidents: Sequence[Mapping[str, Any]], start: datetime, end: datetime) -> str:
    """One lane per incident type; each incident a bar from tsStart to tsEnd (or
    the window's end while active) plus a dot where it started."""
    kinds = sorted({str(doc.get("type")) for doc in incidents}) or ["(none)"]
    frame = Frame(height=max(120, 60 + 26 * len(kinds)), left=130)
    span = (end - start).total_seconds() or 1.0

    def x_of(when: datetime) -> float:
        return frame.left + (min(max(when, start), end) - start).total_seconds() / span * frame.inner_width

    def lane(kind: str) -> float:
        return frame.top + 6 + kinds.index(kind) * 26

    body = [frame.label(frame.left - 8, lane(kind) + 13, kind) for kind in kinds]
    body += [_incident_mark(doc, x_of, lane(str(doc.get("type"))), end) for doc in incidents if isinstance(doc.get("tsStart"), datetime)]
    if not incidents:
        body.append(frame.label(frame.left + frame.inner_width / 2, lane(kinds[0]) + 13, "no incidents in the window", "middle"))
    days = max(1, round(span / 86400))
    ticks = [start + timedelta(days=n) for n in range(0, days + 1, max(1, math.ceil(days / 12)))]
    body += [frame.label(x_of(t), frame.base + 16, t.strftime("%m-%d"), "middle") for t in ticks]
    return frame.svg("incident-timeline", "Incidents over time, by type", body)


def _incident_mark(doc: Mapping[str, Any], x_of, y: float, window_end: datetime) -> str:
    started, ended = doc["tsStart"], doc.get("tsEnd") if isinstance(doc.get("tsEnd"), datetime) else None
    x0, x1 = x_of(started), x_of(ended or window_end)
    severity = doc.get("severity") if doc.get("severity") in SEVERITY_ORDER else "unknown"
    status = "resolved" if ended else "active"
    repair = doc.get("mttrSec")
    repair_text = f", MTTR {fmt.seconds(repair)}" if isinstance(repair, (int, float)) else ""
    until = iso(ended) if ended else "ongoing"
    tip = f"{doc.get('type')} {severity} {status}: {iso(started)} .. {until}{repair_text} {doc.get('reason') or ''}"
    css = f"incident sev-{severity} {status}"
    return (f'<g><rect class="{_e(css)}" x="{_n(x0)}" y="{_n(y)}" width="{_n(max(3.0, x1 - x0))}" height="16">'
            f'<title>{_e(tip)}</title></rect><circle class="incident-start sev-{_e(severity)}" cx="{_n(x0)}" cy="{_n(y + 8)}" r="4">'
            f"<title>{_e(tip)}</title></circle></g>")
