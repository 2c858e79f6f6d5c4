"""Delivery: claim a pending message, pace it, send it, record the result.

Workers claim a message with a conditional update before sending it, so two
instances never send the same message twice; a claim left by a worker that died
mid-send expires after ``claim_timeout`` and the message is sent again.
Incident messages go first, P1 before P2 before P3, then the bulk, each lane in
createdAt order. Bulk leaves part of a group's per-minute sends to incident
messages (``Limits.urgent_reserve``). When a chat's pending bulk is more than its
rate lets through in the next minute, the worker merges it into digests
(``alerting.digest``, saved by ``Outbox.merge``): nothing is dropped or sent
twice, and a digest takes the place of its first message, so the order is kept.

    worker = OutboxWorker(store, paths, client, Pacer(clock), clock, chats)
    worker.wake()                       # after an enqueue: don't wait for the next poll
    await worker.run(stop_event)        # or: await worker.run_once()
    worker.stats.depth                  # what the metrics layer reads
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable, Sequence

from alerting import digest
from alerting.outbox.backoff import BACKOFF_CAP, backoff_delay
from alerting.outbox.collection import Outbox
from alerting.outbox.messages import BULK, FAILED, PENDING, SENT
from alerting.outbox.routes import ChatRoutes
from alerting.telegram.client import Delivered, Migrated, Permanent, RetryAfter, SendResult, TelegramClient, Transient
from alerting.telegram.pacing import Pacer
from exporter.clock import Clock
from exporter.store.base import Document, DocumentStore, NotFound, PreconditionFailed, StoreError
from exporter.store.paths import Paths

log = logging.getLogger(__name__)

# The longest window of Telegram's limits (20 a minute per group): what a starting worker recalls.
PACING_MEMORY = timedelta(minutes=1)


@dataclass
class OutboxStats:
    """Counters since start, and the backlog as of the last pass; for the metrics layer to read."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    migrated: int = 0
    merged: int = 0   # messages merged into digests
    digests: int = 0  # digests made
    depth: int = 0
    oldest_created_at: datetime | None = None


@dataclass(frozen=True)
class Pass:
    attempted: int
    next_due: datetime | None
    paced_until: datetime | None = None  # when the first message held only by the pacing may go


