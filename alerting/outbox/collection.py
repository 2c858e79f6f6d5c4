"""The outbox collection: save the message first, deliver it after.

Each message is a document ``{root}/outbox/{messageId}`` (see ``messages``), so
saving the same logical message again is a no-op. ``merge`` saves a digest in
place of the messages it is made of, in one transaction.

    outbox = Outbox(store, paths, clock)
    await outbox.enqueue(messages_for(key, texts, chats.configured))   # how many were new
    await outbox.pending(limit=100)     # incident messages first (P1 first), then bulk

Document fields: chatId, text, part, seq (order within one enqueue), priority, lines (the compact form
a digest is made of), createdAt, nextAttemptAt, attempts, status (pending | sent | failed | merged),
dedupKey, sentAt, lastError, claimedBy, claimedUntil, telegramMessageId, configuredChatId, mergedInto,
and replyMarkup (the inline buttons as JSON text) when it has any.

Firestore needs a composite index on (status ==, priority asc, createdAt asc, seq asc); documents
saved before 0.3 (no priority) get one when a worker starts (``give_priorities``).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Iterable, Sequence

from alerting import digest
from alerting.outbox.messages import BULK, MERGED, PENDING, OutgoingMessage
from alerting.telegram.format import LIMIT, utf16_len
from exporter.clock import Clock
from exporter.store.base import (
    MAX_BATCH, AlreadyExists, Document, DocumentStore, Filter, Order, Transaction, TransactionConflict, Write,
)
from exporter.store.paths import Paths


class Outbox:
    """The outbox collection: enqueue, and what is waiting."""

    def __init__(self, store: DocumentStore, paths: Paths, clock: Clock) -> None:
        self._store = store
        self._collection = paths.outbox
        self._clock = clock

    def path(self, message_id: str) -> str:
        return f"{self._collection}/{message_id}"

    async def enqueue(self, messages: Iterable[OutgoingMessage]) -> int:
        """Save messages for delivery, to be sent in this order; returns how many were new."""
        messages = list(messages)
        for m in messages:
            if utf16_len(m.text) > LIMIT or not m.text:
                raise ValueError(f"message part {m.part} for chat {m.chat_id} is empty or longer than {LIMIT}")
        now = self._clock.now()
        documents = {self.path(m.message_id): _document(m, seq, now) for seq, m in enumerate(messages)}
        existing = await self._store.get_many(list(documents))
        new = [(path, data) for path, data in documents.items() if existing.get(path) is None]
        created = 0
        for start in range(0, len(new), MAX_BATCH):
            chunk = new[start:start + MAX_BATCH]
            try:
                await self._store.batch([Write("create", path, data) for path, data in chunk])
                created += len(chunk)
            except AlreadyExists:  # another instance saved some of them meanwhile: one at a time
                created += await self._create_each(chunk)
        return created

    async def _create_each(self, documents: Sequence[tuple[str, dict]]) -> int:
        created = 0
        for path, data in documents:
            try:
                await self._store.create(path, data)
                created += 1
            except AlreadyExists:
                pass
        return created

    async def pending(self, limit: int | None = None) -> list[Document]:
        """Pending messages: incident messages first (P1 first), then bulk; oldest first in each."""
        return await self._store.query(self._collection, where=[Filter("status", "==", PENDING)],
                                       order_by=[Order("priority"), Order("createdAt"), Order("seq")], limit=limit)

    async def give_priorities(self) -> int:
        """Give a priority to pending messages saved before 0.3 (a query ordered by it would miss them)."""
        given = 0
        async for doc in self._store.stream(self._collection, where=[Filter("status", "==", PENDING)],
                                            order_by=[Order("createdAt"), Order("seq")]):
            if "priority" not in doc.data:
                urgent = str(doc.data.get("dedupKey", "")).startswith("incident:")
                await self._store.update(doc.path, {"priority": 3 if urgent else BULK})
                given += 1
        return given

    async def merge(self, sources: Sequence[Document], made: digest.Digest) -> bool:
        """Save ``made`` in place of its sources, in one transaction; False (nothing written) when one of
        them changed since it was read (claimed, sent, merged elsewhere)."""
        first = sources[0]
        digest_id = hashlib.sha256("\0".join(made.sources).encode()).hexdigest()[:40]

        async def work(tx: Transaction) -> bool:
            for source in sources:
                current = await tx.get(source.path)
                if current is None or current.version != source.version:
                    return False
            tx.create(self.path(digest_id), {
                **{k: first.data.get(k) for k in ("chatId", "configuredChatId", "createdAt", "seq", "nextAttemptAt")},
                "text": made.text, "lines": list(made.lines), "part": 1, "priority": BULK,
                "dedupKey": f"digest:{digest_id}", "attempts": 0, "status": PENDING, "sentAt": None,
                "lastError": None, "claimedBy": None, "claimedUntil": None,
            })
            for source in sources:
                tx.update(source.path, {"status": MERGED, "mergedInto": digest_id, "mergedAt": self._clock.now()})
            return True

        try:
            return await self._store.transaction(work)
        except (AlreadyExists, TransactionConflict):
            return False

    async def depth(self) -> int:
        return await self._store.count(self._collection, where=[Filter("status", "==", PENDING)])

    async def sent_since(self, since: datetime) -> list[tuple[str, datetime]]:
        """(chat, sentAt) of every message sent at or after ``since``, oldest first."""
        docs = await self._store.query(self._collection, where=[Filter("sentAt", ">=", since)],
                                       order_by=[Order("sentAt")])
        return [(d.data["chatId"], d.data["sentAt"]) for d in docs]

    async def oldest_created_at(self) -> datetime | None:
        oldest = await self._store.query(self._collection, where=[Filter("status", "==", PENDING)],
                                         order_by=[Order("createdAt"), Order("seq")], limit=1)
        return oldest[0].data["createdAt"] if oldest else None


def _document(m: OutgoingMessage, seq: int, now: datetime) -> dict:
    return {
        "chatId": m.chat_id, "configuredChatId": m.chat_id, "text": m.text, "part": m.part, "seq": seq,
        "priority": m.priority, "lines": list(m.lines),
        "dedupKey": m.dedup_key, "createdAt": now, "nextAttemptAt": now, "attempts": 0,
        "status": PENDING, "sentAt": None, "lastError": None, "claimedBy": None, "claimedUntil": None,
        # JSON text: Firestore cannot hold the keyboard's array of arrays.
        **({"replyMarkup": json.dumps(m.reply_markup)} if m.reply_markup else {}),
    }
