"""The alert bridge: an Alertmanager notification becomes incidents and one Telegram message, both stored.

For each alert, by its own status (the group's status can say firing while
some of its alerts resolved):

- ``AlertMapping`` names the incident it is about: (type, subject, severity);
  the subject is the one the hourly monitor uses, so both land on one incident;
- ``dedup.judge`` compares the episode (fingerprint, startsAt) with what the
  incidents already hold: retries, repeats and HA duplicates write nothing;
  a firing delivered after its own resolution reopens nothing;
- a new firing opens the incident (tsStart = startsAt) or joins the open one;
  when every episode recorded on an incident has resolved it closes at the
  latest endsAt (tsEnd, mttrSec), through ``IncidentService`` like every source.

Then the group message (``render_group_parts``) is saved in the outbox under
``notification_key``. Left out of it: alerts labelled ``delivery="direct"``,
because Alertmanager sends those to Telegram itself (they say longrun may be
unable to: every instance down, the store down); and firings of an episode
already recorded as resolved (a late HA peer, or a request Alertmanager gave
up on that finished after the store came back), which would otherwise show
FIRING after RESOLVED. ``receive`` returns only once all of that is stored, and
raises ``StoreError`` otherwise: every step is idempotent, so Alertmanager's
retry completes what a failure interrupted and duplicates nothing.

The Watchdog alert is not an incident: its arrival time is kept in
``watchdog_last_seen`` (a dead man's switch for the metrics layer).

    bridge = AlertBridge(incidents, delivery, clock)          # delivery: TelegramDelivery
    receipt = await bridge.receive(parse_payload(body))
    bridge.alerts_received == {"firing": 3, "resolved": 1}

Per (type, subject), ``{root}/alert_subjects/{openKey}`` names the newest
incident the bridge recorded alerts on. It is read first: when that incident
already holds every episode delivered (a retry, a repeat, an HA duplicate, a
late firing) two plain reads decide, without a transaction; otherwise the
active incident is looked up too (the monitor may have opened it), and the
pointed one is where ``judge`` finds the episodes that already ended.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import Any, Awaitable, Callable, Iterable, Mapping, Sequence

from alerting.alertmanager.payload import Alert, WebhookPayload, notification_key
from alerting.dedup import (
    Verdict, carried_ended, closing_time, ended_already, entry, entry_id, holds_all, judge, undelivered, with_ended)
from alerting.delivery import TelegramDelivery
from alerting.mapping import SEVERITIES, AlertMapping, IncidentTarget, RuleLike
from alerting.telegram.group import render_group_parts
from exporter.clock import Clock
from exporter.domain.incidents import incident_id as incident_id_for
from exporter.domain.incidents import is_active, open_key
from exporter.services.incidents import IncidentCounters, IncidentService, Opening
from exporter.store.base import Write

log = logging.getLogger("longrun.alerts")

SOURCE = "alertmanager"
# What an incident keeps of the alert that opened (or first joined) it; longer values are cut.
MAX_VALUE_CHARS = 16_384
MAX_MAP_CHARS = 65_536
MAX_NAME_CHARS = 256
_RESERVED_NAME = re.compile(r"^__.*__$")


@dataclass(frozen=True)
class _Known:
    """What the store holds about one (type, subject) before an alert group is applied."""

    pointer_path: str
    pointer_id: Any
    pointed: Mapping[str, Any] | None  # the newest incident the bridge recorded on
    active: Mapping[str, Any] | None
    previous: Mapping[str, Any] | None  # the pointed incident when it is not the active one
    ended: Any  # episodes the pointer remembers as ended
    history: Any  # ``with_ended(previous, ended)``: where ``judge`` finds ended episodes


@dataclass
class Receipt:
    """What one notification did; the webhook answers it as JSON."""

    alerts: int = 0
    verdicts: Counter = field(default_factory=Counter)
    incidents: set[str] = field(default_factory=set)
    messages: int = 0
    watchdog: int = 0
    ended: set[str] = field(default_factory=set)  # firings of episodes recorded as resolved: not news
    opened: dict[str, dict[str, Any]] = field(default_factory=dict)  # incidents this notification opened, as stored

    def as_json(self) -> dict[str, Any]:
        return {"status": "stored", "alerts": self.alerts, "watchdog": self.watchdog,
                "verdicts": dict(sorted(self.verdicts.items())), "incidents": sorted(self.incidents),
                "messagesQueued": self.messages}


class AlertBridge:
    """Turns one webhook payload into stored incidents and a stored group message (see the module docstring).

        bridge = AlertBridge(incidents, delivery, clock, {"QueueStuck": ("queue_depth", "{queue}")})
        receipt = await bridge.receive(payload)      # raises StoreError: answer 503
        await bridge.run(stop)                       # delivers the outbox until stop
    """

    def __init__(self, incidents: IncidentService, delivery: TelegramDelivery, clock: Clock,
                 mapping: AlertMapping | Mapping[str, RuleLike] | None = None, *, concurrency: int = 8) -> None:
        self.incidents = incidents
        self.delivery = delivery
        self.clock = clock
        self.mapping = mapping if isinstance(mapping, AlertMapping) else AlertMapping(mapping)
        self._store = incidents.store
        self._paths = incidents.paths
        self._concurrency = max(1, concurrency)
        # Read by the metrics layer.
        self.alerts_received: dict[str, int] = {"firing": 0, "resolved": 0}
        self.verdicts: Counter = Counter({v.value: 0 for v in Verdict})
        self.watchdog_last_seen: datetime | None = None
        self.watchdog_received = 0
        self.webhook_errors: Counter = Counter()  # the webhook's refusals by HTTP status, e.g. {"503": 2}

    @property
    def incident_counters(self) -> IncidentCounters:
        """Incidents opened / resolved by source, as the incident service counts them."""
        return self.incidents.counters

    async def run(self, stop: asyncio.Event) -> None:
        """The bridge's background work (delivering the outbox) until ``stop``."""
        await self.delivery.run(stop)

    # ------------------------------------------------------------ one notification

    async def receive(self, payload: WebhookPayload) -> Receipt:
        now = self.clock.now()
        receipt = Receipt(alerts=len(payload.alerts))
        alerts = [a for a in payload.alerts if not self.mapping.is_watchdog(a.labels)]
        receipt.watchdog = len(payload.alerts) - len(alerts)
        if receipt.watchdog:
            self.watchdog_last_seen, self.watchdog_received = now, self.watchdog_received + receipt.watchdog
        groups = self._by_target(alerts)
        rest = await self._open_new(groups, now, receipt)
        await _bounded([partial(self._apply, target, group, now, receipt) for target, group in rest.items()],
                       self._concurrency)
        told = [a for a in alerts
                if not self.mapping.told_by_alertmanager(a.labels) and entry_id(a) not in receipt.ended]
        if told:
            shown = replace(payload, alerts=tuple(told))
            parts = render_group_parts(shown, now=now)
            receipt.messages = await self.delivery.send(notification_key(shown), [p.text for p in parts],
                                                        [p.lines for p in parts], await self._buttons(receipt, told))
        for alert in payload.alerts:
            self.alerts_received[alert.status] = self.alerts_received.get(alert.status, 0) + 1
        self.verdicts.update(receipt.verdicts)
        return receipt

    async def _buttons(self, receipt: Receipt, told: Sequence[Alert]) -> dict[str, Any] | None:
        """Chat-ops buttons for a message about one active incident with a firing alert (else None)."""
        buttons = getattr(self.delivery, "buttons", None)
        if buttons is None or len(receipt.incidents) != 1 or not any(a.status == "firing" for a in told):
            return None
        incident_id = next(iter(receipt.incidents))
        incident = receipt.opened.get(incident_id) or await self.incidents.get(incident_id)  # opened here: no read
        return await buttons.markup(incident) if is_active(incident) else None

    def _by_target(self, alerts: Iterable[Alert]) -> dict[IncidentTarget, list[Alert]]:
        """Alerts per (type, subject); the group's severity is the highest any of them asks for."""
        grouped: dict[tuple[str, str], list[tuple[Alert, str | None]]] = defaultdict(list)
        for alert in alerts:
            target = self.mapping.target(alert.labels)
            grouped[(target.type, target.subject)].append((alert, target.severity))
        result = {}
        for (incident_type, subject), members in grouped.items():
            asked = [s for _, s in members if s in SEVERITIES]
            severity = min(asked, key=SEVERITIES.index) if asked else None
            result[IncidentTarget(incident_type, subject, severity)] = [a for a, _ in members]
        return result

    async def _open_new(self, groups: Mapping[IncidentTarget, list[Alert]], now: datetime,
                        receipt: Receipt) -> dict[IncidentTarget, list[Alert]]:
        """Open, in batched writes, the incidents of the (type, subject)s nothing is recorded for yet:
        no index names an incident, and every alert is a firing nobody recorded. Two batched reads
        find them, whatever their number. Returns the groups left for ``_apply`` (one at a time)."""
        if not groups:
            return {}
        paths = {t: (self._pointer_path(t), self.incidents.paths.incident_key(open_key(t.type, t.subject)))
                 for t in groups}
        found = await self._store.get_many([path for pair in paths.values() for path in pair])
        pointed_ids = {t: _incident_id(found[pointer]) for t, (pointer, _) in paths.items()}
        wanted = [self.incidents.paths.incident(i) for i in pointed_ids.values() if i]
        pointed = await self._store.get_many(wanted) if wanted else {}
        openings, rest = {}, {}
        for target, alerts in groups.items():
            previous = pointed.get(self.incidents.paths.incident(pointed_ids[target])) if pointed_ids[target] else None
            previous_data = previous.data if previous is not None else None
            pointer = found[paths[target][0]]
            ended = pointer.get("ended") if pointer is not None else None
            if _nothing_new(alerts, previous_data, ended, receipt):
                continue  # a retry, a repeat, the HA peer: decided by the reads already made
            history = with_ended(previous_data, ended)
            new = found[paths[target][1]] is None and all(
                judge(a, None, history) is Verdict.NEW_FIRING for a in alerts)
            if new:
                carried = carried_ended(previous_data, ended)
                openings[target] = self._opening(target, alerts, paths[target][0], carried, now)
            else:
                rest[target] = alerts
        if not openings:
            return rest
        opened, refused = await self.incidents.open_many(list(openings.values()))
        for doc in opened:
            receipt.incidents.add(doc["incidentId"])
            receipt.opened[doc["incidentId"]] = doc
        refused_ids = {id(opening) for opening in refused}
        for target, opening in openings.items():
            if id(opening) in refused_ids:
                rest[target] = groups[target]  # someone opened it meanwhile: the careful way
            else:
                receipt.verdicts[Verdict.NEW_FIRING.value] += len(groups[target])
        if opened:
            log.info("%d incident(s) opened by one notification (%s ...)", len(opened), opened[0]["incidentId"])
        return rest

    def _opening(self, target: IncidentTarget, alerts: Sequence[Alert], pointer_path: str,
                 ended: Mapping[str, Any], now: datetime) -> Opening:
        first = alerts[0] if len(alerts) == 1 else min(alerts, key=lambda a: a.starts_at)
        fields = {"alerts": {entry_id(a): entry(a, now) for a in alerts}, **describe(first)}
        pointer = {"type": target.type, "subject": target.subject, "updatedAt": now, "ended": ended,
                   "incidentId": incident_id_for(target.type, target.subject, first.starts_at)}
        return Opening(target.type, target.subject, first.starts_at, reason=_summary(first),
                       details=self.mapping.details_for(first.labels), source=SOURCE, severity=target.severity,
                       extra=fields, also=(Write("set", pointer_path, pointer),))

    async def _apply(self, target: IncidentTarget, alerts: Sequence[Alert], now: datetime, receipt: Receipt) -> None:
        """Record the alerts of one (type, subject) on its incident, open or close it as they say."""
        known = await self._known(target, alerts)
        verdicts = {entry_id(a): judge(a, known.active, known.history) for a in alerts}
        receipt.verdicts.update(v.value for v in verdicts.values())
        receipt.ended.update(entry_id(a) for a in alerts if ended_already(a, known.active, known.history))
        fresh = [a for a in alerts if verdicts[entry_id(a)].writes]
        if not fresh:
            await self._settle(target, known.active, known.previous)
            return
        incident = known.active
        if incident is None or any(verdicts[entry_id(a)] is Verdict.NEW_FIRING for a in fresh):
            incident = await self._detect(target, known.active, fresh, now)
        receipt.incidents.add(incident["incidentId"])
        await self._record(target, known, incident, fresh, now)
        if any(verdicts[entry_id(a)] in (Verdict.RESOLVES, Verdict.NEW_RESOLVED) for a in fresh):
            # Read after our write: of two instances resolving the last two episodes, one sees both.
            await self._settle(target, await self.incidents.get(incident["incidentId"]), None)

    async def _known(self, target: IncidentTarget, alerts: Sequence[Alert]) -> _Known:
        """What the store already holds about ``target``: its pointer, active and previous incidents."""
        pointer_path = self._pointer_path(target)
        pointer = await self._store.get(pointer_path)
        pointer_id = pointer.get("incidentId") if pointer else None
        pointed = await self.incidents.get(pointer_id) if isinstance(pointer_id, str) else None
        if holds_all(pointed, alerts):
            # Retries, repeats, HA duplicates, late firings: the newest incident we recorded on
            # answers alone (no newer one can hold these episodes), without a transaction.
            active, previous = (pointed, None) if is_active(pointed) else (None, pointed)
        else:
            active = await self.incidents.active(target.type, target.subject)
            same = active is not None and pointed is not None and active.get("incidentId") == pointer_id
            previous = None if same else pointed
        ended = pointer.get("ended") if pointer else None
        return _Known(pointer_path, pointer_id, pointed, active, previous, ended, with_ended(previous, ended))

    async def _record(self, target: IncidentTarget, known: _Known, incident: Mapping[str, Any],
                      fresh: Sequence[Alert], now: datetime) -> None:
        """Write the fresh alerts' episodes on ``incident`` and point the target at it, in one batch."""
        incident_id = incident["incidentId"]
        fields = {f"alerts.{entry_id(a)}": entry(a, now) for a in fresh}
        if "labels" not in incident:
            fields.update(describe(min(fresh, key=lambda a: a.starts_at)))
        writes = [Write("update", self.incidents.paths.incident(incident_id), fields)]
        if known.pointer_id != incident_id:
            writes.append(Write("set", known.pointer_path, {
                "type": target.type, "subject": target.subject, "incidentId": incident_id, "updatedAt": now,
                "ended": carried_ended(known.pointed, known.ended)}))
        await self._store.batch(writes)

    async def _detect(self, target: IncidentTarget, active: Mapping[str, Any] | None, fresh: Sequence[Alert],
                      now: datetime) -> dict[str, Any]:
        first = min(fresh, key=lambda a: a.starts_at)
        opening = active is None
        doc, change = await self.incidents.detect(
            target.type, target.subject, source=SOURCE, severity=target.severity,
            reason=_summary(first) if opening else "",
            details=dict(active.get("details") or {}) if active else self.mapping.details_for(first.labels),
            at=first.starts_at if opening else now,
        )
        if change == "opened":
            log.info("incident %s opened by alert %s", doc["incidentId"], first.name)
        return doc

    async def _settle(self, target: IncidentTarget, current: Mapping[str, Any] | None,
                      previous: Mapping[str, Any] | None) -> None:
        """Close an incident whose recorded episodes all ended; announce what an earlier failure left unsaid."""
        if is_active(current) and (end := closing_time(current)) is not None:
            latest = await self.incidents.active(target.type, target.subject)
            if latest is not None and latest.get("incidentId") == current.get("incidentId"):
                await self.incidents.clear(target.type, target.subject, source=SOURCE, at=end)
                return
        for doc in (current, previous):
            if undelivered(doc):
                await self.incidents.redeliver(doc["incidentId"])

    def _pointer_path(self, target: IncidentTarget) -> str:
        return self._paths.alert_subject(open_key(target.type, target.subject))


