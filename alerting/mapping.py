"""Which incident an Alertmanager alert is about: its (type, subject) and severity. Pure.

The hourly monitor (``exporter.jobs.monitor``) and this bridge must name a
problem alike, so that an incident the monitor opened and an alert about the
same thing are one incident: the monitor uses ``missed_heartbeat``/``heartbeat``,
``probe_fail``/<probe type>, ``logged_out``/``accounts``,
``reconnect_loop``/``target`` and ``rollup_failed``/``rollup``.

What decides, first match wins:

1. labels on the alert: ``incident_type`` (one of the types this mapping knows: the
   vocabulary's and its rules'; any other is type ``alert``, the label kept in the
   incident's ``details.requestedType``), ``incident_subject``, and the priority:
   ``priority`` (P1..P3) first, then ``severity`` (P1..P3, or a word: critical is
   P1, warning P2, info P3; see ``SEVERITY_WORDS``);
2. the rule for the alert name (``DEFAULT_RULES``, extended in the constructor);
3. the usual subject of the type (``TYPE_SUBJECTS``);
4. anything else is type ``alert`` with subject ``{alertname}-{digest of all labels}``.

A subject is a template: ``"heartbeat"`` is fixed, ``"{type}"`` takes the
alert's ``type`` label; a template whose label is missing does not match.

    mapping = AlertMapping({"MyQueueStuck": ("queue_depth", "{queue}")})
    mapping.target({"alertname": "LongrunProbeConsecutiveFailures", "type": "outbound", "severity": "P3"})
    # IncidentTarget(type='probe_fail', subject='outbound', severity='P3')
    mapping.is_watchdog({"alertname": "Watchdog"})   # True: a heartbeat of the pipeline, not an incident
"""

from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass
from typing import Iterable, Mapping, Union

from exporter.domain.vocabulary import INCIDENT_TYPES, SEVERITIES

# The shipped rules' severity label for each priority (docs/alerts.md): what routing trees key on.
PRIORITY_SEVERITY = {"P1": "critical", "P2": "warning", "P3": "info"}
# Severity words other stacks use, read as longrun's response times.
SEVERITY_WORDS = {
    "critical": "P1", "page": "P1", "high": "P1",
    "error": "P2", "warning": "P2", "medium": "P2",
    "info": "P3", "low": "P3", "ticket": "P3",
}
FALLBACK_TYPE = "alert"
_MAX_TYPE_CHARS = 64
_MAX_SUBJECT_CHARS = 200
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class IncidentTarget:
    type: str
    subject: str
    severity: str | None  # P1..P3, or None for the type's configured severity


@dataclass(frozen=True)
class Rule:
    """An incident type and a subject template for one alert name."""

    type: str
    subject: str
    severity: str | None = None

    def subject_for(self, labels: Mapping[str, str]) -> str | None:
        """The template filled from ``labels``; None when a label it names is missing or empty."""
        names = [field for _, field, _, _ in string.Formatter().parse(self.subject) if field is not None]
        values = {name: labels.get(name, "") for name in names}
        if any(not value for value in values.values()):
            return None
        return self.subject.format_map(values)


RuleLike = Union[Rule, tuple]

# The monitor's subjects, and sensible ones for the other types the shipped rules use.
TYPE_SUBJECTS: dict[str, Rule] = {
    name: Rule(name, kind.subject) for name, kind in INCIDENT_TYPES.items() if name != FALLBACK_TYPE
}

# The alerts shipped in prometheus/rules/longrun-alerts.yml, for when their labels are lost.
DEFAULT_RULES: dict[str, Rule] = {
    "LongrunHeartbeatGap": TYPE_SUBJECTS["missed_heartbeat"],
    "LongrunMissedHeartbeats": TYPE_SUBJECTS["missed_heartbeat"],
    "LongrunCoverageLow": TYPE_SUBJECTS["missed_heartbeat"],
    "LongrunHeartbeatErrorBudgetBurn": TYPE_SUBJECTS["missed_heartbeat"],
    "LongrunProbeConsecutiveFailures": TYPE_SUBJECTS["probe_fail"],
    "LongrunProbePassRatioLow": TYPE_SUBJECTS["probe_fail"],
    "LongrunAccountsLoggedOut": TYPE_SUBJECTS["logged_out"],
    "LongrunReconnectLoop": TYPE_SUBJECTS["reconnect_loop"],
    "LongrunRollupMissing": TYPE_SUBJECTS["rollup_failed"],
    "LongrunRollupFailed": TYPE_SUBJECTS["rollup_failed"],
    "LongrunQueueDepthHigh": TYPE_SUBJECTS["queue_depth"],
    "LongrunNoLeader": TYPE_SUBJECTS["no_leader"],
    "LongrunMultipleLeaders": TYPE_SUBJECTS["no_leader"],
    "LongrunStoreDown": TYPE_SUBJECTS["store_down"],
}


