"""Long-run verdicts: 7/30/90/180-day windows against the SLO targets, and `verify`.

A window report is built from daily rollups. A day with no rollup is MISSING:
listed in ``missing_days``, its minutes counted as unknown, and it never
counts as a day of zero (or full) uptime. A window passes only on enough data:

- INSUFFICIENT_DATA: fewer than ``min_days_fraction`` of its days have a
  usable rollup, heartbeat coverage is below the insufficient-data threshold,
  or no minute of the window is known.
- FAIL: a target is missed (uptime, heartbeat coverage, a probe type's pass
  rate, MTTR); ``failures`` names each one.
- PASS otherwise.

Expected heartbeat slots are every slot of the window from the first
heartbeat ever (``history_start``): a day with no rollup and no heartbeat
after that counts all its slots as missed, so a lost day can never PASS on
coverage. Without a target its minutes are down (the heartbeat is the only
signal); with one, unknown. The window's max gap is the largest daily max gap:
a daily gap is measured from the heartbeat before it, whatever day that was,
so an outage across midnight counts whole. Incidents about the monitoring
stack itself are reported apart and never change the verdict.

    reports = build_reports(yesterday, rollup_docs, incident_docs)
    [(r.days, r.verdict) for r in reports]  # [(7, 'PASS'), (30, 'FAIL'), (90, 'INSUFFICIENT_DATA'), ...]
    code, reasons = verify_decision(last_hour_result)  # the `longrun verify` exit code
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Iterable, Mapping

from exporter.domain.heartbeats import HeartbeatResult
from exporter.domain.percent import floor_percent
from exporter.domain.response import mtta_percentiles
from exporter.domain.rollup import PROBE_RESULTS, PROBE_TYPES, monitoring_summary, pass_rates, tally_incidents
from exporter.domain.slots import day_bounds, iso, slots_between
from exporter.domain.stats import Percentiles, is_number, mttr_percentiles

PASS, FAIL, INSUFFICIENT_DATA = "PASS", "FAIL", "INSUFFICIENT_DATA"
WINDOW_DAYS = (7, 30, 90, 180)
MINUTES_PER_DAY = 1440


@dataclass(frozen=True)
class SloTargets:
    """The runbook's targets; probe pass rates and coverage come from the config
    document's ``targets`` (``SloTargets.from_config``)."""

    uptime_pct: Mapping[int, float] = field(
        default_factory=lambda: {7: 99.0, 30: 99.5, 90: 99.7, 180: 99.8})
    probe_pass_pct: Mapping[str, float] = field(
        default_factory=lambda: {"outbound": 95.0, "inbound": 95.0, "queue": 98.0})
    coverage_pct: float = 99.0
    mttr_max_sec: Mapping[str, float] = field(
        default_factory=lambda: {"p50": 120.0, "p90": 300.0, "p95": 600.0})

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "SloTargets":
        targets = config.get("targets") if isinstance(config.get("targets"), Mapping) else {}
        base = cls()
        probes = {**base.probe_pass_pct, **dict(targets.get("probePassPct") or {})}
        return cls(probe_pass_pct=probes, coverage_pct=targets.get("coveragePct", base.coverage_pct))


