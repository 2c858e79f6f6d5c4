"""Claims: two workers on one store, a restart, and a worker that dies mid-send."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from alerting.outbox import OutgoingMessage
from alerting.telegram.client import TelegramClient
from tests.alerting.driving import eventually, run_workers
from tests.fixtures.fake_telegram import Reply

CHATS = ["-100", "-200", "42", "43"]


async def enqueue(outbox, n: int) -> list[str]:
    bodies = [f"message {i}" for i in range(n)]
    await outbox.enqueue([OutgoingMessage(CHATS[i % len(CHATS)], body, f"key-{i}") for i, body in enumerate(bodies)])
    return bodies


def delivered_once(fake_telegram, bodies: list[str]) -> bool:
    counts = Counter(r.text for r in fake_telegram.delivered())
    return sorted(counts) == sorted(bodies) and set(counts.values()) == {1}


async def test_two_workers_on_one_store_never_send_a_message_twice(outbox, make_worker, clock, fake_telegram):
    bodies = await enqueue(outbox, 60)
    fake_telegram.script(Reply.server_error(502), Reply.retry_after(2), Reply.hang(), Reply.server_error(500))
    first, second = make_worker(CHATS, worker_id="a"), make_worker(CHATS, worker_id="b")

    await run_workers(clock, [first, second], lambda: first.stats.sent + second.stats.sent >= 60)

    assert delivered_once(fake_telegram, bodies)
    assert first.stats.sent + second.stats.sent == 60


async def test_passes_racing_over_the_same_snapshot_claim_each_message_once(outbox, make_worker, fake_telegram):
    bodies = await enqueue(outbox, len(CHATS))  # one message per chat: no pacing wait inside a pass
    workers = [make_worker(CHATS, worker_id=name) for name in "abc"]

    passes = await asyncio.gather(*(w.run_once() for w in workers))

    assert sum(p.attempted for p in passes) == len(CHATS)
    assert delivered_once(fake_telegram, bodies)


async def test_a_restarted_worker_finishes_a_non_empty_outbox(outbox, make_worker, clock, fake_telegram):
    bodies = await enqueue(outbox, 40)
    fake_telegram.script(*[Reply.server_error(502)] * 3)
    before = make_worker(CHATS, worker_id="before")
    await run_workers(clock, [before], lambda: before.stats.sent >= 15)
    assert 0 < len(fake_telegram.delivered()) < 40

    after = make_worker(CHATS, worker_id="after")  # a new process: new worker, pacer and routes; same store
    await run_workers(clock, [after], lambda: before.stats.sent + after.stats.sent >= 40)

    assert delivered_once(fake_telegram, bodies)
    assert after.stats.depth == 0


async def test_a_claim_left_by_a_crashed_worker_expires_and_the_message_goes_out(
        outbox, make_worker, clock, fake_telegram, session, store, paths):
    fake_telegram.clock = clock
    await outbox.enqueue([OutgoingMessage("42", "survives a crash", "k")])
    fake_telegram.script(Reply.hang())
    slow = TelegramClient(session, fake_telegram.api_base, fake_telegram.token, timeout=30)
    crashing = make_worker(["42"], client=slow, worker_id="crashing", claim_timeout=60)
    task = asyncio.create_task(crashing.run_once())
    await eventually(lambda: bool(fake_telegram.received))
    claimed_at = clock.now()
    task.cancel()  # the process dies with the request in flight
    await asyncio.gather(task, return_exceptions=True)
    [doc] = await store.query(paths.outbox)
    assert doc.data["claimedBy"] == "crashing" and doc.data["status"] == "pending"

    survivor = make_worker(["42"], worker_id="survivor", poll_interval=5)
    await run_workers(clock, [survivor], lambda: survivor.stats.sent >= 1)

    assert [r.text for r in fake_telegram.delivered()] == ["survives a crash"]
    assert fake_telegram.delivered()[0].clock_time >= claimed_at + timedelta(seconds=60)
    [doc] = await store.query(paths.outbox)
    assert doc.data["status"] == "sent" and doc.data["claimedBy"] is None and doc.data["attempts"] == 2
