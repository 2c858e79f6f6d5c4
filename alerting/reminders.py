"""Reminders: an open incident nobody acknowledged gets reminded, each response time, at most five times.

A leader-only job of the scheduler, every ``TICK_SEC`` seconds: it asks
``domain.response.reminder_due`` which reminder each open (unacknowledged)
incident is owed. The open incidents (and the config document) are read at
most every ``READ_EVERY`` seconds (half the shortest response time when that
is shorter), and again whenever a remembered one falls due, so a quiet leader
costs two reads a minute, not two every tick; a new incident is seen long
before its first deadline. A reminder names the incident, its severity and
how long it has waited, carries the incident's buttons (when chat-ops is on),
and goes to the alert chats and ``TELEGRAM_ESCALATION_CHAT_ID``. It is saved
in the outbox first, under ``reminder:{incidentId}:{n}`` (saving it again is a
no-op), then counted on the incident (``reminders``, ``lastReminderAt``), so a
failure between the two sends nothing twice.

    job = ReminderJob(incidents, config, outbox, chats, clock, escalation_chat="-1009", buttons=refs)
    scheduler = Scheduler(clock, leadership, [..., job])
    await job.run(clock.now())           # what the scheduler does every TICK_SEC
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Callable, Mapping

from alerting.notifier import Keyboards
from alerting.outbox import ChatRoutes, Outbox, messages_for, priority_for
from alerting.telegram.texts import reminder_text
from exporter.domain.response import MAX_REMINDERS, known_since, reminder_due
from exporter.domain.slots import next_slot
from exporter.domain.stats import is_number
from exporter.services.config import ConfigSource
from exporter.services.incidents import IncidentService

log = logging.getLogger("longrun.reminders")

TICK_SEC = 10.0  # a reminder goes out within this long after its deadline (the issue allows 30 s)
READ_EVERY = 60.0
MAX_OPEN = 500


class ReminderJob:
    name = "reminders"
    leader_only = True

    def __init__(self, incidents: IncidentService, config: ConfigSource, outbox: Outbox, chats: ChatRoutes,
                 *, escalation_chat: str | None = None, buttons: Keyboards | None = None,
                 wake: Callable[[], None] = lambda: None, tick: float = TICK_SEC) -> None:
        self.incidents, self.config, self.outbox, self.chats = incidents, config, outbox, chats
        self.escalation_chat = escalation_chat
        self.buttons = buttons
        self.wake = wake
        self.tick = tick
        self.sent = 0  # reminders saved for delivery since start, for the metrics layer
        self._open: list[dict[str, Any]] = []  # the open incidents as last read
        self._read_at: datetime | None = None

    def first_due(self, now: datetime) -> datetime:
        return now

    def next_due(self, now: datetime) -> datetime:
        return next_slot(now, self.tick)

    def destinations(self) -> list[str]:
        chats = list(self.chats.configured)
        if self.escalation_chat and self.escalation_chat not in chats:
            chats.append(self.escalation_chat)
        return chats

    async def run(self, now: datetime) -> None:
        if not self._stale(now) and not any(reminder_due(i, self._response_sec(), now) for i in self._open):
            return
        await self.config.load()
        self._open = await self.incidents.list(status=("open",), limit=MAX_OPEN)
        self._read_at = now
        for incident in self._open:
            number = reminder_due(incident, self._response_sec(), now)
            if number is not None:
                await self.remind(incident, number, now)
                incident["reminders"] = number

    def _response_sec(self) -> Any:
        return self.config.current.get("responseTimeSec")

    def _stale(self, now: datetime) -> bool:
        configured = self._response_sec() if isinstance(self._response_sec(), dict) else {}
        shortest = min((float(v) for v in configured.values() if is_number(v) and v > 0), default=READ_EVERY * 2)
        return self._read_at is None or (now - self._read_at).total_seconds() >= min(READ_EVERY, shortest / 2)

    async def remind(self, incident: Mapping[str, Any], number: int, now: datetime) -> None:
        incident_id = str(incident["incidentId"])
        since = known_since(incident)
        waited = (now - since).total_seconds() if since is not None else 0.0
        text = reminder_text(incident, number=number, of=MAX_REMINDERS, waited_sec=waited)
        markup = await self.buttons.markup(incident) if self.buttons is not None else None
        await self.outbox.enqueue(messages_for(f"reminder:{incident_id}:{number}", [text], self.destinations(), markup,
                                               priority=priority_for(incident.get("severity"))))
        self.wake()
        await self.incidents.store.update(self.incidents.paths.incident(incident_id),
                                          {"reminders": number, "lastReminderAt": now})
        self.sent += 1
        log.warning("⏰ reminder %d/%d: incident %s (%s) unacknowledged for %ds", number, MAX_REMINDERS,
                    incident_id, incident.get("severity"), waited)
