"""The Watchdog dead man's switch: the rule, then the monitor on a real store, a fake clock and fake Telegram."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from alerting.watchdog import WatchdogAction, WatchdogMonitor, watchdog_decision
from tests.alerting.builders import alert, webhook
from tests.alerting.conftest_bridge import CHAT, TOKEN, make_bridge  # noqa: F401
from tests.alerting.driving import drive

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
LIMIT = 600.0
MINUTE = 60.0


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


# ------------------------------------------------------------------ the rule


def test_a_fresh_start_holds_until_it_has_run_longer_than_the_limit():
    assert watchdog_decision(None, at(0), T0, LIMIT) is WatchdogAction.HOLD
    assert watchdog_decision(None, at(10), T0, LIMIT) is WatchdogAction.HOLD
    assert watchdog_decision(None, at(10.01), T0, LIMIT) is WatchdogAction.OPEN


def test_silence_longer_than_the_limit_opens_whenever_it_was_last_heard():
    assert watchdog_decision(at(1), at(11.01), T0, LIMIT) is WatchdogAction.OPEN
    assert watchdog_decision(at(1), at(300), T0, LIMIT) is WatchdogAction.OPEN


def test_a_watchdog_heard_within_the_limit_resolves_even_right_after_start():
    assert watchdog_decision(at(0.5), at(1), T0, LIMIT) is WatchdogAction.RESOLVE
    assert watchdog_decision(at(1), at(11), T0, LIMIT) is WatchdogAction.RESOLVE
    assert watchdog_decision(at(50), at(55), T0, LIMIT) is WatchdogAction.RESOLVE


# ------------------------------------------------------------------ the monitor

WATCHDOG = {"alertname": "Watchdog", "severity": "none", "monitor": "longrun-demo"}


async def hear_watchdog(harness) -> None:
    """Alertmanager delivers the Watchdog to this instance's webhook, as the shipped route does."""
    body = webhook(alert(0, labels=WATCHDOG, annotations={"summary": "The alerting pipeline is working"}),
                   receiver="longrun-watchdog", groupLabels={"alertname": "Watchdog"}, commonLabels=WATCHDOG,
                   groupKey='{}/{alertname="Watchdog"}:{alertname="Watchdog"}')
    response = await harness.post(body)
    assert response.status == 200, await response.text()


def monitor_of(harness, **options) -> WatchdogMonitor:
    options.setdefault("started_at", harness.clock.now())
    return WatchdogMonitor(harness.bridge, harness.incidents, harness.clock, limit=LIMIT, **options)


async def watchdog_incidents(harness) -> list[dict]:
    return [i for i in await harness.incidents_stored() if (i["type"], i["subject"]) == ("alert", "watchdog")]


async def test_silence_opens_one_p1_incident_on_telegram_and_the_watchdogs_return_resolves_it(make_bridge):
    harness = await make_bridge()
    monitor = monitor_of(harness)
    await hear_watchdog(harness)
    heard = harness.clock.now()
    assert await monitor.check() is WatchdogAction.RESOLVE
    assert await watchdog_incidents(harness) == []

    harness.clock.advance_sync(LIMIT + MINUTE)
    assert await monitor.check() is WatchdogAction.OPEN
    harness.clock.advance_sync(MINUTE)
    assert await monitor.check() is WatchdogAction.OPEN  # still silent: nothing new
    [incident] = await watchdog_incidents(harness)
    assert (incident["status"], incident["severity"], incident["source"]) == ("open", "P1", "monitor")
    assert incident["tsStart"] == heard + timedelta(seconds=LIMIT + MINUTE)
    assert "has not reached longrun for 11 min (limit 10 min)" in incident["reason"]

    harness.clock.advance_sync(MINUTE)
    await hear_watchdog(harness)
    back = harness.clock.now()
    assert await monitor.check() is WatchdogAction.RESOLVE
    [incident] = await watchdog_incidents(harness)
    assert (incident["status"], incident["tsEnd"], incident["mttrSec"]) == ("resolved", back, 2 * MINUTE)

    await harness.deliver()
    sent = [m.text for m in harness.fake_telegram.delivered(CHAT)]
    assert len(sent) == 2 and "watchdog" in sent[0].lower() and "resolved" in sent[1].lower(), sent


