"""Chat-ops for the whole process, built once from settings: buttons, commands, the update poller, reminders.

- With ``TELEGRAM_BOT_TOKEN``, ``TELEGRAM_CHAT_ID`` and ``TELEGRAM_ADMIN_IDS``:
  incident messages carry buttons, the leader polls updates (buttons and
  commands), and reminders carry buttons.
- Without ``TELEGRAM_ADMIN_IDS``: no buttons and no commands (messages stay as
  they were); reminders still go out when Telegram is on.
- Without Telegram: nothing at all.

    chatops = ChatOps.build(settings, store, paths, clock, session, leadership, incidents, config, delivery)
    jobs.extend(chatops.jobs)              # the reminder job, leader-only
    chatops.status = collect_status        # what /status shows (set by the server)
    await chatops.run(stop)                # the update poller (every instance; only the leader polls)
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

import aiohttp

from alerting.delivery import TelegramDelivery
from alerting.notifier import TelegramNotifier
from alerting.reminders import ReminderJob
from alerting.telegram.access import Access
from alerting.telegram.actions import IncidentActions
from alerting.telegram.bot_api import BotApi
from alerting.telegram.callbacks import CallbackHandler
from alerting.telegram.commands import CommandHandler
from alerting.telegram.keyboards import Buttons, secret_from_token
from alerting.alertmanager.silences import SilenceClient
from alerting.telegram.maintenance_command import MaintenanceCommand
from alerting.telegram.refs import ButtonRefs
from alerting.telegram.silencing import IncidentSilencer
from alerting.telegram.updates import Leading, UpdatePoller
from exporter.clock import Clock
from exporter.services.config import ConfigSource
from exporter.services.incidents import IncidentService
from exporter.services.maintenance import MaintenanceService
from exporter.store import DocumentStore, Paths

log = logging.getLogger("longrun.chatops")


class ChatOps:
    def __init__(self, access: Access, refs: ButtonRefs | None, reminders: ReminderJob | None,
                 poller: UpdatePoller | None, callbacks: CallbackHandler | None,
                 commands: CommandHandler | None) -> None:
        self.access, self.refs, self.reminders = access, refs, reminders
        self.poller, self.callbacks, self.commands = poller, callbacks, commands

    @property
    def enabled(self) -> bool:
        """Buttons and commands are on."""
        return self.refs is not None

    @property
    def jobs(self) -> list[Any]:
        return [self.reminders] if self.reminders is not None else []

    @property
    def status(self) -> Callable[[], Awaitable[Any]] | None:
        return self.commands.status if self.commands is not None else None

    @status.setter
    def status(self, source: Callable[[], Awaitable[Any]] | None) -> None:
        if self.commands is not None:
            self.commands.status = source

    @classmethod
    def build(cls, settings, store: DocumentStore, paths: Paths, clock: Clock,
              session: aiohttp.ClientSession | None, leadership: Leading, incidents: IncidentService,
              config: ConfigSource, delivery: TelegramDelivery, *, poll_timeout: float = 25.0,
              silences: SilenceClient | None = None, maintenance: MaintenanceService | None = None) -> "ChatOps":
        escalation = settings.telegram_escalation_chat_id
        access = Access(settings.telegram_admin_ids, [*delivery.chats.configured, *([escalation] if escalation else [])])
        if not delivery.enabled or delivery.outbox is None:
            return cls(access, None, None, None, None, None)
        refs = None
        if access.enabled:
            buttons = Buttons(secret_from_token(settings.telegram_bot_token), silences=silences is not None)
            refs = ButtonRefs(store, paths, buttons)
            if isinstance(delivery.notifier, TelegramNotifier):
                delivery.notifier.buttons = refs
            delivery.buttons = refs  # the bridge's group message about one incident
        elif session is not None:
            log.info("chat-ops off (TELEGRAM_ADMIN_IDS unset): no buttons and no commands; set it to the Telegram "
                     "user ids allowed to acknowledge and resolve incidents from the chat")
        reminders = ReminderJob(incidents, config, delivery.outbox, delivery.chats, escalation_chat=escalation,
                                buttons=refs, wake=delivery.wake)
        if refs is None or session is None:
            return cls(access, refs, reminders, None, None, None)
        api = BotApi(session, settings.telegram_api_base, settings.telegram_bot_token, timeout=settings.telegram_timeout)
        actions = IncidentActions(incidents, clock)
        silencer = IncidentSilencer(silences, incidents, clock) if silences is not None else None
        callbacks = CallbackHandler(api, access, refs, actions, clock, silencer)
        commands = CommandHandler(api, access, actions, incidents, clock,
                                  maintenance=MaintenanceCommand(maintenance) if maintenance is not None else None)
        chatops = cls(access, refs, reminders, None, callbacks, commands)
        chatops.poller = UpdatePoller(api, store, paths, clock, leadership, chatops.dispatch,
                                      instance_id=settings.instance_id, poll_timeout=poll_timeout)
        log.info("chat-ops on: %d admin(s); the leader polls Telegram for button presses and commands",
                 len(access.admin_ids))
        return chatops

    async def dispatch(self, update: dict[str, Any]) -> str:
        """Handle one update; returns what became of it (for logs, metrics and tests)."""
        if isinstance(update.get("callback_query"), dict) and self.callbacks is not None:
            return await self.callbacks.handle(update["callback_query"])
        if isinstance(update.get("message"), dict) and self.commands is not None:
            return await self.commands.handle(update["message"])
        return "ignored"

    async def run(self, stop: asyncio.Event) -> None:
        if self.poller is None:
            await stop.wait()
            return
        await self.poller.run(stop)
