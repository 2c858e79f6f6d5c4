"""The daily rollup: one UTC day of heartbeats, probes and incidents in one document.

    start, end = day_bounds(day)
    hb = analyze_heartbeats(heartbeat_docs, start, end, 60)
    doc = compute_rollup(day, hb, probe_docs, incident_docs, interval=60,
                         insufficient_threshold=0.8, commit="abc123",
                         service_version="0.1.0", created_at=now)
    doc["uptimePct"], doc["insufficientData"]

Figures are honest: a probe type that never ran has pass rate None (not 100),
a day nobody watched has uptime None (not 0 and not 100), and malformed
documents are counted (``malformedHb``, ``malformedProbes``,
``malformedIncidents``) rather than silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, Mapping

from exporter.domain.heartbeats import HeartbeatResult
from exporter.domain.response import mtta_doc
from exporter.domain.slots import PROBE_PREFIX, day_bounds, iso
from exporter.domain.stats import is_number, mttr_percentiles, pass_rate_pct
from exporter.domain.vocabulary import MONITORING_TYPES, PROBE_RESULTS, SEVERITIES

PROBE_TYPES = tuple(PROBE_PREFIX)  # outbound, inbound, queue
LARGEST_GAPS = 5


def _aware(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) and value.tzinfo is not None else None


def tally_probes(docs: Iterable[Any], start: datetime, end: datetime, *,
                 manual: dict | None = None) -> tuple[dict, int]:
    """``({type: {PASS, FAIL, SKIP}}, malformed)`` for scheduled probes with ts in [start, end).

    Every known type is present, with zero counts when it never ran. Manual runs
    (``trigger: manual``) are tests, not the schedule: they are tallied into
    ``manual`` when given, and never into the pass rates.
    """
    counts = {kind: dict.fromkeys(PROBE_RESULTS, 0) for kind in PROBE_TYPES}
    malformed = 0
    for doc in docs:
        ok = isinstance(doc, Mapping) and doc.get("type") in counts and doc.get("result") in PROBE_RESULTS
        ts = _aware(doc.get("ts")) if ok else None
        if ts is None:
            malformed += 1
        elif start <= ts < end:
            into = counts if doc.get("trigger") != "manual" else manual
            if into is not None:
                into.setdefault(doc["type"], dict.fromkeys(PROBE_RESULTS, 0))[doc["result"]] += 1
    return counts, malformed


def pass_rates(counts: Mapping[str, Mapping[str, int]]) -> dict[str, float | None]:
    """Percent of PASS over PASS + FAIL per type; None for a type with no run."""
    return {kind: pass_rate_pct(c.get("PASS", 0), c.get("FAIL", 0)) for kind, c in counts.items()}


def mttr_of(doc: Mapping[str, Any]) -> float | None:
    """A resolved incident's repair time: mttrSec if usable, else tsEnd - tsStart."""
    if doc.get("status") != "resolved":
        return None
    if is_number(doc.get("mttrSec")) and doc["mttrSec"] >= 0:
        return float(doc["mttrSec"])
    start, end = _aware(doc.get("tsStart")), _aware(doc.get("tsEnd"))
    if start and end and end >= start:
        return (end - start).total_seconds()
    return None


@dataclass
class IncidentTally:
    """Incidents of a window [start, end): counts of those that STARTED in it,
    repair times of those RESOLVED in it. The monitored service's incidents
    only; those about the monitoring stack (``MONITORING_TYPES``) are counted
    apart in ``monitoring``, so a silent Watchdog never counts as service downtime."""

    count: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    by_severity: dict[str, int] = field(default_factory=dict)
    mttr_sec: list[float] = field(default_factory=list)
    malformed: int = 0
    monitoring: "IncidentTally | None" = None


def tally_incidents(docs: Iterable[Any], start: datetime, end: datetime) -> IncidentTally:
    """Malformed: not a mapping, no aware tsStart or no type, or resolved
    without a usable tsEnd/mttr."""
    service, monitoring = IncidentTally(), IncidentTally()
    service.monitoring = monitoring
    for doc in docs:
        ts_start = _aware(doc.get("tsStart")) if isinstance(doc, Mapping) else None
        if ts_start is None or not isinstance(doc.get("type"), str):
            service.malformed += 1
            continue
        tally = monitoring if doc["type"] in MONITORING_TYPES else service
        if start <= ts_start < end:
            tally.count += 1
            tally.by_type[doc["type"]] = tally.by_type.get(doc["type"], 0) + 1
            severity = doc.get("severity") if doc.get("severity") in SEVERITIES else "unknown"
            tally.by_severity[severity] = tally.by_severity.get(severity, 0) + 1
        if doc.get("status") != "resolved":
            continue
        ts_end, mttr = _aware(doc.get("tsEnd")), mttr_of(doc)
        if ts_end is None or mttr is None:
            tally.malformed += 1
        elif start <= ts_end < end:
            tally.mttr_sec.append(mttr)
    return service