@dataclass(frozen=True)
class WindowReport:
    days: int
    first_day: date
    last_day: date
    target_uptime_pct: float
    days_with_data: tuple[date, ...]
    missing_days: tuple[date, ...]
    malformed_days: int
    uptime_pct: float | None
    coverage: float | None
    up_minutes: float
    down_minutes: float
    unknown_minutes: float
    max_gap_sec: float | None
    mttr: Percentiles
    probe_counts: dict[str, dict[str, int]]
    probe_pass_rates: dict[str, float | None]
    incidents_count: int
    incidents_by_type: dict[str, int]
    incidents_by_severity: dict[str, int]
    insufficient: tuple[str, ...]
    failures: tuple[str, ...]
    mtta: Percentiles = Percentiles(None, None, None)  # acknowledgement times in the window
    expected_hb: float = 0
    written_hb: float = 0
    monitoring_incidents: Mapping[str, Any] = field(default_factory=dict)
    maintenance_minutes: float = 0  # planned work: left out of uptime and coverage

    @property
    def verdict(self) -> str:
        return INSUFFICIENT_DATA if self.insufficient else FAIL if self.failures else PASS

    @property
    def reasons(self) -> tuple[str, ...]:
        return self.insufficient if self.insufficient else self.failures

    def to_dict(self) -> dict[str, Any]:
        return {
            "days": self.days, "firstDay": self.first_day.isoformat(),
            "lastDay": self.last_day.isoformat(), "verdict": self.verdict,
            "reasons": list(self.reasons), "failures": list(self.failures),
            "targetUptimePct": self.target_uptime_pct, "uptimePct": self.uptime_pct,
            "coverage": self.coverage, "expectedHb": self.expected_hb, "writtenHb": self.written_hb,
            "daysWithData": len(self.days_with_data),
            "missingDays": [d.isoformat() for d in self.missing_days],
            "malformedDays": self.malformed_days,
            "upMinutes": self.up_minutes, "downMinutes": self.down_minutes,
            "unknownMinutes": self.unknown_minutes, "maintenanceMinutes": self.maintenance_minutes,
            "maxGapSec": self.max_gap_sec,
            "mttrP50": self.mttr.p50, "mttrP90": self.mttr.p90, "mttrP95": self.mttr.p95,
            "probePassRates": self.probe_pass_rates, "probeCounts": self.probe_counts,
            "incidentsCount": self.incidents_count, "incidentsByType": self.incidents_by_type,
            "incidentsBySeverity": self.incidents_by_severity, "mttaSec": self.mtta._asdict(),
            "monitoringIncidents": dict(self.monitoring_incidents),
        }


def _num(doc: Mapping, key: str) -> float | None:
    value = doc.get(key)
    return value if is_number(value) and value >= 0 else None


def _day_minutes(doc: Mapping, interval: float) -> tuple[float, float] | None:
    """(up, down) minutes; rollups without them (the original's) are read from
    uptimePct over the written heartbeats."""
    up, down = _num(doc, "upMinutes"), _num(doc, "downMinutes")
    if up is not None and down is not None:
        return up, down
    written, pct = _num(doc, "writtenHb"), doc.get("uptimePct")
    if written is not None and is_number(pct) and 0 <= pct <= 100:
        known = written * interval / 60
        return known * pct / 100, known - known * pct / 100
    return (0.0, 0.0) if pct is None else None


@dataclass
class _Totals:
    expected: float = 0
    written: float = 0
    up: float = 0
    down: float = 0
    unknown: float = 0
    maintenance: float = 0  # minutes inside maintenance windows: neither up, down nor unknown
    max_gap: float | None = None
    probes: dict = field(default_factory=lambda: {t: dict.fromkeys(PROBE_RESULTS, 0) for t in PROBE_TYPES})

    def add_day(self, doc: Mapping, interval: float) -> bool:
        """Add one rollup; False (nothing added) when it is unusable."""
        expected, written = _num(doc, "expectedHb"), _num(doc, "writtenHb")
        minutes = _day_minutes(doc, interval)
        if expected is None or written is None or written > expected or minutes is None:
            return False
        unknown = _num(doc, "unknownMinutes")
        self.expected += expected
        self.written += written
        self.up += minutes[0]
        self.down += minutes[1]
        self.unknown += unknown if unknown is not None else MINUTES_PER_DAY - sum(minutes)
        self.maintenance += (_num(doc, "maintenanceSec") or 0) / 60
        gap = _num(doc, "maxGapSec")
        if gap is not None:
            self.max_gap = gap if self.max_gap is None else max(self.max_gap, gap)
        counts = doc.get("probeCounts")
        for kind, results in (counts.items() if isinstance(counts, Mapping) else ()):
            for result, n in (results.items() if isinstance(results, Mapping) else ()):
                if kind in self.probes and result in PROBE_RESULTS and is_number(n) and n >= 0:
                    self.probes[kind][result] += int(n)
        return True

    def add_missing_day(self, day: date, history_start: datetime | None, interval: float,
                        no_target: bool) -> None:
        """A day with no usable rollup: after the history start every slot of it is
        expected and missed; its minutes are down without a target, else unknown."""
        start, end = day_bounds(day)
        expected = slots_between(max(start, history_start), end, interval) if history_start and history_start < end else 0
        self.expected += expected
        if no_target:
            self.down += expected * interval / 60
            self.unknown += MINUTES_PER_DAY - expected * interval / 60
        else:
            self.unknown += MINUTES_PER_DAY


