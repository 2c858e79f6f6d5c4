"""Incident state changes as Telegram messages, through the outbox.

``TelegramNotifier`` is the incident service's ``Notifier``: every change it
announces is saved in the outbox under the dedup key
``incident:{incidentId}:{index}:{change}`` (``index`` is the change's place in
the incident's ``changes``), for every configured chat, so announcing the same
change again (the service retries undelivered changes on the next touch) sends
nothing new. Incident messages go ahead of group notifications in the outbox,
P1 first (``priority_for``).

Which changes get a message of their own (``announces``):

- an incident Alertmanager opened, or Alertmanager resolved, is announced by
  the group message Alertmanager asked for (the bridge sends it), so it gets no
  second "opened" / "resolved" message;
- everything else is announced: what the hourly monitor and operators open,
  resolve or acknowledge, and every escalation.

    notifier = TelegramNotifier(outbox, chats, wake=worker.wake)
    incidents = IncidentService(store, paths, clock, config, notifier)

With chat-ops on (``buttons``, an ``alerting.telegram.refs.ButtonRefs``), the
messages of an incident still active carry its inline buttons.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Mapping, Protocol

from alerting.outbox import ChatRoutes, Outbox, messages_for, priority_for
from alerting.telegram.format import render_incident_change

from exporter.domain.vocabulary import notified_key

ALERTMANAGER = "alertmanager"


def announces(incident: Mapping[str, Any], change: str) -> bool:
    """Whether ``change`` gets its own message (see the module docstring)."""
    if change == "opened":
        return incident.get("source") != ALERTMANAGER
    if change == "resolved":
        return incident.get("resolvedBy") != ALERTMANAGER
    return True


def dedup_key(incident_id: str, index: int | str, change: str) -> str:
    return f"incident:{incident_id}:{index}:{change}"


class Keyboards(Protocol):
    def markup(self, incident: Mapping[str, Any]) -> Awaitable[dict[str, Any] | None]: ...


class TelegramNotifier:
    """``IncidentService``'s Notifier: ``await notifier.incident_changed(incident_doc, "opened")`` saves the message."""

    def __init__(self, outbox: Outbox, chats: ChatRoutes, wake: Callable[[], None] = lambda: None,
                 buttons: Keyboards | None = None, runbook_base: str = "") -> None:
        self._outbox = outbox
        self._chats = chats
        self._wake = wake
        self.runbook_base = runbook_base  # LONGRUN_RUNBOOK_URL: links an incident without an alert's runbook_url
        self.buttons = buttons  # set by chat-ops when TELEGRAM_ADMIN_IDS is

    def will_announce(self, incident: Mapping[str, Any], change: str) -> bool:
        """False when ``incident_changed`` would send nothing (so there is nothing to deliver later)."""
        return announces(incident, change) and bool(self._chats.configured)

    async def incident_changed(self, incident: Mapping[str, Any], change: str) -> None:
        if not self.will_announce(incident, change):
            return
        incident_id = str(incident.get("incidentId") or incident.get("id") or "")
        key = dedup_key(incident_id, pending_index(incident, change), change)
        text = render_incident_change(incident, change, self.runbook_base)
        markup = await self.buttons.markup(incident) if self.buttons is not None else None
        await self._outbox.enqueue(messages_for(key, [text], self._chats.configured, markup,
                                                priority=priority_for(incident.get("severity"))))
        self._wake()


def pending_index(incident: Mapping[str, Any], change: str) -> int | str:
    """The first recorded ``change`` not announced yet: the same answer however often it is asked.

    Two pending changes of one kind (two escalations, after a failed delivery) are
    announced by one message: it is rendered from the incident as it is now.
    """
    notified = incident.get("notified") or {}
    for i, recorded in enumerate(incident.get("changes") or []):
        if recorded == change and notified_key(i, change) not in notified:
            return i
    return "unrecorded"
