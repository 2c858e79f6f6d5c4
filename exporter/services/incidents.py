"""The incident service: one place where every source opens, updates and resolves incidents.

    service = IncidentService(store, paths, clock, config, notifier)
    doc, change = await service.detect("missed_heartbeat", "heartbeat", reason="5 of 60 missed", source="monitor")
    await service.clear("missed_heartbeat", "heartbeat", source="monitor")

Opening is idempotent per (type, subject) while an incident is open: a small
index document ``incident_keys/{openKey}`` points at the active incident, and
both are read and written in one transaction, so the monitor on the leader and
the Alertmanager webhook on any instance converge on the same document.

Every state change is saved first, with the change appended to the incident's
``changes``; delivery (the notifier) comes after and is recorded in
``notified``. A delivery that failed is retried on the next touch of the
incident, so a change is never lost and never announced twice.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from functools import partial
from datetime import datetime
from typing import Any, Awaitable, Callable, Mapping, Protocol, Sequence

from exporter.clock import Clock
from exporter.domain import incidents as rules
from exporter.domain.response import stamp_ack
from exporter.domain.vocabulary import notified_key
from exporter.services.config import ConfigSource
from exporter.services.listeners import Listener, tell
from exporter.store import AlreadyExists, DocumentStore, Filter, NotFound, Order, Paths, Transaction, Write
from exporter.store.base import MAX_BATCH

log = logging.getLogger("longrun.incidents")

NOTIFY_CHANGES = ("opened", "escalated", "acknowledged", "resolved")


class Notifier(Protocol):
    async def incident_changed(self, incident: Mapping[str, Any], change: str) -> None:
        """Deliver one state change. Must be safe to call again for the same (incidentId, change)."""


class LogNotifier:
    async def incident_changed(self, incident: Mapping[str, Any], change: str) -> None:
        log.warning(
            "🚨 Incident %s %s: %s %s (%s)%s",
            incident.get("incidentId"), change, incident.get("severity"), incident.get("type"),
            incident.get("reason") or "", f", MTTR {incident.get('mttrSec')}s" if change == "resolved" else "",
        )


class IncidentInputError(ValueError):
    """An operator's incident edit that can never be valid; ``field`` names the part to fix."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field, self.problem = field, problem


def check_times(now: datetime, ts_start: datetime | None = None, ts_end: datetime | None = None,
                status: str | None = None) -> None:
    """An operator's times: none in the future, tsEnd not before tsStart, tsEnd only when resolving."""
    for field, when in (("tsStart", ts_start), ("tsEnd", ts_end)):
        if when is not None and when > now:
            raise IncidentInputError(field, "in the future")
    if ts_start is not None and ts_end is not None and ts_end < ts_start:
        raise IncidentInputError("tsEnd", "before tsStart")
    if ts_start is None and ts_end is not None and status != "resolved":
        raise IncidentInputError("tsEnd", "only with status resolved")


@dataclass(frozen=True)
class Opening:
    """An incident to open where none is active and no index names one (see ``open_many``)."""

    incident_type: str
    subject: str
    at: datetime
    reason: str = ""
    details: Mapping[str, Any] | None = None
    source: str = "monitor"
    severity: str | None = None
    extra: Mapping[str, Any] | None = None  # fields stored on the incident with it
    also: tuple[Write, ...] = ()            # written in the same batch (the bridge's pointer)


@dataclass
class IncidentCounters:
    opened: dict[str, int]
    resolved: dict[str, int]


