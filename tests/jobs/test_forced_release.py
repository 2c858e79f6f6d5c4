"""A forced release (runbook Procedure 1, API or ``longrun lock release --force``) reaches the
leader it took the lock from within a second, not at its next renewal a minute later."""

from __future__ import annotations

import time

from exporter.jobs.leadership import Leadership
from exporter.services.locks import LockService
from exporter.store import Paths
from tests.support.polling import eventually


def leader(store, clock, name="a") -> Leadership:
    return Leadership(store, Paths(), clock, instance_id=name, lease=120, renew=60, standby_poll=5)


async def test_the_leader_steps_down_within_a_second_of_a_forced_release(store_factory, clock):
    a = leader(store_factory(), clock)
    await a.maintain()
    a.start_watching()
    assert a.holds(clock.now())
    operator = LockService(store_factory(), Paths(), clock)  # another process: the CLI or another instance's API
    started = time.monotonic()
    await operator.release("heartbeat-scheduler", by="cli-ops")
    await eventually(lambda: not a.holds(clock.now()), within=1.0, what="the leader to step down")
    assert time.monotonic() - started < 1.0
    assert not a.is_leader  # the fake clock did not move: no renewal was needed to notice
    await a.release()


async def test_an_old_notice_does_not_unseat_the_next_holder(store_factory, clock):
    a = leader(store_factory(), clock)
    await a.maintain()
    a.start_watching()
    await LockService(store_factory(), Paths(), clock).release("heartbeat-scheduler", by="ops")
    await eventually(lambda: not a.is_leader, within=1.0, what="a to step down")
    b = leader(store_factory(), clock, "b")
    await b.maintain()
    b.start_watching()  # the notice of a's generation is still there
    await clock.advance(1)
    assert b.holds(clock.now()) and b.generation == a.generation + 1
    for member in (a, b):
        await member.release()