def describe(alert: Alert) -> dict[str, Any]:
    """The alert that opened (or first joined) an incident, kept on it for people and the messages."""
    annotations = _clipped(alert.annotations)
    return {
        "alertname": alert.name,
        "labels": _clipped(alert.labels),
        "annotations": annotations,
        "generatorURL": alert.generator_url[:MAX_VALUE_CHARS],
        "runbookUrl": (alert.annotations.get("runbook_url") or alert.annotations.get("runbook") or "")[:MAX_VALUE_CHARS],
        "summary": _summary(alert),
    }


def _summary(alert: Alert) -> str:
    text = alert.annotations.get("summary") or alert.annotations.get("message") or alert.name
    return text[:1000]


def _clipped(values: Mapping[str, str]) -> dict[str, str]:
    """A label or annotation map as both stores can hold it: each value cut to MAX_VALUE_CHARS, no more than
    MAX_MAP_CHARS in all (a Firestore document holds 1 MiB), names Firestore reserves (``__x__``) altered."""
    kept, used = {}, 0
    for name in sorted(values):
        value = values[name][:MAX_VALUE_CHARS]
        if used + len(name) + len(value) > MAX_MAP_CHARS:
            value = value[: max(0, MAX_MAP_CHARS - used - len(name))]
        kept.setdefault(_storable_name(name), value)
        used += len(name) + len(value)
    return kept


