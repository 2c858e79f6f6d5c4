"""Several standbys after one release: the first write wins at once, the others never wait for its lease.

Issue 19: acquiring was a read-then-write transaction; two standbys that saw
the same release locked each other out on Firestore for about 2 s, and the
loser then waited on the winner's lease. Here the standbys read, then both
write on what they read (a gate holds the writes until both have read).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from exporter.jobs.leadership import Leadership
from exporter.store import Paths
from tests.jobs.cluster import FaultyStore

LOCK = Paths().lock()
LEASE, RENEW, POLL = 120.0, 60.0, 5.0


class GatedStore(FaultyStore):
    """A store whose lock writes wait at ``gate`` first, and whose watch can die silently."""

    def __init__(self, inner, gate=None) -> None:
        super().__init__(inner)
        self.gate = gate
        self.watch_dead = False
        self.delivered = 0

    async def create(self, path, data):
        await self._wait(path)
        return await super().create(path, data)

    async def update(self, path, data, *, if_version=None):
        await self._wait(path)
        return await super().update(path, data, if_version=if_version)

    async def _wait(self, path) -> None:
        if path == LOCK and self.gate is not None:
            await self.gate()

    def watch(self, path, on_change):
        def forward(data):
            if not self.watch_dead:  # a listener whose stream died says nothing more
                self.delivered += 1
                on_change(data)

        return self.inner.watch(path, forward)


def member(store, clock, name: str) -> Leadership:
    return Leadership(store, Paths(), clock, instance_id=name, lease=LEASE, renew=RENEW, standby_poll=POLL)


async def heard(leadership: Leadership, store: GatedStore, count: int, timeout: float = 10.0,
                release: bool = False) -> None:
    """Until the watch delivered ``count`` changes in all, and with ``release`` until one of them was
    the release (real time: the listener runs on its own thread, and a Firestore listener may
    deliver the same lock twice, so a count alone can be reached before the release arrives)."""
    def released() -> bool:
        return not release or (leadership.observed is not None and leadership.observed.released)

    async with asyncio.timeout(timeout):
        while store.delivered < count or not released():
            leadership.lock_changed.clear()
            await leadership.lock_changed.wait()


async def test_two_standbys_that_saw_one_release_the_first_write_wins_and_the_loser_does_not_wait(store_factory, clock):
    both_read = asyncio.Barrier(2)
    a = member(store_factory(), clock, "a")
    b_store, c_store = GatedStore(store_factory()), GatedStore(store_factory())
    b, c = member(b_store, clock, "b"), member(c_store, clock, "c")
    await a.maintain()
    await b.maintain()
    await c.maintain()
    assert a.holds(clock.now()) and not b.is_leader and not c.is_leader

    await clock.advance(10)
    await a.release()
    b.retry_later(0)
    c.retry_later(0)  # as the watch does when it delivers the release
    b_store.gate = c_store.gate = both_read.wait
    await asyncio.gather(b.maintain(), c.maintain())

    winner, loser = (b, c) if b.is_leader else (c, b)
    assert winner.is_leader and not loser.is_leader
    assert winner.generation == a.generation + 1
    stored = await store_factory().get(LOCK)
    assert stored.get("holderInstanceId") == winner.instance_id and stored.get("generation") == a.generation + 1
    assert stored.get("releasedAt") is None
    # The loser looks again within one poll, not when the winner's lease would expire.
    assert loser.next_due <= clock.now() + timedelta(seconds=POLL)
    assert winner.lease_until == clock.now() + timedelta(seconds=LEASE)
    b_store.gate = c_store.gate = None
    clock.set(loser.next_due)
    await loser.maintain()
    assert not loser.is_leader and loser.observed.holder == winner.instance_id


async def test_a_standby_whose_watch_dies_mid_handover_takes_over_within_lease_plus_poll(store_factory, clock):
    c_led = asyncio.Event()

    async def wait_for_c() -> None:
        await c_led.wait()

    a = member(store_factory(), clock, "a")
    b_store, c_store = GatedStore(store_factory()), GatedStore(store_factory())
    b, c = member(b_store, clock, "b"), member(c_store, clock, "c")
    await a.maintain()
    for standby, store in ((b, b_store), (c, c_store)):
        await standby.maintain()
        standby.start_watching()
        await heard(standby, store, 1)  # the listener is up: it answers the current lock first

    await clock.advance(10)
    await a.release()
    await heard(b, b_store, 2, release=True)
    b_store.watch_dead = True  # b saw the release, then its listener died
    assert b.next_due <= clock.now()
    b_store.gate = wait_for_c  # b saw the released lock; c writes before b does
    b_attempt = asyncio.create_task(b.maintain())
    await heard(c, c_store, 2, release=True)
    await c.maintain()
    c_led.set()
    await b_attempt
    assert c.is_leader and not b.is_leader
    b_store.gate = None

    # c leads for a while, then dies without a word (kill -9): b hears nothing of either.
    for _ in range(3):
        clock.set(min(c.next_due, b.next_due))
        if clock.now() >= c.next_due:
            await c.maintain()
        if clock.now() >= b.next_due:
            await b.maintain()
        assert not b.is_leader
    assert c.holds(clock.now())
    c_lease_until = c.lease_until
    while not b.is_leader:
        clock.set(b.next_due)
        await b.maintain()
        assert clock.now() <= c_lease_until + timedelta(seconds=POLL), "b waited past lease + poll"
    assert clock.now() >= c_lease_until, "b must not lead before c's lease expired"
    assert b.generation == c.generation + 1
    await b.release()