class OutboxWorker:
    """Delivers due pending messages in createdAt order, one claim at a time."""

    def __init__(
        self,
        store: DocumentStore,
        paths: Paths,
        client: TelegramClient,
        pacer: Pacer,
        clock: Clock,
        chats: ChatRoutes | Iterable[str],
        *,
        worker_id: str | None = None,
        claim_timeout: float = 60.0,
        poll_interval: float = 30.0,
        backoff_base: float = 1.0,
        backoff_cap: float = BACKOFF_CAP,
        give_up_after: float = 86400.0,
        batch_size: int = 100,
        rng: random.Random | None = None,
    ) -> None:
        self._store = store
        self._outbox = Outbox(store, paths, clock)
        self._client = client
        self._pacer = pacer
        self._clock = clock
        self.chats = chats if isinstance(chats, ChatRoutes) else ChatRoutes(chats)
        self.worker_id = worker_id or uuid.uuid4().hex[:12]
        self._claim_timeout = timedelta(seconds=claim_timeout)
        self._poll = timedelta(seconds=poll_interval)
        self._backoff = (backoff_base, backoff_cap)
        self._give_up_after = timedelta(seconds=give_up_after)
        self._batch_size = batch_size
        self._rng = rng or random.Random()
        self._wake = asyncio.Event()
        self._started = False
        self.stats = OutboxStats()

    def wake(self) -> None:
        """Look at the outbox now rather than at the next poll (call after an enqueue)."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        if not self._started:  # the pacer remembers this worker's own sends across runs
            await self._remember_recent_sends()
            await self._give_priorities()
            self._started = True
        while not stop.is_set():
            try:
                done = await self._pass(stop)
                idle_until = self._clock.now() + self._poll
                if done.attempted and done.next_due is None:
                    continue
                if done.next_due is not None:  # the next message a chat's pacing or retry lets go
                    idle_until = min(idle_until, max(done.next_due, self._clock.now() + timedelta(milliseconds=100)))
            except StoreError as exc:
                log.warning("outbox: store unavailable, retrying in %s: %s", self._poll, exc)
                idle_until = self._clock.now() + self._poll
            await self._idle(idle_until, stop)

    async def _remember_recent_sends(self) -> None:
        """Count the last minute's sends (of any process: a restart included) against the limits."""
        try:
            sent = await self._outbox.sent_since(self._clock.now() - PACING_MEMORY)
        except StoreError as exc:
            log.warning("outbox: could not read the last minute's sends (%s); pacing starts from zero, "
                        "and Telegram's 429 answers, which are honoured, cover the rest", exc)
            return
        for chat, when in sent:
            self._pacer.record(chat, when)

    async def _give_priorities(self) -> None:
        try:
            given = await self._outbox.give_priorities()
        except StoreError as exc:
            log.warning("outbox: could not give pending messages of an older version a priority (%s); "
                        "on Firestore they wait until a worker starts with the store up", exc)
            return
        if given:
            log.info("outbox: %d pending message(s) saved by an older version now queued by priority", given)

    async def run_once(self) -> Pass:
        """Deliver every message due now, waiting out the pacing between them (not a 429's or a backoff's
        wait); returns how many sends were attempted and when more fall due."""
        attempted = 0
        while True:
            done = await self._pass(None)
            attempted += done.attempted
            if not done.attempted and done.paced_until is None:
                return Pass(attempted, done.next_due)
            if not done.attempted:
                await self._clock.sleep_until(done.paced_until)

    async def _pass(self, stop: asyncio.Event | None) -> Pass:
        docs = await self._outbox.pending(self._batch_size)
        if await self._merge_backlogs(docs):
            docs = await self._outbox.pending(self._batch_size)
        await self._update_backlog(docs, set())
        held: set[str] = set()  # chats whose earlier message is waiting: keep their order
        finished: set[str] = set()
        attempted, next_due, paced_until = 0, None, None
        for doc in docs:
            if stop is not None and stop.is_set():
                break
            chat = self.chats.resolve(doc.data["chatId"])
            if chat in held:
                continue
            waiting, paced = self._not_before(doc, chat)
            if max(waiting, paced) > self._clock.now():
                held.add(chat)
                next_due = min(next_due or max(waiting, paced), max(waiting, paced))
                if waiting <= self._clock.now():
                    paced_until = min(paced_until or paced, paced)
                continue
            outcome = await self._deliver(doc, chat)
            if outcome is None:
                held.add(chat)  # another worker has it
                continue
            attempted += 1
            held.add(chat)  # its next message waits for the pacing: look again in the next pass
            status, retry_at = outcome
            if status != PENDING:
                finished.add(doc.path)
            if retry_at is not None:
                held.update((chat, self.chats.resolve(chat)))  # a migrated chat is held at its new id too
                next_due = min(next_due or retry_at, retry_at)
        await self._update_backlog(docs, finished)
        return Pass(attempted, next_due, paced_until)

    def _not_before(self, doc: Document, chat: str) -> tuple[datetime, datetime]:
        """(when its retry, a 429 or another worker's claim lets it go, when the pacing does)."""
        now = self._clock.now()
        moments = [doc.data["nextAttemptAt"], self._pacer.blocked_until(chat) or now]
        if doc.data.get("claimedUntil") is not None:
            moments.append(doc.data["claimedUntil"])
        return max(moments), self._pacer.ready_at(chat, now, bulk=_is_bulk(doc))

    # ------------------------------------------------------------ digests

    async def _merge_backlogs(self, docs: list[Document]) -> bool:
        """Merge each chat's pending bulk into digests when it is more than the next minute lets through."""
        now, merged = self._clock.now(), False
        for chat, queue in _bulk_by_chat(docs, self.chats).items():
            allowance = self._pacer.allowance(chat, now, bulk=True)
            if len(queue) <= allowance:
                continue
            by_id = {doc.id: doc for doc in queue}
            plan = digest.plan([_digest_item(doc, now) for doc in queue])
            for made in plan:
                if await self._outbox.merge([by_id[i] for i in made.sources], made):
                    self.stats.merged += len(made.sources)
                    self.stats.digests += 1
                    merged = True
            if plan:
                log.warning("outbox: chat %s has %d bulk message(s) pending, more than the %d Telegram lets "
                            "through in the next minute: merged into %d digest(s); incident messages still go "
                            "first and alone", chat, len(queue), allowance, len(plan))
        return merged

    async def _deliver(self, doc: Document, chat: str) -> tuple[str, datetime | None] | None:
        """Pace, claim, send, record. None when another worker claimed it first."""
        await self._pacer.acquire(chat, bulk=_is_bulk(doc))
        claimed = await self._claim(doc, chat)
        if claimed is None:
            return None
        markup = doc.data.get("replyMarkup")
        result = await self._client.send(chat, doc.data["text"], json.loads(markup) if markup else None)
        return await self._record(claimed, chat, result)

    async def _claim(self, doc: Document, chat: str) -> Document | None:
        if doc.version is None:
            raise StoreError("the store returned a document without a version: claims need conditional writes")
        fields = {"claimedBy": self.worker_id, "claimedUntil": self._clock.now() + self._claim_timeout,
                  "attempts": int(doc.data.get("attempts", 0)) + 1, "chatId": chat}
        try:
            written = await self._store.update(doc.path, fields, if_version=doc.version)
        except (PreconditionFailed, NotFound):
            return None
        # update() promises the new version, not the whole document: merge what we wrote.
        return Document(doc.path, {**doc.data, **fields}, written.version)

    async def _record(self, claimed: Document, chat: str, result: SendResult) -> tuple[str, datetime | None]:
        now = self._clock.now()
        fields, retry_at = self._outcome(claimed, chat, result, now)
        fields.update(claimedBy=None, claimedUntil=None)
        try:
            await self._store.update(claimed.path, fields, if_version=claimed.version)
        except PreconditionFailed:
            # Our claim expired mid-send and another worker took the message over.
            log.warning("outbox %s: claim lost while sending (%s)", claimed.id, type(result).__name__)
            if isinstance(result, Delivered):
                await self._store.update(claimed.path, fields)  # it was delivered: say so
        status = fields.get("status", PENDING)
        if status != PENDING:  # counted once saved: whoever reads these figures finds the store agreeing
            self.stats.sent += status == SENT
            self.stats.failed += status == FAILED
            self.stats.depth = max(0, self.stats.depth - 1)  # current while the pass goes on
        return status, retry_at

    def _outcome(self, claimed: Document, chat: str, result: SendResult, now: datetime) -> tuple[dict, datetime | None]:
        """The fields to write for a send result, and when to try again (None: finished)."""
        attempts = int(claimed.data.get("attempts", 1))
        if isinstance(result, Delivered):
            return {"status": SENT, "sentAt": now, "telegramMessageId": result.message_id, "lastError": None}, None
        if isinstance(result, Migrated) and result.new_chat_id != chat:
            self.chats.migrate(chat, result.new_chat_id)
            self.stats.migrated += 1
            return {"chatId": result.new_chat_id, "nextAttemptAt": now,
                    "lastError": f"chat {chat} migrated to {result.new_chat_id}"}, now
        if isinstance(result, Permanent) or isinstance(result, Migrated):
            reason = result.reason if isinstance(result, Permanent) else "migrated to the same chat"
            return self._failed(reason, now), None
        if isinstance(result, RetryAfter):
            retry_at, error = now + timedelta(seconds=result.seconds), f"429: retry after {result.seconds:g}s"
            self._pacer.block(chat, retry_at)
        else:
            assert isinstance(result, Transient)
            delay = backoff_delay(attempts, self._rng, *self._backoff)
            retry_at, error = now + timedelta(seconds=delay), result.reason
        if now - claimed.data["createdAt"] >= self._give_up_after:
            return self._failed(f"gave up after {attempts} attempts: {error}", now), None
        self.stats.retried += 1
        return {"nextAttemptAt": retry_at, "lastError": error}, retry_at

    def _failed(self, reason: str, now: datetime) -> dict:
        log.error("outbox: message failed permanently: %s", reason)
        return {"status": FAILED, "failedAt": now, "lastError": reason}

    async def _update_backlog(self, docs: list[Document], finished: set[str]) -> None:
        """The backlog as of now: from the page when it holds every pending message, else counted
        (at the start of a pass; at its end the sends are taken off in memory)."""
        if len(docs) < self._batch_size:
            remaining = [d.data["createdAt"] for d in docs if d.path not in finished]
            self.stats.depth = len(remaining)
            self.stats.oldest_created_at = min(remaining) if remaining else None
        elif not finished:
            self.stats.depth = await self._outbox.depth()
            self.stats.oldest_created_at = await self._outbox.oldest_created_at()

    async def _idle(self, until: datetime, stop: asyncio.Event) -> None:
        await self._clock.wait_until(until, stop, self._wake)
        self._wake.clear()


def _is_bulk(doc: Document) -> bool:
    return doc.data.get("priority", BULK) >= BULK


def _bulk_by_chat(docs: Sequence[Document], chats: ChatRoutes) -> dict[str, list[Document]]:
    queues: dict[str, list[Document]] = {}
    for doc in docs:
        if _is_bulk(doc):
            queues.setdefault(chats.resolve(doc.data["chatId"]), []).append(doc)
    return queues


def _digest_item(doc: Document, now: datetime) -> digest.Source | digest.Barrier:
    """A pending message as a digest source; a barrier when it is being sent or has no compact form."""
    lines = doc.data.get("lines")
    claimed = doc.data.get("claimedUntil")
    if not lines or (claimed is not None and claimed > now):
        return digest.Barrier()
    return digest.Source(doc.id, tuple(str(line) for line in lines))