class IncidentService:
    def __init__(self, store: DocumentStore, paths: Paths, clock: Clock, config: ConfigSource, notifier: Notifier) -> None:
        self.store, self.paths, self.clock = store, paths, clock
        self.config, self.notifier = config, notifier
        self.counters = IncidentCounters({}, {})
        # Called with each incident this instance writes, at once (the metrics and the page take it in memory).
        self.listeners: list[Listener] = []

    def _index_path(self, key: str) -> str:
        return self.paths.incident_key(key)

    # ------------------------------------------------------------------ detection

    async def detect(
        self,
        incident_type: str,
        subject: str,
        *,
        reason: str = "",
        details: Mapping[str, Any] | None = None,
        source: str = "monitor",
        severity: str | None = None,
        at: datetime | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> tuple[dict[str, Any], str]:
        """The problem is present: open a new incident or update the open one."""
        now = at or self.clock.now()
        overrides = self.config.current.get("severities")
        key = rules.open_key(incident_type, subject)

        async def work(tx: Transaction) -> tuple[dict[str, Any], str]:
            existing = await self._active_via_index(tx, key)
            doc, change = rules.on_detected(
                existing, now, details or {}, incident_type=incident_type, subject=subject,
                reason=reason, severity=severity, severity_overrides=overrides, source=source,
            )
            if extra:
                doc.update(extra)
            if change != rules.Change.UPDATED:
                doc["changes"] = [*doc.get("changes", []), str(change)]
            if change == rules.Change.OPENED:
                doc["createdAt"] = self.clock.now()  # when stored (tsStart may be the alert's past startsAt)
            tx.set(self.paths.incident(doc["incidentId"]), doc)
            if existing is None:
                tx.set(self._index_path(key), {"incidentId": doc["incidentId"], "type": incident_type, "subject": subject})
            return doc, str(change)

        doc, change = await self.store.transaction(work)
        if change == "opened":
            self._count(self.counters.opened, source)
        await self._deliver(doc)
        return doc, change

    async def open_many(self, openings: Sequence[Opening]) -> tuple[list[dict[str, Any]], list[Opening]]:
        """Open many incidents in as few writes as the store allows: each batch creates the incidents,
        their index documents and the openings' ``also`` writes (MAX_BATCH writes a batch), then one
        batch per MAX_BATCH records the announcements. Returns (the incidents opened, the openings
        refused because an index or incident appeared meanwhile: call ``detect`` for those).

        Only for openings whose index document was read as missing: creating it, not setting it, is
        what stops two writers from opening the same (type, subject) twice."""
        overrides = self.config.current.get("severities")
        per_batch = max(1, MAX_BATCH // (2 + max((len(o.also) for o in openings), default=0)))
        chunks = [openings[start:start + per_batch] for start in range(0, len(openings), per_batch)]
        results = await _all_of([partial(self._open_chunk, chunk, overrides) for chunk in chunks])
        opened = [doc for docs in results if docs is not None for doc in docs]
        refused = [o for chunk, docs in zip(chunks, results) if docs is None for o in chunk]
        await self._deliver_many(opened)
        return opened, refused

    async def _open_chunk(self, chunk: Sequence[Opening], overrides: Any) -> list[dict[str, Any]] | None:
        """One batch of openings: the incidents opened, or None when the batch was refused."""
        now = self.clock.now()  # one instant for the batch: each distinct one is a timestamp text to make
        docs = [self._opened(opening, overrides, now) for opening in chunk]
        try:
            await self.store.batch([w for o, doc in zip(chunk, docs) for w in self._opening_writes(o, doc)])
        except AlreadyExists:
            return None
        for opening in chunk:
            self._count(self.counters.opened, opening.source)
        return docs

    def _opened(self, opening: Opening, overrides: Any, now: datetime) -> dict[str, Any]:
        doc, _ = rules.on_detected(
            None, opening.at, opening.details or {}, incident_type=opening.incident_type, subject=opening.subject,
            reason=opening.reason, severity=opening.severity, severity_overrides=overrides, source=opening.source,
        )
        doc.update(opening.extra or {})
        doc["changes"] = [str(rules.Change.OPENED)]
        doc["createdAt"] = now
        will_announce = getattr(self.notifier, "will_announce", None)
        if will_announce is not None and not will_announce(doc, "opened"):
            doc["notified"] = {notified_key(0, "opened"): now}  # nothing to send: saves a write
        return doc

    def _opening_writes(self, opening: Opening, doc: dict[str, Any]) -> list[Write]:
        index = {"incidentId": doc["incidentId"], "type": opening.incident_type, "subject": opening.subject}
        return [Write("create", self.paths.incident(doc["incidentId"]), doc),
                Write("create", self._index_path(doc["openKey"]), index), *opening.also]

    async def clear(
        self, incident_type: str, subject: str, *, source: str = "monitor", at: datetime | None = None,
        root_cause: str | None = None, extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """The problem is gone: resolve the active incident of (type, subject), if any."""
        key = rules.open_key(incident_type, subject)
        now = self.clock.now()

        async def work(tx: Transaction) -> dict[str, Any] | None:
            existing = await self._active_via_index(tx, key)
            if existing is None:
                return None
            doc = rules.resolve(existing, max(at or now, existing["tsStart"]), root_cause)
            doc.update(extra or {}, resolvedBy=source)
            doc["changes"] = [*doc.get("changes", []), "resolved"]
            tx.set(self.paths.incident(doc["incidentId"]), doc)
            tx.delete(self._index_path(key))
            return doc

        doc = await self.store.transaction(work)
        if doc is not None:
            self._count(self.counters.resolved, source)
            await self._deliver(doc)
        return doc

    async def covered(self, incident_type: str, subject: str, since: datetime, until: datetime) -> bool:
        """Whether a resolved incident of (type, subject) already spans part of [since, until]:
        one resolved at or after ``since`` that started by ``until``."""
        key = rules.open_key(incident_type, subject)
        where = [Filter("tsEnd", ">=", since)]
        async for doc in self.store.stream(self.paths.incidents, where=where, order_by=[Order("tsEnd")], page_size=100):
            start = doc.get("tsStart")
            if doc.get("openKey") == key and isinstance(start, datetime) and start <= until:
                return True
        return False

    async def active(self, incident_type: str, subject: str) -> dict[str, Any] | None:
        """The open or acknowledged incident of (type, subject), if any."""
        return await self.store.transaction(lambda tx: self._active_via_index(tx, rules.open_key(incident_type, subject)))

    async def _active_via_index(self, tx: Transaction, key: str) -> dict[str, Any] | None:
        pointer = await tx.get(self._index_path(key))
        if pointer is None or not isinstance(pointer.get("incidentId"), str):
            return None
        current = await tx.get(self.paths.incident(pointer.get("incidentId")))
        return current.data if current is not None and rules.is_active(current.data) else None

    # ------------------------------------------------------------------ the runbook's workflow

    async def open_manual(
        self, incident_type: str, *, reason: str, ts_start: datetime, ts_end: datetime | None = None,
        severity: str | None = None, owner: str | None = None, subject: str | None = None,
    ) -> dict[str, Any]:
        """An operator's incident, e.g. the runbook's manual gap record with tsStart/tsEnd/reason.

        Raises IncidentInputError for times ``check_times`` refuses, AlreadyExists for a duplicate.
        """
        check_times(self.clock.now(), ts_start, ts_end)
        subject = subject or f"manual-{ts_start:%Y%m%dT%H%M%S}"
        doc = rules.new_incident(
            incident_type, subject, ts_start, severity=severity, source="manual", reason=reason,
            owner=owner, severity_overrides=self.config.current.get("severities"),
        )
        doc["changes"] = ["opened"]
        doc["createdAt"] = self.clock.now()
        if ts_end is not None:
            doc = rules.resolve(doc, ts_end)
            doc["changes"].append("resolved")
        await self.store.create(self.paths.incident(doc["incidentId"]), doc)
        if ts_end is None:
            await self.store.set(self._index_path(doc["openKey"]), {"incidentId": doc["incidentId"], "type": incident_type, "subject": subject})
        self._count(self.counters.opened, "manual")
        await self._deliver(doc)
        return doc

    async def change(
        self, incident_id: str, *, status: str | None = None, owner: str | None = None,
        root_cause: str | None = None, ts_end: datetime | None = None,
    ) -> dict[str, Any]:
        """Acknowledge, assign, resolve or record a root cause.

        Raises NotFound, IncidentTransitionError, and IncidentInputError for a ``ts_end`` ``check_times`` refuses.
        """
        path = self.paths.incident(incident_id)
        now = self.clock.now()
        check_times(now, ts_end=ts_end, status=status)

        async def work(tx: Transaction) -> dict[str, Any]:
            current = await tx.get(path)
            if current is None:
                raise NotFound(f"no incident {incident_id}")
            doc = dict(current.data)
            if owner is not None:
                doc = rules.assign(doc, owner, now)
            if root_cause is not None:
                doc = rules.set_root_cause(doc, root_cause, now)
            if status == "acknowledged":
                doc = stamp_ack(rules.acknowledge(doc, owner or doc.get("owner") or "", now), now)
                doc["changes"] = [*doc.get("changes", []), "acknowledged"]
            elif status == "resolved":
                doc = stamp_ack(rules.resolve(doc, ts_end or now, root_cause), now)  # a person answered it
                doc["changes"] = [*doc.get("changes", []), "resolved"]
                tx.delete(self._index_path(doc.get("openKey") or rules.open_key(doc["type"], doc.get("subject", ""))))
            elif status not in (None, "open"):
                raise rules.IncidentTransitionError(f"unknown status {status!r}")
            tx.set(path, doc)
            return doc

        doc = await self.store.transaction(work)
        if status == "resolved":
            self._count(self.counters.resolved, "manual")
        await self._deliver(doc)
        return doc

    async def get(self, incident_id: str) -> dict[str, Any] | None:
        doc = await self.store.get(self.paths.incident(incident_id))
        return doc.data if doc else None

    async def list(self, *, status: Sequence[str] = (), incident_type: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        where = []
        if status:
            where.append(Filter("status", "in", list(status)) if len(status) > 1 else Filter("status", "==", status[0]))
        if incident_type:
            where.append(Filter("type", "==", incident_type))
        docs = await self.store.query(self.paths.incidents, where=where, order_by=[Order("tsStart", descending=True)], limit=limit)
        return [d.data for d in docs]

    # ------------------------------------------------------------------ delivery

    async def _deliver(self, doc: dict[str, Any]) -> None:
        """Announce every recorded change not yet announced, then record that it was."""
        tell(self.listeners, doc)  # every write reaches here first: shown at once, then delivered
        notified = dict(doc.get("notified") or {})
        pending = [(i, c) for i, c in enumerate(doc.get("changes", [])) if c in NOTIFY_CHANGES and notified_key(i, c) not in notified]
        for index, change in pending:
            await self.notifier.incident_changed(doc, change)
            notified[notified_key(index, change)] = self.clock.now()
        if pending:
            await self.store.update(self.paths.incident(doc["incidentId"]), {"notified": notified})
            doc["notified"] = notified

    async def _deliver_many(self, docs: Sequence[dict[str, Any]]) -> None:
        """``_deliver`` for many incidents, the announcements recorded in batches."""
        updates = []
        for doc in docs:
            tell(self.listeners, doc)  # shown at once, then delivered
            notified = dict(doc.get("notified") or {})
            pending = [(i, c) for i, c in enumerate(doc.get("changes", []))
                       if c in NOTIFY_CHANGES and notified_key(i, c) not in notified]
            for index, change in pending:
                await self.notifier.incident_changed(doc, change)
                notified[notified_key(index, change)] = self.clock.now()
            if pending:
                updates.append(Write("update", self.paths.incident(doc["incidentId"]), {"notified": notified}))
                doc["notified"] = notified
        await _all_of([partial(self.store.batch, updates[start:start + MAX_BATCH])
                       for start in range(0, len(updates), MAX_BATCH)])

    async def redeliver(self, incident_id: str) -> None:
        """Deliver what an earlier failure left undelivered (the webhook's retry path)."""
        doc = await self.get(incident_id)
        if doc is not None:
            await self._deliver(doc)

    @staticmethod
    def _count(counter: dict[str, int], source: str) -> None:
        counter[source] = counter.get(source, 0) + 1


BATCHES_AT_ONCE = 4  # more only slows each one down, past the store's call timeout on a busy backend


async def _all_of(calls: Sequence[Callable[[], Awaitable[Any]]]) -> list:
    """Run the store calls a few at a time (Firestore commits batches in parallel); wait for every
    one of them, then raise the first failure: nothing is left running behind a failure. Each call
    is made when its turn comes, so a cancelled wait leaves no coroutine unawaited."""
    gate = asyncio.Semaphore(BATCHES_AT_ONCE)

    async def one(call: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await call()

    results = await asyncio.gather(*(one(call) for call in calls), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results
