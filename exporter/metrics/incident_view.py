"""What the metrics know about incidents: the open ones, the last 24 hours, and new ones.

    view = IncidentView()
    view.set_open(open_docs, now)           # every open or acknowledged incident
    view.set_recent(recent_docs, now)       # every incident with tsStart in the last 24 h
    view.open_counts()                      # Counter {(type, severity): n}
    view.started_within(now)                # incidents that started in the last 24 h
    view.opened                             # Counter {(type, severity): n}, see below

``opened`` counts each incident once, the first time this instance sees it,
from the moment both lists have been loaded once: what existed before that is
the baseline, not news. Every instance counts every incident, so dashboards
aggregate it with ``max``, as they do the other store-derived figures.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any, Iterable, Mapping

from exporter.domain.incidents import ACTIVE_STATUSES

DAY = timedelta(hours=24)
_REMEMBER = DAY + timedelta(hours=1)  # ids seen are kept a little past the 24 h window


def labels(doc: Mapping[str, Any]) -> tuple[str, str]:
    """(type, severity) of an incident document; unreadable values show as "unknown"."""
    kind, severity = doc.get("type"), doc.get("severity")
    return (kind if isinstance(kind, str) else "unknown", severity if isinstance(severity, str) else "unknown")


def _start(doc: Mapping[str, Any]) -> datetime | None:
    ts = doc.get("tsStart")
    return ts if isinstance(ts, datetime) and ts.tzinfo is not None else None


def _usable(docs: Iterable[Any]) -> list[Mapping[str, Any]]:
    return [d for d in docs if isinstance(d, Mapping) and isinstance(d.get("incidentId"), str)]


class IncidentView:
    """Open incidents by (type, severity), starts in the last 24 h, and first sightings."""

    def __init__(self) -> None:
        self.opened: Counter[tuple[str, str]] = Counter()
        self._open: dict[str, Mapping[str, Any]] = {}  # incidentId -> the fields the metrics and the page keep
        self._recent_docs: dict[str, Mapping[str, Any]] = {}
        self._recent: dict[str, datetime] = {}  # incidentId -> tsStart, last 24 h
        self._seen: dict[str, datetime | None] = {}  # incidentId -> tsStart
        self._loaded: set[str] = set()

    def set_open(self, docs: Iterable[Any], now: datetime) -> None:
        """Replace the open incidents with ``docs`` (status open or acknowledged)."""
        docs = _usable(docs)
        self._open = {d["incidentId"]: d for d in docs}
        for doc in docs:
            start = _start(doc)
            if start is not None and start >= now - DAY:
                self._recent[doc["incidentId"]] = start
        self._observe(docs, "open", now)

    def set_recent(self, docs: Iterable[Any], now: datetime) -> None:
        """Replace the incidents of the last 24 h with ``docs`` (tsStart >= now - 24 h)."""
        docs = _usable(docs)
        self._recent = {d["incidentId"]: s for d in docs if (s := _start(d)) is not None}
        self._recent_docs = {d["incidentId"]: d for d in docs}
        self._observe(docs, "recent", now)

    def take(self, doc: Mapping[str, Any], now: datetime) -> None:
        """An incident this instance just wrote (opened, changed, resolved): shown at once, no read."""
        if not isinstance(doc.get("incidentId"), str):
            return
        incident_id = doc["incidentId"]
        if doc.get("status") in ACTIVE_STATUSES:
            self._open[incident_id] = doc
        else:
            self._open.pop(incident_id, None)
        start = _start(doc)
        if start is not None and start >= now - DAY:
            self._recent[incident_id] = start
            self._recent_docs[incident_id] = doc
        if incident_id not in self._seen:
            self._seen[incident_id] = start
            if len(self._loaded) == 2:
                self.opened[labels(doc)] += 1

    def open_counts(self) -> Counter[tuple[str, str]]:
        return Counter(labels(d) for d in self._open.values())

    def open_docs(self) -> list[Mapping[str, Any]]:
        """Every open or acknowledged incident known (the fields kept by the feeds)."""
        return list(self._open.values())

    def recent_docs(self) -> list[Mapping[str, Any]]:
        """The incidents that started in the last 24 h (resolved ones carry tsEnd and mttrSec)."""
        return list(self._recent_docs.values())

    def started_within(self, now: datetime, period: timedelta = DAY) -> int:
        return sum(1 for start in self._recent.values() if now - period <= start <= now)

    def _observe(self, docs: list[Mapping[str, Any]], kind: str, now: datetime) -> None:
        counting = len(self._loaded) == 2
        for doc in docs:
            if doc["incidentId"] in self._seen:
                continue
            self._seen[doc["incidentId"]] = _start(doc)
            if counting:
                self.opened[labels(doc)] += 1
        self._loaded.add(kind)
        self._forget_old(now)

    def _forget_old(self, now: datetime) -> None:
        """Drop ids that can no longer come back: not open and started over 25 h ago."""
        cutoff = now - _REMEMBER
        stale = [i for i, start in self._seen.items() if i not in self._open and (start is None or start < cutoff)]
        for incident_id in stale:
            del self._seen[incident_id]