def _failures(uptime: float | None, target: float, rates: Mapping[str, float | None],
              mttr: Percentiles, targets: SloTargets, coverage: float | None) -> list[str]:
    failed = []
    if uptime is not None and uptime < target:
        failed.append(f"uptime {floor_percent(uptime / 100)} below target {target}%")
    if coverage is not None and 100 * coverage < targets.coverage_pct:
        failed.append(f"heartbeat coverage {floor_percent(coverage)} below target {targets.coverage_pct:g}%")
    for kind, rate in rates.items():
        wanted = targets.probe_pass_pct.get(kind)
        if rate is not None and wanted is not None and rate < wanted:
            failed.append(f"{kind} probe pass rate {floor_percent(rate / 100)} below target {wanted:g}%")
    for name, limit in targets.mttr_max_sec.items():
        value = getattr(mttr, name)
        if value is not None and value > limit:
            failed.append(f"MTTR {name.upper()} {value:g}s above target {limit:g}s")
    return failed


def build_window_report(days: int, last_day: date, daily: Iterable[Any], incidents: Iterable[Any], *,
                        targets: SloTargets = SloTargets(), interval: float = 60,
                        coverage_threshold: float = 0.8, min_days_fraction: float = 0.8,
                        history_start: datetime | None = None) -> WindowReport:
    """The window of ``days`` UTC days ending with ``last_day`` (inclusive).

    ``daily`` holds rollup dicts (``date`` = "yyyy-mm-dd"; others are ignored);
    ``incidents`` counts those that started in the window and gives MTTR for
    those resolved in it. ``history_start`` is the first heartbeat ever: days
    after it with no usable rollup count their slots as expected and missed.
    """
    window = [last_day - timedelta(days=back) for back in range(days - 1, -1, -1)]
    by_day = {}
    for doc in daily:
        if isinstance(doc, Mapping) and isinstance(doc.get("date"), str):
            by_day[doc["date"]] = doc
    totals, present, missing, malformed = _Totals(), [], [], 0
    no_target = _no_target_before(by_day, window[0])
    for day in window:
        doc = by_day.get(day.isoformat())
        if doc is not None and totals.add_day(doc, interval):
            present.append(day)
            if isinstance(doc.get("targetConfigured"), bool):
                no_target = not doc["targetConfigured"]
            continue
        if doc is None:
            missing.append(day)
        else:
            malformed += 1
        totals.add_missing_day(day, history_start, interval, no_target)
    start, end = day_bounds(window[0])[0], day_bounds(last_day)[1]
    incidents = list(incidents)
    _open_gap_to_end(totals, by_day, present, end)
    tally = tally_incidents(incidents, start, end)
    known = totals.up + totals.down
    uptime = 100 * totals.up / known if known else None
    coverage = totals.written / totals.expected if totals.expected else None
    rates = pass_rates(totals.probes)
    mttr = mttr_percentiles(tally.mttr_sec)
    target = targets.uptime_pct.get(days, max(targets.uptime_pct.values()))
    monitoring = monitoring_summary(tally.monitoring)

    insufficient = []
    needed = math.ceil(min_days_fraction * days - 1e-9)
    if len(present) < needed:
        insufficient.append(f"{len(present)} of {days} days have a usable rollup (need {needed})")
    if coverage is not None and coverage < coverage_threshold:
        insufficient.append(f"heartbeat coverage {coverage:.2%} below {coverage_threshold:.0%}")
    if uptime is None:
        insufficient.append("no known minute in the window")
    return WindowReport(
        days=days, first_day=window[0], last_day=last_day, target_uptime_pct=target,
        days_with_data=tuple(present), missing_days=tuple(missing), malformed_days=malformed,
        uptime_pct=uptime, coverage=coverage, up_minutes=totals.up, down_minutes=totals.down,
        unknown_minutes=totals.unknown, max_gap_sec=totals.max_gap, mttr=mttr,
        probe_counts=totals.probes, probe_pass_rates=rates, incidents_count=tally.count,
        incidents_by_type=tally.by_type, incidents_by_severity=tally.by_severity,
        insufficient=tuple(insufficient), failures=tuple(_failures(uptime, target, rates, mttr, targets, coverage)),
        mtta=mtta_percentiles(incidents, start, end),
        expected_hb=totals.expected, written_hb=totals.written, monitoring_incidents=monitoring,
        maintenance_minutes=totals.maintenance,
    )


