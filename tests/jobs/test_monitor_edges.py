"""The monitor at the edges: a fresh deploy, a takeover, a healed episode, a change of leader.

Each test drives the real MonitorJob of a real Runtime on a real store (both
backends) at a moment chosen to the second, with the heartbeats written as
the heartbeat job writes them.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from exporter.domain.slots import bucket_id, iso, probe_key
from exporter.store import Order

ROOT = "wa_metrics/longrun"
HOUR = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


async def write_heartbeats(store, minutes, *, start=HOUR, target_up=True):
    for minute in minutes:
        slot = start + timedelta(minutes=minute)
        ts = slot + timedelta(seconds=0.3)
        doc = {"bucketId": bucket_id(slot), "ts": ts, "tsIso": iso(ts), "instanceId": "a", "deploymentId": "d",
               "generation": 1, "targetUp": target_up}
        await store.create(f"{ROOT}/heartbeats/{bucket_id(slot)}", doc)


async def incidents(store, kind="missed_heartbeat"):
    docs = [d.data async for d in store.stream(f"{ROOT}/incidents", order_by=[Order("tsStart")])]
    return [d for d in docs if d["type"] == kind]


async def test_a_fresh_deployment_opens_nothing_before_its_first_heartbeat(cluster, store):
    a = await cluster.add("a")
    await a.runtime.monitor.run(cluster.clock.now())  # the first heartbeat still waits for the target
    assert await incidents(store) == []
    [missed] = [d for d in a.runtime.monitor.last_decisions if d.type == "missed_heartbeat"]
    assert missed.action == "hold"


async def test_three_slots_lost_in_a_takeover_stay_under_the_runbooks_more_than_three(cluster, store):
    a = await cluster.add("a")
    await write_heartbeats(store, [m for m in range(60) if m not in (41, 42, 43)], start=HOUR - timedelta(hours=1))
    await write_heartbeats(store, range(0, 60), start=HOUR - timedelta(hours=2))
    # the new leader checks at once, 10 s into a slot whose heartbeat it has not written yet
    await a.runtime.monitor.run(HOUR + timedelta(seconds=10))
    assert await incidents(store) == []


async def test_four_missing_slots_are_reported_as_four(cluster, store):
    a = await cluster.add("a")
    await write_heartbeats(store, range(0, 60), start=HOUR - timedelta(hours=2))
    await write_heartbeats(store, [m for m in range(60) if m not in (20, 21, 22, 23)], start=HOUR - timedelta(hours=1))
    await a.runtime.monitor.run(HOUR + timedelta(seconds=10))
    [incident] = await incidents(store)
    assert incident["reason"].startswith("4 of 60 heartbeats missed")
    assert incident["tsStart"] == HOUR - timedelta(minutes=40)
    assert incident["status"] == "resolved" and incident["tsEnd"] == HOUR - timedelta(minutes=36)


async def test_an_episode_alertmanager_already_opened_and_resolved_is_not_opened_again(cluster, store):
    a = await cluster.add("a")
    await write_heartbeats(store, range(0, 60), start=HOUR - timedelta(hours=2))
    await write_heartbeats(store, [m for m in range(60) if not 20 <= m < 26], start=HOUR - timedelta(hours=1))
    service = a.runtime.incidents
    await service.detect("missed_heartbeat", "heartbeat", source="alertmanager", at=HOUR - timedelta(minutes=38))
    await service.clear("missed_heartbeat", "heartbeat", source="alertmanager", at=HOUR - timedelta(minutes=33))
    await a.runtime.monitor.run(HOUR + timedelta(seconds=10))
    [only] = await incidents(store)
    assert only["source"] == "alertmanager" and only["status"] == "resolved"


async def test_a_healed_episode_nobody_recorded_becomes_one_resolved_incident(cluster, store):
    a = await cluster.add("a")
    await write_heartbeats(store, range(0, 60), start=HOUR - timedelta(hours=2))
    await write_heartbeats(store, [m for m in range(60) if not 20 <= m < 26], start=HOUR - timedelta(hours=1))
    await a.runtime.monitor.run(HOUR + timedelta(seconds=10))
    await write_heartbeats(store, range(0, 30))
    await a.runtime.monitor.run(HOUR + timedelta(minutes=30))
    [only] = await incidents(store)
    assert only["status"] == "resolved"
    assert (only["tsStart"], only["tsEnd"]) == (HOUR - timedelta(minutes=40), HOUR - timedelta(minutes=34))


async def probe(store, when, result, *, generation, trigger="schedule"):
    key = probe_key("outbound", when) + ("_MANUAL" if trigger == "manual" else "")
    await store.create(f"{ROOT}/probes/{key}", {"probeKey": key, "type": "outbound", "trigger": trigger, "ts": when,
                                                "tsIso": iso(when), "result": result, "generation": generation})


async def test_after_leadership_went_a_b_a_the_monitor_sees_what_b_stored(cluster, store):
    a = await cluster.add("a")
    await write_heartbeats(store, range(0, 60), start=HOUR - timedelta(hours=1))
    await probe(store, HOUR - timedelta(hours=12), "PASS", generation=1)
    a.runtime.leadership.generation = 1
    await a.runtime.monitor.run(HOUR)
    # B led meanwhile (generation 2) and stored two failures; A leads again under generation 3
    await probe(store, HOUR + timedelta(hours=6), "FAIL", generation=2)
    await probe(store, HOUR + timedelta(hours=12), "FAIL", generation=2)
    a.runtime.leadership.generation = 3
    await a.runtime.monitor.run(HOUR + timedelta(hours=12, minutes=5))
    [failing] = await incidents(store, "probe_fail")
    assert failing["status"] == "open"


async def test_manual_runs_neither_start_nor_end_a_failure_streak(cluster, store):
    a = await cluster.add("a")
    await write_heartbeats(store, range(0, 60), start=HOUR - timedelta(hours=1))
    await probe(store, HOUR - timedelta(hours=6), "FAIL", generation=1)
    await probe(store, HOUR, "FAIL", generation=1)
    await probe(store, HOUR + timedelta(minutes=1), "PASS", generation=1, trigger="manual")
    await a.runtime.monitor.run(HOUR + timedelta(minutes=5))
    assert [d["status"] for d in await incidents(store, "probe_fail")] == ["open"]