async def test_a_fresh_start_that_never_hears_the_watchdog_alarms_after_the_limit(make_bridge):
    harness = await make_bridge()
    monitor = monitor_of(harness)
    for _ in range(10):
        assert await monitor.check() is WatchdogAction.HOLD
        harness.clock.advance_sync(MINUTE)
    assert await monitor.check() is WatchdogAction.HOLD  # exactly the limit: not longer
    harness.clock.advance_sync(1)
    assert await monitor.check() is WatchdogAction.OPEN
    [incident] = await watchdog_incidents(harness)
    assert "since this instance started 10 min ago" in incident["reason"]


async def test_instances_that_all_miss_the_watchdog_open_one_incident(make_bridge, store):
    a, b = await make_bridge(), await make_bridge(on=store)
    monitors = [monitor_of(a), monitor_of(b)]
    a.clock.advance_sync(LIMIT + MINUTE)
    assert await asyncio.gather(*(m.check() for m in monitors)) == [WatchdogAction.OPEN, WatchdogAction.OPEN]
    assert len(await watchdog_incidents(a)) == 1


async def test_an_instance_alertmanager_does_not_call_stays_quiet_while_another_hears_the_watchdog(make_bridge, store):
    receiving, other = await make_bridge(), await make_bridge(on=store)
    monitors = [monitor_of(receiving), monitor_of(other)]
    writes_before = receiving.store.writes
    for _ in range(30):  # half an hour, the Watchdog arriving every minute at one instance only
        await hear_watchdog(receiving)
        assert [await m.check() for m in monitors] in ([WatchdogAction.RESOLVE, WatchdogAction.HOLD],
                                                       [WatchdogAction.RESOLVE, WatchdogAction.RESOLVE])
        receiving.clock.advance_sync(MINUTE)
    assert monitors[1].decision is WatchdogAction.RESOLVE
    assert await watchdog_incidents(receiving) == []
    # Each harness counts its own writes. The receiving instance writes its arrival every limit / 2 (the
    # bridge writes nothing for a Watchdog-only notification); the other one writes nothing.
    assert (receiving.store.writes - writes_before, other.store.writes) == (30 * MINUTE / (LIMIT / 2), 0)


async def test_a_restarted_instance_clears_the_incident_when_the_watchdog_is_back(make_bridge, store):
    before = await make_bridge()
    crashed = monitor_of(before)
    before.clock.advance_sync(LIMIT + MINUTE)
    assert await crashed.check() is WatchdogAction.OPEN
    after = await make_bridge(on=store)  # a new process: nothing heard, started now
    restarted = monitor_of(after)
    assert await restarted.check() is WatchdogAction.HOLD
    after.clock.advance_sync(MINUTE)
    await hear_watchdog(after)
    assert await restarted.check() is WatchdogAction.RESOLVE
    [incident] = await watchdog_incidents(after)
    assert (incident["status"], incident["resolvedBy"]) == ("resolved", "monitor")


async def test_a_store_outage_skips_a_check_and_the_next_one_acts(make_bridge):
    harness = await make_bridge()
    monitor = monitor_of(harness)
    harness.clock.advance_sync(LIMIT + MINUTE)
    harness.store.fail_after(0)
    assert await monitor.check() is None and monitor.decision is None
    harness.store.fail_after(None)
    harness.clock.advance_sync(MINUTE)
    assert await monitor.check() is WatchdogAction.OPEN
    assert len(await watchdog_incidents(harness)) == 1


async def test_the_monitor_checks_every_minute_on_the_injected_clock_until_stopped(make_bridge):
    harness = await make_bridge()
    monitor = monitor_of(harness, every=MINUTE)
    stop = asyncio.Event()
    task = asyncio.create_task(monitor.run(stop))
    await drive(harness.clock, lambda: monitor.decision is WatchdogAction.OPEN, max_fake_seconds=LIMIT + 2 * MINUTE)
    [incident] = await watchdog_incidents(harness)
    # Checked at start and every minute: the first check after the limit opens it, at most a period late.
    assert LIMIT < (incident["tsStart"] - monitor.started_at).total_seconds() <= LIMIT + MINUTE
    stop.set()
    await asyncio.wait_for(task, 5)
