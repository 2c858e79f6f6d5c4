"""The words longrun stores, exports and prints: defined once, imported everywhere.

    from exporter.domain.vocabulary import INCIDENT_TYPES, PROBE_TYPES, SCHEDULE_KEY, SEVERITIES
    hours = config["probeSchedules"][SCHEDULE_KEY["outbound"]]     # "outboundHours"
    INCIDENT_TYPES["logged_out"].subject, INCIDENT_TYPES["logged_out"].severity   # "accounts", "P1"

A probe type, a result, a severity or an incident type spelled anywhere else
is a copy waiting for the day the two disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# ---------------------------------------------------------------- probes

PROBE_TYPES = ("outbound", "queue", "inbound")
PROBE_RESULTS = ("PASS", "FAIL", "SKIP")
# The config document's probeSchedules key holding each type's slot length in hours.
SCHEDULE_KEY = {"outbound": "outboundHours", "queue": "queueHours", "inbound": "inboundHours"}
# The prefix of a scheduled probe's key: OUT_2026031006.
PROBE_PREFIX = {"outbound": "OUT", "inbound": "IN", "queue": "QUEUE"}

# ---------------------------------------------------------------- incidents

SEVERITIES = ("P1", "P2", "P3")  # P1 is the most severe
FALLBACK_SEVERITY = "P3"  # a type without a default of its own


@dataclass(frozen=True)
class IncidentType:
    """One kind of problem: its name, the subject it is opened on, and its default severity.

    ``subject`` may name alert labels in braces (``"{instance}"``), filled from
    the alert that opens it; empty: one per distinct label set
    (``alerting.mapping.fallback_subject``). ``severity`` None: the fallback.
    The config's ``severities`` map overrides the default either way.
    """

    name: str
    subject: str
    severity: str | None = None


INCIDENT_TYPES: dict[str, IncidentType] = {kind.name: kind for kind in (
    IncidentType("missed_heartbeat", "heartbeat", "P2"),
    IncidentType("probe_fail", "{type}", "P3"),  # the probe type
    IncidentType("logged_out", "accounts", "P1"),
    IncidentType("reconnect_loop", "target", "P2"),
    IncidentType("rollup_failed", "rollup", "P3"),
    IncidentType("queue_depth", "queue", "P3"),
    IncidentType("store_down", "{instance}"),
    IncidentType("no_leader", "lock"),
    IncidentType("alert", ""),  # any other Prometheus alert (subject from its labels), the Watchdog's silence
)}
# Incidents about the monitoring stack itself (a silent Watchdog, an unmapped
# alert, no leader, the store down, a failed rollup): real and announced, but not
# the monitored service's downtime, so they stay out of its MTTR and verdicts.
MONITORING_TYPES = frozenset({"alert", "no_leader", "store_down", "rollup_failed"})
# The severity each type gets unless the config says otherwise (types without one: the fallback).
DEFAULT_SEVERITY = {kind.name: kind.severity for kind in INCIDENT_TYPES.values() if kind.severity is not None}


# ---------------------------------------------------------------- delivery bookkeeping

def notified_key(index: int, change: str) -> str:
    """The key under an incident's ``notified`` map recording that change ``index`` (``opened``...) was sent."""
    return f"{index}:{change}"


def notified_map(changes: list[str], at: datetime) -> dict[str, datetime]:
    """A ``notified`` map saying every change in ``changes`` was sent at ``at``."""
    return {notified_key(i, change): at for i, change in enumerate(changes)}
