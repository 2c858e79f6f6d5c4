"""The "Silence 1 h" button of an Alertmanager incident: a silence on exactly its alert's labels, through Alertmanager's API v2.

Reuses the maintenance windows' ``SilenceClient`` (``LONGRUN_ALERTMANAGER_URL``).
The incident keeps what was done (``silenceId``, ``silencedUntil``,
``silencedBy``); its status does not change: a silence quiets the pages, it
does not answer them.

    silencer = IncidentSilencer(silence_client, incident_service, clock)
    outcome = await silencer.silence(incident_id, who="@alice")
"""

from __future__ import annotations

import logging
from datetime import timedelta

from alerting.alertmanager.silences import Matcher, SilenceClient, SilenceError
from alerting.telegram import texts
from alerting.telegram.actions import Outcome
from exporter.clock import Clock
from exporter.domain.incidents import is_active
from exporter.services.incidents import IncidentService
from exporter.store import StoreError

log = logging.getLogger("longrun.chatops")

SILENCE_FOR = timedelta(hours=1)


class IncidentSilencer:
    def __init__(self, silences: SilenceClient, incidents: IncidentService, clock: Clock) -> None:
        self.silences, self.incidents, self.clock = silences, incidents, clock

    async def silence(self, incident_id: str, who: str) -> Outcome:
        try:
            incident = await self.incidents.get(incident_id)
            if incident is None:
                return Outcome("unknown", texts.UNKNOWN_INCIDENT)
            if not is_active(incident):
                return Outcome("already", texts.already(incident), incident)
            labels = incident.get("labels") if isinstance(incident.get("labels"), dict) else {}
            if not labels:
                return Outcome("unavailable", "This incident has no Alertmanager alert to silence; nothing was changed.")
            now = self.clock.now()
            matchers = [Matcher(str(name), str(value)) for name, value in sorted(labels.items())]
            try:
                silence_id = await self.silences.create(
                    matchers, now, now + SILENCE_FOR, created_by=who,
                    comment=f"longrun chat-ops: incident {incident_id} silenced for 1 h by {who}")
            except SilenceError as exc:
                log.error("chat-ops: silencing incident %s for %s failed at %s (%s); check LONGRUN_ALERTMANAGER_URL",
                          incident_id, who, self.silences.where, exc)
                return Outcome("silence_failed", "⚠️ Alertmanager did not take the silence; nothing was silenced. "
                                                 "Try again, or silence it in Alertmanager.")
            fields = {"silenceId": silence_id, "silencedUntil": now + SILENCE_FOR, "silencedBy": who}
            await self.incidents.store.update(self.incidents.paths.incident(incident_id), fields)
        except StoreError as exc:
            log.error("chat-ops: silence of incident %s by %s not recorded, the store failed (%s)", incident_id, who, exc)
            return Outcome("store_error", texts.STORE_DOWN)
        log.info("chat-ops: incident %s silenced for 1 h by %s (silence %s)", incident_id, who, silence_id)
        return Outcome("applied", texts.press_answer("silenced", who), {**incident, **fields}, "silenced")
