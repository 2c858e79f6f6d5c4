"""Where each configured chat now lives: a group upgraded to a supergroup moves.

    chats = ChatRoutes(["-100123"])
    chats.migrate("-100123", "-100456")   # Telegram answered "migrated"
    chats.resolve("-100123")              # "-100456"
"""

from __future__ import annotations

import logging
from typing import Iterable

log = logging.getLogger(__name__)


class ChatRoutes:
    """The configured chats, and where each now lives: a group upgraded to a supergroup moves.

    Messages keep the configured chat id in their id (so dedup survives a move);
    the worker resolves it to the current chat at send time.
    """

    def __init__(self, chat_ids: Iterable[str]) -> None:
        self.configured: tuple[str, ...] = tuple(str(chat) for chat in chat_ids)
        self._moved: dict[str, str] = {}

    def resolve(self, chat_id: str) -> str:
        chat_id, seen = str(chat_id), set()
        while chat_id in self._moved and chat_id not in seen:
            seen.add(chat_id)
            chat_id = self._moved[chat_id]
        return chat_id

    def migrate(self, old: str, new: str) -> None:
        log.warning("telegram chat %s moved to %s: update TELEGRAM_CHAT_ID", old, new)
        self._moved[str(old)] = str(new)

    @property
    def moved(self) -> dict[str, str]:
        return dict(self._moved)
