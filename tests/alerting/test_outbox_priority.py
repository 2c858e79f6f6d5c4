"""Incident messages go ahead of a storm's bulk, P1 first, and the backlog figure stays current."""

from __future__ import annotations

from datetime import timedelta

from alerting.outbox import BULK, Outbox, OutgoingMessage, priority_for
from tests.alerting.driving import run_workers
from tests.alerting.pacing_checks import assert_within_telegram_limits

GROUP = "-100"


def bulk(n: int, chat: str = GROUP) -> list[OutgoingMessage]:
    return [OutgoingMessage(chat, f"bulk {i}", f"group-{i}") for i in range(n)]


def incident(name: str, severity: str, chat: str = GROUP) -> OutgoingMessage:
    return OutgoingMessage(chat, name, f"incident:{name}:0:opened", priority=priority_for(severity))


def test_incident_messages_rank_by_severity_ahead_of_bulk():
    assert priority_for("P1") < priority_for("P2") < priority_for("P3") < BULK
    assert priority_for("whatever") == priority_for("P3")


async def test_a_p1_enqueued_behind_a_storm_goes_next_and_lands_within_seconds(outbox, make_worker, clock,
                                                                                fake_telegram):
    fake_telegram.clock = clock
    await outbox.enqueue(bulk(60))
    worker = make_worker([GROUP])
    await run_workers(clock, [worker], lambda: worker.stats.sent >= 20)  # the storm has used the minute
    queued_at = clock.now()
    await outbox.enqueue([incident("p3 incident", "P3")])
    await outbox.enqueue([incident("p1 incident", "P1")])

    await run_workers(clock, [worker], lambda: worker.stats.sent >= 22)

    texts = [r.text for r in fake_telegram.delivered(GROUP)]
    assert texts[20:22] == ["p1 incident", "p3 incident"]
    assert texts[:20] == [f"bulk {i}" for i in range(20)]
    [p1] = [r for r in fake_telegram.delivered(GROUP) if r.text == "p1 incident"]
    assert p1.clock_time - queued_at <= timedelta(seconds=5)
    assert_within_telegram_limits([(r.chat_id, r.clock_time) for r in fake_telegram.received])


async def test_the_bulk_leaves_part_of_a_group_minute_to_incident_messages(outbox, make_worker, clock,
                                                                           fake_telegram):
    fake_telegram.clock = clock
    await outbox.enqueue(bulk(40))
    worker = make_worker([GROUP])

    await run_workers(clock, [worker], lambda: worker.stats.sent >= 40)

    times = [r.clock_time for r in fake_telegram.delivered(GROUP)]
    in_first_minute = [t for t in times if t < times[0] + timedelta(minutes=1)]
    assert len(in_first_minute) == 16  # 20 a minute, 4 kept for incidents


async def test_the_backlog_figure_is_current_while_a_storm_drains(store, paths, outbox, make_worker, clock,
                                                                  fake_telegram):
    fake_telegram.clock = clock
    await outbox.enqueue(bulk(150))
    worker = make_worker([GROUP])

    seen: list[int] = []

    def thirty_sent() -> bool:  # what /metrics would read at that moment, the worker still running
        if worker.stats.sent >= 30:
            seen.append(worker.stats.depth)
        return bool(seen)

    await run_workers(clock, [worker], thirty_sent, real_timeout=120)  # a pass a send: slow on a busy emulator

    assert await Outbox(store, paths, clock).depth() == 120
    assert seen == [120]
    assert worker.stats.oldest_created_at is not None


async def test_messages_saved_before_priorities_existed_are_still_sent(store, paths, outbox, make_worker, clock,
                                                                       fake_telegram):
    await outbox.enqueue(bulk(1))
    [saved] = await store.query(paths.outbox)
    legacy = {k: v for k, v in saved.data.items() if k not in ("priority", "lines")}
    await store.set(saved.path, legacy)
    worker = make_worker([GROUP])

    await run_workers(clock, [worker], lambda: worker.stats.sent >= 1)

    assert [r.text for r in fake_telegram.delivered(GROUP)] == ["bulk 0"]
    assert (await store.get(saved.path)).data["priority"] == BULK
