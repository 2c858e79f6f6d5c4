"""What the status page, ``GET /api/status`` and the badges show: one view, built from memory.

    facts = StatusFacts(now=..., probes={...}, open_incidents=[...], rollups=[...], ...)
    view = build_view(facts)          # pure: a JSON-ready dict
    view["headline"]["level"]         # one of LEVELS

Numbers in the view:

- ``...Ratio`` fields are 0-1 floats as computed, never rounded (``null`` when
  there is nothing to compute them from: no expected slot, no rollup).
- ``...Percent`` fields are the text a person sees: the ratio times 100,
  floored (never rounded up) to ``PRECISION`` decimals, so "100.00%" means
  nothing was missed. Uptime and coverage share the one precision.

Uptime per period (1, 7, 30 and 90 UTC days ending with the last whole day) is
``exporter.domain.report.build_window_report`` over the held rollups: the same
figures ``longrun report --window N`` prints for the same days.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Mapping, Sequence

from exporter.domain.percent import PRECISION, floor_percent
from exporter.domain.report import build_window_report
from exporter.domain.slots import iso
from exporter.domain.vocabulary import PROBE_TYPES, SEVERITIES

# The headline's levels, best first: every check passes; only longrun itself is checked;
# a maintenance window is open; something needs attention; something is wrong.
LEVELS = ("ok", "limited", "maintenance", "warn", "bad")

PERIODS = (("24h", 1), ("7d", 7), ("30d", 30), ("90d", 90))
HISTORY_DAYS = 90
SHOWN_OPEN = 20  # open incidents listed; the count says how many there are in all
SHOWN_RESOLVED = 10
NOT_CONFIGURED = "not configured"


@dataclass(frozen=True)
class StatusFacts:
    """Everything the view is built from, held in memory by the refresh loop and the runtime."""

    now: datetime
    instance_id: str
    service_version: str
    commit: str
    store_kind: str
    store_up: bool
    this_leads: bool
    interval: float
    lock: Mapping[str, Any] | None = None  # {holder, leaseUntil, generation}
    last_heartbeat: Mapping[str, Any] | None = None
    windows: Mapping[str, Any] = field(default_factory=dict)  # name -> HeartbeatResult
    heartbeat_slots: Sequence[tuple[datetime, str]] = ()  # the last 24 h: (slot, "up" | "missed" | "maintenance")
    probes: Mapping[str, Mapping[str, Any] | None] = field(default_factory=dict)  # newest scheduled run
    manual: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # newest manual run
    probe_runs: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)  # scheduled, last 24 h
    not_configured: Mapping[str, str] = field(default_factory=dict)  # "target" | probe | "telegram" -> why
    open_incidents: Sequence[Mapping[str, Any]] = ()
    recent_incidents: Sequence[Mapping[str, Any]] = ()
    rollups: Sequence[Mapping[str, Any]] = ()
    maintenance: Mapping[str, Any] | None = None
    loaded: bool = True
    problems: Sequence[str] = ()


# ------------------------------------------------------------------ numbers


def _ratio(value: Any) -> float | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


def _iso(value: Any) -> str | None:
    return iso(value) if isinstance(value, datetime) else None


def age_text(seconds: float | None) -> str:
    """``42 s``, ``5 min``, ``3 h 12 min``, ``2 d 4 h``; ``n/a`` when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "n/a"
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h {minutes % 60} min" if hours < 48 else f"{hours // 24} d {hours % 24} h"


def _since(when: Any, now: datetime) -> float | None:
    return (now - when).total_seconds() if isinstance(when, datetime) else None


# ------------------------------------------------------------------ sections


def heartbeat_view(facts: StatusFacts) -> dict[str, Any]:
    last = facts.last_heartbeat or {}
    age = _since(last.get("ts"), facts.now)
    state = "no data" if age is None else "up" if age <= 2 * facts.interval else "late"
    windows = {}
    for name, result in facts.windows.items():
        ratio = result.coverage if result.expected else None
        windows[name] = {"written": result.written, "expected": result.expected, "missed": result.missed,
                         "coverageRatio": ratio, "coveragePercent": floor_percent(ratio),
                         "maxGapSec": result.max_gap_sec if result.expected else None}
    slots = [{"slot": iso(slot), "state": state_} for slot, state_ in facts.heartbeat_slots]
    return {"state": state, "lastAt": _iso(last.get("ts")), "ageSec": age, "ageText": age_text(age),
            "writtenBy": last.get("instanceId"), "intervalSec": facts.interval, "windows": windows, "slots24h": slots}


def probe_view(facts: StatusFacts, probe_type: str) -> dict[str, Any]:
    doc = facts.probes.get(probe_type)
    why_not = facts.not_configured.get(probe_type)
    if doc is None:
        state, result = (NOT_CONFIGURED if why_not else "not run yet"), None
    else:
        result = doc.get("result")
        state = {"PASS": "pass", "FAIL": "fail", "SKIP": NOT_CONFIGURED}.get(result, "unknown")
    if state == NOT_CONFIGURED and doc is not None and doc.get("error"):
        why_not = str(doc.get("error"))
    manual = facts.manual.get(probe_type)
    runs = sorted(facts.probe_runs.get(probe_type, ()), key=lambda d: d["ts"])
    return {
        "type": probe_type, "state": state, "result": result, "lastRunAt": _iso((doc or {}).get("ts")),
        "ageText": age_text(_since((doc or {}).get("ts"), facts.now)) if doc else "n/a",
        "error": (doc or {}).get("error") if state == "fail" else None, "notConfigured": why_not if state == NOT_CONFIGURED else None,
        "manual": None if manual is None else {"result": manual.get("result"), "at": _iso(manual.get("ts")),
                                               "error": manual.get("error"), "trigger": "manual"},
        "runs24h": [{"at": _iso(r.get("ts")), "result": r.get("result")} for r in runs],
    }


def _severity_rank(doc: Mapping[str, Any]) -> int:
    severity = doc.get("severity")
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


def _start_key(doc: Mapping[str, Any]) -> float:
    start = doc.get("tsStart")
    return start.timestamp() if isinstance(start, datetime) else float("inf")


def order_incidents(docs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Most severe first (P1, P2, P3, then anything else); within a severity, the oldest first."""
    return sorted(docs, key=lambda d: (_severity_rank(d), _start_key(d), str(d.get("incidentId"))))


def incident_row(doc: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    start = doc.get("tsStart")
    mttr = _ratio(doc.get("mttrSec"))
    return {"incidentId": doc.get("incidentId"), "severity": doc.get("severity"), "type": doc.get("type"),
            "subject": doc.get("subject"), "status": doc.get("status"), "owner": doc.get("owner"),
            "reason": doc.get("reason"), "startedAt": _iso(start), "ageText": age_text(_since(start, now)),
            "resolvedAt": _iso(doc.get("tsEnd")), "mttrSec": mttr, "mttrText": age_text(mttr) if mttr is not None else "n/a"}


def incidents_view(facts: StatusFacts) -> dict[str, Any]:
    ordered = order_incidents(facts.open_incidents)
    by_severity = {s: sum(1 for d in ordered if d.get("severity") == s) for s in SEVERITIES}
    resolved = [d for d in facts.recent_incidents if d.get("status") == "resolved" and isinstance(d.get("tsEnd"), datetime)]
    resolved.sort(key=lambda d: d["tsEnd"], reverse=True)
    return {"openCount": len(ordered), "openBySeverity": by_severity,
            "open": [incident_row(d, facts.now) for d in ordered[:SHOWN_OPEN]],
            "recentlyResolved": [incident_row(d, facts.now) for d in resolved[:SHOWN_RESOLVED]]}


def _rollup_ratio(doc: Mapping[str, Any]) -> float | None:
    ratio = _ratio(doc.get("uptimeRatio"))
    if ratio is None and (pct := _ratio(doc.get("uptimePct"))) is not None:
        ratio = pct / 100
    return ratio


def _day_level(uptime: float | None) -> str:
    if uptime is None:
        return "none"
    return "ok" if uptime >= 0.999 else "warn" if uptime >= 0.99 else "bad"


def history_view(facts: StatusFacts) -> dict[str, Any]:
    """90 per-day bars ending with the last whole UTC day, and uptime per period from the same rollups."""
    last_day = facts.now.date() - timedelta(days=1)
    by_day = {doc.get("date"): doc for doc in facts.rollups if isinstance(doc.get("date"), str)}
    days = []
    for back in range(HISTORY_DAYS - 1, -1, -1):
        day = (last_day - timedelta(days=back)).isoformat()
        doc = by_day.get(day)
        uptime = _rollup_ratio(doc) if doc else None
        coverage = _ratio(doc.get("numericCoverage")) if doc else None
        days.append({"date": day, "uptimeRatio": uptime, "uptimePercent": floor_percent(uptime),
                     "coverageRatio": coverage, "coveragePercent": floor_percent(coverage), "level": _day_level(uptime)})
    return {"lastDay": last_day.isoformat(), "days": days, "uptime": uptime_periods(facts.rollups, last_day, facts.interval)}


def uptime_periods(rollups: Sequence[Mapping[str, Any]], last_day: date, interval: float) -> dict[str, Any]:
    out = {}
    for name, days in PERIODS:
        report = build_window_report(days, last_day, list(rollups), [], interval=interval)
        uptime = report.uptime_pct / 100 if report.uptime_pct is not None else None
        out[name] = {"days": days, "firstDay": report.first_day.isoformat(), "lastDay": report.last_day.isoformat(),
                     "uptimeRatio": uptime, "uptimePercent": floor_percent(uptime),
                     "coverageRatio": report.coverage, "coveragePercent": floor_percent(report.coverage),
                     "daysWithData": len(report.days_with_data)}
    return out


def checked_things(facts: StatusFacts) -> list[str]:
    """What is really checked: the heartbeat, and each probe whose last scheduled run did not skip."""
    checked = ["heartbeats (longrun's own store round trip)"]
    for probe_type in PROBE_TYPES:
        doc = facts.probes.get(probe_type)
        if doc is not None and doc.get("result") in ("PASS", "FAIL"):
            what = "store round trip" if probe_type == "outbound" and "target" in facts.not_configured else "probe"
            checked.append(f"{probe_type} {what}")
    return checked


def headline(facts: StatusFacts, heartbeat: Mapping[str, Any], probes: Sequence[Mapping[str, Any]],
             incidents: Mapping[str, Any]) -> dict[str, Any]:
    """The one line a person reads first: level, title and the reasons behind it."""
    bad, warn = [], []
    p1 = incidents["openBySeverity"].get("P1", 0)
    if p1:
        bad.append(f"{p1} open P1 incident{'s' if p1 != 1 else ''}")
    if not facts.store_up:
        bad.append("the store is unreachable")
    if heartbeat["state"] != "up":
        bad.append(f"no heartbeat for {heartbeat['ageText']}" if heartbeat["ageSec"] is not None else "no heartbeat yet")
    if not facts.lock or not isinstance(facts.lock.get("leaseUntil"), datetime) or facts.lock["leaseUntil"] <= facts.now:
        bad.append("no instance holds the scheduler lease")
    others = incidents["openCount"] - p1
    if others:
        detail = ", ".join(f"{n} {s}" for s, n in incidents["openBySeverity"].items() if n and s != "P1")
        warn.append(f"{others} open incident{'s' if others != 1 else ''} ({detail or 'no severity'})")
    failing = [p["type"] for p in probes if p["state"] == "fail"]
    if failing:
        warn.append("failing probe(s): " + ", ".join(failing))
    hour = heartbeat["windows"].get("1h")
    if hour and hour["coverageRatio"] is not None and hour["coverageRatio"] < 0.95:
        warn.append(f"heartbeat coverage over 1 h is {hour['coveragePercent']}")
    if not facts.loaded:
        warn.append("figures are still loading from the store")
    warn.extend(facts.problems)
    checked = checked_things(facts)
    if facts.maintenance and not p1 and facts.store_up:
        return _maintenance_headline(facts.maintenance, bad + warn, checked)
    if bad:
        title = "P1 open" if p1 else "Down"
        return {"level": "bad", "title": title, "reasons": bad + warn, "checked": checked}
    if warn:
        return {"level": "warn", "title": "Needs attention", "reasons": warn, "checked": checked}
    if len(checked) == 1 or "target" in facts.not_configured:
        reasons = ["only longrun itself is checked: " + "; ".join(checked),
                   "no target configured (LONGRUN_TARGET_URL): the monitored service is not checked"]
        return {"level": "limited", "title": "Only longrun itself is checked", "reasons": reasons, "checked": checked}
    return {"level": "ok", "title": "All checks pass", "reasons": ["checked: " + "; ".join(checked)], "checked": checked}


def _maintenance_headline(window: Mapping[str, Any], seen: list[str], checked: list[str]) -> dict[str, Any]:
    """Planned work: what would read as down (heartbeats late, no lease holder during a deploy) is expected,
    so it is listed, not alarmed; an open P1 or an unreachable store still reads as bad."""
    planned = (f"planned work: {window['reason']}, started by {window.get('createdBy') or '?'}, "
               f"until {window['end']}; not counted against uptime, nobody is paged")
    return {"level": "maintenance", "title": "Maintenance", "reasons": [planned, *seen], "checked": checked}


def build_view(facts: StatusFacts) -> dict[str, Any]:
    """The whole view, JSON-ready (see the module docstring for the number fields)."""
    heartbeat = heartbeat_view(facts)
    probes = [probe_view(facts, t) for t in PROBE_TYPES]
    incidents = incidents_view(facts)
    lock = facts.lock or {}
    return {
        "generatedAt": iso(facts.now),
        "headline": headline(facts, heartbeat, probes, incidents),
        "instance": {"id": facts.instance_id, "version": facts.service_version, "commit": facts.commit,
                     "leads": facts.this_leads},
        "lease": {"holder": lock.get("holder"), "leaseUntil": _iso(lock.get("leaseUntil")), "generation": lock.get("generation"),
                  "secondsLeft": _since(facts.now, lock["leaseUntil"]) if isinstance(lock.get("leaseUntil"), datetime) else None},
        "store": {"kind": facts.store_kind, "up": facts.store_up},
        "configuration": {name: {"state": NOT_CONFIGURED, "why": why} for name, why in sorted(facts.not_configured.items())},
        "heartbeat": heartbeat,
        "probes": probes,
        "incidents": incidents,
        "history": history_view(facts),
        "maintenance": facts.maintenance,
        "problems": list(facts.problems),
        "precision": {"percentDecimals": PRECISION, "rounding": "floor"},
    }
