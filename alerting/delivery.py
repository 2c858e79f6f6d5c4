"""Telegram for the whole process, built once from settings: the outbox, its worker, the notifier.

With ``TELEGRAM_BOT_TOKEN`` and ``TELEGRAM_CHAT_ID`` set, messages are saved in
the outbox and the worker sends them; without them nothing is sent (incidents
are still stored) and one log line says how to turn Telegram on. A process
without an HTTP session (the CLI) still saves messages; the server's worker
sends them.

    delivery = TelegramDelivery.from_settings(settings, store, paths, clock, session)
    incidents = IncidentService(store, paths, clock, config, delivery.notifier)
    await delivery.send("group-key", texts)     # saved for every chat; a no-op when disabled
    await delivery.run(stop)                    # the worker, until ``stop`` is set
    delivery.stats.sent, delivery.stats.depth   # for the metrics layer
"""

from __future__ import annotations

import asyncio
import logging
from typing import Sequence

import aiohttp

from alerting.notifier import TelegramNotifier
from alerting.outbox import ChatRoutes, Outbox, OutboxStats, OutboxWorker, messages_for
from alerting.telegram.client import TelegramClient
from alerting.telegram.pacing import Pacer
from exporter.clock import Clock
from exporter.services.incidents import LogNotifier, Notifier
from exporter.store import DocumentStore, Paths

log = logging.getLogger("longrun.telegram")

HOW_TO_ENABLE = ("set TELEGRAM_BOT_TOKEN (from @BotFather) and TELEGRAM_CHAT_ID (comma-separated chat ids, "
                 "e.g. -1001234567890) to send alerts and incident changes to Telegram")


class TelegramDelivery:
    """Built by ``from_settings``; ``enabled`` is False when Telegram is not configured (see the module docstring)."""

    def __init__(self, outbox: Outbox | None, chats: ChatRoutes, worker: OutboxWorker | None,
                 runbook_base: str = "") -> None:
        self.outbox = outbox
        self.chats = chats
        self.worker = worker
        self.enabled = outbox is not None and bool(chats.configured)
        self.notifier: Notifier = (TelegramNotifier(outbox, chats, self.wake, runbook_base=runbook_base)
                                   if outbox is not None else LogNotifier())
        self._idle_stats = OutboxStats()
        self.buttons = None  # chat-ops (alerting.telegram.refs.ButtonRefs) when TELEGRAM_ADMIN_IDS is set

    @classmethod
    def from_settings(cls, settings, store: DocumentStore, paths: Paths, clock: Clock,
                      session: aiohttp.ClientSession | None, **worker_options) -> "TelegramDelivery":
        token, chat_ids = settings.telegram_bot_token, tuple(settings.telegram_chat_ids)
        chats = ChatRoutes(chat_ids)
        if not token or not chat_ids:
            missing = " and ".join(name for name, value in (("TELEGRAM_BOT_TOKEN", token),
                                                            ("TELEGRAM_CHAT_ID", chat_ids)) if not value)
            # The server (which has an HTTP session) says it loudly; a CLI command need not repeat it.
            log.log(logging.WARNING if session is not None else logging.DEBUG,
                    "Telegram off (%s unset): incidents are stored but not sent; %s", missing, HOW_TO_ENABLE)
            return cls(None, chats, None)
        outbox = Outbox(store, paths, clock)
        worker = None
        if session is not None:
            client = TelegramClient(session, settings.telegram_api_base, token, timeout=settings.telegram_timeout)
            worker = OutboxWorker(store, paths, client, Pacer(clock), clock, chats, **worker_options)
        log.info("Telegram on: %d chat(s)%s", len(chat_ids), "" if worker else ", messages saved for the server to send")
        return cls(outbox, chats, worker, runbook_base=settings.runbook_url)

    async def send(self, dedup_key: str, texts: Sequence[str], lines: Sequence[Sequence[str]] = (),
                   reply_markup: dict | None = None) -> int:
        """Save one logical message (its parts) for every chat; returns how many documents were new.
        ``lines[k]`` is part k's compact form, which lets the outbox merge it into a digest;
        ``reply_markup`` (inline buttons) goes on the last part."""
        if self.outbox is None or not self.enabled or not texts:
            return 0
        created = await self.outbox.enqueue(messages_for(dedup_key, texts, self.chats.configured, reply_markup,
                                                         lines=lines))
        self.wake()
        return created

    def wake(self) -> None:
        if self.worker is not None:
            self.worker.wake()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop``; just waits for it when there is nothing to deliver with."""
        if self.worker is None:
            await stop.wait()
            return
        await self.worker.run(stop)

    @property
    def stats(self) -> OutboxStats:
        """sent / retried / failed since start; depth and oldest_created_at as of the last pass."""
        return self.worker.stats if self.worker is not None else self._idle_stats