def monitoring_summary(tally: IncidentTally) -> dict[str, Any]:
    """The monitoring stack's own incidents, reported on their own line."""
    mttr = mttr_percentiles(tally.mttr_sec)
    return {"count": tally.count, "byType": tally.by_type, "resolved": len(tally.mttr_sec),
            "mttrP50": mttr.p50, "mttrP90": mttr.p90, "mttrP95": mttr.p95}


def compute_rollup(day: date, heartbeat_result: HeartbeatResult, probe_docs: Iterable[Any],
                   incident_docs: Iterable[Any], *, interval: float, insufficient_threshold: float,
                   commit: str, service_version: str, created_at: datetime) -> dict[str, Any]:
    """The rollup document of ``day`` (UTC).

    ``heartbeat_result`` must cover exactly the day at ``interval``. Probes are
    those with ts in the day; incidents count when they STARTED in the day
    (incidentsCount, incidentsByType, incidentsBySeverity) and give MTTR when
    RESOLVED in the day. Minutes are slot counts × interval / 60.
    """
    start, end = day_bounds(day)
    hb = heartbeat_result
    if (hb.start, hb.end, hb.interval) != (start, end, interval):
        raise ValueError(f"heartbeat result covers {hb.start}..{hb.end} at {hb.interval}s, "
                         f"not the day {day} at {interval}s")
    manual: dict[str, dict[str, int]] = {}
    probe_counts, bad_probes = tally_probes(probe_docs, start, end, manual=manual)
    incident_docs = list(incident_docs)
    incidents = tally_incidents(incident_docs, start, end)
    mttr = mttr_percentiles(incidents.mttr_sec)
    minutes = interval / 60
    uptime = hb.uptime
    coverage = hb.coverage
    return {
        "date": day.isoformat(),
        "intervalSec": interval,
        "expectedHb": hb.expected, "writtenHb": hb.written, "missedHb": hb.missed,
        "uptimePct": None if uptime is None else uptime * 100, "uptimeRatio": uptime,
        "numericCoverage": coverage,
        "upMinutes": hb.up_slots * minutes, "downMinutes": hb.down_slots * minutes,
        "unknownMinutes": hb.unknown_slots * minutes,
        "maxGapSec": hb.max_gap_sec,
        "firstSlot": iso(hb.first_slot) if hb.first_slot else None,
        "lastSlot": iso(hb.last_slot) if hb.last_slot else None,
        "historyStart": iso(hb.history_start) if hb.history_start else None,
        "targetConfigured": hb.target_configured,
        "largestGaps": [gap.to_dict() for gap in hb.largest_gaps[:LARGEST_GAPS]],
        "restarts": hb.restarts, "instanceChanges": hb.instance_changes,
        "duplicateHb": hb.duplicates, "misalignedHb": hb.misaligned, "malformedHb": hb.malformed,
        "probePassRates": pass_rates(probe_counts), "probeCounts": probe_counts, "manualProbeCounts": manual,
        "malformedProbes": bad_probes,
        "mttrP50": mttr.p50, "mttrP90": mttr.p90, "mttrP95": mttr.p95,
        "mttaSec": mtta_doc(incident_docs, start, end),
        "incidentsCount": incidents.count, "incidentsByType": incidents.by_type,
        "incidentsBySeverity": incidents.by_severity, "incidentsResolved": len(incidents.mttr_sec),
        "malformedIncidents": incidents.malformed + incidents.monitoring.malformed,
        "monitoringIncidents": monitoring_summary(incidents.monitoring),
        "insufficientData": coverage is None or coverage < insufficient_threshold,
        "commitHash": commit, "serviceVersion": service_version, "createdAt": created_at,
    }


def days_needing_rollup(today: date, existing_days: set[date], days_with_data: set[date],
                        lookback: int = 7) -> list[date]:
    """Complete days among the last ``lookback`` that have data but no rollup, oldest first.

    ``today`` (UTC) is never included: it is not complete. A datetime is read
    as its UTC date.
    """
    if isinstance(today, datetime):
        today = today.astimezone(timezone.utc).date()
    candidates = (today - timedelta(days=back) for back in range(lookback, 0, -1))
    return [d for d in candidates if d in days_with_data and d not in existing_days]
