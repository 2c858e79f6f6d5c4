"""Response times: how long an incident waited for a person, and when to remind them. Pure.

The runbook gives every severity a response time (config ``responseTimeSec``,
P1 300 s, P2 900 s, P3 3600 s). The clock starts when longrun knew of the
incident (``createdAt``, else ``tsStart``): an alert's ``startsAt`` may lie
minutes in the past, and nobody can answer before being told.

- ``stamp_ack`` records ``tsAck`` and ``ackSec`` on the first acknowledgement
  (a later re-acknowledgement reassigns, it does not restart the clock). A
  person resolving an incident nobody acknowledged also answers it; an
  automatic resolution (the monitor, Alertmanager) does not.
- ``reminder_due`` says which reminder (1..5) is owed at ``now`` to an
  incident still open and unacknowledged: the n-th falls due at
  ``known + n × responseTime``. After a long pause only the latest owed one is
  sent, never a burst.
- ``mtta_percentiles`` summarises ``ackSec`` of the incidents acknowledged in
  a window, beside MTTR.

    >>> doc = stamp_ack({"createdAt": t0, "tsAck": None}, t0 + timedelta(seconds=42))
    >>> doc["ackSec"]
    42.0
    >>> reminder_due(open_p1, {"P1": 300}, now=t0 + timedelta(seconds=301))
    1
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterable, Mapping

from exporter.domain.stats import Percentiles, is_number, mttr_percentiles

DEFAULT_RESPONSE_SEC = {"P1": 300, "P2": 900, "P3": 3600}
MAX_REMINDERS = 5


def _aware(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) and value.tzinfo is not None else None


def known_since(incident: Mapping[str, Any]) -> datetime | None:
    """When longrun knew of the incident: ``createdAt``, else ``tsStart``."""
    return _aware(incident.get("createdAt")) or _aware(incident.get("tsStart"))


def stamp_ack(incident: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """``incident`` with ``tsAck`` and ``ackSec`` set, unless an acknowledgement is already recorded."""
    out = dict(incident)
    if _aware(out.get("tsAck")) is not None:
        return out
    since = known_since(out)
    out["tsAck"] = now
    out["ackSec"] = round(max(0.0, (now - since).total_seconds()), 3) if since is not None else None
    return out


def response_time(incident: Mapping[str, Any], response_sec: Mapping[str, Any] | None) -> float:
    """The configured response time of the incident's severity (the runbook's when unset or invalid)."""
    severity = incident.get("severity") if incident.get("severity") in DEFAULT_RESPONSE_SEC else "P3"
    configured = (response_sec or {}).get(severity)
    return float(configured) if is_number(configured) and configured > 0 else float(DEFAULT_RESPONSE_SEC[severity])


def reminder_due(incident: Mapping[str, Any], response_sec: Mapping[str, Any] | None, now: datetime) -> int | None:
    """The number (1..MAX_REMINDERS) of the reminder owed at ``now``, or None when none is."""
    if incident.get("status") != "open" or _aware(incident.get("tsAck")) is not None:
        return None
    since = known_since(incident)
    if since is None:
        return None
    waited = (now - since).total_seconds()
    owed = min(MAX_REMINDERS, int(waited // response_time(incident, response_sec)))
    sent = incident.get("reminders") if is_number(incident.get("reminders")) else 0
    return owed if owed > sent else None


def next_reminder_at(incident: Mapping[str, Any], response_sec: Mapping[str, Any] | None) -> datetime | None:
    """When the next reminder falls due, or None when no more will."""
    if incident.get("status") != "open" or _aware(incident.get("tsAck")) is not None:
        return None
    since = known_since(incident)
    sent = int(incident.get("reminders")) if is_number(incident.get("reminders")) else 0
    if since is None or sent >= MAX_REMINDERS:
        return None
    return since + timedelta(seconds=(sent + 1) * response_time(incident, response_sec))


def ack_seconds_in(docs: Iterable[Any], start: datetime, end: datetime) -> list[float]:
    """``ackSec`` of the incidents acknowledged in [start, end)."""
    values = []
    for doc in docs:
        if not isinstance(doc, Mapping):
            continue
        ts_ack, ack = _aware(doc.get("tsAck")), doc.get("ackSec")
        if ts_ack is not None and start <= ts_ack < end and is_number(ack) and ack >= 0:
            values.append(float(ack))
    return values


def mtta_percentiles(docs: Iterable[Any], start: datetime, end: datetime) -> Percentiles:
    """P50/P90/P95 of the acknowledgement times in [start, end); all None when nobody acknowledged."""
    return mttr_percentiles(ack_seconds_in(docs, start, end))


def mtta_doc(docs: Iterable[Any], start: datetime, end: datetime) -> dict[str, float | None]:
    """``{p50, p90, p95}`` as rollups and reports store it."""
    return mtta_percentiles(docs, start, end)._asdict()
