"""Bot commands (``message`` updates): /status, /incidents, /ack ID, /resolve ID [root cause], /maintenance.

Commands are read in the alert chats, the escalation chat and private chats;
elsewhere they are ignored (and logged). A user not in ``TELEGRAM_ADMIN_IDS``
gets a one-line refusal; an unknown command the help line; an argument longer
than ``MAX_ARGUMENT`` characters a one-line refusal. Nothing changes in any of
those cases. IDs are the short ids ``/incidents`` shows, or full incident ids.

    commands = CommandHandler(api, access, actions, incidents, clock, status=collect_status)
    result = await commands.handle(update["message"])      # "status", "refused", "ignored", ...
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Mapping

from alerting.telegram import texts
from alerting.telegram.access import Access, owner_name
from alerting.telegram.actions import IncidentActions
from alerting.telegram.bot_api import BotApi, BotApiError
from exporter.clock import Clock
from exporter.services.incidents import IncidentService
from exporter.store import StoreError

log = logging.getLogger("longrun.chatops")

MAX_ARGUMENT = 500
MAX_ACTIVE = 100
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@[A-Za-z0-9_]{1,64})?(?:\s+(.*))?$", re.DOTALL)


@dataclass(frozen=True)
class Command:
    name: str
    argument: str


def parse(text: Any) -> Command | None:
    """``/ack@longrun_bot abc123`` -> Command("ack", "abc123"); None for anything that is not a command."""
    if not isinstance(text, str):
        return None
    match = _COMMAND.match(text.strip())
    if not match:
        return None
    return Command(match.group(1).lower(), (match.group(2) or "").strip())


class CommandHandler:
    def __init__(self, api: BotApi, access: Access, actions: IncidentActions, incidents: IncidentService,
                 clock: Clock, status: Callable[[], Awaitable[Any]] | None = None,
                 maintenance: Callable[[str, str], Awaitable[str]] | None = None) -> None:
        self.api, self.access, self.actions, self.incidents, self.clock = api, access, actions, incidents, clock
        self.status = status
        self.maintenance = maintenance

    async def handle(self, message: Mapping[str, Any]) -> str:
        command = parse(message.get("text"))
        if command is None:
            return "ignored"  # chatter in the alert chat
        user = message.get("from") if isinstance(message.get("from"), Mapping) else {}
        chat = message.get("chat") if isinstance(message.get("chat"), Mapping) else {}
        if not self.access.known_chat(chat):
            log.warning("chat-ops: /%s from foreign chat %s ignored", command.name[:32], chat.get("id"))
            return "foreign_chat"
        if not self.access.allowed_user(user):
            log.warning("chat-ops: /%s from user %s (not in TELEGRAM_ADMIN_IDS) refused", command.name, user.get("id"))
            return await self._reply(chat, texts.REFUSED, "refused")
        if len(command.argument) > MAX_ARGUMENT:
            log.warning("chat-ops: /%s with a %d-character argument refused", command.name, len(command.argument))
            return await self._reply(chat, f"⛔ Argument too long ({len(command.argument)} characters, at most "
                                           f"{MAX_ARGUMENT}); nothing was changed.", "too_long")
        handler = getattr(self, f"_cmd_{command.name}", None)
        if handler is None:
            return await self._reply(chat, texts.esc(texts.HELP), "help")
        try:
            text, result = await handler(command.argument, user)
        except StoreError as exc:
            log.error("chat-ops: /%s failed, the store is unavailable (%s)", command.name, exc)
            text, result = texts.STORE_DOWN, "store_error"
        return await self._reply(chat, text, result)

    async def _cmd_start(self, argument: str, user: Mapping[str, Any]) -> tuple[str, str]:
        return texts.esc(texts.HELP), "help"

    _cmd_help = _cmd_start

    async def _cmd_status(self, argument: str, user: Mapping[str, Any]) -> tuple[str, str]:
        if self.status is None:
            return "Status is not available in this process.", "status"
        return texts.status_text(await self.status()), "status"

    async def _cmd_incidents(self, argument: str, user: Mapping[str, Any]) -> tuple[str, str]:
        active = await self.incidents.list(status=("open", "acknowledged"), limit=MAX_ACTIVE)
        return texts.incidents_text(active, self.clock.now()), "incidents"

    async def _cmd_ack(self, argument: str, user: Mapping[str, Any]) -> tuple[str, str]:
        return await self._act("ack", argument, user)

    async def _cmd_resolve(self, argument: str, user: Mapping[str, Any]) -> tuple[str, str]:
        return await self._act("resolve", argument, user)

    async def _cmd_maintenance(self, argument: str, user: Mapping[str, Any]) -> tuple[str, str]:
        if self.maintenance is None:
            return "Maintenance windows are not available in this longrun version; nothing was changed.", "unavailable"
        return await self.maintenance(argument, f"telegram:{user.get('id')}"), "maintenance"

    async def _act(self, action: str, argument: str, user: Mapping[str, Any]) -> tuple[str, str]:
        wanted, _, rest = argument.partition(" ")
        if not wanted:
            return f"Usage: /{action} ID{' [root cause]' if action == 'resolve' else ''} (IDs: /incidents)", "usage"
        matches = await self._find(wanted)
        if len(matches) != 1:
            problem = "matches several incidents; use more of its id" if matches else "is not an active incident"
            return f"{texts.esc(wanted[:64])} {problem} (see /incidents); nothing was changed.", "unknown"
        who = owner_name(user)
        root_cause = rest.strip() or None if action == "resolve" else None
        outcome = await self.actions.apply(matches[0], action, who, root_cause)
        if outcome.changed and outcome.incident is not None:
            return texts.after_action(outcome.incident, outcome.done, who, self.clock.now()), outcome.result
        return texts.esc(outcome.answer), outcome.result

    async def _find(self, wanted: str) -> list[str]:
        active = await self.incidents.list(status=("open", "acknowledged"), limit=MAX_ACTIVE)
        ids = [str(doc.get("incidentId")) for doc in active]
        if wanted in ids:
            return [wanted]
        lowered = wanted.lower()
        return [i for i in ids if len(lowered) >= 4 and texts.short_id(i).startswith(lowered)]

    async def _reply(self, chat: Mapping[str, Any], text: str, result: str) -> str:
        try:
            await self.api.send_message(chat.get("id"), text)
        except BotApiError as exc:
            log.warning("chat-ops: could not answer in chat %s (%s)", chat.get("id"), exc)
        return result
