"""A chat's backlog over its rate is merged into digests: nothing dropped, nothing sent twice, order kept."""

from __future__ import annotations

import re
from collections import Counter

from alerting.alertmanager.payload import notification_key, parse_payload
from alerting.outbox import MERGED, SENT, messages_for
from alerting.telegram.group import render_group_parts
from alerting.telegram.pacing import Pacer
from tests.alerting.builders import alert, webhook
from tests.alerting.driving import run_workers
from tests.alerting.pacing_checks import assert_within_telegram_limits
from tests.fixtures.fake_telegram import Reply

GROUP = "-100"


async def enqueue_notifications(outbox, clock, count: int, alerts_each: int, chats=(GROUP,)) -> None:
    """``count`` notifications of distinct groups, as the bridge saves them (one enqueue each)."""
    for n in range(count):
        body = webhook(*[alert(k, labels={"alertname": f"Alert{n}", "severity": "warning", "n": f"{n}.{k}"},
                               fingerprint=f"{n:08x}{k:08x}") for k in range(alerts_each)],
                       groupLabels={"alertname": f"Alert{n}"}, groupKey=f'{{}}:{{alertname="Alert{n}"}}')
        payload = parse_payload(body)
        parts = render_group_parts(payload, now=clock.now())
        await outbox.enqueue(messages_for(notification_key(payload), [p.text for p in parts], chats,
                                          lines=[p.lines for p in parts]))
        await clock.advance(0.001)  # one notification after the other, as they come


def alert_order(texts: list[str]) -> list[str]:
    return [m for text in texts for m in re.findall(r"\bn=(?:<code>)?(\d+\.\d+)\b", text)]


async def test_sixty_notifications_to_a_group_arrive_as_a_few_digests_each_alert_once_in_order(
        store, paths, outbox, make_worker, clock, fake_telegram):
    fake_telegram.clock = clock
    await enqueue_notifications(outbox, clock, 60, 3)
    fake_telegram.script(Reply.retry_after(7), Reply.retry_after(3))
    worker = make_worker([GROUP])

    await run_workers(clock, [worker], lambda: worker.stats.depth == 0 and worker.stats.sent > 0)

    delivered = [r.text for r in fake_telegram.delivered(GROUP)]
    assert alert_order(delivered) == [f"{n}.{k}" for n in range(60) for k in range(3)]
    assert len(delivered) <= 16  # what a group's minute lets through, at most
    assert worker.stats.merged >= 45 and worker.stats.digests >= 1
    assert any(text.startswith("📦 <b>Digest of") for text in delivered)
    assert_within_telegram_limits([(r.chat_id, r.clock_time) for r in fake_telegram.received])
    docs = {d.id: d.data for d in await store.query(paths.outbox)}
    statuses = Counter(d["status"] for d in docs.values())
    assert set(statuses) == {SENT, MERGED} and statuses[SENT] == len(delivered)
    for data in docs.values():
        if data["status"] == MERGED:
            assert docs[data["mergedInto"]]["status"] in (SENT, MERGED)


async def test_a_backlog_the_minute_can_carry_is_sent_as_it_is(outbox, make_worker, clock, fake_telegram):
    fake_telegram.clock = clock
    await enqueue_notifications(outbox, clock, 10, 2)
    worker = make_worker([GROUP])

    await run_workers(clock, [worker], lambda: worker.stats.sent >= 10)

    assert worker.stats.merged == 0 and len(fake_telegram.delivered(GROUP)) == 10


async def test_two_workers_merging_and_sending_at_once_send_each_alert_once(make_worker, outbox, clock,
                                                                            fake_telegram):
    fake_telegram.clock = clock
    await enqueue_notifications(outbox, clock, 80, 2, chats=(GROUP, "42"))
    pacer = Pacer(clock)  # one process's limits shared, so the two stay within Telegram's
    workers = [make_worker([GROUP, "42"], pacer=pacer, worker_id=f"w{i}") for i in range(2)]

    await run_workers(clock, workers, lambda: all(w.stats.depth == 0 for w in workers)
                      and sum(w.stats.sent for w in workers) > 0)

    for chat in (GROUP, "42"):
        seen = Counter(alert_order([r.text for r in fake_telegram.delivered(chat)]))
        assert seen == Counter({f"{n}.{k}": 1 for n in range(80) for k in range(2)}), chat