class AlertMapping:
    """Alert labels → IncidentTarget. ``rules`` (alert name → Rule or ``(type, subject[, severity])``)
    extend or override the shipped ones; ``replace=True`` uses only them."""

    def __init__(self, rules: Mapping[str, RuleLike] | None = None, *, replace: bool = False,
                 type_subjects: Mapping[str, RuleLike] | None = None,
                 watchdog: Iterable[str] = ("Watchdog",)) -> None:
        self.rules: dict[str, Rule] = {} if replace else dict(DEFAULT_RULES)
        self.rules.update({name: _rule(value) for name, value in (rules or {}).items()})
        self.type_subjects: dict[str, Rule] = dict(TYPE_SUBJECTS)
        self.type_subjects.update({name: _rule(value) for name, value in (type_subjects or {}).items()})
        self.watchdog = frozenset(watchdog)
        self.known_types = frozenset(INCIDENT_TYPES) | {r.type for r in (*self.rules.values(), *self.type_subjects.values())}

    def is_watchdog(self, labels: Mapping[str, str]) -> bool:
        return labels.get("alertname", "") in self.watchdog

    @staticmethod
    def told_by_alertmanager(labels: Mapping[str, str]) -> bool:
        """``delivery="direct"``: Alertmanager sends this alert to Telegram itself (receiver
        telegram-direct), because longrun may be what cannot deliver it; longrun records it, silently."""
        return labels.get("delivery", "") == "direct"

    def target(self, labels: Mapping[str, str]) -> IncidentTarget:
        name = labels.get("alertname", "")
        rule = self.rules.get(name)
        incident_type = self.requested_type(labels)[0] or (rule.type if rule else FALLBACK_TYPE)
        subject = _clip(labels.get("incident_subject", "").strip(), _MAX_SUBJECT_CHARS) or self._subject(
            incident_type, rule, labels)
        severity = (severity_of(labels.get("priority")) or severity_of(labels.get("severity"))
                    or (rule.severity if rule else None))
        return IncidentTarget(incident_type, subject, severity)

    def requested_type(self, labels: Mapping[str, str]) -> tuple[str | None, str | None]:
        """(the ``incident_type`` label when it names a known type, else ``alert`` or None without a label;
        the label as sent when it was refused). An unknown type would become a new metric series and an
        incident ``?type=`` cannot filter: 1,000 distinct labels, 2,000 series."""
        asked = labels.get("incident_type", "").strip()
        if not asked:
            return None, None
        if asked in self.known_types:
            return asked, None
        return FALLBACK_TYPE, _clip(asked, _MAX_TYPE_CHARS)

    def details_for(self, labels: Mapping[str, str]) -> dict[str, str]:
        """What a new incident keeps of the alert that opened it: its name, and a refused type label."""
        details = {"alertname": labels.get("alertname", "")}
        refused = self.requested_type(labels)[1]
        if refused is not None:
            details["requestedType"] = refused
        return details

    def _subject(self, incident_type: str, rule: Rule | None, labels: Mapping[str, str]) -> str:
        candidates = [r for r in (rule, self.type_subjects.get(incident_type)) if r is not None and r.type == incident_type]
        for candidate in candidates:
            if subject := candidate.subject_for(labels):
                return _clip(subject, _MAX_SUBJECT_CHARS)
        return fallback_subject(labels)


def severity_of(value: str | None) -> str | None:
    """``P1``..``P3`` (any case), or a common severity word; None for anything else (``none`` included)."""
    if not value:
        return None
    text = value.strip()
    if text.upper() in SEVERITIES:
        return text.upper()
    return SEVERITY_WORDS.get(text.lower())


def fallback_subject(labels: Mapping[str, str]) -> str:
    """``{alertname}-{10 hex}``: one subject per distinct label set, readable, path-safe."""
    canonical = "\x1f".join(f"{name}\x1e{value}" for name, value in sorted(labels.items()))
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:10]
    name = _UNSAFE.sub("-", labels.get("alertname", "")).strip("-.")[:80] or "alert"
    return f"{name}-{digest}"


def _rule(value: RuleLike) -> Rule:
    if isinstance(value, Rule):
        return value
    if isinstance(value, tuple) and 2 <= len(value) <= 3 and all(isinstance(v, str) for v in value[:2]):
        severity = severity_of(value[2]) if len(value) == 3 else None
        return Rule(value[0], value[1], severity)
    raise ValueError(f"a mapping rule is Rule(type, subject) or (type, subject[, severity]), not {value!r}")


def _clip(text: str, limit: int) -> str:
    return text[:limit]
