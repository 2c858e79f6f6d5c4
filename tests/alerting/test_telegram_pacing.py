from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from alerting.telegram.client import Delivered
from alerting.telegram.pacing import Pacer
from exporter.clock import FakeClock
from tests.alerting.driving import drive
from tests.alerting.pacing_checks import assert_within_telegram_limits

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_chat_gets_one_message_per_second():
    pacer = Pacer(FakeClock(T0))
    assert pacer.delay_for("42", at(0)) == 0
    pacer.record("42", at(0))
    assert pacer.delay_for("42", at(0.25)) == 0.75
    assert pacer.delay_for("43", at(0.25)) == 0
    assert pacer.delay_for("42", at(1)) == 0


def test_a_group_gets_twenty_messages_per_minute():
    pacer = Pacer(FakeClock(T0))
    for i in range(20):
        assert pacer.delay_for("-100", at(i)) == 0
        pacer.record("-100", at(i))
    assert pacer.delay_for("-100", at(20)) == 40  # the first of the twenty leaves the window at 60 s
    assert pacer.delay_for("-200", at(20)) == 0
    assert pacer.delay_for("100", at(20)) == 0  # private chats have no per-minute limit


def test_the_bot_sends_at_most_thirty_messages_per_second_overall():
    pacer = Pacer(FakeClock(T0))
    for i in range(30):
        pacer.record(str(i), at(i / 100))
    assert abs(pacer.delay_for("999", at(0.5)) - 0.5) < 1e-9
    assert pacer.delay_for("999", at(1.0)) == 0


def test_retry_after_blocks_the_chat_until_then():
    pacer = Pacer(FakeClock(T0))
    pacer.block("-100", at(30))
    assert pacer.delay_for("-100", at(0)) == 30
    assert pacer.blocked_until("-100") == at(30)
    pacer.block("-100", at(10))  # a shorter block does not shorten the longer one
    assert pacer.delay_for("-100", at(5)) == 25
    pacer.record("-100", at(30))
    assert pacer.blocked_until("-100") is None


async def test_acquire_waits_on_the_clock_and_counts_the_send():
    clock = FakeClock(T0)
    pacer = Pacer(clock)
    await pacer.acquire("7")
    second = asyncio.create_task(pacer.acquire("7"))
    await clock.advance(0.5)
    assert not second.done()
    await clock.advance(0.5)
    assert second.done()
    assert pacer.delay_for("7", clock.now()) == 1


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["-100", "-200", "@chan", "1", "2", "3"] + [str(n) for n in range(10, 50)]),
                          st.floats(min_value=0, max_value=2)), max_size=300))
def test_sends_paced_by_ready_at_never_exceed_the_limits(requests):
    pacer, now, sends = Pacer(FakeClock(T0)), T0, []
    for chat, gap in requests:
        now = pacer.ready_at(chat, now + timedelta(seconds=gap))
        pacer.record(chat, now)
        sends.append((chat, now))
    assert_within_telegram_limits(sends)


async def test_concurrent_senders_stay_within_limits_at_the_fake_server(clock, client, fake_telegram):
    fake_telegram.clock = clock
    pacer = Pacer(clock)

    async def sender(chats: list[str], count: int) -> None:
        for i in range(count):
            chat = chats[i % len(chats)]
            await pacer.acquire(chat)
            assert isinstance(await client.send(chat, f"{chat} #{i}"), Delivered)

    tasks = [asyncio.create_task(sender(["-100"], 45)), asyncio.create_task(sender(["-100", "-200"], 40)),
             asyncio.create_task(sender([str(n) for n in range(60)], 120)),
             asyncio.create_task(sender(["5"], 10))]
    await drive(clock, lambda: all(t.done() for t in tasks), workers=lambda: sum(not t.done() for t in tasks))
    await asyncio.gather(*tasks)

    delivered = fake_telegram.delivered()
    assert len(delivered) == 45 + 40 + 120 + 10
    assert_within_telegram_limits([(r.chat_id, r.clock_time) for r in delivered])
    by_chat = [r.clock_time for r in delivered if r.chat_id == "-100"]
    assert (by_chat[-1] - by_chat[0]) >= timedelta(minutes=3)  # 65 group messages need 3+ minutes


def test_bulk_leaves_four_of_a_group_minute_to_incident_messages():
    pacer = Pacer(FakeClock(T0))
    for i in range(16):
        assert pacer.delay_for("-100", at(i)) == 0
        pacer.record("-100", at(i))
    assert pacer.ready_at("-100", at(16), bulk=True) == at(60)  # the bulk waits for the minute to roll
    assert pacer.ready_at("-100", at(16)) == at(16)             # an incident message goes now
    assert pacer.ready_at("100", at(16), bulk=True) == at(16)   # private chats have no minute limit


def test_allowance_counts_the_sends_the_next_minute_holds():
    pacer = Pacer(FakeClock(T0))
    assert pacer.allowance("-100", at(0), bulk=True) == 16
    assert pacer.allowance("-100", at(0)) == 20
    assert pacer.allowance("42", at(0)) == 60
    for i in range(10):
        pacer.record("-100", at(i))
    assert pacer.allowance("-100", at(10), bulk=True) == 16  # the ten leave the window within the minute
    pacer.block("-100", at(65))
    assert pacer.allowance("-100", at(10), bulk=True) == 5  # a 429 until 65 s: one a second from then to 70 s
    assert pacer.ready_at("-100", at(10)) == at(65)  # allowance changed nothing


def test_a_chat_blocked_past_the_minute_has_no_allowance():
    pacer = Pacer(FakeClock(T0))
    pacer.block("-100", at(90))
    assert pacer.allowance("-100", at(0), bulk=True) == 0
