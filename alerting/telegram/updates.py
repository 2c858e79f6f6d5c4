"""Pulling Telegram updates: only the leader polls, and each update is handled exactly once.

The leader long-polls ``getUpdates`` from the offset kept in the store
(``{root}/telegram/updates``: ``offset``, ``updatedAt``, ``updatedBy``). Each
update is claimed before it is handled, by creating
``{root}/telegram_updates/{update_id}`` (a conditional write: of two instances,
one wins); a claim already there means the update was handled (``done``) or is
being handled, and it is skipped. After handling, the claim is marked done and
the stored offset moves past the update. So:

- a takeover in the middle of a batch loses nothing: the old leader stops
  before the next update once it no longer trusts its lease, and the new one
  starts from the stored offset, which Telegram has not confirmed past either;
- nothing is handled twice: an update Telegram delivers again (a duplicate, or
  an offset not yet stored) finds its claim;
- a claim left by an instance that died while handling expires after
  ``claim_timeout`` and the update is handled again (the only repeat, and the
  actions refuse to apply twice anyway).

Claims older than a day are pruned. The bot never calls ``setWebhook``; a
webhook set by someone else makes ``getUpdates`` fail with 409, which is
logged with the fix.

    poller = UpdatePoller(api, store, paths, clock, leadership, dispatch, instance_id="a")
    await poller.run(stop)               # every instance runs it; only the leader polls
    handled = await poller.poll_once()   # tests: one getUpdates and its updates
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import Any, Awaitable, Callable, Protocol

from alerting.telegram.bot_api import BotApi, BotApiError
from exporter.clock import Clock
from exporter.store import AlreadyExists, DocumentStore, Filter, Paths, PreconditionFailed, StoreError

log = logging.getLogger("longrun.chatops")

DONE, HANDLING = "done", "handling"


class Leading(Protocol):
    """What the poller asks of ``exporter.jobs.leadership.Leadership``."""

    standby_poll: float

    def holds(self, now: datetime) -> bool: ...


CLAIM_RETENTION = timedelta(days=1)
BACKOFF_CAP = 30.0


class UpdatePoller:
    def __init__(self, api: BotApi, store: DocumentStore, paths: Paths, clock: Clock, leadership: Leading,
                 dispatch: Callable[[dict[str, Any]], Awaitable[str]], *, instance_id: str,
                 poll_timeout: float = 25.0, claim_timeout: float = 60.0) -> None:
        self.api, self.store, self.clock, self.leadership = api, store, clock, leadership
        self.dispatch = dispatch
        self.instance_id = instance_id
        self.poll_timeout = poll_timeout
        self.claim_timeout = timedelta(seconds=claim_timeout)
        self.cursor_path = f"{paths.root}/telegram/updates"
        self.claims = f"{paths.root}/telegram_updates"
        self.results: Counter = Counter()   # handled updates by result, for the metrics layer
        self.errors: Counter = Counter()    # poll failures by kind ("telegram", "store", "conflict")
        self.last_poll: datetime | None = None
        self._failures = 0
        self._pruned_at: datetime | None = None

    # ------------------------------------------------------------ the loop

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            now = self.clock.now()
            if not self.leadership.holds(now):
                await self.clock.wait_until(now + timedelta(seconds=min(self.leadership.standby_poll, 5.0)), stop)
                continue
            delay = await self._guarded(stop)
            if delay:
                await self.clock.wait_until(self.clock.now() + timedelta(seconds=delay), stop)

    async def _guarded(self, stop: asyncio.Event) -> float:
        """One poll, stopped early by ``stop``; returns how long to back off (0: poll again now)."""
        poll = asyncio.ensure_future(self.poll_once())
        halt = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait([poll, halt], return_when=asyncio.FIRST_COMPLETED)
        finally:
            halt.cancel()
            if not poll.done():
                poll.cancel()
            await asyncio.gather(poll, halt, return_exceptions=True)
        if poll.cancelled():
            return 0.0
        error = poll.exception()
        if error is None:
            self._failures = 0
            return 0.0
        if not isinstance(error, (BotApiError, StoreError)):
            # A bug here must not stop the service (the heartbeats, the webhook): log it, back off, go on.
            self.errors["internal"] += 1
            log.error("chat-ops: polling Telegram updates failed unexpectedly; retrying in %gs", BACKOFF_CAP,
                      exc_info=error)
            return BACKOFF_CAP
        return self._on_failure(error)

    def _on_failure(self, error: Exception) -> float:
        self._failures += 1
        delay = min(BACKOFF_CAP, 2.0 ** min(self._failures - 1, 5))
        if isinstance(error, BotApiError) and error.retry_after:
            delay = max(delay, error.retry_after)
        if isinstance(error, StoreError):
            self.errors["store"] += 1
            log.warning("chat-ops: store unavailable while polling Telegram updates (%s); retrying in %gs", error, delay)
        elif error.status == 409 and "webhook" in str(error).lower():
            self.errors["conflict"] += 1
            log.error("chat-ops: a webhook is set on this bot, so getUpdates is refused; longrun never uses "
                      "webhooks: delete it (Bot API deleteWebhook) to get buttons and commands working")
        elif error.status == 409:
            self.errors["conflict"] += 1
            log.info("chat-ops: another getUpdates took over (%s): expected once at a leader change; if it "
                     "repeats, another process polls with the same TELEGRAM_BOT_TOKEN", error)
        else:
            self.errors["telegram"] += 1
            log.warning("chat-ops: getUpdates failed (%s); retrying in %gs", error, delay)
        return delay

    # ------------------------------------------------------------ one poll

    async def poll_once(self) -> int:
        """One getUpdates from the stored offset; handles what it returns; returns how many it handled."""
        offset = await self.offset()
        updates = await self.api.get_updates(offset, self.poll_timeout)
        self.last_poll = self.clock.now()
        handled = 0
        for update in sorted(updates, key=_update_id):
            update_id = _update_id(update)
            if update_id < 0 or (offset is not None and update_id < offset):
                continue  # malformed, or confirmed already
            if not self.leadership.holds(self.clock.now()):
                log.info("chat-ops: lease lost mid-batch; update %d and later are left to the next leader", update_id)
                break
            if await self._claim(update_id):
                result = await self._handle(update)
                self.results[result] += 1
                handled += 1
                await self.store.update(f"{self.claims}/{update_id}", {"status": DONE, "result": result,
                                                                       "handledAt": self.clock.now()})
            else:
                self.results["duplicate"] += 1
                log.info("chat-ops: update %d was handled already (duplicate delivery), skipped", update_id)
            offset = await self._advance(update_id + 1)
        await self._prune()
        return handled

    async def offset(self) -> int | None:
        doc = await self.store.get(self.cursor_path)
        value = doc.get("offset") if doc is not None else None
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    async def _handle(self, update: dict[str, Any]) -> str:
        try:
            return await self.dispatch(update)
        except StoreError:
            raise
        except Exception:  # one bad update must not stop the others: it is logged and counted
            log.exception("chat-ops: update %s could not be handled", _update_id(update))
            return "error"

    async def _claim(self, update_id: int) -> bool:
        path, now = f"{self.claims}/{update_id}", self.clock.now()
        fields = {"updateId": update_id, "status": HANDLING, "claimedBy": self.instance_id,
                  "claimedUntil": now + self.claim_timeout, "claimedAt": now}
        try:
            await self.store.create(path, fields)
            return True
        except AlreadyExists:
            pass
        existing = await self.store.get(path)
        if existing is None or existing.get("status") == DONE:
            return False
        until = existing.get("claimedUntil")
        if isinstance(until, datetime) and until > now:
            return False
        try:  # its handler died: take the update over
            await self.store.update(path, fields, if_version=existing.version)
        except PreconditionFailed:
            return False
        log.warning("chat-ops: update %d was claimed by %s, which did not finish; handling it again",
                    update_id, existing.get("claimedBy"))
        return True

    async def _advance(self, offset: int) -> int:
        """Move the stored offset to ``offset`` unless it is further already; returns the stored offset."""
        async def work(tx) -> int:
            current = await tx.get(self.cursor_path)
            stored = current.get("offset") if current is not None else None
            if isinstance(stored, int) and stored >= offset:
                return stored
            tx.set(self.cursor_path, {"offset": offset, "updatedAt": self.clock.now(), "updatedBy": self.instance_id})
            return offset

        return await self.store.transaction(work)

    async def _prune(self) -> None:
        now = self.clock.now()
        if self._pruned_at is not None and now - self._pruned_at < timedelta(hours=1):
            return
        self._pruned_at = now
        await self.store.delete_where(self.claims, where=[Filter("claimedAt", "<", now - CLAIM_RETENTION)])


def _update_id(update: Any) -> int:
    value = update.get("update_id") if isinstance(update, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else -1
