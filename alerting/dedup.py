"""Alert episodes on incidents: what a delivered alert changes, and when an incident closes. Pure.

An alert episode is (fingerprint, startsAt): Alertmanager's retries, its
repeat_interval re-sends and the second Alertmanager of an HA pair all deliver
the same episode again. The bridge records every episode it has seen in the
incident's ``alerts`` map, under ``entry_id(alert)``, so a delivery is judged
against two incidents of the alert's (type, subject):

- ``active``: the open or acknowledged one (whoever opened it);
- ``previous``: the newest incident the bridge recorded alerts on, usually
  resolved by now; it holds the episodes that already ended.

    verdict = judge(alert, active, previous)
    if verdict is Verdict.NEW_FIRING: ...   # open the incident or join the active one
    end = closing_time(incident_after_the_write)   # every recorded episode resolved: close at this time

An episode the previous incident already holds is never opened again: a firing
delivered after its own resolution (out of order) or a late duplicate changes nothing.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import Enum
from functools import lru_cache
from collections.abc import Iterable, Mapping
from typing import Any

from alerting.alertmanager.payload import Alert

from exporter.domain.vocabulary import notified_key

FIRING, RESOLVED = "firing", "resolved"
NOTIFY_CHANGES = ("opened", "escalated", "acknowledged", "resolved")


class Verdict(str, Enum):
    NEW_FIRING = "new_firing"      # not seen before, firing: record it, open or join the incident
    NEW_RESOLVED = "new_resolved"  # not seen before, already resolved (its firing never came, or comes late)
    RESOLVES = "resolves"          # the active incident holds it firing: it has ended now
    DUPLICATE = "duplicate"        # already recorded in this state: nothing to write
    STALE = "stale"                # the previous incident closed this episode: ignore

    @property
    def writes(self) -> bool:
        return self in (Verdict.NEW_FIRING, Verdict.NEW_RESOLVED, Verdict.RESOLVES)


def entry_id(alert: Alert) -> str:
    """The key of the episode in the incident's ``alerts`` map: a plain field name on both stores."""
    return _entry_id(alert.dedup_key)


@lru_cache(maxsize=4096)  # the bridge asks for each alert's key several times
def _entry_id(dedup_key: str) -> str:
    return "a" + hashlib.sha256(dedup_key.encode()).hexdigest()[:24]


def entry(alert: Alert, received_at: datetime) -> dict[str, Any]:
    """What the incident keeps of one episode: small, so a 500-alert group stays far below 1 MiB."""
    return {
        "fingerprint": alert.fingerprint[:128],
        "alertname": alert.name[:200],
        "status": alert.status,
        "startsAt": alert.starts_at,
        "endsAt": (alert.ends_at or received_at) if alert.status == RESOLVED else None,
        "receivedAt": received_at,
    }


def episodes(incident: Mapping[str, Any] | None) -> Mapping[str, Any]:
    alerts = incident.get("alerts") if incident else None
    return alerts if isinstance(alerts, Mapping) else {}


def holds_all(incident: Mapping[str, Any] | None, alerts: Iterable[Alert]) -> bool:
    """True when ``incident`` already records every one of these episodes."""
    recorded = episodes(incident)
    return bool(recorded) and all(entry_id(alert) in recorded for alert in alerts)


def judge(alert: Alert, active: Mapping[str, Any] | None, previous: Mapping[str, Any] | None) -> Verdict:
    key = entry_id(alert)
    seen = episodes(active).get(key)
    if isinstance(seen, Mapping):
        if seen.get("status") == FIRING and alert.status == RESOLVED:
            return Verdict.RESOLVES
        return Verdict.DUPLICATE  # same state again, or a firing that arrives after its resolution
    if isinstance(episodes(previous).get(key), Mapping):
        return Verdict.STALE
    return Verdict.NEW_FIRING if alert.status == FIRING else Verdict.NEW_RESOLVED


def ended_already(alert: Alert, active: Mapping[str, Any] | None, previous: Mapping[str, Any] | None) -> bool:
    """A firing whose episode is recorded as resolved: delivered late (an HA peer, a request that
    finished after Alertmanager gave up on it), so not news: showing it would say FIRING after RESOLVED."""
    if alert.status != FIRING:
        return False
    key = entry_id(alert)
    seen = episodes(active).get(key) or episodes(previous).get(key)
    return isinstance(seen, Mapping) and seen.get("status") == RESOLVED


def closing_time(incident: Mapping[str, Any]) -> datetime | None:
    """When an active incident the bridge recorded episodes on should close: when none is firing,
    at the latest end among them; None while one fires, or when they all ended before it began
    (old news about an earlier episode: the incident stays for whoever opened it)."""
    recorded = [e for e in episodes(incident).values() if isinstance(e, Mapping)]
    if not recorded or any(e.get("status") != RESOLVED for e in recorded):
        return None
    ends = [e["endsAt"] for e in recorded if isinstance(e.get("endsAt"), datetime)]
    if not ends:
        return None
    end = max(ends)
    start = incident.get("tsStart")
    if isinstance(start, datetime) and end < start:
        return None
    return end


ENDED_KEPT = 500  # ended episodes the pointer remembers, newest first


def with_ended(previous: Mapping[str, Any] | None, ended: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """``previous`` as ``judge`` reads it, plus the episodes older incidents of the same
    (type, subject) closed: a late duplicate of ANY ended episode is stale, not only of
    the newest incident's (else it would hold the next incident open for ever)."""
    if not isinstance(ended, Mapping) or not ended:
        return previous
    merged = {key: {"status": RESOLVED, "endsAt": value} for key, value in ended.items()}
    merged.update(episodes(previous))
    return {**(previous or {}), "alerts": merged}


def carried_ended(old: Mapping[str, Any] | None, ended: Mapping[str, Any] | None) -> dict[str, Any]:
    """What the pointer keeps when it moves on from ``old``: its resolved episodes and the
    ones remembered before, newest ``ENDED_KEPT`` by end time."""
    kept = dict(ended) if isinstance(ended, Mapping) else {}
    for key, seen in episodes(old).items():
        if isinstance(seen, Mapping) and seen.get("status") == RESOLVED:
            kept[key] = seen.get("endsAt")
    order = sorted(kept, key=lambda k: kept[k].timestamp() if isinstance(kept[k], datetime) else 0, reverse=True)
    return {key: kept[key] for key in order[:ENDED_KEPT]}


def undelivered(incident: Mapping[str, Any] | None) -> bool:
    """True when a recorded change was never announced (a delivery failed after the state was saved)."""
    if not incident:
        return False
    notified = incident.get("notified") or {}
    return any(change in NOTIFY_CHANGES and notified_key(i, change) not in notified
               for i, change in enumerate(incident.get("changes") or []))
