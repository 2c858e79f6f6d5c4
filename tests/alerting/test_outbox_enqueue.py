from __future__ import annotations

import random

import pytest

from alerting.alertmanager.payload import notification_key, parse_payload
from alerting.outbox import BACKOFF_CAP, OutgoingMessage, backoff_delay, message_id, messages_for
from alerting.telegram.group import render_group
from tests.alerting.builders import alert, webhook


async def test_enqueue_writes_pending_documents_with_deterministic_ids(outbox, store, paths, clock):
    messages = messages_for("key-1", ["part one", "part two"], ["-100", "42"])
    assert await outbox.enqueue(messages) == 4

    doc = await store.get(f"{paths.outbox}/{message_id('key-1', '-100', 2)}")
    assert doc is not None
    assert {k: doc.data[k] for k in ("chatId", "text", "part", "status", "attempts", "dedupKey")} == {
        "chatId": "-100", "text": "part two", "part": 2, "status": "pending", "attempts": 0, "dedupKey": "key-1"}
    assert doc.data["createdAt"] == doc.data["nextAttemptAt"] == clock.now()
    assert doc.data["sentAt"] is None and doc.data["lastError"] is None


async def test_enqueueing_the_same_logical_message_again_is_a_no_op(outbox, store, paths, clock):
    body = webhook(alert(1), alert(2))
    first = messages_for(notification_key(parse_payload(body)), render_group(parse_payload(body), now=clock.now()),
                         ["-100"])
    assert await outbox.enqueue(first) == 1
    clock.advance_sync(30)
    # the other Alertmanager of the HA pair, or a repeat, renders at another time: same key, same ids
    again = messages_for(notification_key(parse_payload(body)), render_group(parse_payload(body), now=clock.now()),
                         ["-100"])
    assert await outbox.enqueue(again) == 0
    assert await outbox.depth() == 1


async def test_depth_and_oldest_count_pending_messages_only(outbox, store, paths, clock):
    assert await outbox.depth() == 0 and await outbox.oldest_created_at() is None
    first_at = clock.now()
    await outbox.enqueue(messages_for("a", ["x"], ["1", "2"]))
    clock.advance_sync(10)
    await outbox.enqueue(messages_for("b", ["y"], ["1"]))
    await store.update(f"{paths.outbox}/{message_id('a', '1', 1)}", {"status": "sent"})
    assert await outbox.depth() == 2
    assert await outbox.oldest_created_at() == first_at


async def test_pending_lists_parts_in_order(outbox, clock):
    await outbox.enqueue(messages_for("k", [f"part {i}" for i in range(1, 13)], ["-100"]))
    assert [d.data["part"] for d in await outbox.pending()] == list(range(1, 13))


async def test_messages_over_the_telegram_limit_are_refused_before_saving(outbox):
    with pytest.raises(ValueError, match="longer than 4096"):
        await outbox.enqueue([OutgoingMessage("1", "x" * 4097, "k")])
    assert await outbox.depth() == 0


def test_backoff_grows_with_jitter_and_is_capped():
    rng = random.Random(1)
    delays = [backoff_delay(n, rng) for n in range(1, 15)]
    for n, delay in enumerate(delays, start=1):
        ceiling = min(BACKOFF_CAP, 2 ** (n - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert max(delays) <= BACKOFF_CAP and delays[-1] >= BACKOFF_CAP / 2
