"""Who may act from Telegram, where, and how they are named on an incident. Pure.

``TELEGRAM_ADMIN_IDS`` lists the user ids allowed to act; without it chat-ops
is off (no buttons, no commands). Actions are accepted from the alert chats
(``TELEGRAM_CHAT_ID``), the escalation chat, and a private chat with an
allowed user; anything from another chat is foreign and changes nothing.

    access = Access(admin_ids={"111"}, chat_ids={"-100"})
    access.allowed_user({"id": 111, "username": "alice"})      # True
    access.known_chat({"id": -100, "type": "supergroup"})      # True
    owner_name({"id": 111, "username": "alice"})               # '@alice'
    owner_name({"id": 222, "first_name": "Bo"})                # 'Bo (id 222)'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

_USERNAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_NAME_LIMIT = 64


@dataclass(frozen=True)
class Access:
    admin_ids: frozenset[str]
    chat_ids: frozenset[str]

    def __init__(self, admin_ids: Iterable[str], chat_ids: Iterable[str]) -> None:
        object.__setattr__(self, "admin_ids", frozenset(str(i) for i in admin_ids))
        object.__setattr__(self, "chat_ids", frozenset(str(c) for c in chat_ids))

    @property
    def enabled(self) -> bool:
        return bool(self.admin_ids)

    def allowed_user(self, user: Any) -> bool:
        return isinstance(user, Mapping) and str(user.get("id")) in self.admin_ids

    def known_chat(self, chat: Any) -> bool:
        """An alert or escalation chat, or a private chat (whose sender is then checked)."""
        if not isinstance(chat, Mapping):
            return False
        return str(chat.get("id")) in self.chat_ids or chat.get("type") == "private"


def owner_name(user: Mapping[str, Any]) -> str:
    """``@username`` when the user has one, else their name and id."""
    username = user.get("username")
    if isinstance(username, str) and _USERNAME.match(username):
        return f"@{username}"
    parts = [str(user.get(k) or "").strip() for k in ("first_name", "last_name")]
    name = " ".join(p for p in parts if p)[:_NAME_LIMIT] or "user"
    return f"{name} (id {user.get('id')})"