def _storable_name(name: str) -> str:
    name = name[:MAX_NAME_CHARS]
    return "_" + name[2:] if name[:2] == "__" and _RESERVED_NAME.match(name) else name


def _nothing_new(alerts: Sequence[Alert], pointed: Mapping[str, Any] | None, ended: Mapping[str, Any] | None,
                 receipt: Receipt) -> bool:
    """True (verdicts counted) when the incident the pointer names holds every episode as delivered,
    has nothing unannounced and nothing to close: ``_apply`` would write nothing."""
    if not holds_all(pointed, alerts) or undelivered(pointed):
        return False
    active, previous = (pointed, None) if is_active(pointed) else (None, pointed)
    if active is not None and closing_time(active) is not None:
        return False
    history = with_ended(previous, ended)
    verdicts = [judge(a, active, history) for a in alerts]
    if any(v.writes for v in verdicts):
        return False
    receipt.verdicts.update(v.value for v in verdicts)
    receipt.ended.update(entry_id(a) for a in alerts if ended_already(a, active, history))
    return True


def _incident_id(pointer: Any) -> str | None:
    value = pointer.get("incidentId") if pointer is not None else None
    return value if isinstance(value, str) else None


async def _bounded(work: Sequence[Callable[[], Awaitable[None]]], limit: int) -> None:
    """Run ``work`` at most ``limit`` at a time; wait for all, then raise the first failure.

    Each item is a function making its coroutine when its turn comes: a coroutine made up front and
    cancelled while it waits for the gate (the webhook's deadline) is never awaited, and says so."""
    gate = asyncio.Semaphore(limit)

    async def one(make: Callable[[], Awaitable[None]]) -> None:
        async with gate:
            await make()

    results = await asyncio.gather(*(one(make) for make in work), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
