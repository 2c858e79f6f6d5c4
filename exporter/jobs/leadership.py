"""The scheduler lease: exactly one instance leads, a standby takes over.

    leadership = Leadership(store, paths, clock, instance_id="a", lease=120, renew=60)
    next_due = await leadership.maintain()   # acquire, renew or step down
    if leadership.holds(clock.now()):
        ...                                   # write, stamped with leadership.generation

Acquiring reads the lock (or takes it from the watch that just showed it
free) and, when it is free, expired or ours, writes it on condition that
nobody wrote it since (create, or update on the version seen):
of several standbys that saw a release the first writer wins at once and the
others go back to following the watch. Renewing is a conditional update on the
version we last wrote, so it costs no read and succeeds only while nobody else
has written the lock. A
leader trusts its lease only until shortly before it could expire
(``domain.lease.trust_until``), so a leader whose renewals fail, or that was
paused, stops acting before a standby may start.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Callable

from exporter.clock import Clock
from exporter.domain import lease as rules
from exporter.domain.lease_heartbeats import carried
from exporter.store import AlreadyExists, Document, DocumentStore, NotFound, Paths, PreconditionFailed, StoreError
from exporter.store.paths import LOCK_NAME

log = logging.getLogger("longrun.lease")

# What a conditional write of the lock raises when another instance wrote it first.
_LOST_RACE = (PreconditionFailed, AlreadyExists, NotFound)


class Leadership:
    def __init__(
        self,
        store: DocumentStore,
        paths: Paths,
        clock: Clock,
        *,
        instance_id: str,
        deployment_id: str = "unknown",
        lease: float = 120.0,
        renew: float = 60.0,
        standby_poll: float = 5.0,
        lock_name: str = LOCK_NAME,
        on_change: Callable[[bool], None] | None = None,
    ) -> None:
        self.store, self.paths, self.clock = store, paths, clock
        self.instance_id, self.deployment_id = instance_id, deployment_id
        self.lease, self.renew, self.standby_poll = lease, renew, standby_poll
        self.lock_name = lock_name
        self.on_change = on_change
        # What the leader adds to every renewal (the runtime sets it: the newest heartbeats), and
        # what a standby last saw there, oldest first (exporter.domain.lease_heartbeats).
        self.carry: Callable[[], dict] | None = None
        self.carried: list[dict] = []
        self.carried_at: datetime | None = None
        self.is_leader = False
        self.leading_since: datetime | None = None
        self.generation = 0
        self.observed: rules.LeaseView | None = None
        self.lock_changed = asyncio.Event()
        self.stopped = False
        self._version: str | None = None
        self._trust_until: datetime | None = None
        self._next_due = clock.now()
        self._unwatch: Callable[[], None] | None = None
        self._unwatch_release: Callable[[], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changes_seen = 0
        self._last_change_at: datetime | None = None
        self._logged_standby_for: str | None = None
        # The lock as the watch last delivered it, while that showed it free (a 1-tuple: the document may be None).
        self._free_seen: tuple[Document | None] | None = None

    @property
    def path(self) -> str:
        return self.paths.lock(self.lock_name)

    def holds(self, now: datetime) -> bool:
        """True while this instance may act as leader: it holds a lease it still trusts."""
        return self.is_leader and not self.stopped and self._trust_until is not None and now < self._trust_until

    @property
    def lease_until(self) -> datetime | None:
        return self.observed.lease_until if self.observed else None

    @property
    def next_due(self) -> datetime:
        """When ``maintain`` next has work to do."""
        return self._next_due

    def start_watching(self) -> None:
        """Follow the lock document while standing by, where the backend can watch.

        The standby then learns of every renewal and release without reading,
        and tries to acquire only when the lease is free or has expired. A
        leader stops listening: a listener is billed for every change,
        its own renewals included.
        """
        self._loop = asyncio.get_running_loop()
        if not self.is_leader:
            self._subscribe()
        else:
            self._watch_forced_release()

    def _subscribe(self) -> None:
        if self._loop is None or self._unwatch is not None or self.stopped:
            return
        loop = self._loop

        def changed(doc: Document | None) -> None:
            _post(loop, self._on_lock_changed, doc)

        self._unwatch = self.store.watch(self.path, changed)

    def _unsubscribe(self) -> None:
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None

    def _watch_forced_release(self) -> None:
        """While leading, follow the release notice an operator's forced release writes
        (``Paths.lock_release``), so this leader steps down within a second instead of at
        its next renewal. It changes only on a forced release: a leader watching it pays
        almost nothing, where watching the lock itself would bill every renewal."""
        if self._loop is None or self._unwatch_release is not None:
            return
        loop = self._loop

        def changed(doc: Document | None) -> None:
            _post(loop, self._on_release_notice, doc.data if doc else None)

        self._unwatch_release = self.store.watch(self.paths.lock_release(self.lock_name), changed)

    def _unwatch_forced_release(self) -> None:
        if self._unwatch_release is not None:
            self._unwatch_release()
            self._unwatch_release = None

    def _on_release_notice(self, data: dict | None) -> None:
        generation = (data or {}).get("generation")
        if self.is_leader and generation == self.generation:
            by = (data or {}).get("releasedBy") or "an operator"
            self._step_down(self.clock.now(), f"the lock was released by hand ({str(by)[:80]})")

    def _on_lock_changed(self, doc: Document | None) -> None:
        view = rules.parse_lock(doc.data if doc else None)
        now = self.clock.now()
        log.debug("lock change seen: %s", _describe(view))
        self._changes_seen += 1
        self._last_change_at = now
        if self.is_leader:
            if view is not None and view.holder != self.instance_id:
                self._step_down(now, f"the lock now names {view.holder}")
            return
        self.observed = view
        self._take_carried(doc.data if doc else None, view)
        free = rules.can_acquire(view, self.instance_id, now)
        # Free: the next attempt writes on this very version, without reading it again.
        self._free_seen = (doc,) if free else None
        self._next_due = now if free else self._standby_due(now, view)
        self._log_holder(view)
        self.lock_changed.set()

    async def maintain(self) -> datetime:
        """Acquire, renew or step down as due; returns when to call again."""
        now = self.clock.now()
        if self.stopped:
            self._next_due = now + timedelta(days=365)
            return self._next_due
        if self.is_leader and not self.holds(now):
            self._step_down(now, "the lease could have expired before it was renewed")
        if now < self._next_due:
            return self._next_due
        if self.is_leader:
            await self._renew(now)
        else:
            await self._try_acquire(now)
        return self._next_due

    def retry_later(self, seconds: float) -> None:
        self._next_due = self.clock.now() + timedelta(seconds=seconds)

    async def release(self) -> None:
        """Give the lease up at once (on SIGTERM) so a standby takes over without waiting."""
        self.stopped = True
        self._unsubscribe()
        self._unwatch_forced_release()
        if not self.is_leader:
            return
        self.is_leader = False
        self.leading_since = None
        now = self.clock.now()
        try:
            await self.store.update(self.path, rules.release_fields(now), if_version=self._version)
            log.info("🔓 Lock released: %s (generation %s)", self.lock_name, self.generation)
        except StoreError as exc:
            log.warning("lock release failed (%s); the lease expires on its own at %s", exc.__class__.__name__, self.lease_until)
        self._notify(False)

    # ------------------------------------------------------------------ internals

    async def _try_acquire(self, started: datetime) -> None:
        changes_before = self._changes_seen
        seen, self._free_seen = self._free_seen, None
        log.debug("lock acquire attempt started (%s: %s)", "on the version the watch showed" if seen else "reading it; last seen",
                  _describe(self.observed))
        try:
            current = seen[0] if seen else await self.store.get(self.path)
            view = rules.parse_lock(current.data if current else None)
            self._take_carried(current.data if current else None, view)
            if not rules.can_acquire(view, self.instance_id, self.clock.now()):
                log.debug("lock acquire attempt found it held: %s", _describe(view))
                self._stand_by(view, changes_before)
                return
            doc = rules.lock_document(self.instance_id, self.deployment_id, started, self.lease,
                                      rules.next_generation(view, self.instance_id))
            written = await self._claim(current, doc)
        except _LOST_RACE as exc:
            log.debug("lock acquire attempt lost: another instance wrote the lock first (%s)", exc.__class__.__name__)
            self._after_lost_race(changes_before)
            return
        except StoreError as exc:
            self._next_due = started + timedelta(seconds=self.standby_poll)
            log.warning("lock: cannot reach the store to acquire %s (%s); retrying in %ss", self.lock_name, exc.__class__.__name__, self.standby_poll)
            return
        log.debug("lock acquire attempt committed: %s", _describe(rules.parse_lock(doc)))
        self._lead(started, rules.parse_lock(doc), written.version)

    async def _claim(self, current: Document | None, doc: dict) -> Document:
        """Write the lock only if nobody wrote it since we read it.

        A conditional write, not a transaction: among standbys that saw the same
        release the first write wins and the others fail at once. (Two Firestore
        transactions reading one document lock each other out: the emulator lets
        both wait about 2 s before aborting one.) Every write of the lock is
        conditional on the version read, so generations only grow.
        """
        if current is None:
            return await self.store.create(self.path, doc)
        if current.version is None:
            raise StoreError(f"{self.store.kind} returned the lock without a version; cannot write it safely")
        return await self.store.update(self.path, doc, if_version=current.version)

    def _lead(self, started: datetime, view: rules.LeaseView, version: str | None) -> None:
        self.observed = view
        self._version = version
        self.is_leader = True
        self.leading_since = started
        self.generation = view.generation
        self._trust_until = rules.trust_until(started, self.lease, self.renew)
        self._next_due = started + timedelta(seconds=self.renew)
        log.info("🔒 Lock acquired: %s (generation %s, instance %s)", self.lock_name, self.generation, self.instance_id)
        self._unsubscribe()
        self._watch_forced_release()
        self._logged_standby_for = None
        self._notify(True)

    def _stand_by(self, view: rules.LeaseView | None, changes_before: int) -> None:
        due = self._standby_due(self.clock.now(), view)
        if self._changes_seen != changes_before:
            # The watch spoke while we read, and may know something newer: keep the earlier wake-up.
            self._next_due = min(self._next_due, due)
        else:
            self.observed, self._next_due = view, due
        self._log_holder(view)

    def _log_holder(self, view: rules.LeaseView | None) -> None:
        """Say once per holder whom this standby follows (from a read or from the watch)."""
        if view is None or view.released or view.holder == self.instance_id or view.holder == self._logged_standby_for:
            return
        self._logged_standby_for = view.holder
        log.info("⏳ Standing by: %s held by %s until %s", self.lock_name, view.holder, view.lease_until.isoformat())

    def _after_lost_race(self, changes_before: int) -> None:
        """Another standby took the lock between our read and our write.

        Never wait for its lease to expire: the watch brings its lock within
        milliseconds and sets when to look next; if the watch says nothing (it
        died, or this backend cannot watch), read again after one standby poll.
        """
        retry = self.clock.now() + timedelta(seconds=self.standby_poll)
        self._next_due = min(self._next_due, retry) if self._changes_seen != changes_before else retry

    def _standby_due(self, now: datetime, view: rules.LeaseView | None) -> datetime:
        poll = timedelta(seconds=self.standby_poll)
        if self._watch_is_live(now):
            # A live watch wakes us on every change; poll only as a safety net (each poll is a read).
            poll = max(poll, timedelta(seconds=5 * self.lease))
        due = now + poll
        if view is not None and now < view.lease_until < due:
            due = view.lease_until
        return due

    def _watch_is_live(self, now: datetime) -> bool:
        """Watching, and heard from within two renewals (a leader renews that often)."""
        if self._unwatch is None:
            return False
        heard = self._last_change_at
        return heard is not None and (now - heard).total_seconds() <= 2 * self.renew

    async def _renew(self, started: datetime) -> None:
        try:
            try:
                await self._conditional_renew(started)
            except PreconditionFailed:
                if not await self._still_ours():
                    self._step_down(started, "another instance took the lock")
                    return
                await self._conditional_renew(started)
        except StoreError as exc:
            retry = max(0.2, min(self.renew / 4, 5.0))
            self._next_due = started + timedelta(seconds=retry)
            log.warning(
                "lock: renewal failed (%s); retrying in %.1fs, stepping down at %s if it keeps failing",
                exc.__class__.__name__, retry, self._trust_until.isoformat() if self._trust_until else "?",
            )

    def _take_carried(self, data: dict | None, view: rules.LeaseView | None) -> None:
        """Keep the heartbeats another leader carried on its lease (see ``carry``)."""
        if view is None or view.holder == self.instance_id:
            return
        self.carried = carried(data)
        updated = (data or {}).get("updatedAt")
        self.carried_at = updated if isinstance(updated, datetime) else None

    async def _conditional_renew(self, started: datetime) -> None:
        fields = {**rules.renewal_fields(started, self.lease), **(self.carry() if self.carry else {})}
        doc = await self.store.update(self.path, fields, if_version=self._version)
        self._version = doc.version
        self._trust_until = rules.trust_until(started, self.lease, self.renew)
        self._next_due = started + timedelta(seconds=self.renew)
        self.observed = rules.LeaseView(self.instance_id, fields["leaseUntil"], self.generation)

    async def _still_ours(self) -> bool:
        """A renewal whose answer was lost leaves us with an old version: check before giving up."""
        doc = await self.store.get(self.path)
        view = rules.parse_lock(doc.data if doc else None)
        if view and view.holder == self.instance_id and view.generation == self.generation and not view.released:
            self._version = doc.version
            return True
        self.observed = view
        return False

    def _step_down(self, now: datetime, why: str) -> None:
        if not self.is_leader:
            return
        self.is_leader = False
        self.leading_since = None
        self._trust_until = None
        self._next_due = now
        log.warning("🔓 Stepping down from %s (generation %s): %s", self.lock_name, self.generation, why)
        self._unwatch_forced_release()
        self._subscribe()
        self._notify(False)

    def _notify(self, leading: bool) -> None:
        if self.on_change:
            self.on_change(leading)


def _describe(view: rules.LeaseView | None) -> str:
    if view is None:
        return "no lock"
    state = "released" if view.released else f"until {view.lease_until.isoformat()}"
    return f"{view.holder} generation {view.generation}, {state}"


def _post(loop: asyncio.AbstractEventLoop, callback, *args) -> None:
    """Hand a watcher thread's news to the loop; a loop already closed (the process or test
    is shutting down, the watch not yet stopped) has nobody left to tell."""
    try:
        loop.call_soon_threadsafe(callback, *args)
    except RuntimeError:
        if not loop.is_closed():
            raise