def _open_gap_to_end(totals: _Totals, by_day: Mapping[str, Mapping], present: list[date], end: datetime) -> None:
    """Days missing at the window's end have no rollup to say so: the open gap runs
    from the last heartbeat of the last day that has one to the window's end."""
    if not present or present[-1] == (end - timedelta(days=1)).date():
        return
    last_slot = by_day[present[-1].isoformat()].get("lastSlot")
    if isinstance(last_slot, str):
        try:
            seen = datetime.fromisoformat(last_slot.replace("Z", "+00:00"))
        except ValueError:
            return
        gap = (end - seen).total_seconds()
        totals.max_gap = gap if totals.max_gap is None else max(totals.max_gap, gap)


def _no_target_before(by_day: Mapping[str, Mapping], first: date) -> bool:
    """Whether the last rollup before the window said the heartbeats had no target."""
    earlier = sorted(day for day in by_day if day < first.isoformat())
    for day in reversed(earlier):
        if isinstance(by_day[day].get("targetConfigured"), bool):
            return not by_day[day]["targetConfigured"]
    return False


def build_reports(last_day: date, daily: Iterable[Any], incidents: Iterable[Any],
                  **options: Any) -> list[WindowReport]:
    """One report per window in WINDOW_DAYS, all ending with ``last_day``."""
    daily, incidents = list(daily), list(incidents)
    return [build_window_report(days, last_day, daily, incidents, **options) for days in WINDOW_DAYS]


def verify_decision(hb_result: HeartbeatResult, *, max_gap_limit: float | None = None,
                    coverage_threshold: float = 0.8) -> tuple[int, list[str]]:
    """The runbook's data-quality check on one window: (exit code, reasons).

    2 when coverage is below ``coverage_threshold`` (or nothing was expected);
    else 1 when the max gap exceeds ``max_gap_limit`` or any duplicate,
    misaligned or malformed heartbeat was found; else 0. ``max_gap_limit`` is in
    seconds; None means two intervals (the runbook's 120 s at the default 60 s
    cadence, and the same rule at the test suites' second-scale cadence).
    """
    limit = 2 * hb_result.interval if max_gap_limit is None else max_gap_limit
    coverage = hb_result.coverage
    problems = []
    if coverage is None or coverage < coverage_threshold:
        shown = "none expected" if coverage is None else f"{coverage:.2%}"
        problems.append(f"coverage {shown} below {coverage_threshold:.0%} "
                        f"({hb_result.written}/{hb_result.expected} heartbeats "
                        f"{iso(hb_result.start)}..{iso(hb_result.end)})")
    code = 2 if problems else 0
    if hb_result.max_gap_sec > limit:
        problems.append(f"max gap {hb_result.max_gap_sec:g}s above {limit:g}s")
    for name in ("duplicates", "misaligned", "malformed"):
        if getattr(hb_result, name):
            problems.append(f"{getattr(hb_result, name)} {name} heartbeat document(s)")
    if problems and code == 0:
        code = 1
    return code, problems
