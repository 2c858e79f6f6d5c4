"""Acknowledge and resolve from Telegram, through the same incident service as the API and the CLI.

    actions = IncidentActions(incident_service, clock)
    outcome = await actions.apply(incident_id, "ack", who="@alice")
    outcome.changed, outcome.answer, outcome.incident

A press or command that no longer applies (resolved already, acknowledged
already) changes nothing and gets a friendly answer; an unknown incident the
same; a store failure is answered as such (nothing was saved) and logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from alerting.telegram import texts
from exporter.clock import Clock
from exporter.domain.incidents import IncidentTransitionError
from exporter.services.incidents import IncidentService
from exporter.store import StoreError

log = logging.getLogger("longrun.chatops")

DONE = {"ack": "acknowledged", "resolve": "resolved"}


@dataclass(frozen=True)
class Outcome:
    result: str  # "applied", "already", "unknown", "store_error"
    answer: str
    incident: dict[str, Any] | None = None
    done: str | None = None

    @property
    def changed(self) -> bool:
        return self.result == "applied"


class IncidentActions:
    def __init__(self, incidents: IncidentService, clock: Clock) -> None:
        self.incidents = incidents
        self.clock = clock

    async def apply(self, incident_id: str, action: str, who: str, root_cause: str | None = None) -> Outcome:
        if action not in DONE:
            raise ValueError(f"unknown action {action!r}")
        try:
            current = await self.incidents.get(incident_id)
            if current is None:
                return Outcome("unknown", texts.UNKNOWN_INCIDENT)
            if current.get("status") == "resolved" or (action == "ack" and current.get("status") == "acknowledged"):
                return Outcome("already", texts.already(current), current)
            try:
                doc = await self.incidents.change(incident_id, status=DONE[action], owner=who, root_cause=root_cause)
            except IncidentTransitionError:
                latest = await self.incidents.get(incident_id) or current
                return Outcome("already", texts.already(latest), latest)
        except StoreError as exc:
            log.error("chat-ops: %s of incident %s by %s not saved, the store failed (%s); they were told to retry",
                      action, incident_id, who, exc)
            return Outcome("store_error", texts.STORE_DOWN)
        log.info("chat-ops: incident %s %s by %s", incident_id, DONE[action], who)
        return Outcome("applied", texts.press_answer(DONE[action], who), doc, DONE[action])
