"""An alert storm through the webhook, the outbox and the fake Bot API answering 429s, in fake time.

What the chat sees: a notification of N distinct alerts arrives as at most ⌈N/40⌉
messages, each alert exactly once, every message delivered with Telegram's
retry_after honoured; 300 alerts reach a group chat in full within 2 minutes; and
a P1 opened right after a 2,000-alert notification overtakes it, reaching the chat
within 30 s. Times are on the fake clock the delivery path runs on (the HTTP is real).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from datetime import timedelta

import pytest

from tests.alerting.builders import alert, webhook
from tests.alerting.conftest import clock, session  # noqa: F401
from tests.alerting.conftest_bridge import make_bridge  # noqa: F401
from tests.alerting.driving import run_workers
from tests.alerting.pacing_checks import assert_within_telegram_limits
from tests.fixtures.fake_telegram import Reply

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

GROUP = "-1001234567890"
SLOW_STORE = 300.0  # the webhook's deadline: these tests time the delivery, not the store
_POD = re.compile(r"\bpod=(?:<code>)?(pod-\d{5})\b")


def storm(n: int) -> dict:
    return webhook(*[alert(i, labels={"alertname": "PodCrashLooping", "severity": "warning", "namespace": "shop",
                                      "pod": f"pod-{i:05d}"}, fingerprint=f"{i:016x}") for i in range(n)],
                   groupLabels={"alertname": "PodCrashLooping"}, groupKey='{}:{alertname="PodCrashLooping"}')


def retry_afters(count: int) -> list[Reply]:
    """A 429 every third request, asking for 3 to 20 s."""
    return [reply for k in range(count) for reply in (Reply.ok(), Reply.ok(), Reply.retry_after(3 + (7 * k) % 18))]


async def post_until_stored(bridge, body: dict, tries: int = 8):
    """As Alertmanager does: a 503 is retried (each try keeps what the last one stored)."""
    for _ in range(tries):
        response = await bridge.post(body)
        if response.status != 503:
            return response
    return response


async def deliver_all(bridge) -> None:
    worker = bridge.delivery.worker
    bridge.fake_telegram.clock = bridge.clock
    await run_workers(bridge.clock, [worker], lambda: worker.stats.depth == 0 and worker.stats.sent > 0,
                      real_timeout=240)


@pytest.mark.parametrize("n", [300, 1000])
async def test_a_storm_reaches_a_group_chat_in_few_messages_each_alert_once_despite_429s(
        n, make_bridge, store_backend, figures):
    bridge = await make_bridge(telegram_chat_ids=(GROUP,), deadline=SLOW_STORE)
    bridge.fake_telegram.script(*retry_afters(10))
    posted_at = bridge.clock.now()

    response = await post_until_stored(bridge, storm(n))
    await deliver_all(bridge)

    assert response.status == 200, await response.text()
    received = bridge.fake_telegram.received
    delivered = bridge.fake_telegram.delivered(GROUP)
    assert len(delivered) <= math.ceil(n / 40)
    seen = Counter(pod for message in delivered for pod in _POD.findall(message.text))
    assert seen == Counter({f"pod-{i:05d}": 1 for i in range(n)})
    answered_429 = [r for r in received if r.reply == "retry_after"]
    assert answered_429, "the fake Bot API answered no 429"
    for i, r in enumerate(received):
        if r.reply == "retry_after":
            assert received[i + 1].clock_time - r.clock_time >= timedelta(seconds=r.retry_after)
    assert_within_telegram_limits([(r.chat_id, r.clock_time) for r in received])
    last = max(m.clock_time for m in delivered) - posted_at
    if n == 300:
        assert last <= timedelta(minutes=2)
    labels = {"case": f"{n} alerts, one notification", "backend": store_backend}
    figures.record("messages", len(delivered), f"(at most {math.ceil(n / 40)})", **labels)
    figures.record("answered_429", len(answered_429), "", **labels)
    figures.record("last_delivery_s", last.total_seconds(), "s (fake clock)", **labels)


@pytest.mark.parametrize("storm_sent_first", [0, 20], ids=["before-the-storm-goes-out", "while-it-drains"])
async def test_a_p1_opened_right_after_a_2000_alert_notification_reaches_the_chat_within_30_s(
        storm_sent_first, make_bridge, store_backend, figures):
    bridge = await make_bridge(telegram_chat_ids=(GROUP,), deadline=SLOW_STORE)
    assert (await post_until_stored(bridge, storm(2000))).status == 200
    worker = bridge.delivery.worker
    bridge.fake_telegram.clock = bridge.clock
    if storm_sent_first:  # the storm has used the group's minute already
        await run_workers(bridge.clock, [worker], lambda: worker.stats.sent >= storm_sent_first, real_timeout=240)
    opened_at = bridge.clock.now()
    await bridge.incidents.detect("logged_out", "accounts", reason="0 of 3 accounts connected", severity="P1")

    await deliver_all(bridge)

    delivered = bridge.fake_telegram.delivered(GROUP)
    [first] = [m for m in delivered if "Incident opened" in m.text and "logged_out" in m.text]
    assert delivered.index(first) == storm_sent_first  # next, ahead of the rest of the storm's 50 messages
    waited = first.clock_time - opened_at
    assert waited <= timedelta(seconds=30)
    storm_messages = [m for m in delivered if "PodCrashLooping" in m.text]
    assert len(storm_messages) <= 50
    assert Counter(p for m in storm_messages for p in _POD.findall(m.text)) == Counter(
        {f"pod-{i:05d}": 1 for i in range(2000)})
    assert_within_telegram_limits([(r.chat_id, r.clock_time) for r in bridge.fake_telegram.received])
    labels = {"case": f"P1 after a 2,000-alert notification, {storm_sent_first} of its messages out",
              "backend": store_backend}
    figures.record("p1_delivery_s", waited.total_seconds(), "s (fake clock)", **labels)
    figures.record("storm_messages", len(storm_messages), "(at most 50)", **labels)
