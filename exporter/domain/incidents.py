"""The incident state machine: severity, identity, status transitions.

An incident is one open-to-resolved episode of one problem (type, subject):

    open ──acknowledge──▶ acknowledged ──resolve──▶ resolved
      └────────────────────resolve─────────────────────┘

A resolved incident is final: the next detection of the same problem opens a
NEW incident (new id, new tsStart), so MTTR always measures one episode. While
one is open, detections update it in place (idempotent per ``open_key``) and
only a raised severity asks for a new notification.

    decision = probe_fail_decision(3, 2, probe_type="outbound")   # exporter.domain.monitor_checks
    existing = await store.get(...)              # the incident under open_key(type, subject)
    if decision.action == "open":
        doc, change = on_detected(existing, now, decision.details, incident_type=decision.type,
                                  subject=decision.subject, reason=decision.reason)
        # save doc, then notify when change.notify
    elif decision.action == "resolve" and is_active(existing):
        doc = resolve(existing, now)           # mttrSec = now - tsStart

Every function returns a new dict; its input is never modified.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from functools import lru_cache
from enum import StrEnum
from typing import Any, Mapping

from exporter.domain.slots import iso
from exporter.domain.stats import is_number
from exporter.domain.vocabulary import DEFAULT_SEVERITY, FALLBACK_SEVERITY, SEVERITIES

STATUSES = ("open", "acknowledged", "resolved")
ACTIVE_STATUSES = ("open", "acknowledged")
_TRANSITIONS = {
    "open": {"acknowledged", "resolved"},
    "acknowledged": {"acknowledged", "resolved"},  # re-acknowledging reassigns
    "resolved": set(),
}
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class IncidentTransitionError(Exception):
    """A status change the incident model forbids (e.g. acknowledging a resolved one)."""


class Change(StrEnum):
    OPENED = "opened"
    UPDATED = "updated"
    ESCALATED = "escalated"

    @property
    def notify(self) -> bool:
        return self is not Change.UPDATED


def severity_for(incident_type: str, overrides: Mapping[str, Any] | None = None) -> str:
    """The configured severity of a type: override, else default, else P3.

    Overrides with a value outside P1..P3 are ignored (config is validated elsewhere).
    """
    chosen = (overrides or {}).get(incident_type)
    if chosen in SEVERITIES:
        return chosen
    return DEFAULT_SEVERITY.get(incident_type, FALLBACK_SEVERITY)


def _slug(text: str, limit: int) -> str:
    return _UNSAFE.sub("-", text).strip("-.")[:limit]


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:8]


@lru_cache(maxsize=4096)  # a storm's bridge and service ask for each incident's id more than once
def incident_id(incident_type: str, subject: str, ts_start: datetime) -> str:
    """``{type}_{yyyyMMddTHHmmssSSSZ}_{subject}_{hash}``: deterministic, path-safe.

    Only ``[A-Za-z0-9_.-]``; the hash of the unslugged inputs keeps two subjects
    that slug alike apart.
    """
    stamp = iso(ts_start)
    parts = [_slug(incident_type, 40) or "incident", stamp.replace("-", "").replace(":", "").replace(".", "")]
    subject_slug = _slug(subject, 60)
    if subject_slug:
        parts.append(subject_slug)
    parts.append(_digest(incident_type, subject, stamp))
    return "_".join(parts)


@lru_cache(maxsize=4096)
def open_key(incident_type: str, subject: str) -> str:
    """Path-safe key naming "the open incident of (type, subject)"; one at a time."""
    return f"{_slug(incident_type, 40)}_{_slug(subject, 60)}_{_digest(incident_type, subject)}"


def new_incident(incident_type: str, subject: str, ts_start: datetime, *,
                 severity: str | None = None, severity_overrides: Mapping[str, Any] | None = None,
                 source: str = "monitor", reason: str = "", details: Mapping[str, Any] | None = None,
                 owner: str | None = None) -> dict[str, Any]:
    """A fresh open incident starting at ``ts_start``."""
    if ts_start.tzinfo is None:
        raise ValueError("ts_start must be timezone-aware")
    if severity is not None and severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {SEVERITIES}, not {severity!r}")
    return {
        "incidentId": incident_id(incident_type, subject, ts_start),
        "openKey": open_key(incident_type, subject),
        "type": incident_type, "subject": subject,
        "severity": severity or severity_for(incident_type, severity_overrides),
        "status": "open", "source": source, "owner": owner, "rootCause": None,
        "reason": reason, "details": dict(details or {}),
        "tsStart": ts_start, "tsStartIso": iso(ts_start), "tsEnd": None, "tsEndIso": None,
        "mttrSec": None, "acknowledgedAt": None,
        "lastDetectedAt": ts_start, "detections": 1, "updatedAt": ts_start,
    }


def is_active(doc: Mapping[str, Any] | None) -> bool:
    return isinstance(doc, Mapping) and doc.get("status") in ACTIVE_STATUSES


def on_detected(existing: Mapping[str, Any] | None, now: datetime, details: Mapping[str, Any],
                *, incident_type: str, subject: str, reason: str = "", severity: str | None = None,
                severity_overrides: Mapping[str, Any] | None = None,
                source: str = "monitor") -> tuple[dict[str, Any], Change]:
    """The problem (type, subject) is seen at ``now``: open, update or escalate.

    ``existing`` is the incident found under ``open_key(type, subject)``, if any.
    Anything not open or acknowledged (resolved, malformed, None) gives a new
    incident. An active one is updated in place; its severity is only ever
    raised, never lowered, and raising it is reported as ESCALATED.
    """
    if severity is not None and severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {SEVERITIES}, not {severity!r}")
    wanted = severity or severity_for(incident_type, severity_overrides)
    if not is_active(existing):
        doc = new_incident(incident_type, subject, now, severity=wanted, source=source,
                           reason=reason, details=details)
        return doc, Change.OPENED
    if existing.get("type") != incident_type or existing.get("subject") != subject:
        raise ValueError("on_detected given an incident of another (type, subject)")
    doc = dict(existing)
    doc.update(details=dict(details), lastDetectedAt=now, updatedAt=now,
               detections=(doc.get("detections") if is_number(doc.get("detections")) else 0) + 1)
    if reason:
        doc["reason"] = reason
    current = doc.get("severity")
    if current in SEVERITIES and SEVERITIES.index(wanted) >= SEVERITIES.index(current):
        return doc, Change.UPDATED
    doc["severity"] = wanted
    return doc, Change.ESCALATED


def check_transition(current: Any, target: str) -> None:
    """Raise IncidentTransitionError unless ``current -> target`` is allowed."""
    if target not in _TRANSITIONS.get(current, set()):
        raise IncidentTransitionError(f"cannot go from status {current!r} to {target!r}")


def acknowledge(doc: Mapping[str, Any], owner: str, now: datetime) -> dict[str, Any]:
    """Someone owns it now. Allowed on open and acknowledged (re-assignment)."""
    if not isinstance(owner, str) or not owner.strip():
        raise ValueError("owner must be a non-empty string")
    check_transition(doc.get("status"), "acknowledged")
    out = dict(doc, status="acknowledged", owner=owner.strip(), updatedAt=now)
    if out.get("acknowledgedAt") is None:
        out["acknowledgedAt"] = now
    return out


def assign(doc: Mapping[str, Any], owner: str | None, now: datetime) -> dict[str, Any]:
    """Set or clear the owner without a status change (also on resolved, for post-mortems)."""
    return dict(doc, owner=owner.strip() if isinstance(owner, str) and owner.strip() else None,
                updatedAt=now)


def set_root_cause(doc: Mapping[str, Any], root_cause: str | None, now: datetime) -> dict[str, Any]:
    """Record the root cause; allowed in any status (post-mortems come after resolution)."""
    return dict(doc, rootCause=root_cause, updatedAt=now)


def resolve(doc: Mapping[str, Any], ts_end: datetime, root_cause: str | None = None, *,
            now: datetime | None = None) -> dict[str, Any]:
    """Close an open or acknowledged incident at ``ts_end``; mttrSec = tsEnd - tsStart.

    ``now`` (default ``ts_end``) stamps updatedAt, for a manual resolution
    back-dated to when the problem really ended. Raises IncidentTransitionError
    when not active, ValueError when ``ts_end`` precedes tsStart. A malformed
    tsStart still resolves, with mttrSec None, so a bad document cannot stay open.
    """
    check_transition(doc.get("status"), "resolved")
    if ts_end.tzinfo is None:
        raise ValueError("ts_end must be timezone-aware")
    start = doc.get("tsStart")
    mttr = None
    if isinstance(start, datetime) and start.tzinfo is not None:
        if ts_end < start:
            raise ValueError(f"tsEnd {iso(ts_end)} before tsStart {iso(start)}")
        mttr = round((ts_end - start).total_seconds(), 3)
    out = dict(doc, status="resolved", tsEnd=ts_end, tsEndIso=iso(ts_end), mttrSec=mttr,
               updatedAt=now or ts_end)
    if root_cause is not None:
        out["rootCause"] = root_cause
    return out
