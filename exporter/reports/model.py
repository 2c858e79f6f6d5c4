"""The long-run report: the verdict of each window, and the daily rows and incidents behind them.

    rows = [DayRow(day, "rollup", doc), DayRow(other_day, "missing"), ...]   # oldest first
    report = build_long_run_report(last_day, (7, 30), rows, incidents, generated_at=now)
    [(w.days, w.verdict) for w in report.windows]
    report.to_dict()                 # what ``longrun report --format json`` prints

A day's figures come from its stored rollup, or from one computed on the fly
from the raw documents (``computed``) when none was stored; a day with no data
at all is ``missing`` and never counts as zero or as full uptime. Verdicts are
``exporter.domain.report.build_window_report``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Iterable, Mapping, Sequence

from exporter.domain.report import SloTargets, WindowReport, build_window_report
from exporter.domain.slots import iso
from exporter.domain.stats import is_number

ROLLUP, COMPUTED, MISSING = "rollup", "computed", "missing"
INCIDENT_FIELDS = ("incidentId", "type", "severity", "status", "tsStart", "tsEnd", "mttrSec", "reason", "owner", "source",
                   "tsAck", "ackSec")


@dataclass(frozen=True)
class DayRow:
    """One UTC day: where its figures came from and the rollup holding them (None when missing)."""

    day: date
    source: str
    rollup: Mapping[str, Any] | None = None

    def figure(self, key: str) -> float | None:
        value = self.rollup.get(key) if self.rollup else None
        return value if is_number(value) else None

    @property
    def uptime_pct(self) -> float | None:
        return self.figure("uptimePct")

    @property
    def coverage(self) -> float | None:
        return self.figure("numericCoverage")

    @property
    def max_gap_sec(self) -> float | None:
        return self.figure("maxGapSec")

    def to_dict(self) -> dict[str, Any]:
        keys = ("expectedHb", "writtenHb", "missedHb", "upMinutes", "downMinutes", "unknownMinutes",
                "incidentsCount", "restarts")
        return {"date": self.day.isoformat(), "source": self.source, "uptimePct": self.uptime_pct,
                "coverage": self.coverage, "maxGapSec": self.max_gap_sec,
                **{key: self.figure(key) for key in keys},
                "insufficientData": self.rollup.get("insufficientData") if self.rollup else None}


@dataclass(frozen=True)
class LongRunReport:
    generated_at: datetime
    last_day: date
    interval: float
    targets: SloTargets
    windows: tuple[WindowReport, ...]
    days: tuple[DayRow, ...]  # the longest window's days, oldest first
    incidents: tuple[Mapping[str, Any], ...]  # touching the longest window, oldest first

    @property
    def first_day(self) -> date:
        return self.days[0].day if self.days else self.last_day

    def source_counts(self) -> dict[str, int]:
        return {source: sum(1 for row in self.days if row.source == source) for source in (ROLLUP, COMPUTED, MISSING)}

    def to_dict(self) -> dict[str, Any]:
        return {
            "generatedAt": iso(self.generated_at), "firstDay": self.first_day.isoformat(),
            "lastDay": self.last_day.isoformat(), "intervalSec": self.interval,
            "targets": {"uptimePct": {str(k): v for k, v in self.targets.uptime_pct.items()},
                        "probePassPct": dict(self.targets.probe_pass_pct),
                        "coveragePct": self.targets.coverage_pct,
                        "mttrMaxSec": dict(self.targets.mttr_max_sec)},
            "windows": [window.to_dict() for window in self.windows],
            "daySources": self.source_counts(),
            "days": [row.to_dict() for row in self.days],
            "incidents": [incident_summary(doc) for doc in self.incidents],
        }


def incident_summary(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The incident fields a report shows, timestamps as ISO strings."""
    return {key: iso(doc[key]) if isinstance(doc.get(key), datetime) else doc.get(key) for key in INCIDENT_FIELDS}


def window_days(last_day: date, days: int) -> list[date]:
    """The ``days`` UTC days ending with ``last_day``, oldest first."""
    return [last_day - timedelta(days=back) for back in range(days - 1, -1, -1)]


def build_long_run_report(last_day: date, windows: Sequence[int], rows: Iterable[DayRow],
                          incidents: Iterable[Mapping[str, Any]], *, generated_at: datetime,
                          interval: float = 60, coverage_threshold: float = 0.8,
                          targets: SloTargets = SloTargets(), history_start: datetime | None = None) -> LongRunReport:
    """One WindowReport per entry of ``windows`` (days), all ending with ``last_day``.

    ``rows`` must cover the longest window; rows outside it are ignored.
    ``history_start`` is the first heartbeat ever (``gather.history_start``).
    """
    longest = set(window_days(last_day, max(windows)))
    rows = tuple(sorted((r for r in rows if r.day in longest), key=lambda r: r.day))
    daily = [row.rollup for row in rows if row.rollup is not None]
    incidents = tuple(sorted(incidents, key=_start_key))
    reports = tuple(
        build_window_report(days, last_day, daily, incidents, targets=targets, interval=interval,
                            coverage_threshold=coverage_threshold, history_start=history_start)
        for days in windows
    )
    return LongRunReport(generated_at, last_day, interval, targets, reports, rows, incidents)


def _start_key(doc: Mapping[str, Any]) -> float:
    start = doc.get("tsStart")
    return start.timestamp() if isinstance(start, datetime) else float("-inf")
