"""Outbox scenarios against the fake Telegram server: every message delivered exactly once, or failed."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from alerting.alertmanager.payload import notification_key, parse_payload
from alerting.outbox import Outbox, OutboxWorker, OutgoingMessage, messages_for
from alerting.telegram.pacing import Pacer
from alerting.telegram.group import render_group
from tests.alerting.builders import alert, webhook
from tests.alerting.driving import eventually, run_workers
from tests.alerting.pacing_checks import assert_within_telegram_limits
from tests.fixtures.fake_telegram import Reply


def texts(n: int, prefix: str = "message") -> list[str]:
    return [f"{prefix} {i}" for i in range(n)]


async def enqueue_each(outbox, chat: str, bodies: list[str]) -> None:
    """One logical message per body, saved together (they go out in this order)."""
    await outbox.enqueue([OutgoingMessage(chat, body, f"key-{chat}-{i}") for i, body in enumerate(bodies)])


def finished(*workers, total: int):
    return lambda: sum(w.stats.sent + w.stats.failed for w in workers) >= total


def assert_exactly_once(fake_telegram, expected: list[str]) -> None:
    counts = Counter(r.text for r in fake_telegram.delivered())
    assert sorted(counts) == sorted(expected)
    assert set(counts.values()) == {1}, {t: c for t, c in counts.items() if c != 1}


async def saved(store, paths) -> list:
    return await store.query(paths.outbox)


async def test_a_group_notification_is_delivered_in_order_to_every_chat(store, paths, outbox, make_worker, clock, fake_telegram):
    fake_telegram.clock = clock
    payload = parse_payload(webhook(*[alert(i) for i in range(60)]))
    parts = render_group(payload, now=clock.now())
    await outbox.enqueue(messages_for(notification_key(payload), parts, ["-100", "42"]))
    worker = make_worker(["-100", "42"])

    await run_workers(clock, [worker], finished(worker, total=2 * len(parts)))

    for chat in ("-100", "42"):
        assert [r.text for r in fake_telegram.delivered(chat)] == parts
    assert_within_telegram_limits([(r.chat_id, r.clock_time) for r in fake_telegram.received])
    assert worker.stats.sent == 2 * len(parts) and worker.stats.depth == 0
    assert Counter(d.data["status"] for d in await saved(store, paths)) == {"sent": 2 * len(parts)}


async def test_a_429_storm_is_waited_out_and_every_message_lands_once(outbox, make_worker, clock, fake_telegram):
    fake_telegram.clock = clock
    await enqueue_each(outbox, "-100", texts(30))
    fake_telegram.script(*[Reply.retry_after(s) for s in (5, 10, 30, 3, 3, 60, 1, 1, 20, 7)])
    worker = make_worker(["-100"])

    await run_workers(clock, [worker], finished(worker, total=30))

    assert_exactly_once(fake_telegram, texts(30))
    assert worker.stats.retried == 10 and worker.stats.failed == 0
    received = fake_telegram.received
    for i, r in enumerate(received):
        if r.reply == "retry_after":
            asked = [5, 10, 30, 3, 3, 60, 1, 1, 20, 7][sum(x.reply == "retry_after" for x in received[:i])]
            assert received[i + 1].clock_time - r.clock_time >= timedelta(seconds=asked)
    assert_within_telegram_limits([(r.chat_id, r.clock_time) for r in received])


async def test_server_errors_back_off_then_succeed(store, paths, outbox, make_worker, clock, fake_telegram):
    fake_telegram.clock = clock
    await enqueue_each(outbox, "42", ["only one"])
    fake_telegram.script(Reply.server_error(500), Reply.server_error(502), Reply.server_error(500),
                         Reply.server_error(503))
    worker = make_worker(["42"])

    await run_workers(clock, [worker], finished(worker, total=1))

    assert_exactly_once(fake_telegram, ["only one"])
    times = [r.clock_time for r in fake_telegram.received]
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:])]
    assert len(gaps) == 4
    for attempt, gap in enumerate(gaps, start=1):  # 1 s, 2 s, 4 s, 8 s ceilings with jitter in the upper half
        assert 2 ** (attempt - 1) / 2 <= gap <= 2 ** (attempt - 1) + 0.2
    doc = (await saved(store, paths))[0]
    assert doc.data["attempts"] == 5 and doc.data["status"] == "sent" and doc.data["sentAt"] == times[-1]


async def test_timeouts_are_retried_and_a_hung_request_is_not_a_delivery(outbox, make_worker, clock, fake_telegram):
    fake_telegram.clock = clock
    await enqueue_each(outbox, "42", texts(3))
    fake_telegram.script(Reply.hang(), Reply.ok(), Reply.hang())
    worker = make_worker(["42"])

    await run_workers(clock, [worker], finished(worker, total=3))

    assert_exactly_once(fake_telegram, texts(3))
    assert [r.reply for r in fake_telegram.received].count("hang") == 2
    assert worker.stats.retried == 2


async def test_a_blocked_bot_fails_permanently_without_retrying(store, paths, outbox, make_worker, clock, fake_telegram):
    fake_telegram.clock = clock
    fake_telegram.block_chat("42")
    fake_telegram.forget_chat("43")
    await enqueue_each(outbox, "42", texts(3, "to 42"))
    await enqueue_each(outbox, "43", texts(2, "to 43"))
    await enqueue_each(outbox, "44", texts(3, "to 44"))
    worker = make_worker(["42", "43", "44"])

    await run_workers(clock, [worker], finished(worker, total=8))

    assert_exactly_once(fake_telegram, texts(3, "to 44"))
    assert len([r for r in fake_telegram.received if r.chat_id in ("42", "43")]) == 5  # one try each
    assert worker.stats.failed == 5 and worker.stats.sent == 3
    failed = [d for d in await saved(store, paths) if d.data["status"] == "failed"]
    assert {d.data["lastError"] for d in failed} == {"Forbidden: bot was blocked by the user",
                                                     "Bad Request: chat not found"}


async def test_a_migrated_group_is_followed_and_remembered(store, paths, outbox, make_worker, clock, fake_telegram):
    fake_telegram.clock = clock
    fake_telegram.migrate_chat("-1", "-1009")
    await enqueue_each(outbox, "-1", texts(4))
    worker = make_worker(["-1"])

    await run_workers(clock, [worker], finished(worker, total=4))

    assert [r.text for r in fake_telegram.delivered("-1009")] == texts(4)
    assert len([r for r in fake_telegram.received if r.chat_id == "-1"]) == 1  # the mapping is remembered
    assert worker.chats.moved == {"-1": "-1009"} and worker.stats.migrated == 1
    docs = await saved(store, paths)
    assert {(d.data["chatId"], d.data["configuredChatId"]) for d in docs} == {("-1009", "-1")}
    # a re-enqueue of an already sent message, addressed to the configured chat, is still a duplicate
    assert await outbox.enqueue(messages_for("key--1-0", ["message 0"], ["-1"])) == 0


async def test_transient_failures_give_up_after_a_day(store, paths, outbox, make_worker, clock, fake_telegram):
    fake_telegram.clock = clock
    await enqueue_each(outbox, "42", ["doomed"])
    fake_telegram.script(*[Reply.server_error(502)] * 400)
    worker = make_worker(["42"], give_up_after=3600)

    await run_workers(clock, [worker], finished(worker, total=1), max_fake_seconds=7200)

    assert fake_telegram.delivered() == []
    doc = (await saved(store, paths))[0]
    assert doc.data["status"] == "failed" and doc.data["lastError"].startswith("gave up after")
    assert worker.stats.failed == 1


async def test_an_enqueue_wakes_an_idle_worker_without_waiting_for_the_poll(outbox, make_worker, clock,
                                                                          fake_telegram):
    worker = make_worker(["42"], poll_interval=3600)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    await eventually(lambda: clock.parked == 1)  # idle, an hour from its next poll
    started = clock.now()

    await enqueue_each(outbox, "42", ["wake up"])
    worker.wake()
    await eventually(lambda: bool(fake_telegram.delivered()))

    stop.set()
    await task
    assert [r.text for r in fake_telegram.delivered()] == ["wake up"]
    assert clock.now() == started


async def test_the_worker_survives_an_unavailable_store(faulty_store, paths, client, clock, fake_telegram):
    outbox = Outbox(faulty_store, paths, clock)
    worker = OutboxWorker(faulty_store, paths, client, Pacer(clock), clock, ["42"], poll_interval=5)
    await enqueue_each(outbox, "42", texts(2))
    faulty_store.down = True
    outage_end = clock.now() + timedelta(seconds=30)

    await run_workers(clock, [worker], lambda: clock.now() >= outage_end)
    assert fake_telegram.received == []
    faulty_store.down = False
    await run_workers(clock, [worker], finished(worker, total=2))

    assert_exactly_once(fake_telegram, texts(2))


async def test_a_restarted_worker_counts_the_last_minutes_sends_against_the_group_limit(
        outbox, make_worker, clock, fake_telegram):
    """A process that sent 20 messages to a group and died: its successor waits out that minute."""
    fake_telegram.clock = clock
    await enqueue_each(outbox, "-100", texts(20, "before"))
    first = make_worker(["-100"])
    await run_workers(clock, [first], finished(first, total=20))

    await outbox.enqueue([OutgoingMessage("-100", body, f"after-{i}") for i, body in enumerate(texts(5, "after"))])
    second = make_worker(["-100"], pacer=Pacer(clock))  # a new process: no memory of its own
    await run_workers(clock, [second], finished(second, total=5))

    assert_exactly_once(fake_telegram, texts(20, "before") + texts(5, "after"))
    assert_within_telegram_limits([(r.chat_id, r.clock_time) for r in fake_telegram.received])
