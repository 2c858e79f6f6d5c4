"""Only the leader polls; a takeover in the middle of a stream of updates handles each update exactly once."""

from __future__ import annotations

from tests.chatops.conftest import ADMIN, ALERT_CHAT


async def test_a_standby_does_not_poll(chat):
    standby = await chat.add("beta")
    await chat.cluster.run_for(5)
    assert not standby.runtime.leadership.holds(chat.clock.now())
    polls = chat.telegram.polls
    # The loop a standby runs: it waits for the lease instead of calling getUpdates.
    import asyncio
    stop = asyncio.Event()
    task = asyncio.ensure_future(standby.runtime.chatops.run(stop))
    await asyncio.sleep(0.05)
    stop.set()
    await task
    assert chat.telegram.polls == polls


async def test_a_takeover_mid_stream_handles_each_update_exactly_once(chat):
    standby = await chat.add("beta")
    await chat.cluster.run_for(5)
    stream = [chat.telegram.command(ADMIN, ALERT_CHAT, f"/help {n}") for n in range(10)]

    # The leader handles the first three, then is killed before it polls again.
    leader = chat.leader
    original = leader.runtime.chatops.dispatch
    handled = []

    async def counting(update, member=leader):
        handled.append((member.name, update["update_id"]))
        return await original(update)

    leader.runtime.chatops.poller.dispatch = counting

    def stop_after_three(update):
        return len([h for h in handled if h[0] == "alpha"]) >= 3

    real_holds = leader.runtime.leadership.holds
    leader.runtime.leadership.holds = lambda now: real_holds(now) and not stop_after_three(None)
    await chat.poll(leader)
    chat.cluster.kill(leader)

    await chat.cluster.run_for(200)  # the lease expires, beta takes over
    assert standby.runtime.leadership.holds(chat.clock.now())
    second = standby.runtime.chatops.dispatch

    async def counting_beta(update):
        handled.append(("beta", update["update_id"]))
        return await second(update)

    standby.runtime.chatops.poller.dispatch = counting_beta
    chat.telegram.push(stream[1])  # and Telegram delivers one of the handled ones again
    await chat.poll(standby)
    await chat.poll(standby)

    ids = [update_id for _, update_id in handled]
    assert sorted(ids) == [u["update_id"] for u in stream] and len(ids) == len(set(ids))
    assert [name for name, _ in handled] == ["alpha"] * 3 + ["beta"] * 7
    help_answers = [b for m, b in chat.telegram.calls if m == "sendMessage" and b["text"].startswith("Commands:")]
    assert len(help_answers) == 10


async def test_a_bug_in_the_poller_is_logged_and_backed_off_without_stopping_the_service(chat, caplog):
    import asyncio

    async def broken():
        raise RuntimeError("a bug")

    poller = chat.leader.runtime.chatops.poller
    poller.poll_once = broken
    stop = asyncio.Event()
    assert await poller._guarded(stop) == 30.0
    assert poller.errors["internal"] == 1
    assert any("failed unexpectedly" in r.getMessage() for r in caplog.records)


async def test_telegram_failures_back_off_and_honour_retry_after(chat):
    from alerting.telegram.bot_api import BotApiError

    poller = chat.leader.runtime.chatops.poller
    assert poller._on_failure(BotApiError("getUpdates: HTTP 502", status=502)) == 1.0
    assert poller._on_failure(BotApiError("getUpdates: HTTP 502", status=502)) == 2.0
    assert poller._on_failure(BotApiError("getUpdates: Too Many Requests", status=429, retry_after=17)) == 17.0
    webhook = BotApiError("getUpdates: Conflict: can't use getUpdates method while webhook is active", status=409)
    poller._on_failure(webhook)
    assert poller.errors == {"telegram": 3, "conflict": 1}
