"""Button presses (``callback_query`` updates): check, apply, answer, edit the message.

In order, each failing check answers ``answerCallbackQuery`` with a refusal,
logs one line and changes nothing:

1. the ``callback_data`` is genuine (``keyboards.Buttons.parse``): a forged or
   edited one is refused;
2. the message sits in a known chat (an alert chat, the escalation chat, or
   private): a callback from a foreign chat is refused;
3. the user is in ``TELEGRAM_ADMIN_IDS``: anyone else is refused;
4. the incident is known and the action still applies: otherwise a friendly
   answer ("already resolved by …").

Then the action goes through the incident service (``actions.IncidentActions``),
the press is answered, and the pressed message is edited to show who did what
and when, with only the buttons that still apply.

    handler = CallbackHandler(api, access, refs, actions, clock)
    result = await handler.handle(update["callback_query"])     # "applied", "refused", "forged", ...
"""

from __future__ import annotations

import logging
from typing import Any, Mapping

from alerting.telegram import texts
from alerting.telegram.access import Access, owner_name
from alerting.telegram.actions import IncidentActions
from alerting.telegram.bot_api import BotApi, BotApiError
from alerting.telegram.refs import ButtonRefs
from alerting.telegram.silencing import IncidentSilencer
from exporter.clock import Clock
from exporter.store import StoreError

log = logging.getLogger("longrun.chatops")


class CallbackHandler:
    def __init__(self, api: BotApi, access: Access, refs: ButtonRefs, actions: IncidentActions, clock: Clock,
                 silencer: IncidentSilencer | None = None) -> None:
        self.api, self.access, self.refs, self.actions, self.clock = api, access, refs, actions, clock
        self.silencer = silencer

    async def handle(self, query: Mapping[str, Any]) -> str:
        user = query.get("from") if isinstance(query.get("from"), Mapping) else {}
        message = query.get("message") if isinstance(query.get("message"), Mapping) else {}
        chat = message.get("chat") if isinstance(message.get("chat"), Mapping) else {}
        press = self.refs.buttons.parse(query.get("data"))
        if press is None:
            log.warning("chat-ops: forged or malformed button data from user %s in chat %s, refused",
                        user.get("id"), chat.get("id"))
            return await self._answer(query, texts.FORGED, "forged")
        if not self.access.known_chat(chat):
            log.warning("chat-ops: button pressed in foreign chat %s by user %s, refused", chat.get("id"), user.get("id"))
            return await self._answer(query, texts.NOT_HERE, "foreign_chat")
        if not self.access.allowed_user(user):
            log.warning("chat-ops: user %s (not in TELEGRAM_ADMIN_IDS) pressed %s, refused", user.get("id"), press.action)
            return await self._answer(query, texts.REFUSED, "refused")
        if press.action == "silence" and self.silencer is None:
            return await self._answer(query, "🔕 Silences need LONGRUN_ALERTMANAGER_URL; nothing was changed.",
                                      "unavailable")
        try:
            incident_id = await self.refs.incident_id(press.ref)
        except StoreError as exc:
            log.error("chat-ops: button lookup failed, the store is unavailable (%s)", exc)
            return await self._answer(query, texts.STORE_DOWN, "store_error")
        if incident_id is None:
            log.warning("chat-ops: button for an unknown incident (ref %s) pressed by %s", press.ref, user.get("id"))
            return await self._answer(query, texts.UNKNOWN_INCIDENT, "unknown")
        who = owner_name(user)
        if press.action == "silence":
            outcome = await self.silencer.silence(incident_id, who)
        else:
            outcome = await self.actions.apply(incident_id, press.action, who)
        await self._answer(query, outcome.answer, outcome.result)
        if outcome.changed and outcome.incident is not None:
            await self._edit(message, outcome.incident, outcome.done, who)
        return outcome.result

    async def _answer(self, query: Mapping[str, Any], text: str, result: str) -> str:
        try:
            await self.api.answer_callback(str(query.get("id")), text, alert=result not in ("applied", "already"))
        except BotApiError as exc:
            log.warning("chat-ops: could not answer a button press (%s); Telegram shows a spinner until it times out", exc)
        return result

    async def _edit(self, message: Mapping[str, Any], incident: Mapping[str, Any], done: str, who: str) -> None:
        chat = message.get("chat") or {}
        try:
            markup = await self.refs.markup(incident)
            await self.api.edit_message(chat.get("id"), message.get("message_id"),
                                        texts.after_action(incident, done, who, self.clock.now()), markup)
        except (BotApiError, StoreError) as exc:
            log.warning("chat-ops: incident %s %s, but the message could not be edited (%s)",
                        incident.get("incidentId"), done, exc)
