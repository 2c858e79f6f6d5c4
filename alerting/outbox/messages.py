"""What an outgoing message is: its id, its place in the queue, its states.

The id is derived from a dedup key, the chat and the part number, so enqueueing
the same logical message again (an HA Alertmanager duplicate, a webhook retry, a
repeat) is a no-op. ``priority`` is 1-3 for an incident message of that severity
and ``BULK`` (9) for group notifications and digests.

    messages = messages_for("incident:abc", ["text"], ["-100123"], priority=priority_for("P1"))
    messages[0].message_id              # the same for the same key, chat and part
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterable, Sequence

PENDING, SENT, FAILED, MERGED = "pending", "sent", "failed", "merged"
BULK = 9  # group notifications and digests; incident messages go first, by severity
_INCIDENT_PRIORITY = {"P1": 1, "P2": 2, "P3": 3}


def priority_for(severity: object) -> int:
    """An incident message's place in the queue: P1 first; an unknown severity as P3."""
    return _INCIDENT_PRIORITY.get(str(severity), 3)


@dataclass(frozen=True)
class OutgoingMessage:
    chat_id: str
    text: str
    dedup_key: str
    part: int = 1
    reply_markup: dict | None = None  # inline buttons (chat-ops), on the last part only
    priority: int = BULK
    lines: tuple[str, ...] = ()  # the compact form a digest is made of; none: never merged

    @property
    def message_id(self) -> str:
        return message_id(self.dedup_key, self.chat_id, self.part)


def message_id(dedup_key: str, chat_id: str, part: int) -> str:
    """The outbox document id: the same logical message always gets the same id."""
    return hashlib.sha256(f"{dedup_key}\0{chat_id}\0{part}".encode()).hexdigest()[:40]


def messages_for(dedup_key: str, texts: Sequence[str], chat_ids: Iterable[str],
                 reply_markup: dict | None = None, *, priority: int = BULK,
                 lines: Sequence[Sequence[str]] = ()) -> list[OutgoingMessage]:
    """Every part of one logical message, for every chat; ``reply_markup`` goes on the last part,
    ``lines[k]`` is part k's compact form."""
    return [OutgoingMessage(str(chat), text, dedup_key, part, reply_markup if part == len(texts) else None,
                            priority, tuple(lines[part - 1]) if part <= len(lines) else ())
            for chat in chat_ids for part, text in enumerate(texts, start=1)]
